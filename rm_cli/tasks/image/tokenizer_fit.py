"""`rm prepare task=image split=tokenizer`: train the VQ-VAE on training-pool items (plus a few
empty quadrants, so that "nothing" has exact codes), report its reconstruction PSNR on the
official test items, save it."""

import lightning as L
import numpy as np
import torch

from rm_cli.tasks.image import fashion
from rm_cli.tasks.image.fashion import SIDE
from rm_cli.tasks.image.metrics import psnr
from rm_cli.tasks.image.small_fit import fit
from rm_cli.tasks.image.tokenizer import VQVAE, save_tokenizer, vq_loss

MODEL_KEYS = ("patch", "codebook", "dim", "channels")


class TokenizerModule(L.LightningModule):
    """VQ-VAE training; codebook vectors unused for `restart_every` steps move to random encoder outputs."""

    def __init__(self, patch: int, codebook: int, dim: int, channels: int, lr: float, beta: float, restart_every: int):
        super().__init__()
        self.model = VQVAE(patch, codebook, dim, channels)
        self.lr, self.beta, self.restart_every = lr, beta, restart_every
        self.register_buffer("usage", torch.zeros(codebook))

    def training_step(self, batch, batch_idx):
        x = batch[0].float() / 255.0
        rec, codes, z, q = self.model(x)
        parts = vq_loss(x, rec, z, q, self.beta)
        self.usage += torch.bincount(codes.flatten(), minlength=self.usage.numel()).float()
        if (self.global_step + 1) % self.restart_every == 0:
            self._restart_dead(z.detach().reshape(-1, z.shape[-1]))
        self.log("train/loss", parts["loss"], prog_bar=True)
        self.log("train/recon", parts["recon"], prog_bar=True)
        return parts["loss"]

    @torch.no_grad()
    def _restart_dead(self, latents: torch.Tensor) -> None:
        dead = (self.usage == 0).nonzero().flatten()
        if dead.numel():
            pick = torch.randint(0, latents.shape[0], (dead.numel(),), device=latents.device)
            self.model.codebook.weight.data[dead] = latents[pick]
        self.usage.zero_()

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


@torch.no_grad()
def reconstruction_report(model: VQVAE, items: np.ndarray) -> dict:
    """Mean per-item PSNR (0-255 scale) of decode(encode(x)) and the share of codes in use."""
    x = torch.from_numpy(np.array(items)).float() / 255.0
    codes = torch.cat([model.quantize(model.encode_latent(x[s:s + 2048])) for s in range(0, len(x), 2048)])
    rec = torch.cat([model.decode_codes(codes[s:s + 2048]) for s in range(0, len(x), 2048)])
    item_psnr = psnr(rec * 255.0, x * 255.0, dims=(1, 2))
    used = torch.unique(codes).numel()
    return {"test_psnr_db": round(float(item_psnr.mean()), 3), "test_items": len(items),
            "codes_used": used, "codes_used_pct": round(100.0 * used / model.codebook_size, 1)}


def fit_tokenizer(data_dir: str, path, n: int | None, seed: int, cfg: dict) -> dict:
    """Train on the first n training-pool items (all when None); save to `path`; the metrics."""
    _, pool = fashion.pool(data_dir, "train")
    items = fashion.images(data_dir, "train")[pool[:n] if n else pool]
    empties = np.zeros((int(round(len(items) * cfg["empty_rate"])), SIDE, SIDE), dtype=np.uint8)
    data = torch.from_numpy(np.concatenate([items, empties]))  # a fresh, writable array
    L.seed_everything(seed, verbose=False)  # the starting weights too: the same seed gives the same file
    module = TokenizerModule(**{k: cfg[k] for k in MODEL_KEYS}, lr=cfg["lr"], beta=cfg["beta"],
                             restart_every=cfg["restart_every"])
    timing = fit(module, data, None, cfg["epochs"], cfg["batch_size"], seed)
    model = module.model.eval()
    test = fashion.images(data_dir, "t10k")
    metrics = {**reconstruction_report(model, test[: cfg["eval_items"]]), **timing, "seed": seed, "data_dir": data_dir}
    metrics["fingerprint"] = save_tokenizer(path, model, {k: cfg[k] for k in MODEL_KEYS}, metrics)
    return metrics

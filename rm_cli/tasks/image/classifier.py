"""The judge of instruction success: a small CNN that names the item in a 28x28 quadrant, with an
eleventh class, EMPTY_CLASS, for an empty one (what "remove" must leave behind).

Trained by `rm prepare task=image split=classifier` on the training pool (plus blank and faintly
noisy empty quadrants), its accuracy reported on the official test items, on their tokenizer
reconstructions when a tokenizer is given (what it sees at eval time), and on empty quadrants.
"""

import lightning as L
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from rm_cli.io import atomic_write_bytes
from rm_cli.tasks.image import fashion
from rm_cli.tasks.image.fashion import CLASSES, SIDE
from rm_cli.tasks.image.small_fit import fit
from rm_cli.tasks.image.saved_model import read_saved_model

FORMAT = "rm-image-classifier/1"
EMPTY_CLASS = len(CLASSES)  # 10
HINT = "train one with: rm prepare task=image split=classifier output=FILE"


class ItemClassifier(nn.Module):
    def __init__(self, channels: int = 32):
        super().__init__()
        c = channels
        self.net = nn.Sequential(
            nn.Conv2d(1, c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c, 2 * c, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(2 * c * 7 * 7, 128), nn.ReLU(), nn.Linear(128, EMPTY_CLASS + 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 28, 28] pixels in [0, 255] -> [B, 11] logits."""
        return self.net(x.float().unsqueeze(1) / 255.0)

    @torch.no_grad()
    def predict(self, x: torch.Tensor, batch: int = 2048) -> torch.Tensor:
        if x.shape[0] == 0:
            return torch.zeros(0, dtype=torch.long)
        return torch.cat([self(x[s:s + batch]).argmax(-1) for s in range(0, x.shape[0], batch)])


class ClassifierModule(L.LightningModule):
    def __init__(self, channels: int, lr: float):
        super().__init__()
        self.model, self.lr = ItemClassifier(channels), lr

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = F.cross_entropy(self.model(x), y)
        self.log("train/loss", loss, prog_bar=True)
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=self.lr)


def empty_quadrants(n: int, seed: int) -> np.ndarray:
    """n empty quadrants: half black, half with faint noise (as a decoder may leave)."""
    rng = np.random.default_rng(seed)
    out = np.zeros((n, SIDE, SIDE), dtype=np.uint8)
    out[n // 2:] = rng.integers(0, 16, size=(n - n // 2, SIDE, SIDE), dtype=np.uint8)
    return out


def accuracy(model: ItemClassifier, x: np.ndarray | torch.Tensor, y: np.ndarray) -> float:
    pred = model.eval().predict(torch.as_tensor(x).float())
    return round(100.0 * float((pred == torch.as_tensor(y)).float().mean()), 2)


def fit_classifier(data_dir: str, path, n: int | None, seed: int, cfg: dict, tokenizer=None) -> dict:
    _, pool = fashion.pool(data_dir, "train")
    pool = pool[:n] if n else pool
    items, labels = fashion.images(data_dir, "train")[pool], fashion.labels(data_dir, "train")[pool]
    n_empty = max(1, len(items) // len(CLASSES))  # as many empties as items of one class
    x = torch.from_numpy(np.concatenate([items, empty_quadrants(n_empty, seed)]))
    y = torch.from_numpy(np.concatenate([labels, np.full(n_empty, EMPTY_CLASS)])).long()
    L.seed_everything(seed, verbose=False)  # the starting weights too: the same seed gives the same file
    module = ClassifierModule(cfg["channels"], cfg["lr"])
    timing = fit(module, x, y, cfg["epochs"], cfg["batch_size"], seed)
    model = module.model.eval()
    test_x = fashion.images(data_dir, "t10k")[: cfg["eval_items"]]
    test_y = fashion.labels(data_dir, "t10k")[: cfg["eval_items"]]
    metrics = {"test_accuracy_pct": accuracy(model, test_x, test_y), "test_items": len(test_x),
               "empty_accuracy_pct": accuracy(model, empty_quadrants(200, seed + 1), np.full(200, EMPTY_CLASS))}
    if tokenizer is not None:
        rec = tokenizer.model.decode_codes(tokenizer.encode_items(torch.from_numpy(test_x)).view(-1, tokenizer.grid, tokenizer.grid))
        metrics["reconstructed_accuracy_pct"] = accuracy(model, rec * 255.0, test_y)
        metrics["tokenizer"] = tokenizer.fingerprint
    metrics.update(timing, seed=seed, data_dir=data_dir)
    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    payload = {"format": FORMAT, "config": {"channels": cfg["channels"]}, "state_dict": state, "metrics": metrics}
    atomic_write_bytes(path, lambda f: torch.save(payload, f))
    return metrics


def load_classifier(path) -> ItemClassifier:
    payload = read_saved_model(path, "classifier", FORMAT, HINT)
    model = ItemClassifier(payload["config"]["channels"])
    model.load_state_dict(payload["state_dict"])
    return model.eval()

"""The image tokenizer: a small VQ-VAE that turns a 28x28 item into a grid of codebook indices.

Each quadrant of a scene is encoded and decoded on its own, so a token only ever affects the
pixels of its own quadrant: an edit confined to one quadrant's tokens leaves every other pixel of
the decoded scene bit-identical. With the default patch of 7 pixels an item is 4x4 tokens and a
scene 8x8 = 64 tokens; patch 4 gives 7x7 per item, 196 per scene.

Saved as one torch file: {"format", "config", "state_dict", "metrics", "fingerprint"}; the
fingerprint (a hash of the weights) is what a model checkpoint's signature records, so a
model is never decoded with another tokenizer than the one it was trained on.
"""

import hashlib

import torch
from torch import nn
from torch.nn import functional as F

from rm_cli.errors import UserError
from rm_cli.tasks.image.fashion import SIDE
from rm_cli.tasks.image.scenes import join_quadrants, split_quadrants
from rm_cli.tasks.image.saved_model import read_saved_model

FORMAT = "rm-image-tokenizer/1"


def _block(c: int) -> nn.Module:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(c, c, 3, padding=1))


class VQVAE(nn.Module):
    """Patchify conv -> two 3x3 convs at token resolution -> nearest codebook vector -> mirror decoder."""

    def __init__(self, patch: int = 7, codebook: int = 256, dim: int = 16, channels: int = 64):
        super().__init__()
        if SIDE % patch:
            raise UserError(f"tokenizer patch must divide 28 (4, 7 or 14), got {patch}")
        self.patch, self.codebook_size, self.dim = patch, codebook, dim
        self.grid = SIDE // patch
        c = channels
        self.encoder = nn.Sequential(nn.Conv2d(1, c, patch, stride=patch), _block(c), _block(c), nn.ReLU(), nn.Conv2d(c, dim, 1))
        self.codebook = nn.Embedding(codebook, dim)
        nn.init.uniform_(self.codebook.weight, -1.0 / codebook, 1.0 / codebook)
        self.decoder = nn.Sequential(nn.Conv2d(dim, c, 3, padding=1), _block(c), _block(c), nn.ReLU(),
                                     nn.ConvTranspose2d(c, c // 2, patch, stride=patch), nn.ReLU(),
                                     nn.Conv2d(c // 2, 1, 3, padding=1))

    def encode_latent(self, x: torch.Tensor) -> torch.Tensor:
        """[B, 28, 28] in [0, 1] -> [B, g, g, dim] continuous latents."""
        return self.encoder(x.unsqueeze(1)).permute(0, 2, 3, 1)

    def quantize(self, z: torch.Tensor) -> torch.Tensor:
        """Nearest codebook index of each latent vector."""
        flat = z.reshape(-1, self.dim)
        d = flat.pow(2).sum(-1, keepdim=True) - 2 * flat @ self.codebook.weight.t() + self.codebook.weight.pow(2).sum(-1)
        return d.argmin(-1).view(z.shape[:-1])

    def decode_codes(self, codes: torch.Tensor) -> torch.Tensor:
        """[B, g, g] indices -> [B, 28, 28] in [0, 1]."""
        z = self.codebook(codes).permute(0, 3, 1, 2)
        return torch.sigmoid(self.decoder(z)).squeeze(1)

    def forward(self, x: torch.Tensor):
        """(reconstruction, codes, latents, quantised latents) for training."""
        z = self.encode_latent(x)
        codes = self.quantize(z)
        q = self.codebook(codes)
        q_st = z + (q - z).detach()  # straight-through gradient
        rec = torch.sigmoid(self.decoder(q_st.permute(0, 3, 1, 2))).squeeze(1)
        return rec, codes, z, q


def vq_loss(x, rec, z, q, beta: float) -> dict:
    recon = F.mse_loss(rec, x)
    codebook = F.mse_loss(q, z.detach())
    commit = F.mse_loss(z, q.detach())
    return {"loss": recon + codebook + beta * commit, "recon": recon, "codebook": codebook, "commit": commit}


def fingerprint(state_dict: dict) -> str:
    h = hashlib.sha256()
    for key in sorted(state_dict):
        h.update(key.encode())
        h.update(state_dict[key].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


class SceneTokenizer:
    """A trained VQ-VAE seen as scene <-> tokens: [B, 56, 56] uint8 <-> [B, 4 * g * g] codes.

    Token order: quadrant by quadrant (0..3), each g x g grid row-major, so quadrant q owns the
    tokens [q * g * g, (q + 1) * g * g) and `coordinates()` gives each token's scene (row, col).
    """

    def __init__(self, model: VQVAE, path: str, fingerprint: str, metrics: dict | None = None):
        self.model, self.path, self.fingerprint, self.metrics = model.eval(), path, fingerprint, metrics or {}
        self.grid = model.grid
        self.per_quadrant = self.grid * self.grid
        self.n_tokens = 4 * self.per_quadrant
        self.codebook_size = model.codebook_size
        self.empty_codes = self.encode_items(torch.zeros(1, SIDE, SIDE, dtype=torch.uint8))[0]  # an empty quadrant

    def coordinates(self) -> torch.Tensor:
        """[2, n_tokens] (row, col) of each token in the scene's 2g x 2g token grid."""
        q, cell = torch.arange(self.n_tokens).div(self.per_quadrant, rounding_mode="floor"), torch.arange(self.n_tokens) % self.per_quadrant
        row = (q // 2) * self.grid + cell // self.grid
        col = (q % 2) * self.grid + cell % self.grid
        return torch.stack([row, col])

    def quadrant_tokens(self, q: int) -> slice:
        return slice(q * self.per_quadrant, (q + 1) * self.per_quadrant)

    @torch.no_grad()
    def encode_items(self, items: torch.Tensor, batch: int = 2048) -> torch.Tensor:
        """[n, 28, 28] uint8 -> [n, g * g] codes."""
        out = []
        for start in range(0, items.shape[0], batch):
            x = items[start:start + batch].float() / 255.0
            out.append(self.model.quantize(self.model.encode_latent(x)).flatten(1))
        return torch.cat(out) if out else torch.zeros(0, self.per_quadrant, dtype=torch.long)

    @torch.no_grad()
    def encode(self, scenes: torch.Tensor) -> torch.Tensor:
        """[B, 56, 56] uint8 -> [B, n_tokens]."""
        B = scenes.shape[0]
        return self.encode_items(split_quadrants(scenes).reshape(B * 4, SIDE, SIDE)).view(B, self.n_tokens)

    @torch.no_grad()
    def decode(self, tokens: torch.Tensor, batch: int = 2048) -> torch.Tensor:
        """[B, n_tokens] codes -> [B, 56, 56] float pixels in [0, 255]."""
        B = tokens.shape[0]
        codes = tokens.reshape(B * 4, self.grid, self.grid).clamp(0, self.codebook_size - 1)
        quads = torch.cat([self.model.decode_codes(codes[s:s + batch]) for s in range(0, codes.shape[0], batch)]) \
            if B else torch.zeros(0, SIDE, SIDE)
        return join_quadrants(quads.view(B, 4, SIDE, SIDE)) * 255.0


def save_tokenizer(path, model: VQVAE, config: dict, metrics: dict) -> str:
    from rm_cli.io import atomic_write_bytes

    state = {k: v.detach().cpu() for k, v in model.state_dict().items()}
    fp = fingerprint(state)
    payload = {"format": FORMAT, "config": dict(config), "state_dict": state, "metrics": dict(metrics), "fingerprint": fp}
    atomic_write_bytes(path, lambda f: torch.save(payload, f))
    return fp


def load_tokenizer(path) -> SceneTokenizer:
    hint = "train one with: rm prepare task=image split=tokenizer output=FILE"
    payload = read_saved_model(path, "tokenizer", FORMAT, hint)
    cfg = payload["config"]
    model = VQVAE(cfg["patch"], cfg["codebook"], cfg["dim"], cfg["channels"])
    try:
        model.load_state_dict(payload["state_dict"])
    except RuntimeError as e:
        raise UserError(f"tokenizer weights do not fit its config: {str(e).splitlines()[0]}", path=path) from None
    return SceneTokenizer(model, str(path), payload["fingerprint"], payload.get("metrics"))

"""Edit metrics (SPEC §5), in pixel space on decoded images, 0-255 scale, per example.

- changed pixels: |edited - source| > threshold * 255, both decoded by the tokenizer, so a token
  left alone changes no pixel;
- precision: share of the changed pixels that lie inside the target region (undefined, NaN,
  when nothing changed);
- coverage: share of the target region's pixels that changed;
- MAE, PSNR, SSIM outside the region: the edited image against the real target scene (the
  dataset's pixels), so a perfect edit scores the tokenizer's own reconstruction ceiling;
- token level: of the canvas tokens re-masked during decoding, the share inside the region
  (precision) and the share of the tokens that must change (source != target token) that were
  re-masked (recall).
"""

import math

import torch
import torch.nn.functional as F

PEAK = 255.0
PSNR_CAP = 100.0  # identical images: reported as 100 dB instead of infinity


def psnr(x: torch.Tensor, y: torch.Tensor, dims=None, mask: torch.Tensor | None = None) -> torch.Tensor:
    """PSNR in dB over `dims` (all when None), counting only `mask` pixels when given."""
    err = (x.float() - y.float()) ** 2
    if mask is None:
        mse = err.mean() if dims is None else err.mean(dims)
    else:
        m = mask.float()
        mse = (err * m).sum((-2, -1)) / m.sum((-2, -1)).clamp(min=1)
    return (10 * torch.log10(PEAK**2 / mse.clamp(min=1e-12))).clamp(max=PSNR_CAP)


def _gaussian(window: int, sigma: float) -> torch.Tensor:
    r = torch.arange(window, dtype=torch.float64) - window // 2
    g = torch.exp(-(r**2) / (2 * sigma**2))
    return (g / g.sum()).float()


def ssim_map(x: torch.Tensor, y: torch.Tensor, window: int = 11, sigma: float = 1.5) -> torch.Tensor:
    """[B, H, W] -> [B, H - window + 1, W - window + 1]: SSIM (Wang et al. 2004; K1 = 0.01, K2 = 0.03)
    of the Gaussian-weighted window centred at each pixel that has a full window."""
    g = _gaussian(window, sigma)
    kernel = (g[:, None] * g[None, :]).view(1, 1, window, window)
    x, y = x.float().unsqueeze(1), y.float().unsqueeze(1)
    blur = lambda t: F.conv2d(t, kernel)  # noqa: E731
    mx, my = blur(x), blur(y)
    vx, vy, cxy = blur(x * x) - mx**2, blur(y * y) - my**2, blur(x * y) - mx * my
    c1, c2 = (0.01 * PEAK) ** 2, (0.03 * PEAK) ** 2
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))
    return s.squeeze(1)


def masked_ssim(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor, window: int = 11) -> torch.Tensor:
    """[B] mean SSIM over the window centres that lie in `mask`."""
    s = ssim_map(x, y, window)
    h = window // 2
    m = mask[..., h:mask.shape[-2] - h, h:mask.shape[-1] - h].float()
    return (s * m).sum((-2, -1)) / m.sum((-2, -1)).clamp(min=1)


def pixel_metrics(source: torch.Tensor, edited: torch.Tensor, real_target: torch.Tensor, region: torch.Tensor,
                  threshold: float) -> dict[str, torch.Tensor]:
    """Per-example metrics of [B, 56, 56] images (0-255): source and edited decoded, real_target the
    dataset's pixels; region [B, 56, 56] bool."""
    changed = (edited.float() - source.float()).abs() > threshold * PEAK
    n_changed = changed.sum((-2, -1)).float()
    inside = (changed & region).sum((-2, -1)).float()
    outside = ~region
    diff = (edited.float() - real_target.float()).abs()
    return {
        "changed": changed,
        "precision": torch.where(n_changed > 0, inside / n_changed.clamp(min=1), torch.full_like(n_changed, math.nan)),
        "coverage": inside / region.sum((-2, -1)).float().clamp(min=1),
        "mae_out": (diff * outside).sum((-2, -1)) / outside.sum((-2, -1)).clamp(min=1),
        "psnr_out": psnr(edited, real_target, mask=outside),
        "ssim_out": masked_ssim(edited, real_target, outside),
    }


def remasked_positions(trajectory: torch.Tensor, mask_id: int) -> torch.Tensor:
    """[B, N] bool: positions that went from a visible token to MASK at some turn ([turns + 1, B, N])."""
    before, after = trajectory[:-1], trajectory[1:]
    return ((before != mask_id) & (after == mask_id)).any(0)


def localisation(remasked: torch.Tensor, region: torch.Tensor, must_change: torch.Tensor) -> dict[str, torch.Tensor]:
    """Per-example token-level precision (re-masks inside the region) and recall (must-change tokens
    re-masked); NaN where undefined (nothing re-masked / nothing had to change)."""
    n_re, n_must = remasked.sum(-1).float(), must_change.sum(-1).float()
    nan = torch.full_like(n_re, math.nan)
    return {"precision": torch.where(n_re > 0, (remasked & region).sum(-1) / n_re.clamp(min=1), nan),
            "recall": torch.where(n_must > 0, (remasked & must_change).sum(-1) / n_must.clamp(min=1), nan)}

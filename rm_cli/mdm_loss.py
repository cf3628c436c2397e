"""The standard masked-diffusion objective (vanilla MDM / SFT), the baseline RM is compared to.

Mask each editable position with probability t ~ U(eps, 1) per example and score the masked
positions with cross-entropy weighted by 1/t, normalised by the number of editable positions of
the global batch. Where every example has the same number (text's answer region) this is the
LLaDA SFT loss (each example divided by its answer length, then averaged); where it varies
(Sudoku solving's blanks) every position weighs the same.
"""

import torch
import torch.nn.functional as F


def mask_at_random_ratio(gold, editable, mask_id: int, eps: float = 1e-3, generator=None):
    """Returns (noisy input, masked positions, per-example ratio t)."""
    t = eps + (1 - eps) * torch.rand(gold.shape[0], device=gold.device, generator=generator)
    masked = editable & (torch.rand(gold.shape, device=gold.device, generator=generator) < t[:, None])
    return torch.where(masked, torch.full_like(gold, mask_id), gold), masked, t


def mdm_loss(logits, gold, masked, t, editable, tokens: torch.Tensor | None = None) -> torch.Tensor:
    """tokens: what the sum is divided by: the global batch's editable positions per micro-batch (GlobalBatchStream's
    `loss_tokens`), so that averaging micro-batches over devices and accumulation steps gives the global mean;
    None: this batch's own count."""
    ce = F.cross_entropy(logits.flatten(0, -2).float(), gold.flatten(), reduction="none").view(gold.shape)
    return (ce * masked / t[:, None]).sum() / (editable.sum().clamp(min=1) if tokens is None else tokens)

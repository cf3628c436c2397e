"""The standard masked-diffusion objective (vanilla MDM / SFT), the baseline RM is compared to.

Mask each editable position with probability t ~ U(eps, 1) per example and score the masked
positions with cross-entropy weighted by 1/t, normalised by the number of editable positions
(the LLaDA SFT loss).
"""

import torch
import torch.nn.functional as F


def mask_at_random_ratio(gold, editable, mask_id: int, eps: float = 1e-3, generator=None):
    """Returns (noisy input, masked positions, per-example ratio t)."""
    t = eps + (1 - eps) * torch.rand(gold.shape[0], device=gold.device, generator=generator)
    masked = editable & (torch.rand(gold.shape, device=gold.device, generator=generator) < t[:, None])
    return torch.where(masked, torch.full_like(gold, mask_id), gold), masked, t


def mdm_loss(logits, gold, masked, t, editable) -> torch.Tensor:
    ce = F.cross_entropy(logits.flatten(0, -2).float(), gold.flatten(), reduction="none").view(gold.shape)
    return (ce * masked / t[:, None]).sum() / editable.sum().clamp(min=1)

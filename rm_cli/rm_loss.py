"""The Reflective Masking loss: cross-entropy over V plus MASK against oracle labels (SPEC §4).

The total is the per-position cross-entropy averaged over all editable positions of the global
batch (GlobalBatchStream's `loss_tokens`), each position weighted by its part's weight; with weights (1, 1, 1) it is plain cross-entropy. The
three parts are also reported as their own means, so a run shows which behaviour is lagging.
"""

import torch
import torch.nn.functional as F

from rm_cli.trajectory import KIND_KEEP, KIND_MASK, KIND_NAMES, KIND_REVEAL


class RMLoss:
    def __init__(self, reveal_weight: float = 1.0, mask_weight: float = 1.0, keep_weight: float = 1.0):
        self.weights = {KIND_REVEAL: reveal_weight, KIND_MASK: mask_weight, KIND_KEEP: keep_weight}

    def __call__(self, logits: torch.Tensor, labels: torch.Tensor, kind: torch.Tensor, editable: torch.Tensor,
                 tokens: torch.Tensor | None = None) -> dict:
        """tokens: what the total is divided by (None: this batch's editable positions; see mdm_loss)."""
        ce = F.cross_entropy(logits.flatten(0, -2).float(), labels.flatten(), reduction="none").view(labels.shape)
        weight = torch.zeros_like(ce)
        parts = {}
        for k, w in self.weights.items():
            sel = editable & (kind == k)
            weight = torch.where(sel, w, weight)
            n = sel.sum()
            parts[KIND_NAMES[k]] = (ce * sel).sum() / n.clamp(min=1)
            parts[f"n_{KIND_NAMES[k]}"] = n
        parts["loss"] = (ce * weight).sum() / (editable.sum().clamp(min=1) if tokens is None else tokens)
        return parts

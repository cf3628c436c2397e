"""Reflective Masking for image editing (SPEC §2): decoding starts from the source image.

Phase 1, re-mask: each turn masks every visible canvas token with p(MASK) > remask_threshold
and p(MASK) > p(token); it ends when a turn finds nothing new to mask, or after remask_steps
turns. Phase 2, reveal: the masked tokens are revealed, most confident first, on MaskGIT's
cosine schedule: after reveal step s of S, floor(n0 * cos(pi/2 * s/S)) stay masked, n0 being the
number masked when the phase began; nothing is re-masked any more. The turn that ends phase 1
already reveals (its forward pass scores the same state), so an edit costs at most
remask_steps + reveal_steps passes, and an all-masked canvas decodes as plain MaskGIT.

The shared loop (samplers/base.py) hands decide() only its active rows; this sampler keeps each
row's phase itself, and mirrors which rows are active through done(), which the loop calls once
per turn with the same rows.
"""

import math

import torch

from rm_cli.errors import UserError
from rm_cli.samplers.base import Sampler, TurnContext, best_token, top_k_per_row


class RMEditSampler(Sampler, name="rm_edit"):
    one_task = True  # image editing's RM: in a scaling sweep it stands in for rm there, and runs elsewhere only when named

    def __init__(self, remask_steps: int = 8, reveal_steps: int = 8, remask_threshold: float = 0.9,
                 fill_at_end: bool = True):
        if remask_steps < 0 or reveal_steps < 1:
            raise UserError(f"sampler.remask_steps must be >= 0 and sampler.reveal_steps >= 1, got {remask_steps}, "
                            f"{reveal_steps}")
        if not 0.0 <= remask_threshold < 1.0:
            raise UserError(f"sampler.remask_threshold must be in [0, 1), got {remask_threshold}")
        super().__init__(max_turns=remask_steps + reveal_steps, fill_at_end=fill_at_end, stop_at_fixed_point=True)
        self.remask_steps, self.reveal_steps, self.remask_threshold = remask_steps, reveal_steps, remask_threshold

    def __call__(self, model, x0, editable, record_trajectory: bool = False, seeds=None, on_turn=None):
        B = x0.shape[0]
        self._active = torch.ones(B, dtype=torch.bool, device=x0.device)
        self._reveal_from = torch.full((B,), -1, dtype=torch.long, device=x0.device)  # turn phase 2 began
        self._n0 = torch.zeros(B, dtype=torch.long, device=x0.device)  # masks when phase 2 began
        return super().__call__(model, x0, editable, record_trajectory, seeds, on_turn)

    def kept_masked(self, n0: torch.Tensor, step: torch.Tensor) -> torch.Tensor:
        """Masks left after reveal step `step` (1-based) of the cosine schedule."""
        ratio = torch.cos(math.pi / 2 * step.clamp(max=self.reveal_steps).double() / self.reveal_steps)
        return torch.floor(n0.double() * ratio + 1e-9).long()

    def decide(self, probs, x, editable, ctx: TurnContext):
        mask_id = ctx.mask_id
        rows = self._active.nonzero().squeeze(1)
        if rows.numel() != x.shape[0]:
            raise RuntimeError("rm_edit lost track of the active rows (the shared loop changed?)")
        p_mask = probs[..., mask_id]
        p_current = probs.gather(-1, x.unsqueeze(-1)).squeeze(-1)
        masked = editable & (x == mask_id)
        wants = editable & ~masked & (p_mask > self.remask_threshold) & (p_mask > p_current)
        phase1 = self._reveal_from[rows] < 0
        masking = phase1 & wants.any(-1) & (ctx.turn < self.remask_steps)
        remask = wants & masking.unsqueeze(-1)
        starts = phase1 & ~masking
        self._reveal_from[rows[starts]] = ctx.turn
        self._n0[rows[starts]] = masked[starts].sum(-1)
        revealing = self._reveal_from[rows] >= 0
        step = ctx.turn - self._reveal_from[rows] + 1
        k = (masked.sum(-1) - self.kept_masked(self._n0[rows], step)).clamp(min=0)
        conf, tokens = best_token(probs, mask_id)
        reveal = top_k_per_row(conf, masked, torch.where(revealing, k, 0))
        return remask, reveal, tokens

    def done(self, old, new, editable, mask_id):
        """A row is done once it is revealing and no mask is left."""
        rows = self._active.nonzero().squeeze(1)
        finished = (self._reveal_from[rows] >= 0) & ~(editable & (new == mask_id)).any(-1)
        self._active[rows] = ~finished
        return finished

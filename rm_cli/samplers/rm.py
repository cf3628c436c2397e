"""Reflective Masking decoding (SPEC §2): keep, re-mask or reveal every editable position."""

import torch

from rm_cli.errors import UserError
from rm_cli.samplers.base import Sampler, TurnContext, top_k_per_row, turns_of_block


class RMSampler(Sampler, name="rm"):
    """A visible token is re-masked when p(MASK) > p(token); a masked one is revealed with its argmax.

    remask_cap: at most this many re-masks per position (None: unlimited; the text code uses 6).
    remask_threshold: also require p(MASK) > threshold (the image editing phase uses 0.9).
    reveal_per_turn: reveal only the k most confident masked positions per turn (None: all).
    fit_budget: with reveal_per_turn, reveal at least ceil(masks / max_turns) per turn (per block:
    its share of max_turns, see base.turns_of_block), so a small budget of turns still reveals every mask on a linear schedule, as
    vanilla does at the same NFE, instead of leaving most to the one-shot fill at the end.
    block_size: reveal only within the current block (semi-autoregressive; re-masking stays free
    everywhere, and a re-masked earlier block becomes current again). temperature: see base.
    """

    reveals_by_block = True
    samples_tokens = True

    def __init__(self, max_turns: int = 32, remask_cap: int | None = None, remask_threshold: float = 0.0,
                 reveal_per_turn: int | None = None, fill_at_end: bool = True, stop_at_fixed_point: bool = True,
                 block_size: int | None = None, temperature: float = 0.0, fit_budget: bool = False):
        super().__init__(max_turns, fill_at_end, stop_at_fixed_point, block_size, temperature)
        # values that decode silently without the rule: nothing revealed until the final fill, or no re-mask ever
        if reveal_per_turn is not None and not (isinstance(reveal_per_turn, int) and reveal_per_turn >= 1):
            raise UserError(f"sampler.reveal_per_turn must be null (all) or >= 1, got {reveal_per_turn!r}")
        if not 0.0 <= remask_threshold < 1.0:
            raise UserError(f"sampler.remask_threshold must be in [0, 1) (a probability p(MASK) must exceed), "
                            f"got {remask_threshold!r}")
        if remask_cap is not None and not (isinstance(remask_cap, int) and remask_cap >= 0):
            raise UserError(f"sampler.remask_cap must be null (no cap) or >= 0, got {remask_cap!r}")
        self.remask_cap, self.remask_threshold, self.reveal_per_turn = remask_cap, remask_threshold, reveal_per_turn
        self.fit_budget = fit_budget

    def decide(self, probs, x, editable, ctx: TurnContext):
        mask_id = ctx.mask_id
        p_current = probs.gather(-1, x.unsqueeze(-1)).squeeze(-1)
        p_mask = probs[..., mask_id]
        remask = editable & (x != mask_id) & (p_mask > p_current) & (p_mask > self.remask_threshold)
        if self.remask_cap is not None:
            remask &= ctx.remask_count < self.remask_cap
        conf, tokens = ctx.pick(probs)
        candidates = ctx.revealable
        reveal = candidates if self.reveal_per_turn is None else top_k_per_row(conf, candidates, self.reveals(ctx))
        return remask, reveal, tokens

    def reveals(self, ctx: TurnContext):
        """Masks to reveal this turn: reveal_per_turn, or more where fit_budget needs more."""
        if not self.fit_budget:
            return self.reveal_per_turn
        turns = turns_of_block(self.max_turns, ctx.blocks, ctx.block)
        needed = torch.div(ctx.block_masked_at_start + turns - 1, turns, rounding_mode="floor")
        return needed.clamp(min=self.reveal_per_turn)

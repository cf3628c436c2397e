"""LLaDA's low-confidence remasking: reveal the most confident masked positions on a linear
schedule over `steps` turns, never revise a visible token. The standard MDM baseline."""

import torch

from rm_cli.samplers.base import Sampler, TurnContext, best_token, top_k_per_row


class VanillaSampler(Sampler, name="vanilla"):
    def __init__(self, steps: int = 16, fill_at_end: bool = True, stop_at_fixed_point: bool = True):
        super().__init__(max_turns=steps, fill_at_end=fill_at_end, stop_at_fixed_point=stop_at_fixed_point)
        self.steps = steps

    def decide(self, probs, x, editable, ctx: TurnContext):
        n0, s, S = ctx.masked_at_start, ctx.turn, self.steps
        k = torch.div(n0 * (s + 1) + S - 1, S, rounding_mode="floor") - torch.div(n0 * s + S - 1, S, rounding_mode="floor")
        k = k.clamp(min=1)  # fewer masks than steps: one per turn, finishing early
        conf, tokens = best_token(probs, ctx.mask_id)
        reveal = top_k_per_row(conf, editable & (x == ctx.mask_id), k)
        return torch.zeros_like(reveal), reveal, tokens

    def done(self, old, new, editable, mask_id):
        """Vanilla never revises, so a row is finished once nothing is left to reveal."""
        return ~(editable & (new == mask_id)).any(-1)

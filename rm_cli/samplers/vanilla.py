"""LLaDA's low-confidence remasking: reveal the most confident masked positions on a linear
schedule over `steps` turns, never revise a visible token. The standard MDM baseline.

With block_size (LLaDA's semi-autoregressive decoding) each block gets steps / blocks turns (the
first steps % blocks one more, each at least one) and reveals its own masks on the same linear
schedule within them."""

import torch

from rm_cli.samplers.base import Sampler, TurnContext, top_k_per_row, turns_of_block


class VanillaSampler(Sampler, name="vanilla"):
    reveals_by_block = True
    samples_tokens = True
    turns_option = "steps"

    def __init__(self, steps: int = 16, fill_at_end: bool = True, stop_at_fixed_point: bool = True,
                 block_size: int | None = None, temperature: float = 0.0):
        super().__init__(max_turns=steps, fill_at_end=fill_at_end, stop_at_fixed_point=stop_at_fixed_point,
                         block_size=block_size, temperature=temperature)
        self.steps = steps

    def decide(self, probs, x, editable, ctx: TurnContext):
        n0, s = ctx.block_masked_at_start, ctx.block_turn
        S = turns_of_block(self.steps, ctx.blocks, ctx.block)
        k = torch.div(n0 * (s + 1) + S - 1, S, rounding_mode="floor") - torch.div(n0 * s + S - 1, S, rounding_mode="floor")
        k = k.clamp(min=1)  # fewer masks than steps: one per turn, finishing early
        conf, tokens = ctx.pick(probs)
        reveal = top_k_per_row(conf, ctx.revealable, k)
        return torch.zeros_like(reveal), reveal, tokens

    def done(self, old, new, editable, mask_id):
        """Vanilla never revises, so a row is finished once nothing is left to reveal."""
        return ~(editable & (new == mask_id)).any(-1)

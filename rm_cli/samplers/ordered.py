"""Vanilla's reveal schedule with another order: the base of `topk_margin` and `entropy`.

Each turn reveals as many masked positions as vanilla would (a linear schedule over `steps`),
but picks them by `score()` instead of the top probability; tokens are still the argmax over
the real tokens, and nothing visible is ever revised. Registers no sampler itself.
"""

import torch

from rm_cli.samplers.base import TurnContext, best_token, top_k_per_row
from rm_cli.samplers.vanilla import VanillaSampler


def real_token_probs(probs: torch.Tensor, mask_id: int) -> torch.Tensor:
    """The distribution over the real tokens: MASK's probability removed, the rest renormalised."""
    p = probs.clone()
    p[..., mask_id] = 0.0
    return p / p.sum(-1, keepdim=True).clamp(min=1e-12)


def reveal_count(masked_at_start: torch.Tensor, turn: int, steps: int) -> torch.Tensor:
    """[b] positions to reveal this turn: vanilla's linear schedule (at least one per turn)."""
    n0, s, S = masked_at_start, turn, steps
    k = torch.div(n0 * (s + 1) + S - 1, S, rounding_mode="floor") - torch.div(n0 * s + S - 1, S, rounding_mode="floor")
    return k.clamp(min=1)


class OrderedRevealSampler(VanillaSampler):
    def score(self, probs: torch.Tensor) -> torch.Tensor:
        """[b, N] how sure the model is at each position (higher is revealed first)."""
        raise NotImplementedError

    def decide(self, probs, x, editable, ctx: TurnContext):
        _, tokens = best_token(probs, ctx.mask_id)
        score = self.score(real_token_probs(probs, ctx.mask_id))
        k = reveal_count(ctx.masked_at_start, ctx.turn, self.steps)
        reveal = top_k_per_row(score, editable & (x == ctx.mask_id), k)
        return torch.zeros_like(reveal), reveal, tokens

"""Where a trajectory's wrong tokens come from (SPEC §4, corruption distribution)."""

import torch


class UniformCorruption:
    """A wrong token drawn uniformly from the vocabulary minus the gold token and the mask token.

    `low`/`high` bound the ids that count as real tokens (for Sudoku: the nine digits).
    """

    def __init__(self, low: int = 0, high: int | None = None):
        self.low, self.high = low, high

    def __call__(self, gold: torch.Tensor, vocab_size: int, mask_id: int, generator=None) -> torch.Tensor:
        high = self.high if self.high is not None else vocab_size
        ids = torch.arange(self.low, high, device=gold.device)
        ids = ids[ids != mask_id]
        n = ids.numel()
        if n < 2:
            raise ValueError("uniform corruption needs at least two real tokens")
        # Draw among the n-1 ids that are not gold: skip over gold's slot.
        gold_slot = torch.searchsorted(ids, gold.clamp(ids[0], ids[-1]))
        gold_in = ids[gold_slot.clamp(max=n - 1)] == gold
        r = (torch.rand(gold.shape, device=gold.device, generator=generator) * (n - 1)).long()
        r = torch.where(gold_in & (r >= gold_slot), r + 1, r)
        return ids[r]

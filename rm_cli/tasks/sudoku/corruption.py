"""corruption=consistent: Sudoku wrong digits that nothing visible rules out, like the model's own mistakes.

A uniform wrong digit in a solving board usually repeats a digit of its row, column or box, so RM
training on them teaches the mask head to spot clashes. The digits a model gets wrong when it
decodes clash with nothing it has seen (docs/results/sudoku_solving.md, step 12): this corruption
draws the wrong digit uniformly among those that no kept peer (a given, or a blank that shows its
gold digit all along) shows, gold excluded, and falls back to any digit but gold where gold is the
only one left open.
"""

import torch

from rm_cli.errors import UserError
from rm_cli.tasks.sudoku.grid import N_CELLS, N_DIGITS, PEERS


def open_wrong_digits(gold: torch.Tensor, kept: torch.Tensor) -> torch.Tensor:
    """[B, 81, 9] bool: the digits other than gold that no kept cell among the cell's peers shows
    (all digits other than gold where that leaves none)."""
    shown = torch.nn.functional.one_hot(gold, N_DIGITS).float() * kept.unsqueeze(-1)
    ruled_out = torch.einsum("ij,bjd->bid", PEERS.float(), shown) > 0
    not_gold = torch.ones_like(ruled_out).scatter_(-1, gold.unsqueeze(-1), False)
    allowed = ~ruled_out & not_gold
    return torch.where(allowed.any(-1, keepdim=True), allowed, not_gold)


class ConsistentDigits:
    """A wrong digit drawn uniformly among `open_wrong_digits`; `kept` [B, 81] comes from the trajectory rules."""

    def __call__(self, gold: torch.Tensor, vocab_size: int, mask_id: int, generator=None, candidates=None,
                 kept: torch.Tensor | None = None) -> torch.Tensor:
        if kept is None or gold.shape[-1] != N_CELLS or vocab_size != N_DIGITS + 1:
            raise UserError("corruption=consistent is for task=sudoku task.mode=solve (81 cells, givens fixed)")
        weights = open_wrong_digits(gold, kept.bool()).float().view(-1, N_DIGITS)
        return torch.multinomial(weights, 1, generator=generator).view(gold.shape).to(gold.device)

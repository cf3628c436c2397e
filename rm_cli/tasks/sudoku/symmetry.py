"""Sudoku's symmetry group as views for `sampler=best_of`: a relabelled, permuted or transposed
puzzle has the same unique solution, moved the same way, so a model can be asked it again."""

import torch

from rm_cli.errors import UserError
from rm_cli.tasks.sudoku.grid import MASK_ID, N_CELLS, apply_transform, random_transform, undo_transform


class SudokuSymmetry:
    vocab = MASK_ID + 1  # the digits and MASK, which every relabelling leaves in place
    apply = staticmethod(apply_transform)  # (tokens [R, 81], index, relabel or None for a cell mask) -> the view
    undo = staticmethod(undo_transform)  # a view's tokens back in the board's own frame

    def check(self, x0: torch.Tensor, mask_id: int) -> None:
        if x0.shape[1] != N_CELLS or mask_id != MASK_ID or int(x0.max()) > MASK_ID or int(x0.min()) < 0:
            raise UserError(f"sampler.symmetry=sudoku needs Sudoku boards ({N_CELLS} cells of digits and mask "
                            f"{MASK_ID}), got {x0.shape[1]} positions with mask id {mask_id}; "
                            "set sampler.symmetry=null for other tasks")

    def draw(self, k: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """k random group elements: (cell index [k, 81], digit relabel [k, 10])."""
        return random_transform(k, generator)

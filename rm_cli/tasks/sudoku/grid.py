"""Sudoku grids: random solved grids, the validity-preserving symmetries, rule checks.

Cells are row-major, 81 per board. In tensors a digit d (1-9) is token d-1 and MASK is 9.
"""

import random

import numpy as np
import torch

N_CELLS, N_DIGITS, MASK_ID = 81, 9, 9


def _peer_matrix() -> torch.Tensor:
    r, c = np.divmod(np.arange(81), 9)
    b = (r // 3) * 3 + c // 3
    same = (r[:, None] == r[None]) | (c[:, None] == c[None]) | (b[:, None] == b[None])
    return torch.from_numpy(same & ~np.eye(81, dtype=bool))


PEERS = _peer_matrix()  # [81, 81]: cells sharing a row, column or box


def random_solution(rng: random.Random) -> list[int]:
    """A solved grid (digits 1-9) by backtracking with a random digit order at every cell.

    Not exactly uniform over all 6.7e21 grids (that needs counting), but every grid is
    reachable; `random_symmetry` on top makes the distribution invariant under the
    Sudoku symmetry group.
    """
    grid = [0] * 81
    rows, cols, boxes = [0] * 9, [0] * 9, [0] * 9

    def fill(i: int) -> bool:
        if i == 81:
            return True
        r, c = divmod(i, 9)
        b = (r // 3) * 3 + c // 3
        used = rows[r] | cols[c] | boxes[b]
        digits = [d for d in range(1, 10) if not used >> d & 1]
        rng.shuffle(digits)
        for d in digits:
            bit = 1 << d
            grid[i] = d
            rows[r] |= bit
            cols[c] |= bit
            boxes[b] |= bit
            if fill(i + 1):
                return True
            rows[r] ^= bit
            cols[c] ^= bit
            boxes[b] ^= bit
        grid[i] = 0
        return False

    fill(0)
    return grid


def grid_stream(seed: int, exclude: set[bytes] = frozenset()):
    """Endless distinct solved grids (token tensors [81]) from `seed`, each under a random symmetry,
    none of them in `exclude` (byte keys of token rows)."""
    rng, seen = random.Random(seed), set(exclude)
    g = torch.Generator().manual_seed(seed)
    while True:
        grid = random_symmetry(torch.tensor([random_solution(rng)]) - 1, g)[0]
        key = grid.numpy().tobytes()
        if key not in seen:
            seen.add(key)
            yield grid


def random_transform(B: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """B random elements of the validity-preserving group, as (cell index [B, 81], digit relabel [B, 10]):
    band and stack permutations, row/column permutations inside them, transpose, digit relabelling."""

    def line_perm() -> torch.Tensor:  # [B, 9]: permute the 3 bands and the 3 lines inside each
        outer = torch.rand(B, 3, generator=generator).argsort(-1)
        inner = torch.rand(B, 3, 3, generator=generator).argsort(-1)
        return (outer.unsqueeze(-1) * 3 + inner).view(B, 9)

    rows, cols = line_perm(), line_perm()
    index = rows.unsqueeze(-1) * 9 + cols.unsqueeze(1)  # [B, 9, 9]
    flip = torch.rand(B, generator=generator) < 0.5
    index = torch.where(flip.view(B, 1, 1), index.transpose(1, 2), index).reshape(B, 81)
    relabel = torch.rand(B, 9, generator=generator).argsort(-1)
    relabel = torch.cat([relabel, torch.full((B, 1), MASK_ID)], dim=1)  # MASK stays MASK
    return index, relabel


def apply_transform(tokens: torch.Tensor, index: torch.Tensor, relabel: torch.Tensor | None = None) -> torch.Tensor:
    """Move the cells of [B, 81] tokens by `index` and, given `relabel`, rename their digits
    (a boolean per-cell mask moves with index alone)."""
    moved = tokens.gather(1, index)
    return moved if relabel is None else relabel.gather(1, moved)


def undo_transform(tokens: torch.Tensor, index: torch.Tensor, relabel: torch.Tensor | None = None) -> torch.Tensor:
    """The inverse of apply_transform: tokens of a transformed board back in the original's cells and digits."""
    if relabel is not None:
        tokens = relabel.argsort(-1).gather(1, tokens)
    return torch.empty_like(tokens).scatter_(1, index, tokens)


def random_symmetry(tokens: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Apply a random element of the validity-preserving group to each board of [B, 81] tokens:
    digit relabelling, band and stack permutations, row/column permutations inside them, transpose."""
    index, relabel = random_transform(tokens.shape[0], generator)
    return apply_transform(tokens, index, relabel)


def conflict_cells(tokens: torch.Tensor, mask_id: int = MASK_ID) -> torch.Tensor:
    """[n, 81] bool: cells whose digit also stands in a peer cell (a rule violation)."""
    same = tokens.unsqueeze(2) == tokens.unsqueeze(1)
    return (same & PEERS.to(tokens.device)).any(-1) & (tokens != mask_id)


def is_solved_grid(tokens: torch.Tensor) -> torch.Tensor:
    """[n] bool: every cell holds a digit and no rule is broken."""
    return ((tokens != MASK_ID) & (tokens < N_DIGITS)).all(-1) & ~conflict_cells(tokens).any(-1)


def rectangle_swaps(grid: torch.Tensor) -> list[torch.Tensor]:
    """Other solved grids 4 cells away from `grid` [81]: digits a, b on the corners of a
    rectangle spanning two boxes, swapped (the smallest "unavoidable set" of Sudoku)."""
    g = grid.view(9, 9)
    pairs = torch.combinations(torch.arange(9), 2)  # 36 (i, j) with i < j
    r1, r2, c1, c2 = pairs[:, 0, None], pairs[:, 1, None], pairs[None, :, 0], pairs[None, :, 1]
    a, b, c, d = g[r1, c1], g[r1, c2], g[r2, c1], g[r2, c2]  # [36, 36] each
    out = []
    for i, j in ((a == d) & (b == c) & (a != b)).nonzero().tolist():
        rows, cols = pairs[i], pairs[j]
        alt = g.clone()
        alt[rows[:, None], cols[None, :]] = g[rows[:, None], cols[None, :]].flip(1)
        if is_solved_grid(alt.view(1, 81)).item():
            out.append(alt.view(81))
    return out


def ambiguous(start: torch.Tensor, solution: torch.Tensor) -> torch.Tensor:
    """[n] bool: a solved grid other than the solution is at least as close to the start board
    (found by rectangle swaps; a lower bound on the boards no revision can be sure about)."""
    flags = []
    for x, g in zip(start, solution):
        k = int((x != g).sum())
        flags.append(any(int((x != alt).sum()) <= k for alt in rectangle_swaps(g)))
    return torch.tensor(flags, dtype=torch.bool)

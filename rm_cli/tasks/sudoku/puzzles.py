"""Seeded puzzles with a unique solution, at a chosen difficulty.

A puzzle is carved out of a solved grid: visit the cells in a random order and blank each one
whose digit the remaining givens still force (the solver checks that no other digit fits), so
every intermediate board has exactly one solution. Carving stops at the level's number of
givens; `hard` carves until no given can go (a minimal puzzle) and keeps those with at most 26
givens. Carving every grid to the end also gives the training pool: blanking the first k cells
of a grid's carving order is a unique puzzle for any k up to its length.
"""

import random
from dataclasses import dataclass

import torch

from rm_cli.errors import UserError
from rm_cli.tasks.sudoku import solver
from rm_cli.tasks.sudoku.grid import grid_stream

# Givens per level (inclusive). Hard puzzles are minimal: their count is whatever carving reaches.
LEVELS = {"easy": (32, 35), "medium": (27, 31), "hard": (22, 26)}
MAX_TRIES = 200  # carvings of one grid before giving up on it (never reached in practice)


def check_level(level: str) -> tuple[int, int]:
    if level not in LEVELS:
        raise UserError(f"task.level={level!r} is not one of: {', '.join(LEVELS)}")
    return LEVELS[level]


def carve(grid: list[int], rng: random.Random, stop_at: int = 0) -> tuple[list[int], list[int]]:
    """(puzzle, carving order): blank forced cells in a random order until `stop_at` givens remain
    (0: until none can go). The order lists the blanked cells first, then the remaining givens."""
    board, removed, kept = grid[:], [], []
    cells = list(range(81))
    rng.shuffle(cells)
    for n, cell in enumerate(cells):
        if 81 - len(removed) == stop_at:
            kept.extend(cells[n:])
            break
        digit, board[cell] = board[cell], 0
        if solver.forces(board, cell, digit):
            removed.append(cell)
        else:
            board[cell] = digit
            kept.append(cell)
    return board, removed + kept


def make_puzzle(grid: list[int], level: str, rng: random.Random, singles_only: bool = False) -> list[int]:
    """A unique-solution puzzle of `grid` at `level` (optionally one that singles alone solve)."""
    lo, hi = check_level(level)
    for _ in range(MAX_TRIES):
        target = 0 if level == "hard" else rng.randint(lo, hi)
        board, _ = carve(grid, rng, target)
        givens = sum(1 for d in board if d)
        if lo <= givens <= hi and (not singles_only or solver.solved_by_singles(board)):
            return board
    raise RuntimeError(f"no {level} puzzle found for a grid after {MAX_TRIES} carvings")


def generate(seed: int, n: int, level: str, singles_only: bool = False, exclude: set[bytes] = frozenset()):
    """n puzzles of one level as (puzzles, solutions) token tensors [n, 81], MASK at blanks.

    Puzzle i depends only on the seed and on i, so the first k of a larger set equal a set of k.
    """
    check_level(level)
    rng = random.Random(seed + 1)
    puzzles, grids = [], []
    for grid, _ in zip(grid_stream(seed, exclude), range(n)):
        digits = (grid + 1).tolist()
        puzzles.append(make_puzzle(digits, level, rng, singles_only))
        grids.append(grid)
    return to_tokens(puzzles), torch.stack(grids) if grids else torch.zeros(0, 81, dtype=torch.long)


def to_tokens(boards: list[list[int]]) -> torch.Tensor:
    """Digit lists (0 = blank) -> token tensor [n, 81] (digit - 1, MASK for blank)."""
    t = torch.tensor(boards, dtype=torch.long).view(-1, 81)
    return torch.where(t == 0, torch.full_like(t, 9), t - 1)


def to_digits(tokens: torch.Tensor) -> list[int]:
    """One board's tokens -> a digit list (0 = blank)."""
    return [0 if t >= 9 else t + 1 for t in tokens.tolist()]


@dataclass
class CarvedPool:
    """Solved grids with their carving orders: blanking the first k cells of `order[i]` is a
    unique-solution puzzle of `grids[i]` for every k <= `depth[i]` (81 - its minimal givens)."""

    grids: torch.Tensor  # [n, 81] tokens
    order: torch.Tensor  # [n, 81] cell indices
    depth: torch.Tensor  # [n] cells that can be blanked

    def __len__(self) -> int:
        return self.grids.shape[0]

    def blanks(self, pick: torch.Tensor, givens: torch.Tensor) -> torch.Tensor:
        """[B, 81] bool: the blank cells of pool grids `pick` with `givens` givens each
        (never fewer than the grid's minimal puzzle allows)."""
        n_blank = torch.minimum(81 - givens, self.depth[pick])
        rank = torch.empty_like(self.order[pick]).scatter_(1, self.order[pick], torch.arange(81).expand(len(pick), 81))
        return rank < n_blank.unsqueeze(1)


def carved_pool(seed: int, n: int, exclude: set[bytes] = frozenset()) -> CarvedPool:
    """n distinct grids carved to minimal puzzles: the solve-mode training pool (about a minute for the default
    3,000, before training's first step: hence its progress line)."""
    from rm_cli.progress import progress

    rng = random.Random(seed + 1)
    grids, orders, depths = [], [], []
    with progress("carving the puzzle pool", n) as advance:
        for grid, _ in zip(grid_stream(seed, exclude), range(n)):
            board, order = carve((grid + 1).tolist(), rng)
            grids.append(grid)
            orders.append(order)
            depths.append(sum(1 for d in board if not d))
            advance()
    return CarvedPool(torch.stack(grids), torch.tensor(orders), torch.tensor(depths))

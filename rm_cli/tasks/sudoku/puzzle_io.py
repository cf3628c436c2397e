"""Reading puzzles to solve, with their gold boards, and one clear error per bad line.

A puzzle comes from a JSONL file ({"board": ..., "solution": ...}, the solution optional), a
plain-text file (one 81-char board per line) or the kaidoku bank ("kaidoku:LEVEL"). Every
puzzle is checked with the solver: givens that repeat a digit, a puzzle with no solution, or a
solution that disagrees with the givens is an error naming the file and line; a puzzle with
several solutions is kept but flagged (`several`), its gold being the file's solution or the
first one found, and scored by `solved_pct` (any valid completion of the givens).
"""

from dataclasses import dataclass

import torch

from rm_cli.errors import UserError
from rm_cli.tasks.base import Examples
from rm_cli.tasks.sudoku import kaidoku, solver
from rm_cli.tasks.sudoku.boards import NO_SOLUTION, parse_board, read_boards
from rm_cli.tasks.sudoku.grid import MASK_ID
from rm_cli.tasks.sudoku.puzzles import to_digits


@dataclass
class Puzzles(Examples):
    """Examples whose editable cells are the blanks, plus a flag for puzzles with several solutions."""

    several: torch.Tensor | None = None  # [n] bool

    def take(self, n: int | None) -> "Puzzles":
        if n is None:
            return self
        base = super().take(n)
        return Puzzles(**vars(base), several=None if self.several is None else self.several[:n])


CHECK_NODES = 100_000  # search nodes to check one puzzle: real puzzles need well under 1,000 (kaidoku's 25,000 at most
# 6.5 ms each); Norvig's 17-given "impossible" puzzle needs minutes to prove it has no solution


def checked_gold(board: torch.Tensor, solution: torch.Tensor | None, path, line: int) -> tuple[torch.Tensor, bool]:
    """(gold tokens, several solutions?) of one puzzle, or a UserError naming path:line."""
    digits = to_digits(board)
    clash = solver.conflict(digits)
    if clash:
        raise UserError(f"givens conflict: {clash}", path=path, line=line)
    try:
        found = solver.solutions(digits, limit=2, max_nodes=CHECK_NODES)
    except solver.SearchTooLong:
        raise UserError(f"could not settle whether the puzzle has a solution within {CHECK_NODES:,} search steps "
                        "(givens that contradict only deep in the search?)", path=path, line=line) from None
    if not found:
        raise UserError("puzzle has no solution", path=path, line=line)
    if solution is None or bool((solution == NO_SOLUTION).all()):
        return torch.tensor(found[0]) - 1, len(found) > 1
    given = board != MASK_ID
    if not torch.equal(solution[given], board[given]):
        cell = int((given & (solution != board)).nonzero()[0]) + 1
        raise UserError(f"solution disagrees with the givens at cell {cell}", path=path, line=line)
    return solution, len(found) > 1


def puzzles_from(boards: torch.Tensor, sols: torch.Tensor | None, source, lines: list[int]) -> Puzzles:
    golds, several = [], []
    for i, (board, line) in enumerate(zip(boards, lines)):
        gold, many = checked_gold(board, None if sols is None else sols[i], source, line)
        golds.append(gold)
        several.append(many)
    editable = boards == MASK_ID
    return Puzzles(boards, editable, torch.stack(golds), str(source), list(lines), torch.tensor(several, dtype=torch.bool))


def read_puzzles(spec, limit: int | None = None) -> Puzzles:
    """The first `limit` puzzles of a file or of the kaidoku bank ("kaidoku:LEVEL"), checked."""
    if kaidoku.is_bank(spec):
        path, rows = kaidoku.read_level(spec, limit)
        boards = torch.tensor([parse_board(text, path, number) for number, text in rows])
        return puzzles_from(boards, None, f"{path} ({spec}, kaidoku {kaidoku.version()})", [number for number, _ in rows])
    boards, sols, lines = read_boards(spec, need_solution=False)
    if limit is not None:
        boards, lines = boards[:limit], lines[:limit]
        sols = None if sols is None else sols[:limit]
    return puzzles_from(boards, sols, spec, lines)

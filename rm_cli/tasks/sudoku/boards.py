"""Reading and writing board files, with one clear error per bad line.

JSONL: one object per line, {"board": 81 chars of 1-9 with '.' or '0' for blanks,
"solution": 81 digits}. Plain text: one 81-char board per line. Blank lines are skipped.
"""

import json
from pathlib import Path

import torch

from rm_cli.errors import UserError
from rm_cli.io import file_lines, json_problem
from rm_cli.tasks.sudoku.grid import MASK_ID, is_solved_grid

BLANKS = ".0"


def parse_board(text, path, line: int, what: str = "board", blanks_ok: bool = True) -> list[int]:
    """81 characters -> tokens (digit d -> d-1, blank -> MASK)."""
    if not isinstance(text, str):
        raise UserError(f"{what} must be a string of 81 characters, got {type(text).__name__}", path=path, line=line)
    if len(text) != 81:
        raise UserError(f"{what} has {len(text)} cells, expected 81", path=path, line=line)
    tokens = []
    for i, ch in enumerate(text):
        if "1" <= ch <= "9":
            tokens.append(ord(ch) - ord("1"))
        elif blanks_ok and ch in BLANKS:
            tokens.append(MASK_ID)
        else:
            allowed = "1-9, '.' or '0'" if blanks_ok else "1-9"
            raise UserError(f"{what} has {ch!r} at cell {i + 1}; allowed: {allowed}", path=path, line=line)
    return tokens


def format_board(tokens) -> str:
    return "".join("." if int(t) == MASK_ID else str(int(t) + 1) for t in tokens)


def _read_lines(path) -> list[tuple[int, str]]:
    p = Path(path)
    if not p.is_file():
        raise UserError("no such file" if not p.exists() else "not a file", path=path)
    try:
        text = p.read_text(encoding="utf-8-sig")  # a byte-order mark (some editors write one) is not a cell
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read: {e.__class__.__name__}: {e}", path=path) from None
    lines = [(i + 1, s.strip()) for i, s in enumerate(file_lines(text)) if s.strip()]
    if not lines:
        raise UserError("file holds no boards", path=path)
    return lines


NO_SOLUTION = -1  # a solutions row of a line that gave none, in a file where another line did


def read_boards(path, need_solution: bool) -> tuple[torch.Tensor, torch.Tensor | None, list[int]]:
    """Boards [n, 81], solutions [n, 81] (None when no line gives one; rows of NO_SOLUTION for the lines
    without one, so each given solution is still checked) and source line numbers."""
    lines = _read_lines(path)
    is_jsonl = lines[0][1].startswith("{")
    boards, solutions, numbers = [], [], []
    for number, text in lines:
        if not is_jsonl:
            boards.append(parse_board(text, path, number))
            numbers.append(number)
            continue
        try:
            obj = json.loads(text)
        except (ValueError, RecursionError) as e:
            raise UserError(f"invalid JSON: {json_problem(e)}", path=path, line=number) from None
        if not isinstance(obj, dict) or "board" not in obj:
            raise UserError('expected an object with a "board" field', path=path, line=number)
        boards.append(parse_board(obj["board"], path, number))
        if "solution" in obj:
            solution = parse_board(obj["solution"], path, number, what="solution", blanks_ok=False)
            if not is_solved_grid(torch.tensor([solution])).item():
                raise UserError("solution breaks the Sudoku rules", path=path, line=number)
            solutions.append(solution)
        elif need_solution:
            raise UserError('missing "solution" (needed to score)', path=path, line=number)
        else:
            solutions.append([NO_SOLUTION] * 81)
        numbers.append(number)
    if need_solution and not is_jsonl:
        raise UserError('plain-text boards have no solutions; scoring needs JSONL with "solution"', path=path)
    given = [row for row in solutions if row[0] != NO_SOLUTION]
    return torch.tensor(boards), torch.tensor(solutions) if given else None, numbers


def solutions_of_every_line(sols: torch.Tensor | None) -> torch.Tensor | None:
    """read_boards' solutions when every line gave one, else None (no gold for the file)."""
    return None if sols is None or bool((sols == NO_SOLUTION).any()) else sols


def write_boards(path, boards: torch.Tensor, solutions: torch.Tensor) -> None:
    from rm_cli.io import atomic_write_text

    rows = [json.dumps({"board": format_board(b), "solution": format_board(s)}) for b, s in zip(boards, solutions)]
    atomic_write_text(path, "\n".join(rows) + "\n")

"""The graded puzzle bank of the MIT-licensed `kaidoku` package (25,000 puzzles, 9 levels).

kaidoku ships its puzzles as `kaidoku/data/sudoku.txt`, one per line: the level (1-9), a space,
81 digits with 0 for a blank. It ships no solutions: the project's solver supplies them. The
file is found without importing kaidoku (its import pulls in a GUI toolkit).
"""

import importlib.util
from importlib import metadata
from pathlib import Path

from rm_cli.errors import UserError

PREFIX = "kaidoku:"
# kaidoku's own names for its levels 1-9 (kaidoku.misc.lev), as accepted after "kaidoku:".
LEVEL_NAMES = ["trivial", "very_easy", "easy", "normal", "hard", "very_hard", "evil", "extreme", "ultimate"]


def is_bank(spec) -> bool:
    return isinstance(spec, str) and spec.startswith(PREFIX)


def bank_file() -> Path:
    spec = importlib.util.find_spec("kaidoku")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("test_file=kaidoku:... needs the kaidoku package: pip install 'rm-cli[kaidoku]'")
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "sudoku.txt"
    if not path.is_file():
        raise UserError("the installed kaidoku package has no puzzle file", path=path)
    return path


def version() -> str:
    """The installed kaidoku version (its puzzle file, and so each level's line numbers, may change)."""
    try:
        return metadata.version("kaidoku")
    except metadata.PackageNotFoundError:
        return "unknown"


def parse_level(spec: str) -> int:
    """'kaidoku:7' or 'kaidoku:evil' -> 7."""
    name = spec[len(PREFIX):].strip().lower().replace("-", "_").replace(" ", "_")
    if name.isdigit() and 1 <= int(name) <= len(LEVEL_NAMES):
        return int(name)
    if name in LEVEL_NAMES:
        return LEVEL_NAMES.index(name) + 1
    choices = ", ".join(f"{i + 1} ({n})" for i, n in enumerate(LEVEL_NAMES))
    raise UserError(f"unknown kaidoku level {name!r}; choose one of: {choices}")


def read_level(spec: str, limit: int | None = None) -> tuple[Path, list[tuple[int, str]]]:
    """(bank file, [(line number, 81-char board)]) of one level, the first `limit` of them."""
    level, path = parse_level(spec), bank_file()
    out = []
    for number, line in enumerate(path.read_text(encoding="ascii").splitlines(), start=1):
        head, _, board = line.partition(" ")
        if head == str(level):
            out.append((number, board.strip()))
            if limit is not None and len(out) >= limit:
                break
    if not out:
        raise UserError(f"no puzzles of level {level} in the bank", path=path)
    return path, out

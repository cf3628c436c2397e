"""The two-column rich tables the commands print (metric, value): one look for train, eval, prepare."""

from rich.console import Console
from rich.table import Table


def cell(value) -> str:
    """Floats to 3 decimals, None (a metric with nothing to measure) as n/a, everything else as str."""
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def warn_several_solutions(examples, consequence: str) -> None:
    """One stderr line when puzzles of the input have several solutions (Sudoku: a flagged input, not an error)."""
    several = getattr(examples, "several", None)
    if several is None or not bool(several.any()):
        return
    lines = [examples.lines[i] for i in several.nonzero().flatten().tolist()][:10] if examples.lines else []
    Console(stderr=True).print(f"warning: {examples.source}: {int(several.sum())} puzzle(s) have several solutions "
                               f"(lines {lines}); {consequence}", highlight=False, soft_wrap=True)  # one line in a log


def print_source_line(console, source, line: int, style: str = "", note: str = "") -> None:
    """A `file:line` header above one example's output, printed whole: a rich rule cut a long path to the
    terminal's width ('p.t…'), and the line number with it. `note`: what the reader must know about it."""
    note = f" ({note})" if note else ""
    console.print(f"── {source}:{line}{note} ──", style=style, markup=False, highlight=False, soft_wrap=True)


def print_table(title: str, rows, first: str = "metric") -> None:
    """rows: (name, value) pairs, printed in order."""
    table = Table(title=title)
    table.add_column(first)
    table.add_column("value", justify="right")
    for key, value in rows:
        table.add_row(key, cell(value))
    Console().print(table)

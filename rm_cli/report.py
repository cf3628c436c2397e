"""The two-column rich tables the commands print (metric, value): one look for train, eval, prepare."""

from rich.console import Console
from rich.table import Table


# Decimals `rm eval` keeps of a float metric in its results JSON (Sudoku's float32 means read 94.9999988079071),
# and the most its table prints: the table shows the number the JSON holds, with the JSON's own digits.
METRIC_PLACES = 4


def cell(value, places: int | None = None) -> str:
    """None (a metric with nothing to measure) as n/a; floats to 3 decimals, or with places=N as the value holds
    them, up to N decimals and without padding zeros (6.67 stays 6.67, not 6.670); everything else as str."""
    if value is None:
        return "n/a"
    if not isinstance(value, float):
        return str(value)
    if places is None:
        return f"{value:.3f}"
    text = f"{value:.{places}f}"
    if "." in text:  # not nan or inf
        text = text.rstrip("0")
        text += "0" if text.endswith(".") else ""
    return text


def round_metrics(value, places: int = METRIC_PLACES):
    """Every float in a metrics dict (nested dicts and lists too) rounded to `places` decimals; counts (ints)
    and everything else unchanged."""
    if isinstance(value, float):
        return round(value, places)
    if isinstance(value, dict):
        return {k: round_metrics(v, places) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(round_metrics(v, places) for v in value)
    return value


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


def print_table(title: str, rows, first: str = "metric", places: int | None = None, console=None) -> None:
    """rows: (name, value) pairs, printed in order; places: see cell. The title is a line of its own above the
    table, printed whole: as the table's title rich wrapped it to the table's width ('... history' / 'her)')."""
    console = console or Console()
    table = Table()
    table.add_column(first)
    table.add_column("value", justify="right", overflow="fold")  # a checkpoint path whole, never cut to '…'
    for key, value in rows:
        table.add_row(key, cell(value, places))
    console.print(title, style="bold", markup=False, highlight=False, soft_wrap=True)
    console.print(table)

"""The two-column rich tables the commands print (metric, value): one look for train, eval, prepare."""

from rich.console import Console
from rich.table import Table


def cell(value) -> str:
    """Floats to 3 decimals, everything else as str (already formatted text passes through)."""
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def print_table(title: str, rows, first: str = "metric") -> None:
    """rows: (name, value) pairs, printed in order."""
    table = Table(title=title)
    table.add_column(first)
    table.add_column("value", justify="right")
    for key, value in rows:
        table.add_row(key, cell(value))
    Console().print(table)

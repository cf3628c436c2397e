"""The two-column rich tables the commands print (metric, value): one look for train, eval, prepare."""

from rich.console import Console
from rich.table import Table


def cell(value) -> str:
    """Floats to 3 decimals, None (a metric with nothing to measure) as n/a, everything else as str."""
    if value is None:
        return "n/a"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def print_table(title: str, rows, first: str = "metric") -> None:
    """rows: (name, value) pairs, printed in order."""
    table = Table(title=title)
    table.add_column(first)
    table.add_column("value", justify="right")
    for key, value in rows:
        table.add_row(key, cell(value))
    Console().print(table)

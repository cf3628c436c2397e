"""A Hydra callback that tabulates a training sweep: one CSV row per run, mean ± std per point on the terminal.

Runs that differ only in `seed` form one point. Reads each run's summary.json, so it works
with any launcher (basic, joblib, submitit) once all jobs have finished. A sweep folder can be reused
(a fixed hydra.sweep.dir, or two sweeps in the same second): only summaries written since this sweep
started are read, so an older sweep's runs never join its table.
"""

import csv
import io
import json
import statistics
import time
from pathlib import Path

from hydra.experimental.callback import Callback
from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from rm_cli.io import atomic_write_text

LEAD, TAIL = ["best_val_exact_pct"], ["params", "wall_time_s", "cpu_time_s", "steps"]


def columns(runs: list[dict]) -> list[str]:
    """best_val_exact_pct, then every numeric test metric the runs report (the task's own: Sudoku's exact and
    valid %, image's success and precision %, ...), then size and time."""
    tests = [f"test.{k}" for s in runs for k, v in (s.get("test") or {}).items()
             if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return LEAD + list(dict.fromkeys(tests)) + TAIL


def _get(summary: dict, dotted: str):
    value = summary
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def point_overrides(summary: dict) -> list[str]:
    return [o for o in summary.get("overrides", []) if not o.startswith("seed=")]


def shared_overrides(runs: list[dict]) -> list[str]:
    """Overrides every run has, when the runs form more than one point: they name no point, only widen the table."""
    lists = [point_overrides(s) for s in runs]
    shared = [o for o in lists[0] if all(o in other for other in lists[1:])] if lists else []
    return shared if len({tuple(o) for o in lists}) > 1 else []


def point_name(summary: dict, shared: list[str] = ()) -> str:
    return " ".join(o for o in point_overrides(summary) if o not in shared) or "(defaults)"


def summary_files(sweep_dir, since: float | None = None) -> list[Path]:
    """summary.json files under sweep_dir (written at or after `since`, a time.time(), when given), in job order."""
    files = [p for p in Path(sweep_dir).glob("**/summary.json") if since is None or p.stat().st_mtime >= since]
    return sorted(files, key=lambda p: [(0, int(x), "") if x.isdigit() else (1, 0, x) for x in p.parts])


def read_runs(sweep_dir, since: float | None = None) -> list[dict]:
    return [json.loads(p.read_text()) for p in summary_files(sweep_dir, since)]


def summarize(sweep_dir, since: float | None = None) -> tuple[list[dict], dict[str, dict]]:
    """(per-run rows, per-point {column: (mean, std, n)}) for the summary.json files under sweep_dir."""
    return summarize_runs(read_runs(sweep_dir, since))


def summarize_runs(runs: list[dict]) -> tuple[list[dict], dict[str, dict]]:
    names, shared = columns(runs), shared_overrides(runs)
    rows = [{"point": point_name(s, shared), "seed": s.get("seed"), **{c: _get(s, c) for c in names}} for s in runs]
    points: dict[str, dict] = {}
    for name in dict.fromkeys(r["point"] for r in rows):
        group = [r for r in rows if r["point"] == name]
        stats = {}
        for c in names:
            values = [r[c] for r in group if isinstance(r[c], (int, float))]
            if values:
                stats[c] = (statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values))
        points[name] = stats
    return rows, points


def _number(x: float, whole: bool) -> str:
    text = f"{x:.2f}"
    return text.rstrip("0").rstrip(".") if whole else text  # a count: 812345, not 812345.00; a mean of counts: 40.5


def stat_text(stat, whole: bool = False) -> str:
    """One table cell: mean ± std (n=k); the std of one run is no number ('0.53 (n=1)', not '± 0.00'); a point
    without the column reads '—'. whole: the column counts (params, steps), printed without decimal zeros."""
    if stat is None:
        return "—"
    mean, std, n = stat
    if n < 2 or std is None:
        return f"{_number(mean, whole)} (n={n})"
    return f"{_number(mean, whole)} ± {_number(std, whole)} (n={n})"


def _table(headers: list[str], rows: list[list[str]]) -> Table:
    table = Table()
    table.add_column(headers[0], overflow="fold")
    for header in headers[1:]:
        table.add_column(header, justify="right", overflow="fold")
    for row in rows:
        table.add_row(*row)
    return table


def print_points(points: dict[str, dict], shown: list[str], title: str, shared: list[str] = (),
                 console: Console | None = None, whole: set[str] = frozenset()) -> None:
    """The terminal's table, legible in an 80-column log (one column per metric cut every header and cell to
    'p…', and both points to 'histo…'): one row per metric, one column per point, headed by the point's
    overrides; where that is wider than the terminal, one small table per point under its overrides, printed
    whole on a line of their own. Cells fold, never end in '…'; title and shared overrides are unwrapped lines.
    whole: the columns that count (every run's value an int), printed without decimal zeros."""
    console = console or Console()
    console.print(title, style="bold", markup=False, highlight=False, soft_wrap=True)
    if shared:
        console.print(f"every run: {' '.join(shared)}", markup=False, highlight=False, soft_wrap=True)
    wide = _table(["metric", *points], [[c, *(stat_text(stats.get(c), c in whole) for stats in points.values())] for c in shown])
    if Measurement.get(console, console.options.update_width(10**6), wide).maximum <= console.width:  # its own width
        console.print(wide)
        return
    for name, stats in points.items():
        console.print(name, style="bold", markup=False, highlight=False, soft_wrap=True)
        console.print(_table(["metric", "mean ± std (n)"], [[c, stat_text(stats.get(c), c in whole)] for c in shown]))


def write_summary(sweep_dir, console: Console | None = None, since: float | None = None) -> Path | None:
    runs = read_runs(sweep_dir, since)  # once: the rows and the shared overrides both come from them
    rows, points = summarize_runs(runs)
    if not rows:
        return None
    buffer = io.StringIO()
    names = [c for c in rows[0] if c not in ("point", "seed")]
    writer = csv.DictWriter(buffer, fieldnames=["point", "seed", *names])
    writer.writeheader()
    writer.writerows(rows)
    out = Path(sweep_dir) / "sweep_summary.csv"
    atomic_write_text(out, buffer.getvalue())
    print_points(points, [c for c in names if any(c in stats for stats in points.values())],
                 title=f"sweep {sweep_dir}: mean ± std over seeds (every run and column: {out.name})",
                 shared=shared_overrides(runs), console=console,
                 whole={c for c in names if all(isinstance(r[c], int) or r[c] is None for r in rows)})
    return out


class SweepSummary(Callback):
    def __init__(self) -> None:
        self.started: float | None = None

    def on_multirun_start(self, config, **kwargs) -> None:
        self.started = time.time() - 1.0  # a file system's clock can trail time.time() by a tick

    def on_multirun_end(self, config, **kwargs) -> None:
        write_summary(config.hydra.sweep.dir, since=self.started)

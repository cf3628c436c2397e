"""A Hydra callback that tabulates a training sweep: one CSV row per run, mean +- std per point.

Runs that differ only in `seed` form one point. Reads each run's summary.json, so it works
with any launcher (basic, joblib, submitit) once all jobs have finished.
"""

import csv
import io
import json
import statistics
from pathlib import Path

from hydra.experimental.callback import Callback
from rich.console import Console
from rich.table import Table

from rm_cli.io import atomic_write_text

COLUMNS = ["best_val_exact_pct", "test.exact_pct", "test.valid_pct", "test.valid_within_k_pct", "test.replay_mistake_pct",
           "test.conflict_cells_per_board", "test.changed_correct_per_board", "test.nfe_per_board",
           "params", "wall_time_s", "cpu_time_s", "steps"]


def _get(summary: dict, dotted: str):
    value = summary
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def point_name(summary: dict) -> str:
    overrides = [o for o in summary.get("overrides", []) if not o.startswith("seed=")]
    return " ".join(overrides) or "(defaults)"


def summarize(sweep_dir) -> tuple[list[dict], dict[str, dict]]:
    """(per-run rows, per-point {column: (mean, std, n)}) for the summary.json files under sweep_dir."""
    runs = [json.loads(p.read_text()) for p in sorted(Path(sweep_dir).glob("**/summary.json"))]
    rows = [{"point": point_name(s), "seed": s.get("seed"), **{c: _get(s, c) for c in COLUMNS}} for s in runs]
    points: dict[str, dict] = {}
    for name in dict.fromkeys(r["point"] for r in rows):
        group = [r for r in rows if r["point"] == name]
        stats = {}
        for c in COLUMNS:
            values = [r[c] for r in group if isinstance(r[c], (int, float))]
            if values:
                stats[c] = (statistics.mean(values), statistics.stdev(values) if len(values) > 1 else 0.0, len(values))
        points[name] = stats
    return rows, points


def write_summary(sweep_dir, console: Console | None = None) -> Path | None:
    rows, points = summarize(sweep_dir)
    if not rows:
        return None
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["point", "seed", *COLUMNS])
    writer.writeheader()
    writer.writerows(rows)
    out = Path(sweep_dir) / "sweep_summary.csv"
    atomic_write_text(out, buffer.getvalue())
    table = Table(title=f"sweep {sweep_dir}: mean +- std over seeds")
    table.add_column("point")
    shown = [c for c in COLUMNS if any(c in s for s in points.values())]
    for c in shown:
        table.add_column(c, justify="right")
    for name, stats in points.items():
        table.add_row(name, *(f"{stats[c][0]:.2f} +- {stats[c][1]:.2f} (n={stats[c][2]})" if c in stats else "-" for c in shown))
    (console or Console()).print(table)
    return out


class SweepSummary(Callback):
    def on_multirun_end(self, config, **kwargs) -> None:
        write_summary(config.hydra.sweep.dir)

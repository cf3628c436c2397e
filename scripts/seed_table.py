"""Mean +- std over seeds per method, from the `rm eval` results JSONs of a study script.

Shared by scripts/image_editing_table.py and scripts/text_table.py: a study writes
OUT_DIR/results/METHOD_seedS.json (one per trained run) and OUT_DIR/METHOD_seedS/summary.json (the
training cost); a table script names its columns and calls `main`. It writes PREFIX.csv (one row per
run) and PREFIX.md (one row per method, mean +- sample std over seeds, then the training cost).
"""

import argparse
import csv
import io
import json
import re
import statistics
import sys
from pathlib import Path

TRAINING = ["steps", "wall_time_s", "cpu_time_s", "params"]


def load_runs(out_dir: Path, script: str) -> list[dict]:
    runs = []
    for path in sorted((out_dir / "results").glob("*_seed*.json")):
        match = re.fullmatch(r"(.+)_seed(\d+)", path.stem)
        if not match:
            continue
        result = json.loads(path.read_text())
        summary_path = out_dir / path.stem / "summary.json"
        summary = json.loads(summary_path.read_text()) if summary_path.exists() else {}
        runs.append({"method": match[1], "seed": int(match[2]), "results": path.name, **result["metrics"],
                     **{k: summary.get(k) for k in TRAINING}})
    if not runs:
        sys.exit(f"{script}: no results under {out_dir / 'results'} (run its study script first)")
    return runs


def mean_std(values: list, digits: int) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.{digits}f} (1 seed)"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def ordered_methods(runs: list[dict], order: list[str]) -> list[str]:
    found = list(dict.fromkeys(r["method"] for r in runs))
    return [m for m in order if m in found] + [m for m in found if m not in order]


def markdown(runs: list[dict], columns: list[tuple], order: list[str], ceilings: list[tuple] = ()) -> str:
    """columns: (results key, title, digits); ceilings: (results key, title), read from the first run."""
    methods = ordered_methods(runs, order)
    lines = ["| method | seeds | " + " | ".join(title for _, title, _ in columns) + " |",
             "|---|---|" + "---|" * len(columns)]
    for m in methods:
        rows = [r for r in runs if r["method"] == m]
        cells = [mean_std([r.get(key) for r in rows], d) for key, _, d in columns]
        lines.append(f"| {m} | {len(rows)} | " + " | ".join(cells) + " |")
    if ceilings:
        lines += ["", "| ceiling (same test set) | value |", "|---|---|"]
        for key, title in ceilings:
            lines.append(f"| {title} | {mean_std([r.get(key) for r in runs[:1]], 2).replace(' (1 seed)', '')} |")
    lines += ["", "| method | steps | wall min per run | CPU min per run | params |", "|---|---|---|---|---|"]
    eval_only = []  # methods that score another run's weights (no summary.json of their own): no cost row
    for m in methods:
        rows = [r for r in runs if r["method"] == m]
        if all(r.get(k) is None for r in rows for k in TRAINING):
            eval_only.append(m)
            continue
        minutes = lambda k: mean_std([r[k] / 60 if r.get(k) is not None else None for r in rows], 1)  # noqa: E731
        lines.append(f"| {m} | {rows[0].get('steps')} | {minutes('wall_time_s')} | {minutes('cpu_time_s')} | {rows[0].get('params')} |")
    if eval_only:
        lines += ["", f"No training run of their own (decoding of another run's weights): {', '.join(eval_only)}."]
    return "\n".join(lines) + "\n"


def main(doc: str, name: str, columns: list[tuple], order: list[str], ceilings: list[tuple] = ()) -> None:
    """The command line of a table script: OUT_DIR [--out PREFIX] (default PREFIX: OUT_DIR/NAME)."""
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--out", type=Path, help=f"PREFIX of PREFIX.csv and PREFIX.md (default: OUT_DIR/{name})")
    args = parser.parse_args()
    prefix = args.out or args.out_dir / name
    runs = load_runs(args.out_dir, f"{name}_table")
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(dict.fromkeys(k for r in runs for k in r)))
    writer.writeheader()
    writer.writerows(runs)
    table = markdown(runs, columns, order, ceilings)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{prefix}.csv").write_text(buf.getvalue())
    Path(f"{prefix}.md").write_text(table)
    print(table, end="")
    print(f"wrote {prefix}.csv and {prefix}.md")

"""Mean +- std per method of the `rm eval task=image` results of scripts/image_editing_study.sh.

    python scripts/image_editing_table.py OUT_DIR [--out PREFIX]

Reads OUT_DIR/results/NAME_seedS.json (one per trained run; the method is NAME) and, where present,
OUT_DIR/NAME_seedS/summary.json for the training cost. Writes PREFIX.csv (one row per run) and
PREFIX.md (the paper's table layout, mean +- std over seeds, then the tokenizer/classifier ceilings).
"""

import argparse
import csv
import io
import json
import re
import statistics
import sys
from pathlib import Path

# (results key, column title, digits): the paper's columns first, then RM's token-level localisation
COLUMNS = [("precision_pct", "precision %", 1), ("coverage_pct", "coverage %", 1), ("mae_out", "MAE out", 3),
           ("psnr_out_db", "PSNR out dB", 3), ("ssim_out", "SSIM out", 4), ("success_pct", "success %", 1),
           ("success_replace_pct", "replace %", 1), ("success_remove_pct", "remove %", 1), ("success_add_pct", "add %", 1),
           ("remask_precision_pct", "re-mask prec. %", 1), ("remask_recall_pct", "re-mask recall %", 1),
           ("no_change_pct", "no change %", 1), ("nfe_per_example", "NFE", 1)]
CEILINGS = [("ceiling_psnr_out_db", "tokenizer's PSNR out (source reconstructed)"),
            ("gold_coverage_pct", "coverage of the target's own tokens"), ("gold_success_pct", "success of the target's own tokens")]
TRAINING = ["steps", "wall_time_s", "cpu_time_s", "params"]
ORDER = ["regenerate", "sft", "rm"]  # the paper's row order; other methods (e.g. rm_her) follow


def load_runs(out_dir: Path) -> list[dict]:
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
        sys.exit(f"image_editing_table: no results under {out_dir / 'results'} (run scripts/image_editing_study.sh first)")
    return runs


def mean_std(values: list, digits: int) -> str:
    values = [v for v in values if v is not None]
    if not values:
        return "n/a"
    if len(values) == 1:
        return f"{values[0]:.{digits}f} (1 seed)"
    return f"{statistics.mean(values):.{digits}f} ± {statistics.stdev(values):.{digits}f}"


def markdown(runs: list[dict]) -> str:
    found = list(dict.fromkeys(r["method"] for r in runs))
    methods = [m for m in ORDER if m in found] + [m for m in found if m not in ORDER]
    lines = ["| method | seeds | " + " | ".join(title for _, title, _ in COLUMNS) + " |",
             "|---|---|" + "---|" * len(COLUMNS)]
    for m in methods:
        rows = [r for r in runs if r["method"] == m]
        cells = [mean_std([r.get(key) for r in rows], d) for key, _, d in COLUMNS]
        lines.append(f"| {m} | {len(rows)} | " + " | ".join(cells) + " |")
    lines += ["", "| ceiling (same test pairs) | value |", "|---|---|"]
    for key, title in CEILINGS:
        lines.append(f"| {title} | {mean_std([r.get(key) for r in runs[:1]], 2).replace(' (1 seed)', '')} |")
    lines += ["", "| method | steps | wall min per run | CPU min per run | params |", "|---|---|---|---|---|"]
    for m in methods:
        rows = [r for r in runs if r["method"] == m]
        minutes = lambda k: mean_std([r[k] / 60 if r.get(k) is not None else None for r in rows], 1)  # noqa: E731
        lines.append(f"| {m} | {rows[0].get('steps')} | {minutes('wall_time_s')} | {minutes('cpu_time_s')} | {rows[0].get('params')} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--out", type=Path, help="PREFIX of PREFIX.csv and PREFIX.md (default: OUT_DIR/image_editing)")
    args = parser.parse_args()
    prefix = args.out or args.out_dir / "image_editing"
    runs = load_runs(args.out_dir)
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=list(dict.fromkeys(k for r in runs for k in r)))
    writer.writeheader()
    writer.writerows(runs)
    table = markdown(runs)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{prefix}.csv").write_text(buf.getvalue())
    Path(f"{prefix}.md").write_text(table)
    print(table, end="")
    print(f"wrote {prefix}.csv and {prefix}.md")


if __name__ == "__main__":
    main()

"""Joins the scaling CSVs that `rm eval scaling=true` wrote for several checkpoints into one CSV and
one plot, so methods trained differently are compared at equal forward passes on one figure.

    python scripts/scaling_join.py --run sft=A.csv --run rm_her=B.csv --out PREFIX [--title TEXT]

Each line of the plot is LABEL: SAMPLER; PREFIX.csv holds every row with a `method` column added.
"""

import argparse
import csv
import sys
from pathlib import Path

from rm_cli.scaling import write_csv_and_plot


def number(text: str):
    """A CSV cell back as int, float or None (empty)."""
    if text in ("", None):
        return None
    try:
        return int(text)
    except ValueError:
        return float(text)


def joined_rows(runs: list[tuple[str, Path]]) -> list[dict]:
    rows = []
    for label, path in runs:
        if not path.is_file():
            sys.exit(f"scaling_join: {path}: no such file (run `rm eval ... scaling=true output=...` first)")
        for row in csv.DictReader(path.open()):
            out = {k: (v if k in ("sampler", "history") else number(v)) for k, v in row.items()}
            out.update(method=label, sampler=f"{label}: {row['sampler']}")
            rows.append(out)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--run", action="append", required=True, metavar="LABEL=CSV")
    parser.add_argument("--out", type=Path, required=True, help="PREFIX of PREFIX.csv and PREFIX.png")
    parser.add_argument("--title", default="exact % vs forward passes")
    args = parser.parse_args()
    runs = []
    for spec in args.run:
        label, sep, path = spec.partition("=")
        if not sep or not label or not path:
            sys.exit(f"scaling_join: --run {spec!r}: expected LABEL=CSV")
        runs.append((label, Path(path)))
    rows = joined_rows(runs)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    write_csv_and_plot(Path(f"{args.out}.csv"), Path(f"{args.out}.png"), rows, args.title)
    print(f"wrote {args.out}.csv and {args.out}.png ({len(rows)} points)")


if __name__ == "__main__":
    main()

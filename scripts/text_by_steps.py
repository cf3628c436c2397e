"""Exact final answer % by the number of steps in the problem, per run, from `rm eval task=text` results.

    python scripts/text_by_steps.py RESULTS_JSON... [--out FILE.md]

The arithmetic problems take 1 to 3 steps; a reference answer has one `=` per step. Where a method's
gain sits (easy or hard problems) is not visible in the overall exact %, so the text study prints this
beside its table. One row per results file (its name, e.g. rm_her_seed0), one column per step count.
"""

import argparse
import json
import sys
from collections import defaultdict
from pathlib import Path


def exact_by_steps(predictions: list[dict]) -> dict[int, tuple[int, int]]:
    """{steps: (correct, total)} over the predictions of one results file."""
    counts = defaultdict(lambda: [0, 0])
    for p in predictions:
        steps = p["reference"].count("=")
        counts[steps][0] += bool(p["correct"])
        counts[steps][1] += 1
    return {s: tuple(c) for s, c in sorted(counts.items())}


def table(files: list[Path]) -> str:
    runs = {}
    for f in files:
        try:
            runs[f.stem] = exact_by_steps(json.loads(f.read_text())["predictions"])
        except (OSError, ValueError, KeyError, TypeError) as e:
            sys.exit(f"text_by_steps: {f}: not an `rm eval task=text` results file ({type(e).__name__}: {e})")
    steps = sorted({s for r in runs.values() for s in r})
    lines = ["| run | " + " | ".join(f"{s}-step exact % (n)" for s in steps) + " |", "|---|" + "---|" * len(steps)]
    for name, r in runs.items():
        cells = [f"{100 * r[s][0] / r[s][1]:.1f} ({r[s][1]})" if s in r else "n/a" for s in steps]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, nargs="+")
    parser.add_argument("--out", type=Path, help="also write the markdown table here")
    args = parser.parse_args()
    text = table(args.results)
    if args.out:
        from rm_cli.io import atomic_write_text  # never a half-written table

        atomic_write_text(args.out, text)
    print(text, end="")


if __name__ == "__main__":
    main()

"""Two methods on the same test problems, seed by seed, from `rm eval task=text` results.

    python scripts/text_paired.py RESULTS_DIR A B [--out FILE.md]

For every seed S with both RESULTS_DIR/A_seedS.json and RESULTS_DIR/B_seedS.json: the problems solved
by both runs, by A only, by B only, and McNemar's test on the two "only" counts b and c (chi-square
with continuity correction, (|b - c| - 1)^2 / (b + c), 1 degree of freedom). Mean +- std over seeds
says how far apart the methods are; this says whether one pair of runs differs beyond the noise of
a 500-problem test set, which the seed spread alone does not.
"""

import argparse
import json
import math
import re
import sys
from pathlib import Path


def mcnemar(only_a: int, only_b: int) -> tuple[float, float]:
    """(chi-square with continuity correction, two-sided p) for the discordant counts of a paired test."""
    if only_a + only_b == 0:
        return 0.0, 1.0
    chi2 = max(abs(only_a - only_b) - 1, 0) ** 2 / (only_a + only_b)
    return chi2, math.erfc(math.sqrt(chi2 / 2))  # survival function of chi-square with 1 dof


def solved(path: Path) -> dict[str, bool]:
    """{problem id: correct} of one results file."""
    try:
        return {str(p["id"]): bool(p["correct"]) for p in json.loads(path.read_text())["predictions"]}
    except (OSError, ValueError, KeyError, TypeError) as e:
        sys.exit(f"text_paired: {path}: not an `rm eval task=text` results file ({type(e).__name__}: {e})")


def seeds(results: Path, name: str) -> set[int]:
    return {int(m.group(1)) for f in results.glob(f"{name}_seed*.json") if (m := re.fullmatch(rf"{name}_seed(\d+)", f.stem))}


def table(results: Path, a: str, b: str) -> str:
    common = sorted(seeds(results, a) & seeds(results, b))
    if not common:
        sys.exit(f"text_paired: {results}: no seed with both {a}_seedS.json and {b}_seedS.json")
    lines = [f"| seed | both | {a} only | {b} only | neither | {a} exact % | {b} exact % | McNemar chi-square | p |",
             "|---|---|---|---|---|---|---|---|---|"]
    for s in common:
        x, y = solved(results / f"{a}_seed{s}.json"), solved(results / f"{b}_seed{s}.json")
        if x.keys() != y.keys():
            sys.exit(f"text_paired: {a}_seed{s} and {b}_seed{s} scored different problems")
        both = sum(x[i] and y[i] for i in x)
        only_a, only_b = sum(x[i] and not y[i] for i in x), sum(y[i] and not x[i] for i in x)
        chi2, p = mcnemar(only_a, only_b)
        n = len(x)
        lines.append(f"| {s} | {both} | {only_a} | {only_b} | {n - both - only_a - only_b} | {100 * (both + only_a) / n:.1f} "
                     f"| {100 * (both + only_b) / n:.1f} | {chi2:.2f} | {p:.2g} |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("results", type=Path, help="folder of NAME_seedS.json results files")
    parser.add_argument("a")
    parser.add_argument("b")
    parser.add_argument("--out", type=Path, help="also write the markdown table here")
    args = parser.parse_args()
    text = table(args.results, args.a, args.b)
    if args.out:
        from rm_cli.io import atomic_write_text  # never a half-written table

        atomic_write_text(args.out, text)
    print(text, end="")


if __name__ == "__main__":
    main()

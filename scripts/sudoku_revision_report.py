"""Render the Sudoku-revision ablation table (docs/results/sudoku_revision.md) from a sweep dir.

    python scripts/sudoku_revision_report.py multirun/sudoku_revision_ablation

Reads each run's summary.json (written by `rm train`, with the test metrics of its best
checkpoint) and prints mean +- std over seeds per history variant, next to the paper's numbers.
"""

import sys

from rm_cli.sweep_summary import summarize

PAPER = {  # SPEC §5: exact %, valid %, replay mistake %, conflict cells / board
    "off": ("RM without HR", 82.4, 86.6, 0.57, 0.578),
    "hr": ("RM + HR", 91.4, 91.8, 0.07, 0.300),
    "hr_decay": ("RM + HR + decay", 89.4, 89.6, 0.07, 0.362),
    "her": ("RM + HR + decay + HER", 93.4, 93.6, 0.03, 0.236),
}
METRICS = [("test.exact_pct", "exact %"), ("test.valid_pct", "valid %"), ("test.valid_within_k_pct", "valid within k %"),
           ("test.replay_mistake_pct", "replay mistake %"), ("test.conflict_cells_per_board", "conflict cells / board"),
           ("test.changed_correct_per_board", "correct cells changed / board"), ("test.nfe_per_board", "forward passes / board"),
           ("best_val_exact_pct", "best val exact %")]


def fmt(stat, digits=1):
    mean, std, n = stat
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def main(sweep_dir: str) -> None:
    _, points = summarize(sweep_dir)
    by_history = {name.split("history=")[1].split()[0]: stats for name, stats in points.items() if "history=" in name}
    header = ["variant (`history=`)", *[label for _, label in METRICS], "params", "wall time / run (min)", "CPU time / run (min)", "seeds"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for key, (label, *_) in PAPER.items():
        s = by_history.get(key)
        if not s:
            continue
        cells = [fmt(s[m], 3 if "conflict" in m or "changed" in m else (2 if "replay" in m or "nfe" in m else 1))
                 if m in s else "–" for m, _ in METRICS]
        params = f"{s['params'][0] / 1e6:.2f}M"
        wall = f"{s['wall_time_s'][0] / 60:.1f} ± {s['wall_time_s'][1] / 60:.1f}"
        cpu = f"{s['cpu_time_s'][0] / 60:.1f} ± {s['cpu_time_s'][1] / 60:.1f}" if "cpu_time_s" in s else "–"
        print(f"| {label} (`{key}`) | " + " | ".join(cells) + f" | {params} | {wall} | {cpu} | {s['test.exact_pct'][2]} |")
    print()
    print("Paper (SPEC §5, one run each, 0.81M parameters):")
    print()
    print("| variant | exact % | valid % | replay mistake % | conflict cells / board |")
    print("|---|---|---|---|---|")
    for label, exact, valid, replay, conflicts in PAPER.values():
        print(f"| {label} | {exact} | {valid} | {replay} | {conflicts} |")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    main(sys.argv[1])

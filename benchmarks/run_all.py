"""`make bench`: the engine benchmarks of the Sudoku-revision issue, the CPU DDP throughput and the
text head's answer-only logits, side by side.

    python benchmarks/run_all.py [--threads 1] [--quick] [--json out.json]

Every benchmark but (d), which compares thread settings itself, runs with --threads torch threads (1 by
default: the same on any machine, and steadier on a shared one). A goal is met ("yes") when the upper
quartile of the paired ratios meets it, missed ("NO") when their median does not, and "unclear" in
between (the machine was too noisy to tell: rerun). --quick runs every benchmark with fewer repeats and
sizes (a few minutes instead of about 20), to check that they run, not to read the numbers.
"""

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import torch  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from benchmarks import answer_logits, ddp_throughput, decode_memory, decode_overhead, train_step  # noqa: E402
from benchmarks.common import verdict  # noqa: E402
from rm_cli.runinfo import git_commit, package_versions  # noqa: E402

QUICK = {"train_step": {"repeats": 6}, "decode_overhead": {"n_boards": 64, "repeats": 2},
         "decode_memory": {"turn_counts": (4, 16), "repeats": 1, "fixed_counts": (4, 16)},
         "ddp_throughput": {"steps": 14, "warmup": 4, "repeats": 1},
         "answer_logits": {"batch_size": 8, "decode_problems": 4, "repeats": 1}}


def spread(result: dict) -> str:
    return f"{result['ratio']:.3f} [{result['ratio_q1']:.3f}-{result['ratio_q3']:.3f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--threads", type=int, default=1, help="torch threads of every benchmark but (d) (default 1)")
    parser.add_argument("--quick", action="store_true", help="fewer repeats and smaller sizes: checks that they run")
    parser.add_argument("--json", help="also write the measurements here")
    args = parser.parse_args()
    if args.threads < 1:
        parser.error(f"--threads must be >= 1, got {args.threads}")
    torch.set_num_threads(args.threads)
    sizes = QUICK if args.quick else {}
    console = Console()
    console.print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s){', quick sizes' if args.quick else ''}")
    a = train_step.run(**sizes.get("train_step", {}))
    b = decode_overhead.run(**sizes.get("decode_overhead", {}))
    c = decode_memory.run(**sizes.get("decode_memory", {}), threads=args.threads)
    d = ddp_throughput.run(**sizes.get("ddp_throughput", {}))
    e = answer_logits.run(**sizes.get("answer_logits", {}))

    table = Table(title="rm benchmarks (measured in this run; ratio: median [quartiles] of paired timings)")
    for col in ("benchmark", "measured", "ratio", "goal", "met"):
        table.add_column(col)
    table.add_row(f"(a) train step: RM+HER / plain MDM ({a['pairs']} pairs)",
                  f"{a['rm_her_step_s'] * 1e3:.1f} ms / {a['mdm_step_s'] * 1e3:.1f} ms",
                  spread(a), "<= 1.15", verdict(a["ratio"], a["ratio_q1"], a["ratio_q3"], 1.15))
    table.add_row(f"(b) decode / its forward passes alone ({b['pairs']} pairs)",
                  f"{b['decode_s'] * 1e3:.0f} ms / {b['forward_only_s'] * 1e3:.0f} ms ({b['forward_passes']} passes)",
                  spread(b), "<= 1.10", verdict(b["ratio"], b["ratio_q1"], b["ratio_q3"], 1.10))
    fixed = ", ".join(f"{r['turns']}:{r['decoder_mb']:.0f}MB" for r in c["fixed_mmap_rows"])
    table.add_row("(c) decoder's own peak memory vs turns, mmap threshold fixed at 1 MiB", fixed,
                  f"{c['fixed_mmap_ratio']:.3f}", "<= 1.05 (flat)", "yes" if c["fixed_mmap_ratio"] <= 1.05 else "NO")
    mem = ", ".join(f"{r['turns']}:{r['decoder_mb']:.0f}MB" for r in c["rows"])
    table.add_row(f"(c) same, glibc default: median of {len(c['rows'][0]['runs_decoder_mb'])} processes per count",
                  f"{mem} (same-turns scatter up to {c['scatter_same_turns']:.3f}x)", f"{c['max_growth_ratio']:.3f}",
                  "reported", "-")
    table.add_row("(c) decode time, fixed threshold / glibc default (median over turn counts)", "",
                  f"{c['fixed_mmap_time_ratio']:.3f}", "reported", "-")
    rates = d["samples_per_s"]
    table.add_row("(d) CPU train samples/s: DDP 2 procs / 1 proc", f"{rates['DDP 2 processes (gloo), 1 thread each']:.0f} / "
                  f"{rates['1 process, 2 threads']:.0f} (1 thread: {rates['1 process, 1 thread']:.0f})",
                  f"{d['ddp_over_single']:.3f}", "reported", "-")
    for name, label in (("sft", "SFT"), ("rm_her", "RM + HER")):
        t = e[f"{name}_train"]
        table.add_row(f"(e) MiniLM text train step, {label}: every column / answer columns (batch {e['batch_size']}, "
                      f"{t['pairs']} pairs)",
                      f"{t['every_column_s'] * 1e3:.0f} ms / {t['answer_columns_s'] * 1e3:.0f} ms", spread(t), "reported", "-")
    t = e["decode"]
    table.add_row(f"(e) MiniLM decode (vanilla_text, {e['decode_problems']} problems): every column / answer columns "
                  f"({t['pairs']} pairs)",
                  f"{t['every_column_s']:.1f} s / {t['answer_columns_s']:.1f} s", spread(t), "reported", "-")
    console.print(table)
    if args.json:
        # what the numbers were measured with: a later reader cannot tell the benchmark's settings from the file name
        run = {"threads": args.threads, "quick": args.quick, "git_commit": git_commit(), "versions": package_versions()}
        Path(args.json).write_text(json.dumps({"run": run, "train_step": a, "decode_overhead": b, "decode_memory": c,
                                               "ddp_throughput": d, "answer_logits": e}, indent=2) + "\n")


if __name__ == "__main__":
    main()

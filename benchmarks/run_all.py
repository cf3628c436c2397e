"""`make bench`: the engine benchmarks of the Sudoku-revision issue, the CPU DDP throughput and the
text head's answer-only logits, side by side.

    python benchmarks/run_all.py [--json out.json]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--json", help="also write the measurements here")
    args = parser.parse_args()
    console = Console()
    console.print(f"torch {torch.__version__}, {torch.get_num_threads()} threads")
    a = train_step.run()
    b = decode_overhead.run()
    c = decode_memory.run()
    d = ddp_throughput.run()
    e = answer_logits.run()

    table = Table(title="rm benchmarks (measured in this run)")
    for col in ("benchmark", "measured", "ratio", "goal", "met"):
        table.add_column(col)
    table.add_row("(a) train step: RM+HER / plain MDM", f"{a['rm_her_step_s'] * 1e3:.1f} ms / {a['mdm_step_s'] * 1e3:.1f} ms",
                  f"{a['ratio']:.3f}", "<= 1.15", "yes" if a["ratio"] <= 1.15 else "NO")
    table.add_row("(b) decode / (NFE x forward)", f"{b['decode_s'] * 1e3:.0f} ms / {b['forward_only_s'] * 1e3:.0f} ms "
                  f"({b['forward_passes']} passes)", f"{b['ratio']:.3f}", "<= 1.10", "yes" if b["ratio"] <= 1.10 else "NO")
    fixed = ", ".join(f"{r['turns']}:{r['peak_rss_mb']:.0f}MB" for r in c["fixed_mmap_rows"])
    table.add_row("(c) peak RSS vs turns, mmap threshold fixed at 1 MiB (the decoder's memory)", fixed,
                  f"{c['fixed_mmap_ratio']:.3f}", "<= 1.05 (flat)", "yes" if c["fixed_mmap_ratio"] <= 1.05 else "NO")
    mem = ", ".join(f"{r['turns']}:{r['peak_rss_mb']:.0f}MB" for r in c["rows"])
    table.add_row("(c) same, glibc default: median of 3 processes per count", f"{mem} (same-turns scatter up to "
                  f"{c['scatter_same_turns']:.3f}x)", f"{c['max_growth_ratio']:.3f}", "reported", "-")
    rates = d["samples_per_s"]
    table.add_row("(d) CPU train samples/s: DDP 2 procs / 1 proc", f"{rates['DDP 2 processes (gloo), 1 thread each']:.0f} / "
                  f"{rates['1 process, 2 threads']:.0f} (1 thread: {rates['1 process, 1 thread']:.0f})",
                  f"{d['ddp_over_single']:.3f}", "reported", "-")
    for name, label in (("sft", "SFT"), ("rm_her", "RM + HER")):
        times = e[f"{name}_train_s"]
        table.add_row(f"(e) MiniLM text train step, {label}: every column / answer columns (batch {e['batch_size']})",
                      f"{times['every column'] * 1e3:.0f} ms / {times['answer columns'] * 1e3:.0f} ms",
                      f"{e[f'{name}_train_speedup']:.3f}", "reported", "-")
    times = e["decode_s"]
    table.add_row(f"(e) MiniLM decode (vanilla_text, {e['decode_problems']} problems): every column / answer columns",
                  f"{times['every column']:.1f} s / {times['answer columns']:.1f} s", f"{e['decode_speedup']:.3f}",
                  "reported", "-")
    console.print(table)
    if args.json:
        Path(args.json).write_text(json.dumps({"train_step": a, "decode_overhead": b, "decode_memory": c, "ddp_throughput": d,
                                              "answer_logits": e},
                                              indent=2) + "\n")


if __name__ == "__main__":
    main()

"""(c) Peak memory of decoding against the number of turns: must stay flat.

Each turn count runs in a fresh process (peak RSS is per process) with stop_at_fixed_point
off, so every board really runs every turn, through the path `rm eval` and `rm infer` take
(rm_cli.decode.decode_examples, which pins glibc's mmap threshold: rm_cli/heap.py). The
trajectory is not recorded (that one grows with turns by design: it is the full history, asked
for explicitly). Peak RSS is read from
/proc/self/status (VmHWM, this process's own address space): getrusage's ru_maxrss carries the
parent's high-water mark across fork and exec, so under `make bench` it reported the parent's
size after benchmarks (a) and (b), not the decoder's.

Each turn count also runs once with the pin switched off (glibc's default, what decoding did
before rm_cli/heap.py), side by side: the peak it reaches and the decode time with and without
the pin, so the fix and its cost are both measured in the same run.
"""

import json
import subprocess
import sys

CHILD = r"""
import json, sys, time
from omegaconf import OmegaConf
from rich.console import Console
from rm_cli.checkpoint import load_checkpoint
from rm_cli.decode import decode_examples
from rm_cli.samplers.rm import RMSampler
import rm_cli.decode
turns, pinned = int(sys.argv[1]), sys.argv[2] == "pinned"
if not pinned:
    rm_cli.decode.pin_mmap_threshold = lambda: None
def peak_mb():
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024
module = load_checkpoint(None, OmegaConf.create({"_target_": "rm_cli.tasks.sudoku.SudokuTask", "name": "sudoku", "mode": "revision"}))
examples = module.task.test_examples().take(256)
before = peak_mb()
sampler = RMSampler(max_turns=turns, stop_at_fixed_point=False)
started = time.perf_counter()
result = decode_examples(sampler, module.model, examples, batch_size=256, console=Console(stderr=True))
seconds = time.perf_counter() - started
after = peak_mb()
print(json.dumps({"turns": turns, "nfe": int(result.nfe.max()), "peak_rss_mb": after, "before_decode_mb": before,
                  "decode_s": seconds}))
"""


def child(turns: int, mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", CHILD, str(turns), mode], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(turn_counts=(4, 16, 64, 256)) -> dict:
    rows, unpinned = [], []
    for turns in turn_counts:  # alternate, so that machine noise hits both alike
        rows.append(child(turns, "pinned"))
        unpinned.append(child(turns, "unpinned"))
    growth = lambda rs: max(r["peak_rss_mb"] for r in rs) / rs[0]["peak_rss_mb"]  # noqa: E731
    return {"rows": rows, "max_growth_ratio": growth(rows), "goal": "flat (<= 1.05)",
            "unpinned_rows": unpinned, "unpinned_max_growth_ratio": growth(unpinned),
            "decode_time_pinned_over_unpinned": sum(r["decode_s"] for r in rows) / sum(r["decode_s"] for r in unpinned)}


if __name__ == "__main__":
    print(run())

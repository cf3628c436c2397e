"""(c) Peak memory of decoding against the number of turns: must stay flat.

Each turn count runs in a fresh process (peak RSS is per process) with stop_at_fixed_point
off, so every board really runs every turn. The trajectory is not recorded (that one grows
with turns by design: it is the full history, asked for explicitly). Peak RSS is read from
/proc/self/status (VmHWM, this process's own address space): getrusage's ru_maxrss carries the
parent's high-water mark across fork and exec, so under `make bench` it reported the parent's
size after benchmarks (a) and (b), not the decoder's.
"""

import json
import subprocess
import sys

CHILD = r"""
import json, sys, torch
from omegaconf import OmegaConf
from rm_cli.checkpoint import load_checkpoint
from rm_cli.samplers.rm import RMSampler
turns = int(sys.argv[1])
def peak_mb():
    line = next(l for l in open("/proc/self/status") if l.startswith("VmHWM:"))
    return int(line.split()[1]) / 1024
module = load_checkpoint(None, OmegaConf.create({"_target_": "rm_cli.tasks.sudoku.SudokuTask", "name": "sudoku", "mode": "revision"}))
examples = module.task.test_examples().take(256)
before = peak_mb()
with torch.inference_mode():
    result = RMSampler(max_turns=turns, stop_at_fixed_point=False)(module.model, examples.inputs, examples.editable)
after = peak_mb()
print(json.dumps({"turns": turns, "nfe": int(result.nfe.max()), "peak_rss_mb": after, "before_decode_mb": before}))
"""


def run(turn_counts=(4, 16, 64, 256)) -> dict:
    rows = []
    for turns in turn_counts:
        out = subprocess.run([sys.executable, "-c", CHILD, str(turns)], capture_output=True, text=True, check=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
    base = rows[0]["peak_rss_mb"]
    return {"rows": rows, "max_growth_ratio": max(r["peak_rss_mb"] for r in rows) / base, "goal": "flat (<= 1.05)"}


if __name__ == "__main__":
    print(run())

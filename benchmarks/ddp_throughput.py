"""(d) CPU data-parallel throughput: `rm train` with DDP on 2 processes (gloo) against 1 process.

Every run is the real command with the default backbone and the same global batch. Throughput is
read from the run's own TensorBoard events (wall time of each logged step), after a warm-up, so
process start, data-pool setup and validation are not counted. Runs alternate between the
configurations so that machine noise hits them alike; the median of the repeats is reported.
"""

import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

ROOT = Path(__file__).resolve().parent.parent
RM = Path(sys.executable).parent / "rm"

CONFIGS = {
    "1 process, 2 threads": ["trainer=cpu", "threads=2"],
    "1 process, 1 thread": ["trainer=cpu", "threads=1"],
    "DDP 2 processes (gloo), 1 thread each": ["trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
                                             "trainer.precision=32-true", "threads=1"],
}


def samples_per_s(run_dir: Path, batch_size: int, warmup: int) -> float:
    events = EventAccumulator(str(run_dir / "tb"), size_guidance={"scalars": 0})
    events.Reload()
    points = [(e.step, e.wall_time) for e in events.Scalars("train/loss") if e.step >= warmup]
    (first_step, first_t), (last_step, last_t) = points[0], points[-1]
    return (last_step - first_step) * batch_size / (last_t - first_t)


def one_run(extra: list[str], steps: int, batch_size: int, warmup: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = Path(tmp) / "run"
        args = [f"run_dir={run_dir}", f"batch_size={batch_size}", f"trainer.max_steps={steps}",
                f"trainer.val_check_interval={steps}", "trainer.log_every_n_steps=1", f"checkpoint_every_n_steps={steps}",
                "task.val_size=16", "task.train_pool=2000", "test_after_fit=false", *extra]
        proc = subprocess.run([str(RM), "train", *args], cwd=ROOT, capture_output=True, text=True,
                              env={**os.environ, "PATH": f"{RM.parent}{os.pathsep}{os.environ['PATH']}"})
        if proc.returncode != 0:
            raise RuntimeError(f"rm train {' '.join(extra)} failed:\n{proc.stderr[-3000:]}")
        return samples_per_s(run_dir, batch_size, warmup)


def run(steps: int = 40, batch_size: int = 128, warmup: int = 10, repeats: int = 2) -> dict:
    measured = {name: [] for name in CONFIGS}
    for _ in range(repeats):
        for name, extra in CONFIGS.items():
            measured[name].append(one_run(extra, steps, batch_size, warmup))
    rates = {name: statistics.median(values) for name, values in measured.items()}
    single, ddp = rates["1 process, 2 threads"], rates["DDP 2 processes (gloo), 1 thread each"]
    return {
        "cpu_count": os.cpu_count(),
        "batch_size": batch_size,
        "steps_timed": steps - warmup,
        "samples_per_s": rates,
        "all_runs": measured,
        "ddp_over_single": ddp / single,
        "ddp_over_one_thread": ddp / rates["1 process, 1 thread"],
    }


if __name__ == "__main__":
    print(run())

"""rm prepare: write a task's fixed split from its seed (how the shipped test files were made), or,
with split=native, the cache of a frozen checkpoint's likely wrong tokens (its format is the task's:
a torch file for Sudoku, a `datasets` folder for text). Its last line says what it cost: wall and CPU
time of the command's work and the process's peak resident memory."""

import resource
import sys
import time
from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from rm_cli.config import validate_io
from rm_cli.errors import UserError
from rm_cli.io import check_writable


def write_native_cache(cfg: DictConfig, task) -> None:
    from rm_cli.checkpoint import load_checkpoint
    from rm_cli.decode import on_device

    if cfg.checkpoint is None:
        raise UserError("split=native needs checkpoint=CKPT (the frozen model whose top-k wrong tokens are cached)")
    module = on_device(load_checkpoint(cfg.checkpoint, cfg.task), cfg.device)
    task = task.for_checkpoint(module.task)
    k = task.native_k if cfg.k is None else cfg.k
    task.write_native_cache(module.model, cfg.output, k, cfg.n, cfg.seed, cfg.batch_size, source=str(cfg.checkpoint))


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MB (10^6 bytes). Linux's VmHWM starts afresh at exec, while
    getrusage's ru_maxrss carries the parent's peak across fork and exec (`rm prepare` run by a script that holds
    gigabytes reported the script's), so ru_maxrss (KiB on Linux, bytes on macOS) is only the fallback without /proc."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024 / 1e6
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1e6 if sys.platform == "darwin" else peak * 1024 / 1e6


def run(cfg: DictConfig) -> None:
    started, cpu_started = time.perf_counter(), time.process_time()
    validate_io(cfg)
    if cfg.split == "native" and Path(str(cfg.output)).is_dir():  # a text cache is a folder: say so, not "expected a file"
        raise UserError("already exists (an earlier cache?); remove it or choose another output", path=cfg.output)
    check_writable(cfg.output)
    task = instantiate(cfg.task)
    if cfg.split == "native":
        write_native_cache(cfg, task)
    elif cfg.split in task.splits:
        task.write_split(cfg.split, cfg.output, n=cfg.n, seed=cfg.seed)
    else:
        raise UserError(f"split must be one of {', '.join(repr(s) for s in (*task.splits, 'native'))}, got {cfg.split!r}")
    wall, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    # peak memory is the whole process's (imports and loaded checkpoint included); CPU time sums all threads
    print(f"wrote {cfg.output} in {wall:.1f} s wall, {cpu:.1f} s CPU, peak memory {peak_rss_mb():,.0f} MB")

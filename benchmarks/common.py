"""Shared helpers for the benchmarks: composing configs like the CLI does, and robust timing."""

import statistics
import time

from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from rm_cli.config import conf_dir


def train_config(*overrides: str):
    with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
        cfg = compose(config_name="train", overrides=["run_dir=/tmp/unused", *overrides])
    return OmegaConf.to_container(cfg, resolve=True)


def median_time(fn, repeats: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved_medians(fns: dict, repeats: int, warmup: int = 2) -> dict:
    """Time several functions in alternation so that machine noise hits all of them alike."""
    for fn in fns.values():
        for _ in range(warmup):
            fn()
    times = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}

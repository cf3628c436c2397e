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


def paired_ratio(numerator, denominator, repeats: int, warmup: int = 2,
                 names: tuple[str, str] = ("numerator_s", "denominator_s")) -> dict:
    """numerator's time over denominator's, timed in `repeats` adjacent pairs (the order alternating), so a
    shared CPU's slow spells hit both sides of a pair alike. The median of the pairs' ratios is the result; its
    quartiles say how far one run of the benchmark can be trusted (a median of times alone hid ratios from 0.3
    to 8 on a busy machine). `names` are the keys of the two median times, so a benchmark's record says what
    was timed."""
    for _ in range(warmup):
        numerator()
        denominator()
    num, den = [], []
    for i in range(repeats):
        for fn, out in ((numerator, num), (denominator, den)) if i % 2 == 0 else ((denominator, den), (numerator, num)):
            start = time.perf_counter()
            fn()
            out.append(time.perf_counter() - start)
    ratios = [a / b for a, b in zip(num, den)]
    q1, median, q3 = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    return {names[0]: statistics.median(num), names[1]: statistics.median(den),
            "ratio": median, "ratio_q1": q1, "ratio_q3": q3, "pairs": len(ratios)}


def verdict(ratio: float, q1: float, q3: float, goal: float) -> str:
    """'yes' when even the upper quartile of the pairs' ratios meets an upper-bound goal, 'NO' when the median
    misses it, 'unclear' when the middle half of the pairs lies on both sides (rerun on a quieter machine)."""
    if q3 <= goal:
        return "yes"
    return "NO" if ratio > goal else "unclear"


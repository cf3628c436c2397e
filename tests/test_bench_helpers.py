"""The timing helpers behind `make bench`: paired ratios and the verdict read from their spread."""

import benchmarks.common as common
from benchmarks.common import paired_ratio, verdict


def test_paired_ratio_takes_the_median_of_adjacent_pairs_and_alternates_their_order(monkeypatch):
    """A slow spell that lands on one pair moves that pair's ratio, not the median; each side goes first half
    of the time."""
    clock, calls = [0.0], []
    durations = {"a": [2.0, 2.0, 20.0, 2.0, 2.0], "b": [1.0, 1.0, 10.0, 1.0, 1.0]}

    def timed(name):
        def fn():
            calls.append(name)
            clock[0] += durations[name].pop(0) if len(calls) > 2 else 0.5  # the two warm-up calls take 0.5
        return fn

    monkeypatch.setattr(common.time, "perf_counter", lambda: clock[0])
    out = paired_ratio(timed("a"), timed("b"), repeats=5, warmup=1)
    assert out["ratio"] == 2.0 and out["ratio_q1"] == 2.0 and out["ratio_q3"] == 2.0 and out["pairs"] == 5
    assert out["numerator_s"] == 2.0 and out["denominator_s"] == 1.0  # medians: the 20 / 10 spell is outvoted
    assert calls[2:] == ["a", "b", "b", "a", "a", "b", "b", "a", "a", "b"]


def test_verdict_needs_the_upper_quartile_under_the_goal():
    assert verdict(1.05, 1.02, 1.09, goal=1.10) == "yes"
    assert verdict(1.08, 1.02, 1.14, goal=1.10) == "unclear"
    assert verdict(1.20, 1.10, 1.26, goal=1.15) == "NO"

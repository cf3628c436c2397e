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


def test_paired_ratio_quartiles_of_few_pairs_stay_within_the_ratios(monkeypatch):
    """(e) runs 1 pair per training step in --quick and 3 decode pairs: one pair's quartiles are its ratio, three
    pairs' are the smallest and largest ratio (two pairs' would be extrapolated past both, hence 3 decodes)."""
    clock = [0.0]

    def fn(durations):
        return lambda: clock.__setitem__(0, clock[0] + durations.pop(0))

    monkeypatch.setattr(common.time, "perf_counter", lambda: clock[0])
    one = paired_ratio(fn([1.0, 3.0]), fn([1.0, 2.0]), repeats=1, warmup=1)
    assert (one["ratio_q1"], one["ratio"], one["ratio_q3"], one["pairs"]) == (1.5, 1.5, 1.5, 1)
    # pairs in alternating order: (a, b), (b, a), (a, b)
    three = paired_ratio(fn([1.0, 3.0, 4.0, 6.0]), fn([1.0, 2.0, 2.0, 2.0]), repeats=3, warmup=1)
    assert (three["ratio_q1"], three["ratio"], three["ratio_q3"], three["pairs"]) == (1.5, 2.0, 3.0, 3)


def test_paired_ratio_names_its_two_times(monkeypatch):
    """A benchmark's record says what was timed: the two medians carry the names the benchmark gives."""
    clock = [0.0]
    monkeypatch.setattr(common.time, "perf_counter", lambda: clock[0])
    tick = lambda s: (lambda: clock.__setitem__(0, clock[0] + s))  # noqa: E731
    out = paired_ratio(tick(3.0), tick(1.0), repeats=1, warmup=0, names=("decode_s", "forward_only_s"))
    assert (out["decode_s"], out["forward_only_s"], out["ratio"]) == (3.0, 1.0, 3.0)
    assert "numerator_s" not in out


def test_the_training_and_decoding_benchmarks_give_the_fields_the_report_reads():
    """A tiny run of `make bench`'s (a) and (b): each record has the times and spread run_all.py prints."""
    from benchmarks import decode_overhead, train_step

    step = train_step.run(batch_size=2, repeats=1)
    assert step["rm_her_step_s"] > 0 and step["mdm_step_s"] > 0 and step["pairs"] == 1
    decode = decode_overhead.run(n_boards=2, repeats=1)
    assert decode["decode_s"] > 0 and decode["forward_only_s"] > 0 and decode["forward_passes"] >= 1
    for record in (step, decode):
        assert record["ratio_q1"] <= record["ratio"] <= record["ratio_q3"] and record["goal"] > 1

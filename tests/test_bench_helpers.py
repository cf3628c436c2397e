"""The timing helpers behind `make bench`: paired ratios and the verdict read from their spread."""

import sys

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


def test_make_bench_reads_every_field_its_benchmarks_return(tmp_path, monkeypatch, capsys):
    """run_all.py on (a) and (b) for real at tiny sizes, (e)'s records from its own `speedup`, and (c) and (d) (which
    start processes) as stand-ins: the table prints and the JSON holds every benchmark's record."""
    import json
    import time

    import torch

    from benchmarks import answer_logits, ddp_throughput, decode_memory, run_all

    tiny = {"train_step": {"batch_size": 2, "repeats": 1}, "decode_overhead": {"n_boards": 2, "repeats": 1}}
    monkeypatch.setattr(run_all, "QUICK", {**run_all.QUICK, **tiny})
    pause = lambda: time.sleep(0.001)  # noqa: E731
    monkeypatch.setattr(answer_logits, "run", lambda **_: {
        "batch_size": 2, "decode_problems": 2,
        **{part: answer_logits.speedup(pause, pause, 1) for part in ("sft_train", "rm_her_train", "decode")}})
    rows = [{"turns": t, "decoder_mb": 5.0, "runs_decoder_mb": [5.0]} for t in (4, 16)]
    monkeypatch.setattr(decode_memory, "run", lambda **_: {
        "rows": rows, "fixed_mmap_rows": rows, "fixed_mmap_ratio": 1.0, "max_growth_ratio": 1.0,
        "scatter_same_turns": 1.0, "fixed_mmap_time_ratio": 1.0})
    rates = ("DDP 2 processes (gloo), 1 thread each", "1 process, 2 threads", "1 process, 1 thread")
    monkeypatch.setattr(ddp_throughput, "run", lambda **_: {"samples_per_s": dict.fromkeys(rates, 100.0),
                                                            "ddp_over_single": 1.0})
    monkeypatch.setattr(sys, "argv", ["run_all.py", "--quick", "--json", str(tmp_path / "bench.json")])
    monkeypatch.setenv("COLUMNS", "400")  # rich would wrap the table to the captured stream's 80 columns
    threads = torch.get_num_threads()
    try:
        run_all.main()
    finally:
        torch.set_num_threads(threads)  # run_all sets 1 thread for the whole process
    printed = capsys.readouterr().out
    assert "(a) train step" in printed and "(b) decode" in printed and "(e) MiniLM decode" in printed
    record = json.loads((tmp_path / "bench.json").read_text())
    assert record["train_step"]["rm_her_step_s"] > 0 and record["decode_overhead"]["forward_only_s"] > 0
    assert record["answer_logits"]["decode"]["answer_columns_s"] > 0
    for bench in ("train_step", "decode_overhead"):
        r = record[bench]
        assert r["ratio_q1"] <= r["ratio"] <= r["ratio_q3"] and r["pairs"] == 1

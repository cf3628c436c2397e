import json

from rm_cli.sweep_summary import summarize, write_summary


def _run(tmp_path, name, overrides, seed, exact):
    d = tmp_path / name
    d.mkdir()
    (d / "summary.json").write_text(json.dumps({
        "overrides": overrides + [f"seed={seed}"], "seed": seed, "params": 100, "best_val_exact_pct": exact,
        "test": {"exact_pct": exact - 1},
    }))


def test_runs_group_by_overrides_without_seed(tmp_path):
    for i, (hist, seed, exact) in enumerate([("off", 0, 80.0), ("off", 1, 84.0), ("her", 0, 90.0), ("her", 1, 96.0)]):
        _run(tmp_path, str(i), [f"history={hist}"], seed, exact)
    rows, points = summarize(tmp_path)
    assert len(rows) == 4 and list(points) == ["history=off", "history=her"]
    mean, std, n = points["history=her"]["test.exact_pct"]
    assert (mean, n) == (92.0, 2) and abs(std - 4.2426) < 1e-3
    out = write_summary(tmp_path)
    lines = out.read_text().splitlines()
    assert lines[0].startswith("point,seed,best_val_exact_pct,test.exact_pct") and len(lines) == 5


def test_the_columns_are_the_metrics_the_task_reports(tmp_path):
    """An image sweep reports success and precision, not Sudoku's exact/valid (it printed None columns)."""
    d = tmp_path / "0"
    d.mkdir()
    (d / "summary.json").write_text(json.dumps({"overrides": ["seed=0"], "seed": 0, "params": 5, "best_val_exact_pct": 1.0,
                                                "test": {"success_pct": 40.0, "precision_pct": 55.5, "note": "text"}}))
    rows, points = summarize(tmp_path)
    assert [c for c in rows[0] if c.startswith("test.")] == ["test.success_pct", "test.precision_pct"]
    assert points["(defaults)"]["test.precision_pct"][0] == 55.5
    header = write_summary(tmp_path).read_text().splitlines()[0]
    assert header == "point,seed,best_val_exact_pct,test.success_pct,test.precision_pct,params,wall_time_s,cpu_time_s,steps"


def test_a_reused_sweep_folder_tabulates_only_this_sweeps_runs(tmp_path):
    """A fixed hydra.sweep.dir held an earlier sweep's job 2 (seed=7); it joined the new sweep's table."""
    import os
    import time

    from rm_cli.sweep_summary import SweepSummary
    _run(tmp_path, "2", ["history=off"], 7, 10.0)
    old = time.time() - 3600
    os.utime(tmp_path / "2" / "summary.json", (old, old))
    callback = SweepSummary()
    callback.on_multirun_start(config=None)
    for i, seed in enumerate([0, 1]):
        _run(tmp_path, str(i), ["history=off"], seed, 90.0)

    class Sweep:
        class hydra:
            class sweep:
                dir = tmp_path
    callback.on_multirun_end(Sweep)
    rows = (tmp_path / "sweep_summary.csv").read_text().splitlines()[1:]
    assert [r.split(",")[1] for r in rows] == ["0", "1"]
    assert len(summarize(tmp_path)[0]) == 3  # without a start time, every summary under the folder


def test_runs_are_listed_in_job_order(tmp_path):
    for job in [10, 2, 1]:
        _run(tmp_path, str(job), ["history=off"], job, 50.0)
    assert [r["seed"] for r in summarize(tmp_path)[0]] == [1, 2, 10]


def test_overrides_every_run_shares_name_no_point(tmp_path):
    """The point column repeated task=..., trainer.max_steps=... on every row, cutting the table at 80 columns."""
    for i, (hist, seed) in enumerate([("off", 0), ("her", 0), ("off", 1)]):
        _run(tmp_path, str(i), ["task=sudoku", f"history={hist}", "trainer.max_steps=20"], seed, 50.0)
    rows, points = summarize(tmp_path)
    assert list(points) == ["history=off", "history=her"] and points["history=off"]["best_val_exact_pct"][2] == 2
    from io import StringIO

    from rich.console import Console
    out = StringIO()
    write_summary(tmp_path, Console(file=out, width=200))
    assert "every run: task=sudoku trainer.max_steps=20" in out.getvalue()


# ---- the terminal table, as a log piped at 80 columns shows it ---------------------------------------------------

SUDOKU_TEST = {"exact_pct": 94.9, "valid_pct": 96.1, "valid_within_k_pct": 97.0, "conflict_cells_per_board": 0.41,
               "changed_correct_per_board": 3.2, "ambiguous_boards_pct": 0.0, "replay_mistake_pct": 12.5,
               "wrong_remask_events": 40, "remasks_per_board": 5.1, "nfe_per_board": 20.0, "n": 1000}


def _sudoku_run(root, job, overrides, seed, **extra):
    d = root / str(job)
    d.mkdir()
    (d / "summary.json").write_text(json.dumps({
        "overrides": ["task=sudoku", *overrides, f"seed={seed}", "trainer.max_steps=10"], "seed": seed, "params": 812345,
        "best_val_exact_pct": 90.0 + seed, "wall_time_s": 61.5, "cpu_time_s": 120.25, "steps": 10,
        "test": {k: v + seed if isinstance(v, float) else v for k, v in SUDOKU_TEST.items()}, **extra}))


def _printed(root, width=80) -> str:
    from rich.console import Console
    console = Console(width=width, record=True, file=open("/dev/null", "w"))
    write_summary(root, console)
    return console.export_text()


def test_at_80_columns_every_point_is_whole_and_no_cell_is_cut(tmp_path):
    """`rm train -m history=off,her seed=0,1` piped to a log: every header and cell was cut to 'p…', '0…', and
    even at 160 columns both points read 'histo…'."""
    job = 0
    for hist in ("off", "her"):
        for seed in (0, 1):
            _sudoku_run(tmp_path, job, [f"history={hist}"], seed)
            job += 1
    for width in (80, 160):
        text = _printed(tmp_path, width)
        assert "history=off" in text and "history=her" in text
        assert "…" not in text and max(len(line) for line in text.splitlines()[1:]) <= width  # the title: whole
        assert "test.exact_pct" in text and "95.40 ± 0.71 (n=2)" in text and "every run: task=sudoku" in text


def test_points_too_many_for_one_table_are_listed_one_under_another_whole(tmp_path):
    job = 0
    points = [f"history={h} optim.lr={lr}" for h in ("off", "her", "last") for lr in ("0.0003", "0.001")]
    for point in points:
        _sudoku_run(tmp_path, job, point.split(), 0)
        job += 1
    text = _printed(tmp_path)
    assert all(point in text.splitlines() for point in points)  # each on a line of its own
    assert "…" not in text and max(len(line) for line in text.splitlines()[1:]) <= 80


def test_one_seed_has_no_std_and_missing_values_print_no_none(tmp_path):
    """A single seed read '0.00 +- 0.00 (n=1)': the std of one run is not a number. Missing values: no 'None'."""
    _sudoku_run(tmp_path, 0, ["history=off"], 0, best_val_exact_pct=None)
    _sudoku_run(tmp_path, 1, ["history=her"], 0)
    (tmp_path / "1" / "summary.json").write_text((tmp_path / "1" / "summary.json").read_text().replace(
        '"n": 1000}', '"n": 1000, "only_her_pct": 3.5}'))
    text = _printed(tmp_path, 200)
    assert "94.90 (n=1)" in text
    assert "+- 0.00 (n=1)" not in text and "± 0.00 (n=1)" not in text and "± " not in text.split("\n", 1)[1]
    assert "None" not in text and "—" in text  # history=off has no best_val_exact_pct and no only_her_pct
    assert "3.50 (n=1)" in text

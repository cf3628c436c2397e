"""scripts/sudoku_solving_study.py's table: mean ± std over checkpoints per level and sampler, or per
level and history setting (the history ablation of docs/results/sudoku_solving.md)."""

from conftest import load_script, run_script


def _study():
    return load_script("sudoku_solving_study")


ROWS = [{"level": "easy", "history": h, "sampler": s, "exact_pct": v, "nfe_mean": nfe, "n": 200}
        for h, s, v, nfe in [("her", "rm", 10.0, 30.0), ("off", "rm", 20.0, 20.0),
                             ("her", "vanilla", 60.0, 32.0), ("off", "vanilla", 70.0, 32.0)]]


def test_table_averages_over_checkpoints_or_splits_by_history():
    table = _study().table
    pooled = table(ROWS).splitlines()
    assert pooled[0] == "| level (n) | rm | vanilla |"
    assert pooled[2] == "| easy (200) | 15.0 ± 7.1 (25.0) | 65.0 ± 7.1 (32.0) |"
    split = table(ROWS, by_history=True).splitlines()
    assert split[2:] == ["| easy, her (200) | 10.0 ± 0.0 (30.0) | 60.0 ± 0.0 (32.0) |",
                         "| easy, off (200) | 20.0 ± 0.0 (20.0) | 70.0 ± 0.0 (32.0) |"]


def _study_csv(path, checkpoint, exact, budget=32):
    from rm_cli.scaling import write_csv

    write_csv(path, [{"sampler": "vanilla", "history": "her", "budget": budget, "nfe_mean": 32.0, "nfe_max": 32,
                      "exact_pct": exact, "cell_acc_blanks_pct": exact + 5, "checkpoint": checkpoint, "level": "easy",
                      "n": 200, "seed": 0}])


def test_from_csv_joins_earlier_studies_into_one_table_without_decoding(tmp_path):
    _study_csv(tmp_path / "a.csv", "seed0.ckpt", 60.0)  # checkpoints need not exist: nothing is decoded
    _study_csv(tmp_path / "b.csv", "seed1.ckpt", 70.0)
    out = tmp_path / "all.csv"
    proc = run_script("sudoku_solving_study.py", "--from-csv", tmp_path / "a.csv", tmp_path / "b.csv", "--out", out)
    assert proc.returncode == 0, proc.stderr
    md = out.with_suffix(".md").read_text()
    assert "mean ± std over 2 checkpoints" in md and "budget 32" in md
    assert "| easy (200) | 65.0 ± 7.1 (32.0) |" in md and "| easy (200) | 70.0 ± 7.1 (32.0) |" in md
    assert len(out.read_text().splitlines()) == 3

    _study_csv(tmp_path / "c.csv", "seed2.ckpt", 80.0, budget=64)
    bad = tmp_path / "bad.csv"
    proc = run_script("sudoku_solving_study.py", "--from-csv", tmp_path / "a.csv", tmp_path / "c.csv", "--out", bad)
    assert proc.returncode == 2 and "mix budgets" in proc.stderr and not bad.exists()


def test_a_sampler_name_may_change_keys_of_its_preset():
    import pytest

    from rm_cli.errors import UserError

    configs = _study().sampler_configs(["best_of", "best_of:views=2,base=vanilla"])
    assert list(configs) == ["best_of", "best_of:views=2,base=vanilla"]
    assert configs["best_of"].views == 4 and configs["best_of"].base == "topk_margin"
    assert configs["best_of:views=2,base=vanilla"].views == 2 and configs["best_of:views=2,base=vanilla"].base == "vanilla"
    with pytest.raises(UserError, match="unknown sampler 'nope'"):
        _study().sampler_configs(["nope:views=2"])


def test_each_row_records_how_it_was_decoded():
    """A preset's defaults change (best_of's score did at step 23): each row carries the sampler's resolved settings and
    the commit, so a CSV says how it was made without the page's command line."""
    import json

    from rm_cli.checkpoint import shipped_checkpoint

    job = (shipped_checkpoint("sudoku", "solve"), "easy", ["vanilla", "best_of:score=board"], 64, 2, 2, 1)
    rows = {row["sampler"]: row for row in _study().score(job)}
    assert set(rows) == {"vanilla", "best_of:score=board"} and all(row["n"] == 2 for row in rows.values())
    best_of = json.loads(rows["best_of:score=board"]["sampler_config"])
    assert best_of["score"] == "board" and best_of["_target_"].endswith("BestOfSampler")
    assert json.loads(rows["vanilla"]["sampler_config"])["_target_"].endswith("VanillaSampler")
    assert rows["vanilla"]["git_commit"] is None or len(rows["vanilla"]["git_commit"]) == 40

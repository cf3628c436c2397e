"""scripts/sudoku_solving_study.py's table: mean ± std over checkpoints per level and sampler, or per
level and history setting (the history ablation of docs/results/sudoku_solving.md)."""

import importlib.util

from conftest import ROOT


def _study():
    spec = importlib.util.spec_from_file_location("sudoku_solving_study", ROOT / "scripts" / "sudoku_solving_study.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


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

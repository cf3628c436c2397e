"""scripts/image_editing_table.py, which turns the image study's eval results into the doc's table."""

import csv
import json

from conftest import run_script


def _result(path, **metrics):
    path.write_text(json.dumps({"metrics": {"ceiling_psnr_out_db": 20.0, "gold_coverage_pct": 50.0, **metrics}}))


def test_table_averages_seeds_per_method_and_keeps_one_csv_row_per_run(tmp_path):
    res = tmp_path / "results"
    res.mkdir()
    _result(res / "rm_seed0.json", precision_pct=99.0, psnr_out_db=30.0)
    _result(res / "rm_seed1.json", precision_pct=97.0, psnr_out_db=32.0)
    _result(res / "sft_seed0.json", precision_pct=None, psnr_out_db=12.5)
    (tmp_path / "rm_seed0").mkdir()
    (tmp_path / "rm_seed0" / "summary.json").write_text(json.dumps({"steps": 1200, "wall_time_s": 600, "cpu_time_s": 540}))
    proc = run_script("image_editing_table.py", tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = (tmp_path / "image_editing.md").read_text()
    rm_row = next(line for line in table.splitlines() if line.startswith("| rm |"))
    assert "98.0 ± 1.4" in rm_row and "31.000 ± 1.414" in rm_row  # mean ± sample std of the two seeds
    sft_row = next(line for line in table.splitlines() if line.startswith("| sft |"))
    assert "n/a" in sft_row and "12.500 (1 seed)" in sft_row  # an undefined metric is not averaged as 0
    assert "| rm | 1200 | 10.0 (1 seed) | 9.0 (1 seed) |" in table
    rows = list(csv.DictReader((tmp_path / "image_editing.csv").open()))
    assert [(r["method"], r["seed"]) for r in rows] == [("rm", "0"), ("rm", "1"), ("sft", "0")]


def test_cost_table_leaves_out_methods_without_a_training_run(tmp_path):
    res = tmp_path / "results"
    res.mkdir()
    _result(res / "rm_seed0.json", precision_pct=99.0)
    _result(res / "rm_vanilla_seed0.json", precision_pct=90.0)  # rm's weights decoded another way
    (tmp_path / "rm_seed0").mkdir()
    (tmp_path / "rm_seed0" / "summary.json").write_text(json.dumps({"steps": 1200, "wall_time_s": 600, "cpu_time_s": 540, "params": 800}))
    proc = run_script("image_editing_table.py", tmp_path)
    assert proc.returncode == 0, proc.stderr
    table = (tmp_path / "image_editing.md").read_text()
    assert table.count("| rm_vanilla |") == 1  # in the metrics table, not in the cost table
    assert "| rm | 1200 |" in table and "None" not in table
    assert "No training run of their own (decoding of another run's weights): rm_vanilla." in table


def test_table_without_results_is_one_line_and_nonzero(tmp_path):
    proc = run_script("image_editing_table.py", tmp_path)
    assert proc.returncode != 0 and "no results under" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "image_editing.md").exists()

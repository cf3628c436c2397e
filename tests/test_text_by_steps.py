"""scripts/text_by_steps.py: exact final answer % split by the number of steps in the problem."""

import json

from conftest import run_script


def _pred(reference, correct):
    return {"reference": reference, "correct": correct}


def test_splits_exact_by_step_count_per_results_file(tmp_path):
    one, two = "2 - 1 = 1. #### 1", "2 + 3 = 5. 5 * 2 = 10. #### 10"
    (tmp_path / "rm_seed0.json").write_text(json.dumps({"predictions": [
        _pred(one, True), _pred(one, False), _pred(one, True), _pred(one, True), _pred(two, False)]}))
    (tmp_path / "sft_seed0.json").write_text(json.dumps({"predictions": [_pred(two, True)]}))
    out = tmp_path / "by_steps.md"
    proc = run_script("text_by_steps.py", tmp_path / "rm_seed0.json", tmp_path / "sft_seed0.json", "--out", out)
    assert proc.returncode == 0, proc.stderr
    lines = out.read_text().splitlines()
    assert lines[0] == "| run | 1-step exact % (n) | 2-step exact % (n) |"
    assert lines[2] == "| rm_seed0 | 75.0 (4) | 0.0 (1) |"
    assert lines[3] == "| sft_seed0 | n/a | 100.0 (1) |"  # no 1-step problem in that file


def test_a_file_that_is_not_a_results_json_is_one_line_and_nonzero(tmp_path):
    bad = tmp_path / "notes.json"
    bad.write_text("{}")
    out = tmp_path / "by_steps.md"
    proc = run_script("text_by_steps.py", bad, "--out", out)
    assert proc.returncode != 0 and "notes.json: not an `rm eval task=text` results file" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not out.exists()

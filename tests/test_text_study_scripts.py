"""scripts/text_table.py and scripts/scaling_join.py, which turn the text study's eval results into
the tables and the accuracy vs decoding-steps figure of docs/results/text.md."""

import csv
import json

from conftest import run_script


def test_text_table_orders_methods_and_averages_exact_answer_over_seeds(tmp_path):
    res = tmp_path / "results"
    res.mkdir()
    for name, exact in [("rm_her_seed0", 40.0), ("sft_seed0", 10.0), ("sft_seed1", 20.0), ("rm_seed0", 30.0)]:
        (res / f"{name}.json").write_text(json.dumps({"metrics": {"exact_pct": exact, "nfe_per_example": 57.0}}))
    (tmp_path / "sft_seed0").mkdir()
    (tmp_path / "sft_seed0" / "summary.json").write_text(json.dumps({"steps": 1500, "wall_time_s": 1200, "cpu_time_s": 1140}))
    proc = run_script("text_table.py", tmp_path)
    assert proc.returncode == 0, proc.stderr
    lines = (tmp_path / "text.md").read_text().splitlines()
    methods = [line.split("|")[1].strip() for line in lines[2:5]]
    assert methods == ["sft", "rm", "rm_her"]  # the issue's order, not the files' order
    assert "| sft | 2 | 15.0 ± 7.1 |" in lines[2]
    assert "| sft | 1500 | 20.0 (1 seed) | 19.0 (1 seed) |" in "\n".join(lines)
    assert len(list(csv.DictReader((tmp_path / "text.csv").open()))) == 4


def _scaling_csv(path, sampler, points):
    rows = [{"sampler": sampler, "history": "off", "budget": b, "nfe_mean": b, "nfe_max": b, "exact_pct": e} for b, e in points]
    with path.open("w") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def test_scaling_join_labels_each_checkpoints_samplers_and_plots(tmp_path):
    _scaling_csv(tmp_path / "a.csv", "vanilla", [(8, 1.0), (16, 2.5)])
    _scaling_csv(tmp_path / "b.csv", "rm", [(8, 3.0)])
    proc = run_script("scaling_join.py", "--run", f"sft={tmp_path / 'a.csv'}", "--run", f"rm_her={tmp_path / 'b.csv'}",
                "--out", tmp_path / "joined")
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader((tmp_path / "joined.csv").open()))
    assert [(r["sampler"], r["method"], r["budget"], r["exact_pct"]) for r in rows] == [
        ("sft: vanilla", "sft", "8", "1.0"), ("sft: vanilla", "sft", "16", "2.5"), ("rm_her: rm", "rm_her", "8", "3.0")]
    assert (tmp_path / "joined.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_scaling_join_missing_csv_is_one_line_and_writes_nothing(tmp_path):
    proc = run_script("scaling_join.py", "--run", f"sft={tmp_path / 'nope.csv'}", "--out", tmp_path / "joined")
    assert proc.returncode != 0 and "nope.csv: no such file" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.glob("joined*"))


def _results(path, correct):
    path.write_text(json.dumps({"predictions": [{"id": str(i), "correct": c} for i, c in enumerate(correct)]}))


def test_text_paired_counts_discordant_problems_per_seed_and_tests_them(tmp_path):
    # seed 0: 10 problems solved by B only, 2 by A only, 3 by both, 5 by neither
    _results(tmp_path / "a_seed0.json", [True] * 5 + [False] * 15)
    _results(tmp_path / "b_seed0.json", [True] * 3 + [False] * 2 + [True] * 10 + [False] * 5)
    _results(tmp_path / "a_seed1.json", [True, False])
    _results(tmp_path / "b_seed1.json", [True, False])
    _results(tmp_path / "a_seed2.json", [True])  # no b_seed2: left out
    proc = run_script("text_paired.py", tmp_path, "a", "b", "--out", tmp_path / "paired.md")
    assert proc.returncode == 0, proc.stderr
    lines = (tmp_path / "paired.md").read_text().splitlines()
    assert len(lines) == 4
    # (|2 - 10| - 1)^2 / 12 = 49 / 12; p = P(chi-square_1 > 4.083) = 0.0433
    assert lines[2] == "| 0 | 3 | 2 | 10 | 5 | 25.0 | 65.0 | 4.08 | 0.043 |"
    assert lines[3] == "| 1 | 1 | 0 | 0 | 1 | 50.0 | 50.0 | 0.00 | 1 |"


def test_text_paired_refuses_runs_scored_on_different_problems(tmp_path):
    _results(tmp_path / "a_seed0.json", [True, False])
    _results(tmp_path / "b_seed0.json", [True, False, True])
    proc = run_script("text_paired.py", tmp_path, "a", "b", "--out", tmp_path / "paired.md")
    assert proc.returncode != 0 and "a_seed0 and b_seed0 scored different problems" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "paired.md").exists()


def test_regrade_results_rescores_stored_predictions_and_names_each_disagreement(tmp_path):
    preds = [{"id": "a", "completion": "2 + 3 = 5. # # # # 5", "reference": "2 + 3 = 5. #### 5", "correct": True},
             {"id": "b", "completion": "#### 3/5", "reference": "#### 3/4", "correct": False}]
    report = {"config": {"task": {"name": "text"}}, "benchmark": None, "predictions": preds}
    (tmp_path / "ok.json").write_text(json.dumps(report))
    (tmp_path / "image.json").write_text(json.dumps({"config": {"task": {"name": "image"}}, "predictions": [{}]}))
    proc = run_script("regrade_results.py", tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "own test file: 2 predictions regraded" in proc.stdout and "0 differ" in proc.stdout
    preds[1]["correct"] = True  # stored by a scorer that read only the first number (3 = 3)
    (tmp_path / "ok.json").write_text(json.dumps(report))
    proc = run_script("regrade_results.py", tmp_path)
    assert proc.returncode == 1 and "1 differ from the stored score" in proc.stdout
    assert f"{tmp_path / 'ok.json'}#b: stored True, now False" in proc.stdout

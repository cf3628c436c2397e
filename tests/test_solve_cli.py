"""Sudoku solving through the real CLI: train (RM uniform, MDM, RM native), eval on the kaidoku
bank, test-time scaling files, and bad puzzle files. Tiny models, a few steps each."""

import csv
import json

import pytest
import torch
from omegaconf import OmegaConf

from conftest import TINY, run_cli
from rm_cli import scaling
from rm_cli.commands import prepare
from rm_cli.errors import UserError
from rm_cli.tasks.sudoku.solve import solve_test_file

SOLVE = ["task=sudoku", "task.mode=solve", "task.puzzle_pool=40", "threads=1", *TINY]
STEPS = ["trainer.max_steps=3", "trainer.val_check_interval=3"]


@pytest.fixture(scope="module")
def solve_run(tmp_path_factory):
    """RM training (uniform wrong digits) on solve puzzles, scored on the hard test file after fit."""
    run_dir = tmp_path_factory.mktemp("solve_rm")
    proc = run_cli("train", f"run_dir={run_dir}", *SOLVE, *STEPS, "sampler.max_turns=4")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run_dir


def test_rm_training_scores_the_hard_test_file(solve_run):
    summary = json.loads((solve_run / "summary.json").read_text())
    assert summary["steps"] == 3 and summary["objective"] == "rm"
    test = summary["test"]
    assert test["n"] == 1000 and test["givens_kept_pct"] == 100.0 and 22 <= 81 - test["blanks_per_board"] <= 26


def test_mdm_and_native_corruption_train_on_solve_puzzles(tmp_path):
    mdm = tmp_path / "mdm"
    proc = run_cli("train", f"run_dir={mdm}", *SOLVE, *STEPS, "objective=mdm", "history=off", "test_after_fit=false")
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((mdm / "summary.json").read_text())
    # no sampler on the command line: validation decodes as the task names for the objective
    assert summary["objective"] == "mdm" and summary["config"]["sampler"]["_target_"].endswith("VanillaSampler")

    cache = tmp_path / "native.pt"
    proc = run_cli("prepare", "task=sudoku", "task.mode=solve", "task.puzzle_pool=40", "split=native",
                   f"checkpoint={mdm / 'checkpoints' / 'last.ckpt'}", "n=96", "k=2", f"output={cache}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    saved = torch.load(cache, weights_only=True)
    assert saved["wrong"].shape == (96, 81, 2)
    assert not (saved["wrong"].long() == saved["gold"].long().unsqueeze(-1)).any()

    native = tmp_path / "native"
    proc = run_cli("train", f"run_dir={native}", *SOLVE, *STEPS, "corruption=native", f"corruption.cache={cache}",
                   "test_after_fit=false")
    assert proc.returncode == 0, proc.stderr[-3000:]
    config = (native / ".hydra" / "config.yaml").read_text()
    summary = json.loads((native / "summary.json").read_text())
    assert f"cache: {cache}" in config and summary["steps"] == 3
    assert summary["config"]["sampler"]["reveal_per_turn"] == 1  # rm_solve, not one-shot rm


def test_scaling_on_the_kaidoku_bank_writes_csv_plot_and_json(solve_run, tmp_path):
    out = tmp_path / "scaling" / "evil.json"
    proc = run_cli("eval", "task=sudoku", "task.mode=solve", f"checkpoint={solve_run / 'checkpoints' / 'last.ckpt'}",
                   "test_file=kaidoku:evil", "limit=6", "scaling=true", "scaling_budgets=[2,4]", f"output={out}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["n"] == 6 and "kaidoku:evil" in report["test_file"]
    rows = list(csv.DictReader(out.with_suffix(".csv").open()))
    assert {(r["sampler"], r["budget"]) for r in rows} == {(s, b) for s in report["samplers"] for b in ("2", "4")}
    # solve mode's default RM preset, rm_solve, decodes in rm's place and is reported by its own name
    assert {"vanilla", "topk_margin", "entropy", "remdm", "rm_solve"} <= set(report["samplers"])
    assert "rm" not in report["samplers"]
    for row in rows:
        assert float(row["givens_kept_pct"]) == 100.0 and int(row["nfe_max"]) <= int(row["budget"])
        assert float(row["cell_acc_blanks_pct"]) <= 100.0 and row["exact_pct"] != ""
    assert out.with_suffix(".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_bad_puzzle_file_is_one_line_and_no_output(solve_run, tmp_path):
    puzzles = tmp_path / "puzzles.txt"
    good = "53..7....6..195....98....6.8...6...34..8.3..17...2...6.6....28....419..5....8..79"
    puzzles.write_text(good + "\n" + "11" + "." * 79 + "\n")
    out = tmp_path / "out.json"
    proc = run_cli("eval", "task=sudoku", "task.mode=solve", f"checkpoint={solve_run / 'checkpoints' / 'last.ckpt'}",
                   f"test_file={puzzles}", f"output={out}")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [f"rm eval: error: {puzzles}:2: givens conflict: two 1s in row 1"]
    assert not out.exists() and not list(tmp_path.glob(".out.json*"))


def test_native_prepare_needs_a_checkpoint(tmp_path):
    cfg = OmegaConf.create({"task": {"_target_": "rm_cli.tasks.sudoku.SudokuTask", "mode": "solve"}, "split": "native",
                            "n": None, "seed": None, "output": str(tmp_path / "c.pt"), "checkpoint": None, "k": 3,
                            "batch_size": 8})
    with pytest.raises(UserError, match="split=native needs checkpoint=CKPT"):
        prepare.run(cfg)


def test_shipped_solve_checkpoint_runs_every_sampler_without_training(tmp_path):
    """task.mode=solve with no checkpoint= uses the model in rm_cli/assets: every budgeted sampler
    (and the rm_solve preset) decodes with it, none touches a given, and it is a trained model (the peers solve most easy puzzles)."""
    out = tmp_path / "shipped.json"
    samplers = ",".join(scaling.budgeted_samplers() + ["rm_solve"])  # the whole registry, so a new sampler is covered
    proc = run_cli("eval", "task=sudoku", "task.mode=solve", "task.level=easy", "limit=30", "scaling=true",
                   "scaling_budgets=[24]", f"scaling_samplers=[{samplers}]", f"output={out}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    with open(out.with_suffix(".csv")) as f:
        rows = {row["sampler"]: row for row in csv.DictReader(f)}
    assert {"rm", "vanilla", "topk_margin", "entropy", "remdm"} <= set(rows) and set(rows) == set(samplers.split(","))
    assert all(float(row["givens_kept_pct"]) == 100.0 and row["history"] == "her" for row in rows.values())
    assert float(rows["topk_margin"]["exact_pct"]) >= 50.0
    assert float(rows["rm_solve"]["exact_pct"]) >= 50.0  # trained with keep_rate: RM decodes a few cells a turn


def test_scaling_keeps_a_listed_preset_when_the_default_sampler_is_of_its_class(tmp_path):
    """`scaling_samplers=[rm_solve]` with `sampler=rm` named (conf's default): rm_solve must decode as its own YAML
    says (a few reveals a turn, about one pass per turn of the budget), not as the one-shot rm that
    fills every blank in its first pass and stops after a few passes."""
    out = tmp_path / "solve.json"
    proc = run_cli("eval", "task=sudoku", "task.mode=solve", "task.level=easy", "limit=10", "scaling=true",
                   "scaling_budgets=[16]", "scaling_samplers=[rm_solve]", "sampler=rm", f"output={out}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    (row,) = json.loads(out.read_text())["scaling"]
    assert row["sampler"] == "rm_solve" and row["nfe_mean"] >= 12, row


def test_solve_mode_decodes_with_rm_solve_unless_the_command_line_names_a_sampler(tmp_path):
    """conf's default `sampler=rm` reveals every blank in one pass (about 0 % exact on puzzles); with
    task.mode=solve and no sampler on the command line, eval decodes with the rm_solve preset."""
    def evaluate(name, *extra):
        out = tmp_path / f"{name}.json"
        proc = run_cli("eval", "task=sudoku", "task.mode=solve", "task.level=easy", "limit=10", f"output={out}", *extra)
        assert proc.returncode == 0, proc.stderr[-2000:]
        return json.loads(out.read_text()), proc.stdout

    default, stdout = evaluate("default")
    assert default["sampler_preset"] == "rm_solve" and default["config"]["sampler"]["reveal_per_turn"] == 1
    assert default["metrics"]["nfe_per_board"] >= 8 and "rm_solve sampler" in stdout
    one_shot, _ = evaluate("rm", "sampler=rm")
    assert one_shot["sampler_preset"] == "rm" and one_shot["metrics"]["nfe_per_board"] <= 4
    edited, _ = evaluate("edited", "sampler.max_turns=8")  # an edit edits this task's default (it was conf's rm)
    assert edited["sampler_preset"] == "rm_solve" and edited["config"]["sampler"]["max_turns"] == 8
    assert edited["config"]["sampler"]["reveal_per_turn"] == 1 and edited["metrics"]["nfe_per_board"] > 4


def test_temperature_and_block_size_are_options_of_the_sampling_presets(tmp_path):
    """docs/method.md: rm and vanilla sample at sampler.temperature > 0 and decode by block; their presets lacked
    the keys, so `sampler.temperature=0.7` was refused ("Could not override", use +sampler.temperature)."""
    prompts = tmp_path / "p.txt"
    prompts.write_text(json.loads(solve_test_file("easy").read_text().splitlines()[0])["board"] + "\n")
    for name in ("rm", "rm_solve", "vanilla"):
        out = tmp_path / f"{name}.jsonl"
        proc = run_cli("infer", "task=sudoku", "task.mode=solve", f"prompts={prompts}", f"sampler={name}",
                       "sampler.temperature=0.7", "sampler.block_size=27", f"output={out}")
        assert proc.returncode == 0, (name, proc.stderr[-2000:])
        assert out.is_file()


def test_infer_flags_puzzles_with_several_solutions(tmp_path):
    """Nothing is scored in infer, but the user is told which puzzles have no single answer."""
    prompts = tmp_path / "p.txt"
    prompts.write_text("." * 81 + "\n")  # an empty board: every valid grid solves it
    proc = run_cli("infer", "task=sudoku", "task.mode=solve", f"prompts={prompts}", "sampler.max_turns=4")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (f"warning: {prompts}: 1 puzzle(s) have several solutions (lines [1]); any valid grid that keeps the "
            "givens answers them") in proc.stderr


def test_scaling_refuses_an_unwritable_csv_or_png_before_the_sweep_and_writes_nothing(tmp_path):
    """output=run.json writes run.csv and run.png beside it: a folder in the way of either was found only after
    the whole sweep had run (and the CSV was written before the PNG failed)."""
    for blocked in ("csv", "png"):
        out = tmp_path / f"{blocked}.json"
        out.with_suffix(f".{blocked}").mkdir()
        proc = run_cli("eval", "task=sudoku", "task.mode=solve", "task.level=easy", "limit=200", "scaling=true",
                       "scaling_budgets=[8,16,32]", f"output={out}")
        assert proc.returncode == 2, proc.stderr[-2000:]
        assert proc.stderr.strip().splitlines()[-1].endswith(f"{blocked}.{blocked}: output is a directory, expected a file path")
        assert "Decoding" not in proc.stderr + proc.stdout
        assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(blocked)) == [f"{blocked}.{blocked}"]

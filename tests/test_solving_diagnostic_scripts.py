"""scripts/sudoku_remask_diagnostic.py (the AUC it reports, its numbers on the shipped solving model) and
scripts/sudoku_rollout_cache.py (a native-format cache of a decode)."""

import json

import torch

from conftest import load_script, run_script
from rm_cli.runinfo import git_commit


def _diagnostic():
    return load_script("sudoku_remask_diagnostic")


def test_rank_auc_separates_orders_and_counts_ties_half():
    auc = _diagnostic().rank_auc
    positive = torch.tensor([True, True, False, False])
    assert auc(torch.tensor([3.0, 4.0, 1.0, 2.0]), positive) == 1.0
    assert auc(torch.tensor([1.0, 2.0, 3.0, 4.0]), positive) == 0.0
    assert auc(torch.tensor([1.0, 1.0, 1.0, 1.0]), positive) == 0.5
    assert auc(torch.tensor([2.0, 1.0, 1.0, 0.0]), positive) == 0.875  # one tie between a positive and a negative


def test_shipped_model_flags_uniform_wrong_digits_and_the_report_is_consistent(tmp_path):
    out = tmp_path / "diag.json"
    proc = run_script("sudoku_remask_diagnostic.py", "--levels", "hard", "--limit", "12", "--out", out)
    assert proc.returncode == 0, proc.stderr
    hard = json.loads(out.read_text())["levels"]["hard"]
    assert hard["boards"] == 12 and 0 < hard["failed"] <= 12
    assert abs(hard["exact_pct"] - 100 * (12 - hard["failed"]) / 12) < 1e-2
    assert 0 <= hard["first_mistake_percentile"] <= 100 and hard["first_mistake_wrong_digits"] >= 1
    assert 1 <= hard["wrong_per_failed_board"] <= hard["blanks_per_failed_board"]
    assert hard["uniform_auc"] > 0.9 and hard["uniform_wrong_flagged_pct"] > 50 > hard["uniform_right_flagged_pct"]
    report = json.loads(out.read_text())
    assert report["parts"] == 4 and 0 <= hard["final_masked_auc"] <= 1
    assert report["git_commit"] == git_commit() and len(report["git_commit"]) == 40  # the code that made it
    assert 0 <= hard["final_masked_wrong_other_pct"] <= 100 and 0 <= hard["final_masked_right_other_pct"] <= 100


def test_masked_surprise_reads_each_blank_hidden_and_finds_a_digit_the_rest_rules_out():
    """One blank of a solved easy board set to a wrong digit: masked alone (81 parts), the model sees the rest of
    the solution, which fixes that cell; only blanks are scored."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from rm_cli.checkpoint import load_checkpoint
    from rm_cli.config import conf_dir
    from rm_cli.tasks.sudoku.solve import solve_test_file

    task_cfg = OmegaConf.load(conf_dir() / "task" / "sudoku.yaml")
    task_cfg.mode = "solve"
    module = load_checkpoint(None, task_cfg)
    model = module.model.eval()
    examples = instantiate(task_cfg).for_checkpoint(module.task).eval_examples(solve_test_file("easy"), 1)
    board, blank = examples.gold.clone(), examples.editable.bool()
    cell = int(blank[0].nonzero()[0])
    board[0, cell] = (board[0, cell] + 1) % 9  # another digit (tokens 0-8 are digits 1-9)
    surprise, other = _diagnostic().masked_surprise(model, board, blank, parts=81)
    assert bool(other[0, cell]) and int(other[0][blank[0]].sum()) == 1
    right = blank[0].clone()
    right[cell] = False
    assert surprise[0, cell] > surprise[0][right].max()
    assert (surprise[~blank] == 0).all() and not other[~blank].any()


def test_unknown_sampler_or_checkpoint_is_one_line_and_writes_nothing(tmp_path):
    out = tmp_path / "diag.json"
    for args in (["--sampler", "nope"], ["--checkpoint", str(tmp_path / "missing.ckpt")]):
        proc = run_script("sudoku_remask_diagnostic.py", *args, "--out", out)
        assert proc.returncode == 2 and ("unknown sampler" in proc.stderr or "no such file" in proc.stderr)
        assert not out.exists()


def test_rollout_cache_holds_the_decoded_digits_and_loads_as_a_native_cache(tmp_path):
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from rm_cli.checkpoint import load_checkpoint
    from rm_cli.config import conf_dir
    from rm_cli.corruption import NativeCorruption, load_native_cache
    from rm_cli.tasks.sudoku.solve import solve_test_file

    script = load_script("sudoku_rollout_cache")
    task_cfg = OmegaConf.load(conf_dir() / "task" / "sudoku.yaml")
    task_cfg.mode = "solve"
    module = load_checkpoint(None, task_cfg)
    examples = instantiate(task_cfg).for_checkpoint(module.task).eval_examples(solve_test_file("hard"), 6)
    sampler = instantiate(OmegaConf.load(conf_dir() / "sampler" / "rm_solve.yaml"))
    cache = script.rollout_cache(module.model.eval(), examples, sampler, 4, "test")
    out = tmp_path / "rollout.pt"
    torch.save(cache, out)
    cache = load_native_cache(out)
    gold, editable, wrong = cache["gold"].long(), cache["editable"], cache["wrong"].long()
    assert wrong.shape == (6, 81, 1) and cache["k"] == 1 and torch.equal(gold, examples.gold)
    assert torch.equal(wrong[..., 0][~editable], gold[~editable])  # givens: the decode cannot change them
    assert ((wrong[..., 0] >= 0) & (wrong[..., 0] < 9)).all()  # every blank decoded to a digit
    assert (wrong[..., 0] != gold).any()  # hard puzzles: some of the decoded digits are the model's mistakes
    drawn = NativeCorruption(str(out))(gold, 10, 9)
    assert torch.equal(drawn, wrong[..., 0])  # k = 1: corruption=native shows exactly the decoded digit

    bad = run_script("sudoku_rollout_cache.py", "--n", "0", "--out", tmp_path / "x.pt")
    assert bad.returncode == 2 and "--n must be >= 1" in bad.stderr and not (tmp_path / "x.pt").exists()

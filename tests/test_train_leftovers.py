"""A refused `rm train` leaves no run directory behind: its checks run before anything is written there, and
what Hydra wrote first (train.log, the folders of the run_dir path it made) is removed again."""

import csv
import json

import pytest
import torch
from omegaconf import OmegaConf

from conftest import TINY, run_cli
from rm_cli.corruption import build_native_cache
from rm_cli.tasks.sudoku import SudokuTask
from rm_cli.tasks.sudoku.grid import MASK_ID

QUICK = [*TINY, "threads=1", "trainer.max_steps=4", "trainer.val_check_interval=4", "test_after_fit=false"]


class RankingModel(torch.nn.Module):
    """A frozen stand-in model that ranks the digits 1 > 2 > ... > 9 on every board."""

    mask_id = MASK_ID

    def start(self, x):
        return None

    def logits(self, x, state=None, logits_from=0):
        return torch.arange(10, 0, -1, dtype=torch.float).expand(*x.shape, 10).clone()[:, logits_from:]


@pytest.fixture(scope="module")
def native_cache(tmp_path_factory):
    """A real (small) Sudoku native cache with k=2, as `rm prepare split=native` writes it."""
    examples = SudokuTask(mode="solve", puzzle_pool=20, val_size=4).native_examples(n=40, seed=1)
    path = tmp_path_factory.mktemp("cache") / "native.pt"
    torch.save(build_native_cache(RankingModel(), examples, k=2, batch_size=16), path)
    return path


@pytest.mark.parametrize("case", ["k_above_the_cache", "native_without_solve_mode", "trainer_option_typo"])
def test_a_refused_train_leaves_no_run_directory(tmp_path, native_cache, case):
    """corruption.k above the cache's k was refused at the first training step, after .hydra/, logs/ and tb/
    were written; a native cache without task.mode=solve (refused where Hydra builds the task) left train.log;
    `+trainer.max_step=20` with the default run_dir left an empty runs/sudoku/."""
    solve = ["task=sudoku", "task.mode=solve", "corruption=native", f"corruption.cache={native_cache}"]
    args, line = {
        "k_above_the_cache": ([*solve, "corruption.k=50", "run_dir=runs/t3"],
                              "rm train: error: corruption.k must be in 1..2 (the cache's k), got 50"),
        "native_without_solve_mode": (["task=sudoku", "corruption=native", f"corruption.cache={tmp_path / 'absent.pt'}",
                                       "run_dir=runs/t1"],
                                      "rm train: error: corruption=native is implemented for task.mode=solve "
                                      "(its boards come from the cache)"),
        "trainer_option_typo": (["+trainer.max_step=20"],  # run_dir: runs/sudoku/<date>
                                "rm train: error: trainer.max_step is not an option of Lightning's Trainer (a typo?)"),
    }[case]
    proc = run_cli("train", *QUICK, *args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert proc.stderr.strip().splitlines()[-1] == line and "Traceback" not in proc.stderr
    assert not (tmp_path / "runs").exists(), sorted(str(p) for p in (tmp_path / "runs").rglob("*"))


def test_a_refused_train_keeps_the_folders_it_did_not_make(tmp_path):
    (tmp_path / "runs" / "mine").mkdir(parents=True)
    proc = run_cli("train", *QUICK, "+trainer.max_step=20", "run_dir=runs/mine/a/b", cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr[-3000:]
    assert [p.name for p in (tmp_path / "runs").rglob("*")] == ["mine"]
    (tmp_path / "empty").mkdir()  # the run_dir itself made beforehand (empty) stays too: it was removed
    proc = run_cli("train", *QUICK, "+trainer.max_step=20", "run_dir=empty", cwd=tmp_path)
    assert proc.returncode == 2 and (tmp_path / "empty").is_dir(), proc.stderr[-3000:]


def test_the_early_first_batch_check_leaves_training_as_it_was(tmp_path, native_cache, monkeypatch):
    """The early draw of one batch (what refuses corruption.k) must not shift training's draws: the same losses with
    the check as without it, on a native-cache run."""
    from benchmarks.common import train_config
    from rm_cli.commands import train

    cfg = OmegaConf.create(train_config(*QUICK, "task=sudoku", "task.mode=solve", "corruption=native",
                                        f"corruption.cache={native_cache}", "corruption.k=1"))

    def losses(run):
        return [r["train/loss"] for r in csv.DictReader((run / "logs" / "metrics.csv").open()) if r.get("train/loss")]

    train.fit(cfg.copy(), tmp_path / "checked")
    monkeypatch.setattr(train, "check_first_batch", lambda *args: None)
    train.fit(cfg.copy(), tmp_path / "unchecked")
    assert losses(tmp_path / "checked") and losses(tmp_path / "checked") == losses(tmp_path / "unchecked")


def test_the_run_summary_records_the_command_line_as_written(tmp_path):
    """`sampler.KEY=` of a key only the task's preset has reaches Hydra as `++sampler.KEY=` (rm_cli/default_sampler.py);
    summary.json, which the sweep table reads its points from, records what the user wrote."""
    proc = run_cli("train", *QUICK, "task=sudoku", "task.mode=solve", "task.puzzle_pool=20", "task.val_size=4",
                   "sampler.fit_budget=false", f"run_dir={tmp_path / 'run'}")
    assert proc.returncode == 0, proc.stderr[-3000:]
    overrides = json.loads((tmp_path / "run" / "summary.json").read_text())["overrides"]
    assert "sampler.fit_budget=false" in overrides and not any(o.startswith("++") for o in overrides)

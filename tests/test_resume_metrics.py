"""A resumed run's logs/metrics.csv: the rows up to the checkpoint stay, the abandoned part after it goes, and the
resumed run appends, so every step appears once."""

import csv
import warnings

import torch
from omegaconf import OmegaConf

from benchmarks.common import train_config
from conftest import TINY, fit_until_ctrl_c
from rm_cli.commands.train import fit

ARGS = [*TINY, "threads=1", "trainer.val_check_interval=4", "checkpoint_every_n_steps=4", "test_after_fit=false",
        "optim.warmup_steps=1"]


def _steps(path, column) -> list[int]:
    """The step of each row of metrics.csv that holds `column`, in file order."""
    with path.open(newline="") as f:
        return [int(row["step"]) for row in csv.DictReader(f) if row.get(column)]


def test_resume_after_ctrl_c_drops_the_rows_past_the_checkpoint_and_logs_each_step_once(tmp_path, monkeypatch):
    """Interrupted at step 7 with last.ckpt at step 4: the rows of steps 4-6 were kept and logged again on resume
    (steps ... 3 4 5 6 4 5 6 7 ...), and Lightning warned that the previous log files would be deleted."""
    assert fit_until_ctrl_c(monkeypatch, OmegaConf.create(train_config(*ARGS, "trainer.max_steps=10")), tmp_path, 7) == 130
    assert torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 4
    metrics = tmp_path / "logs" / "metrics.csv"
    assert _steps(metrics, "train/loss") == list(range(7))  # the interrupted run logged past the checkpoint

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = fit(OmegaConf.create(train_config(*ARGS, "trainer.max_steps=12", "resume=auto")), tmp_path)
    assert summary["steps"] == 12
    assert _steps(metrics, "train/loss") == list(range(12))  # a row's step counts from 0: step 3 ends at global step 4
    assert _steps(metrics, "lr-AdamW") == list(range(12))
    assert _steps(metrics, "val/exact") == [3, 7, 11]  # validation at global steps 4 (before the resume), 8 and 12
    assert not [w for w in caught if "Previous log files in this directory will be deleted" in str(w.message)]

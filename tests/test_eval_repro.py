"""Reproducible numbers: eval metrics do not depend on the batch size, and every results JSON says
where it came from (resolved config, seed, git commit, package versions)."""

import json

import lightning as L
import pytest
import torch
from hydra import compose, initialize_config_dir
from omegaconf import OmegaConf

from benchmarks.common import train_config
from conftest import TINY
from rm_cli.commands import eval as eval_command
from rm_cli.commands.train import fit
from rm_cli.config import conf_dir
from rm_cli.lightning_module import RMLightningModule
from rm_cli.runinfo import git_commit


@pytest.fixture(scope="module")
def untrained_checkpoint(tmp_path_factory):
    """An untrained tiny model: p(MASK) and p(token) are close everywhere, the hardest case for ties."""
    L.seed_everything(0, verbose=False)
    cfg = train_config(*TINY)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.ckpt"
    torch.save({"state_dict": RMLightningModule(cfg).state_dict(), "hyper_parameters": {"cfg": cfg}}, path)
    return path


@pytest.fixture(autouse=True)
def one_thread():
    """One torch thread, as `threads=1` gives training: fast on a busy 2-core machine, and restored after."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _eval(*overrides) -> dict:
    with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
        cfg = compose(config_name="eval", overrides=list(overrides))
    return eval_command.run(cfg)


def test_eval_metrics_are_identical_for_batch_size_1_and_64(untrained_checkpoint):
    one = _eval(f"checkpoint={untrained_checkpoint}", "limit=48", "batch_size=1")
    many = _eval(f"checkpoint={untrained_checkpoint}", "limit=48", "batch_size=64")
    assert one["n"] == many["n"] == 48
    assert one["metrics"]["remasks_per_board"] > 0  # decoding really revised tokens, not a no-op
    assert one["metrics"] == many["metrics"] and one["predictions"] == many["predictions"]


def test_results_json_records_config_seed_commit_and_versions(untrained_checkpoint, tmp_path):
    out = tmp_path / "results.json"
    _eval(f"checkpoint={untrained_checkpoint}", "limit=4", f"output={out}", "seed=7")
    report = json.loads(out.read_text())
    assert report["config"]["limit"] == 4 and report["config"]["checkpoint"] == str(untrained_checkpoint)
    assert report["seed"] == 7 and report["train_config"]["backbone"]["d_model"] == 32
    assert report["git_commit"] == git_commit() and len(report["git_commit"]) == 40
    assert {"python", "torch", "lightning", "hydra-core", "rm-cli"} <= set(report["versions"])

    cfg = OmegaConf.create(train_config(*TINY, "threads=1", "trainer.max_steps=2", "trainer.val_check_interval=2",
                                        "test_after_fit=false", "seed=3"))
    fit(cfg, tmp_path / "run", overrides=["seed=3"])
    summary = json.loads((tmp_path / "run" / "summary.json").read_text())
    assert summary["config"] == OmegaConf.to_container(cfg, resolve=True) and summary["seed"] == 3
    assert summary["git_commit"] == git_commit() and {"torch", "lightning"} <= set(summary["versions"])


def test_a_training_summary_names_the_commit_the_run_started_at(tmp_path, monkeypatch):
    """HEAD can move while a long run trains; summary.json records the code it started with."""
    import rm_cli.commands.train as train_command

    head = {"commit": "a" * 40}
    monkeypatch.setattr(train_command, "git_commit", lambda: head["commit"])
    # someone checks out another commit while the run trains
    monkeypatch.setattr(RMLightningModule, "on_train_end", lambda self: head.update(commit="b" * 40), raising=False)
    cfg = OmegaConf.create(train_config(*TINY, "threads=1", "trainer.max_steps=2", "trainer.val_check_interval=2",
                                        "test_after_fit=false"))
    fit(cfg, tmp_path / "run")
    assert json.loads((tmp_path / "run" / "summary.json").read_text())["git_commit"] == "a" * 40

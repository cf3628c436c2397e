"""init_from=PATH: a run starts from another run's model weights (post-training), fresh optimizer
and step count; a checkpoint of another shape is one clear error."""

import pytest
import torch
from omegaconf import OmegaConf

from benchmarks.common import train_config
from conftest import TINY
from rm_cli.commands.train import fit
from rm_cli.errors import UserError

QUICK = [*TINY, "threads=1", "trainer.max_steps=2", "trainer.val_check_interval=2", "test_after_fit=false"]


def _weights(run_dir):
    state = torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)
    return state["global_step"], {k: v for k, v in state["state_dict"].items()}


def test_run_starts_from_the_source_weights_with_a_fresh_step_count(tmp_path):
    fit(OmegaConf.create(train_config(*QUICK, "seed=1")), tmp_path / "source")
    _, source = _weights(tmp_path / "source")
    # lr 1e-12: the weights barely move, so the run's last checkpoint shows where it started
    frozen = ["optim.lr=1e-12", "optim.warmup_steps=0", "seed=2"]
    fit(OmegaConf.create(train_config(*QUICK, *frozen, f"init_from={tmp_path / 'source' / 'checkpoints' / 'last.ckpt'}")),
        tmp_path / "post")
    step, post = _weights(tmp_path / "post")
    assert step == 2 and all(torch.allclose(source[k], post[k], atol=1e-8) for k in source)
    fit(OmegaConf.create(train_config(*QUICK, *frozen)), tmp_path / "scratch")
    _, scratch = _weights(tmp_path / "scratch")
    assert not all(torch.allclose(source[k], scratch[k], atol=1e-3) for k in source)


def test_a_checkpoint_of_another_shape_is_one_clear_error(tmp_path):
    fit(OmegaConf.create(train_config(*QUICK)), tmp_path / "source")
    wider = [o for o in QUICK if not o.startswith("backbone.d_model")] + ["backbone.d_model=48"]
    with pytest.raises(UserError) as failure:
        fit(OmegaConf.create(train_config(*wider, f"init_from={tmp_path / 'source' / 'checkpoints' / 'last.ckpt'}")),
            tmp_path / "post")
    assert "init_from=" in str(failure.value) and "\n" not in str(failure.value)

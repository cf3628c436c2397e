"""ema_decay=D: the checkpoint a run ends with holds the exponential moving average of its weights
(what eval and infer load) and keeps the raw weights beside it."""

import pytest
import torch
from omegaconf import OmegaConf

from benchmarks.common import train_config
from conftest import TINY
from rm_cli.commands.train import fit
from rm_cli.config import validate_train
from rm_cli.errors import UserError

TWO_STEPS = [*TINY, "threads=1", "trainer.max_steps=2", "trainer.val_check_interval=2", "test_after_fit=false",
             "optim.warmup_steps=0", "optim.lr=1e-2", "seed=3"]


def _final_weights(run_dir, key="state_dict") -> dict[str, torch.Tensor]:
    return torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)[key]


def test_the_final_checkpoint_is_the_moving_average_with_the_given_decay(tmp_path):
    # Training is deterministic, so three runs of the same seed share the raw weights w1, w2 of steps 1 and 2.
    # The average starts as w1 and then is d * w1 + (1 - d) * w2: a run with d = 0.5 gives w1, which predicts d = 0.9.
    fit(OmegaConf.create(train_config(*TWO_STEPS)), tmp_path / "plain")
    w2 = _final_weights(tmp_path / "plain")
    runs = {}
    for decay in (0.5, 0.9):
        fit(OmegaConf.create(train_config(*TWO_STEPS, f"ema_decay={decay}")), tmp_path / f"ema{decay}")
        runs[decay] = _final_weights(tmp_path / f"ema{decay}")
    moved = [k for k in w2 if k.startswith("model.") and w2[k].is_floating_point() and (runs[0.5][k] - w2[k]).abs().max() > 1e-4]
    assert moved  # the average lags behind the raw weights
    for key in moved:
        w1 = 2 * runs[0.5][key] - w2[key]
        torch.testing.assert_close(runs[0.9][key], 0.9 * w1 + 0.1 * w2[key], rtol=0, atol=1e-5)
    raw = _final_weights(tmp_path / "ema0.9", "current_model_state")
    assert all(torch.equal(raw[k], w2[k]) for k in w2)  # the raw weights are the plain run's, bit for bit


@pytest.mark.parametrize("decay", ["1.0", "0", "-0.5", "fast"])
def test_a_decay_outside_the_open_unit_interval_is_one_clear_error(decay):
    with pytest.raises(UserError, match="ema_decay must be null or in"):
        validate_train(OmegaConf.create(train_config(*TINY, f"ema_decay={decay}")))


def test_weight_averaging_with_a_sharded_model_is_refused_before_training():
    with pytest.raises(UserError, match="does not shard"):
        validate_train(OmegaConf.create(train_config(*TINY, "trainer=fsdp", "ema_decay=0.999")))

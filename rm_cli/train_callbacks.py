"""Lightning callbacks that keep a training run recoverable: a recent last.ckpt, no step on a bad loss, and the raw
weights beside their moving average."""

from pathlib import Path

import torch
from lightning.pytorch.callbacks import Callback, EMAWeightAveraging, ModelCheckpoint

from rm_cli.errors import UserError


class LastCheckpoint(ModelCheckpoint):
    """last.ckpt every `every_n_train_steps` steps and at the end of training: what `resume=auto` continues from.

    (ModelCheckpoint alone saves "last" only alongside its other saves, so a run would also lose
    its final steps whenever max_steps is not a multiple of the interval.)
    """

    def __init__(self, dirpath, every_n_train_steps: int):
        super().__init__(dirpath=dirpath, save_top_k=0, save_last=True, every_n_train_steps=every_n_train_steps,
                         enable_version_counter=False)

    def saved_step(self) -> int:
        """The global step of the last.ckpt this run wrote last (or resumed from)."""
        return self._last_global_step_saved

    def on_train_end(self, trainer, pl_module) -> None:
        if not self._should_skip_saving_checkpoint(trainer):
            self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def on_validation_end(self, trainer, pl_module) -> None:
        """A last.ckpt saved at this step was written before this validation: write it again, so it holds the
        best-checkpoint record that validation updated (a resume from it would otherwise forget best.ckpt's score,
        and the next validation would take any score as the best)."""
        if trainer.sanity_checking or trainer.fast_dev_run or self._last_global_step_saved != trainer.global_step:
            return
        self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))


class MovingAverage(EMAWeightAveraging):
    """Lightning's EMA of the weights, minus its last act: copying the average into the model when training ends.

    Every checkpoint already holds the average as `state_dict` (what eval and infer load) and the raw weights as
    `current_model_state`; with the copy, the raw weights of the final last.ckpt would be lost whenever max_steps is
    not a multiple of checkpoint_every_n_steps (its save then comes after the copy).
    """

    def on_train_end(self, trainer, pl_module) -> None:
        pass


class StopOnNonFiniteLoss(Callback):
    """A NaN or inf loss stops training before it reaches the weights, so last.ckpt stays the last good state.

    Checked before backward on every rank; the decision is shared, so all ranks stop together.
    """

    def __init__(self, ckpt_dir):
        self.ckpt_dir = Path(ckpt_dir)

    def on_before_backward(self, trainer, pl_module, loss: torch.Tensor) -> None:
        bad = not bool(torch.isfinite(loss.detach()).all())
        if not trainer.strategy.reduce_boolean_decision(bad, all=False):
            return
        last = self.ckpt_dir / "last.ckpt"
        kept = f"last good checkpoint: {last}" if last.is_file() else "no checkpoint was written yet"
        value = f"{loss.item()}" if bad else "non-finite on another device"
        raise UserError(f"training stopped at step {trainer.global_step}: loss is {value}; {kept}")

"""Lightning callbacks that keep a training run recoverable: a recent last.ckpt, no step on a bad loss, the raw
weights beside their moving average, and the time trained so far."""

import time
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


class TrainingClock(Callback):
    """Wall and CPU seconds the run has trained, carried in its checkpoints, so that a resumed run's summary.json
    gives the whole run's cost and not only its last process's. The time after the last save is not in last.ckpt:
    steps a crash made the run train again count once."""

    def __init__(self):
        self.before = {"wall_time_s": 0.0, "cpu_time_s": 0.0}  # what earlier processes trained (from the checkpoint)
        self.on_fit_start()

    def on_fit_start(self, trainer=None, pl_module=None) -> None:
        self._wall, self._cpu = time.perf_counter(), time.process_time()

    def elapsed(self) -> dict:
        """{wall_time_s, cpu_time_s}: earlier processes' time plus this one's since fit started (CPU: this process,
        all its threads; unlike wall time, not inflated by other load)."""
        now = {"wall_time_s": time.perf_counter() - self._wall, "cpu_time_s": time.process_time() - self._cpu}
        return {key: round(self.before[key] + now[key], 1) for key in self.before}

    def state_dict(self) -> dict:
        return self.elapsed()

    def load_state_dict(self, state_dict: dict) -> None:
        self.before = {key: float(state_dict[key]) for key in self.before}

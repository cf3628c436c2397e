"""rm train: post-train with Reflective Masking (or the plain MDM objective) under Lightning.

Lightning runs the loop, devices (DDP/FSDP), precision, gradient accumulation, checkpoints and
resume; this module wires them to the config. `batch_size` is the global batch of one optimizer
step: it is split over devices x trainer.accumulate_grad_batches, so a result does not depend on
how many devices produced it (see rm_cli/global_batch.py).
"""

import csv
import io
import logging
import shutil
import signal
import sys
import warnings
from pathlib import Path

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.errors import InstantiationException
from hydra.types import RunMode
from hydra.utils import instantiate
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.strategies.launchers.subprocess_script import _SubprocessScriptLauncher
from lightning.pytorch.utilities import rank_zero_only
from lightning.pytorch.utilities.exceptions import MisconfigurationException, SIGTERMException
from omegaconf import DictConfig, OmegaConf

from rm_cli import default_sampler, preflight
from rm_cli.checkpoint import load_checkpoint, read_checkpoint_file
from rm_cli.checkpoint_io import AtomicCheckpointIO
from rm_cli.config import validate_train
from rm_cli.decode import decode_examples
from rm_cli.errors import UserError, instantiation_cause, unexpected_option
from rm_cli.global_batch import GlobalBatchStream, check_same_data
from rm_cli.history import history_settings
from rm_cli.io import atomic_write_json, atomic_write_text, check_free_space, check_run_dir, remove_stale_temporaries
from rm_cli.lightning_module import RMLightningModule, as_container
from rm_cli.progress import training_progress_bar
from rm_cli.report import print_table
from rm_cli.runinfo import git_commit, package_versions, write_hydra_record
from rm_cli.samplers import build_sampler
from rm_cli.train_callbacks import LastCheckpoint, MovingAverage, StopOnNonFiniteLoss, TrainingClock

log = logging.getLogger(__name__)


def resume_path(resume: str, ckpt_dir: Path) -> str | None:
    last = ckpt_dir / "last.ckpt"
    if resume == "auto":
        return str(last) if last.is_file() else None
    if resume == "never":
        if last.is_file():
            raise UserError(f"{ckpt_dir} already holds checkpoints; pass resume=auto to continue or choose another run_dir")
        return None
    return str(resume)


def test_metrics(cfg: DictConfig, checkpoint: str) -> dict:
    """Score a checkpoint of this run on the task's fixed test set with the configured sampler."""
    module = load_checkpoint(checkpoint, cfg.task)
    examples = module.task.test_examples()
    sampler = build_sampler(cfg.sampler)
    result = decode_examples(sampler, module.model, examples, cfg.val.batch_size, module.task.metrics_read_trajectory,
                             description="test")
    return module.task.metrics(examples, result)


def init_weights(module: RMLightningModule, path: str, task_cfg) -> None:
    """init_from=PATH: start from another run's model weights (e.g. RM post-training of a checkpoint
    trained with another corruption or objective). Same task signature and the same parameter shapes."""
    source = load_checkpoint(path, task_cfg)
    try:
        module.model.load_state_dict(source.model.state_dict())
    except RuntimeError as e:
        lines = str(e).splitlines()  # torch's first line is a header; the second names the first mismatch
        detail = lines[1].strip() if len(lines) > 1 else str(e)
        raise UserError(f"init_from={path}: its model does not fit this run's backbone/history ({detail})") from None


def check_resume(module: RMLightningModule, path: str) -> int:
    """resume= names a checkpoint this run can continue: readable, the same task, objective, history, global batch
    and seed, and the same parameter shapes; returns the checkpoint's global step. Lightning's own load fails later
    with a size-mismatch or zip-reader traceback, and a changed history (no parameters of its own) would continue
    silently as another method."""
    ckpt, saved_cfg = read_checkpoint_file(path, f"resume={path}", mmap=True)
    own = module.cfg
    saved_history, asked_history = history_settings(saved_cfg.get("history")), history_settings(own.history)
    shared = set(saved_history) & set(asked_history)  # a key an older config lacks is not compared
    for key, saved, asked in (("task", saved_cfg.get("task", {}).get("name"), own.task.name),
                              ("objective", saved_cfg.get("objective"), own.objective),
                              ("history", {k: saved_history[k] for k in shared}, {k: asked_history[k] for k in shared})):
        if saved != asked:
            shown = (saved.get("name"), asked.get("name")) if key == "history" and saved.get("name") != asked.get("name") \
                else (saved, asked)
            raise UserError(f"resume={path}: the checkpoint trained with {key}={shown[0]}, this run asks {shown[1]}; "
                            "resume with the overrides it was trained with")
    check_same_data(saved_cfg, own.batch_size, own.seed)  # as the data stream does, but before training starts
    state = ckpt["state_dict"]
    for name, tensor in module.state_dict().items():
        if name not in state or tuple(state[name].shape) != tuple(tensor.shape):
            had = tuple(state[name].shape) if name in state else "none"
            raise UserError(f"resume={path}: the checkpoint does not fit this run's model ({name}: checkpoint {had}, "
                            f"this run {tuple(tensor.shape)}); resume with the overrides it was trained with")
    return int(ckpt.get("global_step", 0))


def with_task_sampler(cfg: DictConfig, overrides) -> DictConfig:
    """cfg whose sampler (what validation decodes with, so what `best.ckpt` means) is the task's
    preset for this objective when the command line names none (rm_cli/default_sampler.py)."""
    if overrides is None or default_sampler.chooses_sampler(overrides):
        return cfg  # decided without building the task
    cfg, preset = default_sampler.apply(cfg, instantiate(cfg.task), cfg.objective, overrides)
    if preset is not None:
        log.info("validating with sampler=%s (this task's default for objective=%s; sampler=NAME picks another)",
                 preset, cfg.objective)
    return cfg


class AppendingWriter(ExperimentWriter):
    """Lightning's CSV writer, minus its start: that deletes the metrics.csv it finds and warns "Previous log files
    in this directory will be deleted" whenever logs/ holds a file (hparams.yaml, always, in a resumed run)."""

    def _check_log_dir_exists(self) -> None:
        pass


def resume_metrics_history(logger: CSVLogger, resumed_step: int) -> None:
    """A resumed run continues logs/metrics.csv: the rows of the steps the checkpoint holds stay, and the resumed
    run appends after them. Rows of steps past it (the part of an interrupted run after its last checkpoint,
    which the resumed run trains and logs again) are dropped, in one atomic rewrite. A row's step counts from 0:
    the checkpoint of global step G holds steps 0..G-1 (a validation at G logs as G-1)."""
    if rank_zero_only.rank != 0:
        return
    writer = AppendingWriter(logger.log_dir)
    logger._experiment = writer  # what logger.experiment returns from now on
    path = Path(logger.log_dir) / ExperimentWriter.NAME_METRICS_FILE
    if not path.is_file():
        return
    with path.open(newline="") as f:
        reader = csv.reader(f)
        header = next(reader, [])
        rows = list(reader)
    column = header.index("step") if "step" in header else None

    def abandoned(row: list[str]) -> bool:
        try:
            return column is not None and int(float(row[column])) >= resumed_step
        except (IndexError, ValueError):
            return False

    kept = [row for row in rows if not abandoned(row)]
    if len(kept) < len(rows):
        out = io.StringIO()
        csv.writer(out).writerows([header, *kept])
        atomic_write_text(path, out.getvalue())
        log.info("resume: dropped %d rows of steps >= %d from %s (trained again from the checkpoint; tb/ keeps them)",
                 len(rows) - len(kept), resumed_step, path)
    writer.metrics_keys = sorted(header)  # the writer appends under this header, widening it for new keys


def stopped_line(how: str, trainer: L.Trainer, last: LastCheckpoint, ckpt_dir: Path) -> str:
    """What a stopped run can continue from: the step last.ckpt holds, which can be behind the step reached
    (a SIGTERM stops after the step it arrived in, whose save had not run)."""
    path = ckpt_dir / "last.ckpt"
    if not path.is_file():
        return f"rm train: {how} at step {trainer.global_step}; no checkpoint saved yet, nothing to resume\n"
    return (f"rm train: {how} at step {trainer.global_step}; no summary.json written; {path} holds step "
            f"{last.saved_step()}: the same command with resume=auto continues from there\n")


def build_trainer(trainer_cfg: DictConfig, **kwargs) -> L.Trainer:
    """Lightning's Trainer from the trainer config, its refusals as one line: trainer=gpu where torch sees no GPU,
    or an option the Trainer does not take (`+trainer.max_step=20`, as Hydra's own hint for a typo suggests)."""
    try:
        return instantiate(trainer_cfg, **kwargs)
    except InstantiationException as e:
        cause = instantiation_cause(e)
        if isinstance(cause, MisconfigurationException):
            raise UserError(f"the trainer config cannot run on this machine ({cause}); the default trainer runs on the CPU") from None
        option = unexpected_option(cause)
        if option is None:
            raise
        raise UserError(f"trainer.{option} is not an option of Lightning's Trainer (a typo?)") from None


def check_first_batch(module: RMLightningModule, train_data: GlobalBatchStream) -> None:
    """Draw the noise of one batch of the task's stream now, before anything is written: what a corruption checks
    only when it first runs (corruption.k against a native cache's k, a board missing from the cache) refused the
    run inside trainer.fit, after its logs/, tb/ and .hydra/ were written. The draw uses its own generator on a
    fresh pass of the (replayable) stream, and leaves torch's RNG as it was: training draws the same batches."""
    with torch.random.fork_rng(devices=[]):
        module.draw(next(iter(train_data.task_stream)), torch.Generator().manual_seed(0))


def checkpoint_bytes(module: RMLightningModule) -> int:
    """Rough size of one training checkpoint: fp32 weights plus AdamW's two moments, plus slack."""
    return 3 * 4 * module.num_parameters() + 2**20


def run(cfg: DictConfig) -> dict:
    hydra = HydraConfig.get()
    run_dir = Path(hydra.runtime.output_dir)
    try:
        return fit(cfg, run_dir, default_sampler.command_line(), multirun=hydra.mode == RunMode.MULTIRUN)
    except UserError:
        remove_hydra_leftovers(run_dir)
        raise
    except InstantiationException as e:  # a config's _target_ refused (task=sudoku corruption=native without
        if isinstance(instantiation_cause(e), UserError):  # task.mode=solve): one line too, and no leftovers
            remove_hydra_leftovers(run_dir)
        raise


def remove_hydra_leftovers(run_dir: Path) -> None:
    """A run refused before it trained holds only what Hydra wrote before the checks (.hydra/, train.log) and
    perhaps an empty checkpoints/: remove them, and the folder if that empties it, so a refused command leaves
    nothing behind; so too the empty folders above it that this command created (runs/sudoku/ of the default
    run_dir runs/sudoku/<date>, as rm_cli.preflight recorded them)."""
    leftovers = {".hydra", "train.log", "checkpoints"}
    if rank_zero_only.rank != 0 or not run_dir.is_dir() or not {p.name for p in run_dir.iterdir()} <= leftovers:
        return
    ckpt_dir = run_dir / "checkpoints"
    if ckpt_dir.is_dir() and any(ckpt_dir.iterdir()):
        return
    shutil.rmtree(run_dir / ".hydra", ignore_errors=True)
    (run_dir / "train.log").unlink(missing_ok=True)
    cwd, resolved = Path.cwd().resolve(), run_dir.resolve()
    top = preflight.created_folder(resolved)  # the highest folder of run_dir's path this command created
    if top is None or resolved == cwd:  # a folder the user made (or unknown: a multirun job) stays
        return
    if ckpt_dir.is_dir():
        ckpt_dir.rmdir()
    run_dir.rmdir()
    folder = resolved.parent
    while top is not None and folder.is_relative_to(top) and folder != cwd and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


class DropAdvert(logging.Filter):
    """Lightning's "Tip: ... try installing litlogger" line, printed at every run that logs elsewhere."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "litlogger" not in record.getMessage()


def quiet_lightning_noise() -> None:
    """Two lines each `rm train` printed that say nothing about the run: Lightning's advert for its cloud logger and
    torch 2.13's FutureWarning on Lightning's own use of LeafSpec (lightning/pytorch/utilities/_pytree.py)."""
    rank_zero = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    if not any(isinstance(f, DropAdvert) for f in rank_zero.filters):
        rank_zero.addFilter(DropAdvert())
    warnings.filterwarnings("ignore", message=r"`isinstance\(treespec, LeafSpec\)` is deprecated", category=FutureWarning)


def fit(cfg: DictConfig, run_dir: Path, overrides: list[str] | None = None, multirun: bool = False) -> dict:
    """Train into `run_dir`; returns the summary (written to run_dir/summary.json by rank 0).
    `overrides`: the command line as written (None: unknown, so the config's sampler is kept as it is)."""
    validate_train(cfg)
    quiet_lightning_noise()
    composed = cfg  # what the command line composed: the run's .hydra/config.yaml
    commit = git_commit()  # the code the run starts with: HEAD may move while a long run trains
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    ckpt_dir = run_dir / "checkpoints"
    ckpt_path = resume_path(str(cfg.resume), ckpt_dir)
    cfg = with_task_sampler(cfg, overrides)  # before seeding: building the task must not shift the run's draws
    # the trainer (and its devices) before the model: a batch the devices cannot split is refused before
    # any weights load (an 8B backbone takes minutes)
    best = ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor="val/exact", mode="max", save_top_k=1, save_last=False,
                           enable_version_counter=False)  # always best.ckpt (a resumed run wrote best-v1.ckpt)
    last = LastCheckpoint(ckpt_dir, cfg.checkpoint_every_n_steps)
    clock = TrainingClock()
    callbacks = [best, last, StopOnNonFiniteLoss(ckpt_dir), clock,
                 training_progress_bar(), LearningRateMonitor(logging_interval="step")]
    if cfg.get("ema_decay"):
        callbacks.append(MovingAverage(decay=cfg.ema_decay))
    if cfg.trainer.val_check_interval > cfg.trainer.max_steps:
        log.warning("trainer.val_check_interval=%d > trainer.max_steps=%d: no validation runs, so no best.ckpt "
                    "(summary and test use last.ckpt)", cfg.trainer.val_check_interval, cfg.trainer.max_steps)
    csv_logger = CSVLogger(str(run_dir), name="logs", version="")
    trainer = build_trainer(
        cfg.trainer,
        # Lightning counts val_check_interval in batches fed, ours in optimizer steps (as max_steps and
        # checkpoint_every_n_steps): with accumulation a step is accumulate_grad_batches batches
        val_check_interval=cfg.trainer.val_check_interval * cfg.trainer.accumulate_grad_batches,
        default_root_dir=str(run_dir),
        callbacks=callbacks,
        logger=[csv_logger, TensorBoardLogger(str(run_dir), name="tb", version="")],
        plugins=[AtomicCheckpointIO()],
    )
    if multirun and isinstance(trainer.strategy.launcher, _SubprocessScriptLauncher):
        raise UserError("a multi-device run cannot start its own processes inside a local sweep; sweep with "
                        "hydra/launcher=slurm (one job per point) or train the points one at a time")
    world_size = trainer.num_devices * trainer.num_nodes
    accumulate = trainer.accumulate_grad_batches
    if cfg.batch_size % (world_size * accumulate):
        raise UserError(f"batch_size={cfg.batch_size} (the global batch) must be divisible by devices x nodes x "
                        f"accumulate_grad_batches = {world_size} x {accumulate}")

    L.seed_everything(cfg.seed, workers=True, verbose=False)
    module = RMLightningModule(as_container(cfg))
    task = module.task
    resumed_step = check_resume(module, ckpt_path) if ckpt_path is not None else None
    if cfg.get("init_from") and ckpt_path is None:
        init_weights(module, cfg.init_from, cfg.task)
    check_run_dir(ckpt_dir)
    if rank_zero_only.rank == 0:
        remove_stale_temporaries(ckpt_dir)  # left by a run killed while writing a checkpoint
    # last.ckpt + best.ckpt + the temporary file of an atomic write
    check_free_space(ckpt_dir, 3 * checkpoint_bytes(module), "3 checkpoints")

    train_data = GlobalBatchStream(task.train_stream(cfg.batch_size, cfg.seed), module.draw, cfg.batch_size, accumulate,
                                   world_size, cfg.trainer.max_steps, cfg.seed)
    val = task.val_examples()
    val_data = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(val.inputs, val.editable, val.gold, torch.arange(len(val.inputs))),
        batch_size=cfg.val.batch_size
    )
    check_first_batch(module, train_data)
    # every check passed: the run's record may change now
    if resumed_step is not None:
        resume_metrics_history(csv_logger, resumed_step)
    if trainer.is_global_zero and HydraConfig.initialized():
        write_hydra_record(run_dir, composed)
    try:
        trainer.fit(module, train_dataloaders=train_data, val_dataloaders=val_data, ckpt_path=ckpt_path)
    except UserError:
        if trainer.global_rank != 0:
            raise SystemExit(2) from None  # every rank stops; rank 0 prints the one line
        raise
    except SIGTERMException:
        # Lightning stops at the next step and raises SystemExit(None), exit status 0: a killed run
        # would look finished to a shell or a scheduler. Exit as a process killed by SIGTERM does.
        if trainer.global_rank == 0:
            sys.stderr.write(stopped_line("terminated (SIGTERM)", trainer, last, ckpt_dir))
        raise SystemExit(128 + signal.SIGTERM) from None
    except SystemExit as e:
        if not (trainer.interrupted and e.code == 1):
            raise
        # Ctrl-C: Lightning shuts down and exits 1, as a crash would; say so and exit as an interrupt does
        if trainer.global_rank == 0:
            sys.stderr.write(stopped_line("interrupted", trainer, last, ckpt_dir))
        raise SystemExit(130) from None
    log.info("rank %d of %d trained to step %d", trainer.global_rank, trainer.world_size, trainer.global_step)

    summary = {
        "task": task.name,
        "history": cfg.history.name,
        "objective": cfg.objective,
        "seed": cfg.seed,
        "params": module.num_parameters(),
        "steps": trainer.global_step,
        "world_size": trainer.world_size,
        "batch_size": cfg.batch_size,
        "micro_batch_size": train_data.micro_batch_size,
        "accumulate_grad_batches": accumulate,
        **clock.elapsed(),  # the whole run's, across resumes (earlier processes' time is in the checkpoint)
        "resumed_from_step": resumed_step,  # None: trained in one process
        "best_val_exact_pct": float(best.best_model_score) if best.best_model_score is not None else None,
        "best_checkpoint": best.best_model_path or None,
        "last_checkpoint": str(ckpt_dir / "last.ckpt"),
        "overrides": list(overrides or []),
        "config": OmegaConf.to_container(cfg, resolve=True),
        "git_commit": commit,
        "versions": package_versions(),
    }
    if trainer.is_global_zero and cfg.test_after_fit:
        summary["test"] = test_metrics(cfg, summary["best_checkpoint"] or summary["last_checkpoint"])
    if trainer.is_global_zero:
        atomic_write_json(run_dir / "summary.json", summary)
        keys = ("params", "steps", "world_size", "wall_time_s", "cpu_time_s", "best_val_exact_pct", "best_checkpoint")
        rows = [(key, str(summary[key])) for key in keys] + [(f"test/{k}", v) for k, v in summary.get("test", {}).items()]
        print_table(f"rm train: {task.name} ({cfg.history.name}, seed {cfg.seed})", rows, first="what")
    return summary

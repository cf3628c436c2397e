"""rm train: post-train with Reflective Masking (or the plain MDM objective) under Lightning."""

import time
from pathlib import Path

import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from hydra.utils import instantiate
from lightning.pytorch.callbacks import LearningRateMonitor, ModelCheckpoint, RichProgressBar
from lightning.pytorch.loggers import CSVLogger, TensorBoardLogger
from omegaconf import DictConfig
from rich.console import Console
from rich.table import Table

from rm_cli.checkpoint import load_checkpoint
from rm_cli.config import validate_train
from rm_cli.decode import decode_examples
from rm_cli.errors import UserError
from rm_cli.io import atomic_write_json
from rm_cli.lightning_module import RMLightningModule, as_container
from rm_cli.runinfo import git_commit, package_versions


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
    sampler = instantiate(cfg.sampler)
    result = decode_examples(sampler, module.model, examples, cfg.val.batch_size, record_trajectory=True, description="test")
    return module.task.metrics(examples, result)


def run(cfg: DictConfig) -> dict:
    validate_train(cfg)
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    run_dir = Path(HydraConfig.get().runtime.output_dir)
    ckpt_dir = run_dir / "checkpoints"
    ckpt_path = resume_path(str(cfg.resume), ckpt_dir)
    L.seed_everything(cfg.seed, workers=True, verbose=False)
    module = RMLightningModule(as_container(cfg))
    task = module.task

    train_data = torch.utils.data.DataLoader(task.train_stream(cfg.batch_size, cfg.seed), batch_size=None)
    val = task.val_examples()
    val_data = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(val.inputs, val.editable, val.gold), batch_size=cfg.val.batch_size
    )
    checkpoint = ModelCheckpoint(dirpath=ckpt_dir, filename="best", monitor="val/exact", mode="max", save_top_k=1, save_last=True)
    trainer = instantiate(
        cfg.trainer,
        default_root_dir=str(run_dir),
        callbacks=[checkpoint, RichProgressBar(), LearningRateMonitor(logging_interval="step")],
        logger=[CSVLogger(str(run_dir), name="logs", version=""), TensorBoardLogger(str(run_dir), name="tb", version="")],
    )
    started = time.perf_counter()
    trainer.fit(module, train_dataloaders=train_data, val_dataloaders=val_data, ckpt_path=ckpt_path)
    wall = time.perf_counter() - started

    summary = {
        "task": task.name,
        "history": cfg.history.name,
        "objective": cfg.objective,
        "seed": cfg.seed,
        "params": module.num_parameters(),
        "steps": trainer.global_step,
        "wall_time_s": round(wall, 1),
        "best_val_exact_pct": float(checkpoint.best_model_score) if checkpoint.best_model_score is not None else None,
        "best_checkpoint": checkpoint.best_model_path or None,
        "last_checkpoint": str(ckpt_dir / "last.ckpt"),
        "overrides": list(HydraConfig.get().overrides.task),
        "git_commit": git_commit(),
        "versions": package_versions(),
    }
    if trainer.is_global_zero and cfg.test_after_fit:
        summary["test"] = test_metrics(cfg, summary["best_checkpoint"] or summary["last_checkpoint"])
    if trainer.is_global_zero:
        atomic_write_json(run_dir / "summary.json", summary)
        table = Table(title=f"rm train: {task.name} ({cfg.history.name}, seed {cfg.seed})")
        table.add_column("what")
        table.add_column("value", justify="right")
        for key in ("params", "steps", "wall_time_s", "best_val_exact_pct", "best_checkpoint"):
            table.add_row(key, str(summary[key]))
        for key, value in summary.get("test", {}).items():
            table.add_row(f"test/{key}", f"{value:.3f}" if isinstance(value, float) else str(value))
        Console().print(table)
    return summary

"""rm eval: decode a scored test file and report the task's metrics as a table and a JSON file."""

import time

from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.table import Table

from rm_cli.checkpoint import load_checkpoint
from rm_cli.decode import decode_examples
from rm_cli.io import atomic_write_json, check_writable
from rm_cli.runinfo import git_commit, package_versions


def run(cfg: DictConfig) -> dict:
    check_writable(cfg.output)
    module = load_checkpoint(cfg.checkpoint, cfg.task)
    task = module.task
    examples = task.test_examples(cfg.test_file).take(cfg.limit)
    sampler = instantiate(cfg.sampler)
    started = time.perf_counter()
    result = decode_examples(sampler, module.model, examples, cfg.batch_size, record_trajectory=True, description="eval")
    wall = time.perf_counter() - started
    metrics = task.metrics(examples, result)

    table = Table(title=f"rm eval: {task.name} ({sampler.name} sampler, history {module.cfg.history.name})")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for key, value in metrics.items():
        table.add_row(key, f"{value:.3f}" if isinstance(value, float) else str(value))
    Console().print(table)

    report = {
        "metrics": metrics,
        "n": len(examples),
        "seed": cfg.seed,
        "checkpoint": str(cfg.checkpoint) if cfg.checkpoint else "shipped",
        "test_file": examples.source,
        "sampler": sampler.name,
        "decode_wall_time_s": round(wall, 2),
        "predictions": [task.format_output(row) for row in result.tokens],
        "config": OmegaConf.to_container(cfg, resolve=True),
        "train_config": OmegaConf.to_container(module.cfg, resolve=True),
        "git_commit": git_commit(),
        "versions": package_versions(),
    }
    if cfg.output:
        atomic_write_json(cfg.output, report)
    return report

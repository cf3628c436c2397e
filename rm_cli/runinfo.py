"""What a results file records so that a number can be traced back: seed, configs, versions and git commit."""

import platform
import subprocess
from importlib import metadata
from pathlib import Path


def package_versions() -> dict:
    names = ["rm-cli", "torch", "lightning", "hydra-core", "omegaconf", "numpy", "transformers", "datasets"]
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    return out


def git_commit() -> str | None:
    try:
        return subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True, text=True, timeout=5, check=True
        ).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def provenance(cfg, module, source, n: int, source_name: str = "test_file") -> dict:
    """The record beside a command's outputs: its seed and config, the checkpoint's training config, the code."""
    from omegaconf import OmegaConf

    return {
        "n": n,
        "seed": cfg.seed,
        "checkpoint": str(cfg.checkpoint) if cfg.checkpoint else "shipped",
        source_name: source,
        "config": OmegaConf.to_container(cfg, resolve=True),
        "train_config": OmegaConf.to_container(module.cfg, resolve=True),
        "git_commit": git_commit(),
        "versions": package_versions(),
    }


def write_hydra_record(run_dir, task_cfg) -> None:
    """.hydra/config.yaml, hydra.yaml and overrides.yaml, the record Hydra writes, written by `rm train` itself
    once its checks pass (conf/train.yaml sets hydra.output_subdir to null): Hydra writes it before the command
    runs, so a refused command (run_dir= an existing run, a refused resume=) rewrote that run's record."""
    from hydra.core.hydra_config import HydraConfig
    from omegaconf import OmegaConf

    from rm_cli.io import atomic_write_text

    folder = Path(run_dir) / ".hydra"
    folder.mkdir(parents=True, exist_ok=True)
    hydra_cfg = HydraConfig.instance().cfg
    atomic_write_text(folder / "config.yaml", OmegaConf.to_yaml(task_cfg))
    atomic_write_text(folder / "hydra.yaml", OmegaConf.to_yaml(hydra_cfg))
    atomic_write_text(folder / "overrides.yaml", OmegaConf.to_yaml(hydra_cfg.hydra.overrides.task))

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

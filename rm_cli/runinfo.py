"""What a results file records so that a number can be traced back: versions and git commit."""

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

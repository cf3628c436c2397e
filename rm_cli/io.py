"""Output files appear whole or not at all: write to a temporary file beside the target, then rename."""

import json
import os
import tempfile
from pathlib import Path

from rm_cli.errors import UserError


def atomic_write_bytes(path, write) -> None:
    """Call write(binary file) on a temporary file beside `path`, then rename it into place."""
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as e:
        raise UserError(f"cannot write: {e.strerror}", path=path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path, text: str) -> None:
    atomic_write_bytes(path, lambda f: f.write(text.encode("utf-8")))


def atomic_write_json(path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


def check_writable(path) -> None:
    """Fail before any work when an output file could not be written."""
    if path is None:
        return
    parent = Path(path).resolve().parent
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if Path(path).is_dir():
        raise UserError("output is a directory, expected a file path", path=path)
    if not os.access(probe, os.W_OK):
        raise UserError("output directory is not writable", path=path)

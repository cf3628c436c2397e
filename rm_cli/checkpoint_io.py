"""Lightning CheckpointIO whose checkpoint files are always complete.

Lightning's default (TorchCheckpointIO) writes through an fsspec transaction whose temporary file
lives in the system temp directory; the final move is a copy whenever that is another filesystem,
and a job killed during the copy leaves a truncated last.ckpt that `resume=auto` cannot read.
Here the temporary file sits beside the target, is flushed to disk and renamed over it.
"""

import logging
from typing import Any

import torch
from lightning.pytorch.plugins.io import TorchCheckpointIO

from rm_cli.io import atomic_write_bytes

log = logging.getLogger(__name__)


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} takes no storage_options")
        atomic_write_bytes(path, lambda f: torch.save(checkpoint, f))
        log.info("saved checkpoint %s (step %s)", path, checkpoint.get("global_step"))

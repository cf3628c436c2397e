"""rm prepare: write a task's fixed evaluation split from its seed (how the shipped test file was
made), or, with split=native, the cache of a frozen checkpoint's likely wrong tokens."""

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig

from rm_cli.errors import UserError
from rm_cli.io import atomic_write_bytes, check_writable


def write_native_cache(cfg: DictConfig, task) -> None:
    from rm_cli.checkpoint import load_checkpoint
    from rm_cli.corruption import build_native_cache

    if cfg.checkpoint is None:
        raise UserError("split=native needs checkpoint=CKPT (the frozen model whose top-k wrong tokens are cached)")
    module = load_checkpoint(cfg.checkpoint, cfg.task)
    examples = task.native_examples(cfg.n, cfg.seed)
    cache = build_native_cache(module.model, examples, cfg.k, cfg.batch_size, source=str(cfg.checkpoint))
    atomic_write_bytes(cfg.output, lambda f: torch.save(cache, f))


def run(cfg: DictConfig) -> None:
    check_writable(cfg.output)
    task = instantiate(cfg.task)
    if cfg.split == "native":
        write_native_cache(cfg, task)
    elif cfg.split in ("test", "val"):
        task.write_split(cfg.split, cfg.output, n=cfg.n, seed=cfg.seed)
    else:
        raise UserError(f"split must be 'test', 'val' or 'native', got {cfg.split!r}")
    print(f"wrote {cfg.output}")

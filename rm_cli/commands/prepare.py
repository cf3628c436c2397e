"""rm prepare: write a task's fixed evaluation split from its seed (how the shipped test file was made)."""

from hydra.utils import instantiate
from omegaconf import DictConfig

from rm_cli.errors import UserError
from rm_cli.io import check_writable


def run(cfg: DictConfig) -> None:
    check_writable(cfg.output)
    task = instantiate(cfg.task)
    if cfg.split not in ("test", "val"):
        raise UserError(f"split must be 'test' or 'val', got {cfg.split!r}")
    task.write_split(cfg.split, cfg.output, n=cfg.n, seed=cfg.seed)
    print(f"wrote {cfg.output}")

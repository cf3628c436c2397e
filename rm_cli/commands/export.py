"""rm export: write a checkpoint as a Hugging Face folder that `checkpoint=DIR` (eval, infer) reads back."""

from pathlib import Path

from omegaconf import DictConfig

from rm_cli.checkpoint import load_checkpoint
from rm_cli.hf_export import write_export
from rm_cli.io import check_new_dir


def run(cfg: DictConfig) -> Path:
    out = Path(cfg.out)
    check_new_dir(out)
    module = load_checkpoint(cfg.checkpoint, cfg.task)
    write_export(module, out, source=str(cfg.checkpoint) if cfg.checkpoint else "shipped")
    print(f"wrote {out}")
    return out

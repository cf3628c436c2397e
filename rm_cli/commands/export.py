"""rm export: write a checkpoint as a Hugging Face folder that `checkpoint=DIR` (eval, infer) reads back."""

from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from rm_cli.checkpoint import load_checkpoint, read_checkpoint_file, rm_config
from rm_cli.default_sampler import command_line, override_keys
from rm_cli.hf_export import read_export, write_export
from rm_cli.io import check_new_dir


def task_config(cfg: DictConfig):
    """The task the command line names, or else the one the checkpoint was trained on: export copies a model, so
    `rm export checkpoint=TEXT.ckpt out=DIR` needs no task= (it was refused: 'the checkpoint is a text model')."""
    overrides = command_line()
    named = overrides is None or any(key.split(".", 1)[0] == "task" for key in override_keys(overrides))
    path = Path(str(cfg.checkpoint)) if cfg.checkpoint else None
    if named or path is None or not (path.is_dir() or path.is_file()):
        return cfg.task  # load_checkpoint says what is wrong with a missing file
    trained = rm_config(read_export(path), path) if path.is_dir() else read_checkpoint_file(path, path, mmap=True)[1]
    return OmegaConf.create(trained["task"])


def run(cfg: DictConfig) -> Path:
    out = Path(cfg.out)
    check_new_dir(out)
    module = load_checkpoint(cfg.checkpoint, task_config(cfg))
    write_export(module, out, source=str(cfg.checkpoint) if cfg.checkpoint else "shipped")
    print(f"wrote {out}")
    return out

"""Loading a trained model for eval/infer, with clear errors for the wrong file or the wrong task."""

from importlib import resources
from pathlib import Path

import torch
from hydra.utils import instantiate

from rm_cli.errors import UserError


def shipped_checkpoint(task_name: str, mode: str | None) -> Path | None:
    """The checkpoint that ships inside the package for this task, if any."""
    name = f"{task_name}_{mode}.ckpt" if mode else f"{task_name}.ckpt"
    path = Path(str(resources.files("rm_cli") / "assets" / name))
    return path if path.is_file() else None


def read_checkpoint_file(path, where, mmap: bool = False) -> tuple[dict, dict]:
    """(the checkpoint dict, its rm config) of a .ckpt file; errors name `where` (the path, or `resume=PATH`).
    mmap: tensors stay on disk until read (a resume check compares shapes only)."""
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True, mmap=mmap)
    except Exception as e:  # a torch.load failure can be any of a dozen types
        raise UserError(f"not a readable checkpoint ({e.__class__.__name__})", path=where) from None
    return ckpt, rm_config(ckpt, where)


def rm_config(ckpt, where) -> dict:
    """The rm config a checkpoint dict (a .ckpt file's or an export's) holds, checked: it has weights and the
    keys the model is built from."""
    cfg = ckpt.get("hyper_parameters", {}).get("cfg") if isinstance(ckpt, dict) else None
    if not isinstance(cfg, dict):
        raise UserError("not an rm checkpoint (no rm config inside)", path=where)
    if not isinstance(ckpt.get("state_dict"), dict):
        raise UserError("the checkpoint holds an rm config but no weights (state_dict)", path=where)
    missing = [key for key in ("task", "backbone", "history", "objective") if not cfg.get(key)]
    if missing:  # an edited or damaged export: the model cannot be built from it
        raise UserError(f"the checkpoint's rm config lacks {', '.join(missing)}", path=where)
    return cfg


def load_checkpoint(path, task_cfg):
    """Returns the RMLightningModule of `path` (a .ckpt, a folder written by `rm export`, or None for the
    shipped one), checked against `task_cfg`."""
    from rm_cli.hf_backbones import weights_replaced_by_checkpoint
    from rm_cli.lightning_module import RMLightningModule

    if path is None:
        path = shipped_checkpoint(task_cfg.name, task_cfg.get("mode"))
        if path is None:
            raise UserError(f"no checkpoint given and none ships for task {task_cfg.name!r}; pass checkpoint=PATH")
    if not str(path).strip():  # Path("") is ".", which read as "not an exported model folder"
        raise UserError("checkpoint= is empty; give a .ckpt file or a folder written by rm export")
    path = Path(path)
    if path.is_dir():  # a folder written by `rm export`
        from rm_cli.hf_export import read_export

        ckpt = read_export(path)
        cfg = rm_config(ckpt, path)
    elif not path.is_file():
        raise UserError("no such checkpoint file", path=path)
    else:
        ckpt, cfg = read_checkpoint_file(path, path)
    _check_same_task(cfg.get("task", {}), task_cfg, path)
    command_task = instantiate(task_cfg)
    if cfg.get("task", {}).get("name") == command_task.name:
        cfg = {**cfg, "task": command_task.checkpoint_task_config(dict(cfg["task"]))}
    with weights_replaced_by_checkpoint():
        module = RMLightningModule(cfg)
    wanted = command_task.signature()
    have = module.task.signature()
    if have != wanted:
        diff = ", ".join(f"{k}={have.get(k)!r} (asked {wanted.get(k)!r})" for k in wanted if have.get(k) != wanted.get(k))
        raise UserError(f"checkpoint is for another task or vocabulary: {diff}", path=path)
    trained = ckpt.get("task_signature")  # saved since 2026-12-07: catches a moved file replaced by another
    # only the keys the checkpoint recorded (a key added since, e.g. the text task's prompt_format, is not checked)
    diff = ", ".join(f"{k}={have.get(k)!r} (trained with {trained.get(k)!r})" for k in trained
                     if have.get(k) != trained.get(k)) if isinstance(trained, dict) else ""
    if diff:
        raise UserError(f"the task's files are not those the model was trained with: {diff}", path=path)
    try:
        module.load_state_dict(ckpt["state_dict"])
    except RuntimeError as e:
        raise UserError(f"checkpoint weights do not fit its config: {str(e).splitlines()[0]}", path=path) from None
    module.checkpoint_step = ckpt.get("global_step")  # recorded by `rm export`
    module.eval()
    return module


def _check_same_task(trained: dict, task_cfg, path) -> None:
    """A checkpoint of another task (or Sudoku mode) is refused before its model is built, naming the override."""
    name, mode = trained.get("name"), trained.get("mode")
    if name is not None and name != task_cfg.get("name"):
        fix = f"task={name}" + (f" task.mode={mode}" if mode not in (None, "revision") else "")
        article = "an" if str(name)[:1] in "aeiou" else "a"
        raise UserError(f"the checkpoint is {article} {name} model, not {task_cfg.get('name')}; pass {fix}", path=path)
    if mode is not None and task_cfg.get("mode") is not None and mode != task_cfg.get("mode"):
        raise UserError(f"the checkpoint is a {name} {mode} model; pass task.mode={mode}", path=path)


def slim_checkpoint(src, dst) -> dict:
    """Keep only what eval/infer need (weights, config, step): how the shipped checkpoints are made."""
    from rm_cli.io import atomic_write_bytes

    ckpt = torch.load(src, map_location="cpu", weights_only=True)
    slim = {key: ckpt[key] for key in ("state_dict", "hyper_parameters", "global_step", "pytorch-lightning_version", "task_signature")
            if key in ckpt}
    atomic_write_bytes(dst, lambda f: torch.save(slim, f))
    return slim

"""A trained model as a Hugging Face folder, and back.

The folder holds config.json (vocabulary, backbone, the Reflective Masking and History Reference
settings, and the full rm config the model was trained with), model.safetensors (the denoiser's
weights), vocab.json + special_tokens_map.json and a README.md model card. `checkpoint=DIR` reads
it back through rm_cli.checkpoint.load_checkpoint. Nothing here touches the network: moving the
folder to or from the hub is huggingface_hub's job (docs/scaling.md).
"""

import json
from pathlib import Path

import torch
from omegaconf import OmegaConf
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from rm_cli.errors import UserError
from rm_cli.io import atomic_write_dir
from rm_cli.runinfo import git_commit, package_versions

FORMAT = "rm-cli/hf-export/1"
CONFIG, WEIGHTS = "config.json", "model.safetensors"


def vocabulary(task) -> dict[str, int]:
    """Token string -> id: from the task's own output format, else (two tokens print alike, as a text model's
    special tokens all print as nothing) its tokenizer's token strings, else (those repeat too) ids as strings."""
    names = [task.format_output(torch.tensor([i])) for i in range(task.vocab_size)]
    # a text task's tokenizer spells each token ('<mask>', '[MASK]'; None past its own ids); Sudoku and image have none
    spell = getattr(getattr(task, "tokenizer", None), "token_text", None)
    if len(set(names)) != len(names) and spell is not None:
        names = [spell(i) for i in range(task.vocab_size)]
    if None in names or len(set(names)) != task.vocab_size:
        names = [str(i) for i in range(task.vocab_size)]
    return {name: i for i, name in enumerate(names)}


def export_config(module, source: str) -> dict:
    cfg, task = OmegaConf.to_container(module.cfg, resolve=True), module.task
    return {
        "format": FORMAT,
        "model_type": "rm_mask_diffusion",
        "architectures": [type(module.model.backbone).__name__],
        "vocab_size": task.vocab_size,
        "mask_token_id": task.mask_id,
        "seq_len": task.seq_len,
        "task": task.signature(),
        "backbone": cfg["backbone"],
        "history_reference": cfg["history"],
        "reflective_masking": {"objective": cfg["objective"], "sampler": cfg["sampler"],
                               "trajectory": cfg.get("trajectory"), "loss": cfg.get("loss")},
        "num_parameters": module.num_parameters(),
        "global_step": getattr(module, "checkpoint_step", None),
        "torch_dtype": str(next(module.model.parameters()).dtype).removeprefix("torch."),
        "exported_from": source,
        "git_commit": git_commit(),
        "versions": package_versions(),
        "rm_config": cfg,
    }


def model_card(config: dict) -> str:
    task, history = config["task"], config["history_reference"]
    base = config["backbone"].get("path")  # a transformers backbone is rebuilt from its base model, then overwritten
    needs = (f" The backbone is built from its base model `{base}` first (then these weights replace its own), so that "
             "folder, package or hub cache entry must be on the machine too." if base else "")
    files = {key: config["rm_config"]["task"].get(key) for key in ("tokenizer", "classifier")
             if isinstance(config["rm_config"]["task"].get(key), str)}  # the image task's own files, not in this folder
    if files:
        needs += (" The model reads files that are not in this folder: " + ", ".join(
            f"its {key} `{path}`" for key, path in files.items()) + "; copy them too and name them on the command "
            "line (" + ", ".join(f"`task.{key}=FILE`" for key in files) + "), as below.")
    extra = "".join(f" task.{key}=FILE" for key in files)
    mode = config["rm_config"]["task"].get("mode")
    task_args = f"task={task['task']}" + (f" task.mode={mode}" if mode not in (None, "revision") else "")
    return (
        "---\nlibrary_name: rm-cli\ntags: [mask-diffusion, reflective-masking]\n---\n\n"
        f"# Reflective Masking model: {task['task']} ({config['num_parameters']:,} parameters)\n\n"
        f"Trained with `rm train` (objective `{config['reflective_masking']['objective']}`, "
        f"history `{history['name']}`).{needs} Download this folder, then:\n\n"
        f"    rm eval {task_args} checkpoint=DIR{extra}\n"
        f"    rm infer {task_args} checkpoint=DIR{extra.replace(' task.classifier=FILE', '')} prompts=FILE\n"
    )


def untied(state_dict: dict) -> tuple[dict, dict]:
    """(weights with each shared tensor once, {dropped name: the kept name}): safetensors refuses tensors that
    share memory, as a masked LM's output layer shares its input embeddings (BERT, MiniLM, ModernBERT)."""
    weights, tied, seen = {}, {}, {}
    for name, t in state_dict.items():
        key = (t.data_ptr(), t.dtype, tuple(t.shape), t.stride()) if t.numel() else None
        if key is not None and key in seen:
            tied[name] = seen[key]
            continue
        if key is not None:
            seen[key] = name
        weights[name] = t.detach().cpu().contiguous()
    return weights, tied


def write_export(module, out, source: str) -> None:
    """Write `module` (an RMLightningModule) as a Hugging Face folder at `out`, atomically."""
    config = export_config(module, source)
    vocab = vocabulary(module.task)
    mask = next(name for name, i in vocab.items() if i == module.task.mask_id)  # always a key of vocab.json
    weights, tied = untied(module.model.state_dict())
    config["tied_weights"] = tied

    def fill(folder: Path) -> None:
        (folder / CONFIG).write_text(json.dumps(config, indent=2) + "\n")
        try:
            save_file(weights, str(folder / WEIGHTS), metadata={"format": "pt"})
        except SafetensorError as e:  # its I/O failures (a full disk) come as this, not as OSError
            raise UserError(f"cannot write {WEIGHTS}: {str(e).splitlines()[0][:200]}", path=out) from None
        (folder / "vocab.json").write_text(json.dumps(vocab, indent=2) + "\n")
        (folder / "special_tokens_map.json").write_text(json.dumps({"mask_token": mask}) + "\n")
        (folder / "README.md").write_text(model_card(config))

    atomic_write_dir(out, fill)


def read_export(folder) -> dict:
    """The checkpoint-like dict ({"state_dict", "hyper_parameters": {"cfg"}, "global_step"}) of an exported folder."""
    folder = Path(folder)
    if not (folder / CONFIG).is_file() or not (folder / WEIGHTS).is_file():
        raise UserError(f"not an exported model folder (needs {CONFIG} and {WEIGHTS})", path=folder)
    try:
        config = json.loads((folder / CONFIG).read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UserError(f"unreadable {CONFIG} ({e.__class__.__name__})", path=folder) from None
    if not isinstance(config, dict) or config.get("format") != FORMAT or not isinstance(config.get("rm_config"), dict):
        raise UserError(f"{CONFIG} was not written by rm export (format {FORMAT!r} expected)", path=folder)
    try:
        weights = load_file(str(folder / WEIGHTS))
    except (OSError, SafetensorError) as e:
        raise UserError(f"unreadable {WEIGHTS} ({e.__class__.__name__})", path=folder) from None
    for name, kept in (config.get("tied_weights") or {}).items():
        if kept not in weights:
            raise UserError(f"{WEIGHTS} lacks {kept!r}, which {CONFIG} says {name!r} shares", path=folder)
        weights[name] = weights[kept]
    return {"state_dict": {f"model.{name}": t for name, t in weights.items()},
            "hyper_parameters": {"cfg": config["rm_config"]}, "global_step": config.get("global_step"),
            "task_signature": config.get("task")}

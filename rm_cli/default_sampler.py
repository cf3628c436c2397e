"""The sampler a command decodes with when its command line names none.

conf's default, `sampler=rm`, is SPEC §5's Sudoku-revision rule: reveal every masked position in
one pass, then revise. A puzzle to solve or a text answer starts with every editable position
masked, where that one pass scores about 0 % (and `rm train`'s validation, and so `best.ckpt`,
would mean nothing). Such a task names, per training objective, the preset that fits it
(`Task.default_samplers`); a `sampler=` override on the command line always wins, and `sampler.KEY=`
edits without one edit the task's preset (`sampler.max_turns=8` in solve mode is rm_solve with 8 turns,
not conf's one-shot rule).
"""

from omegaconf import DictConfig, OmegaConf

from rm_cli.config import sampler_preset


def command_line() -> list[str] | None:
    """This command's overrides when Hydra runs it; None under compose(), where they are unknown."""
    from hydra.core.hydra_config import HydraConfig

    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else None


def chosen_name() -> str | None:
    """The sampler preset Hydra composed (`sampler=NAME`, or conf's default), when Hydra runs the command."""
    from hydra.core.hydra_config import HydraConfig

    return HydraConfig.get().runtime.choices.get("sampler") if HydraConfig.initialized() else None


def override_keys(overrides) -> list[str]:
    return [o.split("=", 1)[0].lstrip("+~") for o in overrides]


def edits_sampler(overrides) -> bool:
    """Whether a command-line override changes a key of the sampler (`sampler.steps=8`, not `sampler=X`)."""
    return any(key.startswith("sampler.") for key in override_keys(overrides))


def chooses_sampler(overrides) -> bool:
    """Whether a command-line override picks the sampler preset (`sampler=X`), not only edits its keys."""
    return "sampler" in override_keys(overrides)


def preset_for(task, objective: str, overrides) -> str | None:
    """The preset name that replaces conf's default for this task and objective (None: keep it).
    overrides=None (a config composed in code, command line unknown): keep it."""
    if overrides is None or chooses_sampler(overrides):
        return None
    return task.default_samplers.get(objective)


def apply(cfg: DictConfig, task, objective: str, overrides) -> tuple[DictConfig, str | None]:
    """(cfg, None), or a copy of cfg whose `sampler` is the task's preset, with the command line's
    `sampler.KEY=` edits (as Hydra composed them on conf's default), and that preset's name: the copy
    is what the command records (checkpoint config, results JSON), so it says what decoded."""
    name = preset_for(task, objective, overrides)
    if name is None:
        return cfg, None
    preset = OmegaConf.load(sampler_preset(name))
    for override in overrides:
        key = override.split("=", 1)[0]
        path = key.lstrip("+~")
        if not path.startswith("sampler."):
            continue
        if key.startswith("~"):
            parent, _, leaf = path[len("sampler."):].rpartition(".")
            node = OmegaConf.select(preset, parent) if parent else preset
            if OmegaConf.is_dict(node) and leaf in node:
                node.pop(leaf)
        else:
            OmegaConf.update(preset, path[len("sampler."):], OmegaConf.select(cfg, path), force_add=True)
    cfg = cfg.copy()
    cfg.sampler = preset
    return cfg, name

"""The sampler a command decodes with when its command line names none.

conf's default, `sampler=rm`, is SPEC §5's Sudoku-revision rule: reveal every masked position in
one pass, then revise. A puzzle to solve or a text answer starts with every editable position
masked, where that one pass scores about 0 % (and `rm train`'s validation, and so `best.ckpt`,
would mean nothing). Such a task names, per training objective, the preset that fits it
(`Task.default_samplers`); a `sampler=` override on the command line always wins, and `sampler.KEY=`
edits without one edit the task's preset (`sampler.max_turns=8` in solve mode is rm_solve with 8 turns,
not conf's one-shot rule).

Hydra composes conf's default first and refuses a key its YAML lacks, so before Hydra runs, `loosen`
rewrites such an edit to `++sampler.KEY=` (`sampler.fit_budget=false` in solve mode, a key of rm_solve
that conf's rm.yaml lacks); once the preset that decodes is known, `apply` refuses, in one line, an edit
of a key that this preset does not have. A `+sampler.KEY=` the user wrote adds the key, as before.
"""

from omegaconf import DictConfig, OmegaConf

from rm_cli.config import conf_dir, sampler_preset
from rm_cli.errors import UserError

# `sampler.KEY` paths that `loosen` rewrote to `++sampler.KEY` in this process (Hydra records the rewritten form)
_LOOSENED: set[str] = set()
_ABSENT = object()


def conf_default(command: str = "eval") -> str | None:
    """The sampler preset conf/COMMAND.yaml composes when the command line names none (None: it has no sampler)."""
    path = conf_dir() / f"{command}.yaml"
    defaults = OmegaConf.load(path).get("defaults") if path.is_file() else None
    for entry in defaults or []:
        if OmegaConf.is_dict(entry) and "sampler" in entry:
            return entry["sampler"]
    return None


def loosen(command: str, args: list[str]) -> list[str]:
    """args with each `sampler.KEY=V` whose KEY conf's default preset lacks rewritten to `++sampler.KEY=V`, when no
    `sampler=` chooses the preset: the task's preset, swapped in after Hydra composes, may have it (`apply` checks)."""
    from rm_cli.override_check import VALUE_FLAGS, hydra_overrides

    default = conf_default(command)
    if default is None or chooses_sampler(hydra_overrides(args)) or not sampler_preset(default).is_file():
        return list(args)
    preset = OmegaConf.load(sampler_preset(default))
    out, skip = [], False
    for arg in args:
        key = arg.split("=", 1)[0]
        if not skip and not arg.startswith(("-", "+", "~")) and "=" in arg and key.startswith("sampler.") \
                and OmegaConf.select(preset, key[len("sampler."):], default=_ABSENT) is _ABSENT:
            _LOOSENED.add(key)
            arg = f"++{arg}"
        skip = not skip and arg in VALUE_FLAGS
        out.append(arg)
    return out


def as_written(overrides):
    """The overrides with `loosen`'s `++sampler.KEY=` back as the user wrote them (`sampler.KEY=`)."""
    if overrides is None:
        return None
    return [o[2:] if o.startswith("++") and o.split("=", 1)[0][2:] in _LOOSENED else o for o in overrides]


def command_line() -> list[str] | None:
    """This command's overrides (as the user wrote them) when Hydra runs it; None under compose(), where they are
    unknown."""
    from hydra.core.hydra_config import HydraConfig

    return as_written(list(HydraConfig.get().overrides.task)) if HydraConfig.initialized() else None


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


def check_edits(preset: DictConfig, name: str, why: str, overrides) -> None:
    """Refuse a `sampler.KEY=` edit (not `+sampler.KEY=`, which adds a key) of a key the preset does not have."""
    for override in overrides:
        path = override.split("=", 1)[0]
        if not path.startswith("sampler."):
            continue
        sub = path[len("sampler."):]
        if OmegaConf.select(preset, sub, default=_ABSENT) is _ABSENT:
            keys = ", ".join(k for k in preset if k != "_target_")
            adds = f"+{override} adds it; " if "." not in sub and takes_option(preset, sub) else ""
            raise UserError(f"{override}: sampler preset {name} ({why}) has no key {sub!r}; its keys: {keys} "
                            f"({adds}sampler=NAME picks another preset)")


def takes_option(preset: DictConfig, key: str) -> bool:
    """Whether the preset's sampler class takes `key` though the preset does not set it (rm's fit_budget)."""
    import inspect

    from hydra.utils import get_class

    try:
        return key in inspect.signature(get_class(preset.get("_target_"))).parameters
    except Exception:  # an unknown _target_: build_sampler says so
        return False


def apply(cfg: DictConfig, task, objective: str, overrides) -> tuple[DictConfig, str | None]:
    """(cfg, None), or a copy of cfg whose `sampler` is the task's preset, with the command line's
    `sampler.KEY=` edits (as Hydra composed them on conf's default), and that preset's name: the copy
    is what the command records (checkpoint config, results JSON), so it says what decoded.
    An edit `sampler.KEY=` of a key that the preset which decodes lacks (the task's, or else conf's default)
    is refused (UserError). overrides: as the user wrote them (command_line(), as_written())."""
    name = preset_for(task, objective, overrides)
    if name is None:
        default = None if overrides is None or chooses_sampler(overrides) else chosen_name() or conf_default()
        if default is not None and sampler_preset(default).is_file():
            check_edits(OmegaConf.load(sampler_preset(default)), default, "conf's default", overrides)
        return cfg, None
    preset = OmegaConf.load(sampler_preset(name))
    check_edits(preset, name, f"the default here for objective={objective}", overrides)
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

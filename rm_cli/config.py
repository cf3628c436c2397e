"""Where the Hydra configs live, and the fail-fast checks on a composed config."""

import math
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from rm_cli.errors import UserError


def conf_dir() -> Path:
    """conf/ ships inside the wheel as rm_cli/conf; in a source checkout it is the top-level conf/."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "conf", here.parent / "conf"):
        if (candidate / "train.yaml").is_file():
            return candidate
    raise UserError("cannot find the rm config directory (conf/); is the package installed correctly?")


def sampler_preset(name: str) -> Path:
    """conf/sampler/NAME.yaml: a registered sampler's config or a preset of one (rm_solve, rm_text)."""
    return conf_dir() / "sampler" / f"{name}.yaml"


def _require(ok: bool, message: str) -> None:
    if not ok:
        raise UserError(message)


def validate_train(cfg: DictConfig) -> None:
    """Reject config combinations that would fail late or train something other than intended."""
    from rm_cli.history import history_settings  # imports torch, which conf_dir() (the CLI's start) does not need

    _require(cfg.objective in ("rm", "mdm"), f"objective must be 'rm' or 'mdm', got {cfg.objective!r}")
    _require(
        not (cfg.objective == "mdm" and cfg.history.enabled),
        f"objective=mdm trains without trajectories, so history must be off (got history={cfg.history.name})",
    )
    _require(0.0 < cfg.history.gamma <= 1.0, f"history.gamma must be in (0, 1], got {cfg.history.gamma}")
    rescale = history_settings(cfg.history)["rescale"]
    _require(isinstance(rescale, bool), f"history.rescale must be true or false, got {rescale!r}")
    _choices(cfg)
    for group in ("task", "backbone"):
        check_option_types(cfg[group], group)
    _flags(cfg, ["test_after_fit"])
    _require(cfg.trajectory.length >= 2, f"trajectory.length must be >= 2, got {cfg.trajectory.length}")
    for key in ("batch_size", "val.batch_size", "checkpoint_every_n_steps", "trainer.max_steps", "trainer.val_check_interval",
                "trainer.accumulate_grad_batches"):
        _whole(cfg, key, minimum=1)
    _whole(cfg, "optim.warmup_steps", minimum=0)
    _seed(cfg)
    for key in ("val_size", "train_pool", "train_size"):  # 0 crashed in torch.stack / random_ after the model was built
        if key in cfg.task:
            _whole(cfg, f"task.{key}", minimum=1)
    _require(cfg.get("threads") is None or _is_whole(cfg.threads) and cfg.threads >= 1,
             f"threads must be null or a positive integer, got {cfg.get('threads')!r}")
    weights = [cfg.loss.reveal_weight, cfg.loss.mask_weight, cfg.loss.keep_weight]
    _require(all(_is_number(w) for w in weights), f"loss weights must be numbers, got {weights}")
    _require(all(w >= 0 for w in weights) and any(w > 0 for w in weights), f"loss weights must be >= 0, not all 0: {weights}")
    _require(_is_number(cfg.optim.lr) and cfg.optim.lr > 0, f"optim.lr must be a finite number > 0, got {cfg.optim.lr!r}")
    _require(_is_number(cfg.optim.min_lr_ratio) and 0.0 <= cfg.optim.min_lr_ratio <= 1.0,
             f"optim.min_lr_ratio must be in [0, 1] (the cosine ends at lr * it), got {cfg.optim.min_lr_ratio!r}")
    _require(_is_number(cfg.optim.weight_decay) and cfg.optim.weight_decay >= 0,
             f"optim.weight_decay must be a number >= 0, got {cfg.optim.weight_decay!r}")
    betas = list(cfg.optim.betas) if OmegaConf.is_list(cfg.optim.betas) else cfg.optim.betas
    _require(isinstance(betas, list) and len(betas) == 2 and all(_is_number(b) and 0.0 <= b < 1.0 for b in betas),
             f"optim.betas must be two numbers in [0, 1), got {betas!r}")
    ema = cfg.get("ema_decay")
    _require(ema is None or (isinstance(ema, float) and 0.0 < ema < 1.0), f"ema_decay must be null or in (0, 1), got {ema!r}")
    _require(ema is None or "FSDP" not in str(cfg.trainer.get("strategy")),
             "ema_decay needs the whole model on each device; Lightning's weight averaging does not shard (use trainer=ddp)")
    _require(cfg.resume == "never" or cfg.resume == "auto" or Path(str(cfg.resume)).is_file(),
             f"resume must be 'never', 'auto' or an existing checkpoint file, got {cfg.resume!r}")


def _choices(cfg: DictConfig) -> None:
    """Options with a fixed set of values that the task, backbone or history would check only once built: here
    too, so a sweep's bad value stops it before its first job trains. The task and backbone classes declare
    theirs (`option_choices`); a `_target_` that does not import is left to fail where it is built."""
    from rm_cli.history import KINDS

    _in_choices(cfg, [("history.kind", KINDS), *_declared_choices(cfg, "task"), *_declared_choices(cfg, "backbone")])


def _declared_choices(cfg: DictConfig, group: str) -> list[tuple[str, tuple]]:
    """(key, allowed values) of the options the class that `group`'s `_target_` names declares (`option_choices`)."""
    from hydra.utils import get_object

    target = cfg[group].get("_target_")
    try:
        declared = getattr(get_object(target), "option_choices", {}) if target else {}
    except (ImportError, AttributeError, ValueError):
        declared = {}
    return [(f"{group}.{option}", allowed) for option, allowed in declared.items()]


def _in_choices(cfg: DictConfig, checks) -> None:
    for key, allowed in checks:
        value = OmegaConf.select(cfg, key)
        if value is not None:
            _require(value in allowed, f"{key}={value!r} is not one of: {', '.join(allowed)}")


def check_option_types(node: DictConfig, group: str) -> None:
    """Each option of a config group against the annotation of the constructor its `_target_` names: a count
    given as 1.5 (`sampler.max_turns=1.5`) ran until a tensor of that size was made, a word where a yes/no
    option goes (`task.truncate_prompt=no`) counted as true, `sampler.steps=true` ran one step."""
    import types
    import typing

    from hydra.utils import get_object

    target = node.get("_target_")
    try:
        built = get_object(target) if target else None
        # a class's constructor, and its subclasses' (SudokuTask builds SudokuSolveTask for task.mode=solve)
        hints = {}
        for made in [built, *(_subclasses(built) if isinstance(built, type) else [])] if built else []:
            for key, hint in typing.get_type_hints(made.__init__ if isinstance(made, type) else made).items():
                hints.setdefault(key, hint)
    except (ImportError, AttributeError, ValueError, NameError, TypeError):
        return  # an unknown _target_ fails where it is built, with its own message
    for key in node:
        hint = hints.get(key)
        if hint is None or key.startswith("_") or OmegaConf.is_interpolation(node, key):
            continue  # an interpolation is the config's own wiring, not a value given
        value = node[key]
        union = isinstance(hint, types.UnionType) or typing.get_origin(hint) is typing.Union
        allowed = set(typing.get_args(hint)) if union else {hint}
        if value is None and type(None) in allowed:
            continue
        if bool in allowed:
            ok, kind = isinstance(value, bool), "true or false"
        elif int in allowed:
            ok, kind = _is_whole(value), "a whole number"
        elif float in allowed:
            ok, kind = isinstance(value, (int, float)) and not isinstance(value, bool), "a number"
        elif str in allowed:
            ok, kind = isinstance(value, str), "a string"
        else:
            continue
        _require(ok, f"{group}.{key} must be {kind}{' or null' if type(None) in allowed else ''}, got {value!r}")


def _subclasses(cls: type) -> list[type]:
    return [sub for direct in cls.__subclasses__() for sub in (direct, *_subclasses(direct))]


def _flags(cfg: DictConfig, keys) -> None:
    """Top-level yes/no options: any other value (`scaling=no`) was taken as true."""
    for key in keys:
        if key in cfg:
            _require(isinstance(cfg[key], bool), f"{key} must be true or false, got {cfg[key]!r}")


def _is_whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _whole(cfg: DictConfig, key: str, minimum: int) -> None:
    value = OmegaConf.select(cfg, key)
    _require(_is_whole(value) and value >= minimum,
             f"{key} must be {'a positive' if minimum == 1 else 'a non-negative'} integer, got {value!r}")


def _seed(cfg: DictConfig, optional: bool = False) -> None:
    """seed= is a whole number that every generator takes (numpy's seeds stop at 2**32 - 1; -1 is no 'random')."""
    value = cfg.get("seed")
    _require((value is None and optional) or (_is_whole(value) and 0 <= value < 2**32),
             f"seed must be {'null or ' if optional else ''}a whole number from 0 to {2**32 - 1}, got {value!r}")


def _count(cfg: DictConfig, key: str, optional: bool = True) -> None:
    value = cfg.get(key)
    ok = (value is None and optional) or (isinstance(value, int) and not isinstance(value, bool) and value >= 1)
    _require(ok, f"{key} must be {'null or ' if optional else ''}a positive integer, got {value!r}")


def validate_io(cfg: DictConfig) -> None:
    """eval / infer / prepare: counts are positive integers (a slice by limit=-1 or a range by batch_size=0
    would run and mislead, or crash late), and output= never names the file the command reads."""
    _count(cfg, "batch_size", optional=False)
    _flags(cfg, ["scaling", "show_trajectory"])
    if "task" in cfg:
        check_option_types(cfg.task, "task")
        _in_choices(cfg, _declared_choices(cfg, "task"))  # task.mode=nope read "pass task.mode=revision"
    _seed(cfg, optional="split" in cfg)  # rm prepare's null: the split's own fixed seed
    for key in ("limit", "n"):
        if key in cfg:
            _count(cfg, key)
    if cfg.get("scaling"):
        budgets = cfg.scaling_budgets
        _require(OmegaConf.is_list(budgets) and len(budgets) > 0 and all(_is_whole(b) and b >= 1 for b in budgets),
                 f"scaling_budgets must be a list of whole numbers >= 1, got {budgets}")
        listed = cfg.get("scaling_samplers")  # null: the default list; one name (no brackets) is a list of one
        _require(listed is None or isinstance(listed, str) or (OmegaConf.is_list(listed) and len(listed) > 0),
                 f"scaling_samplers must be null or a non-empty list of sampler names, got {listed}")
    if cfg.get("output"):
        written = Path(str(cfg.output)).expanduser().resolve()
        for key in ("prompts", "test_file", "checkpoint"):
            value = cfg.get(key)
            if value and str(value) != "-" and Path(str(value)).expanduser().resolve() == written:  # -: standard input
                raise UserError(f"output={cfg.output} is also {key}=: the command would overwrite what it reads; "
                                "write the output elsewhere")

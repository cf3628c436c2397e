"""Check command-line overrides before Hydra runs, so a typo is one clear line, not a stack of them.

Every value of a sweep (`history=off,her`) is composed once (and, for train, checked by validate_train),
so a bad value stops a multirun before its first job starts rather than halfway through.
"""

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import HydraException
from omegaconf.errors import OmegaConfBaseException

from rm_cli.errors import UserError

# Hydra command-line flags that consume the next argument.
VALUE_FLAGS = {"--cfg", "-c", "--package", "-p", "--config-path", "-cp", "--config-name", "-cn", "--config-dir", "-cd",
               "--experimental-rerun"}


def hydra_overrides(args: list[str]) -> list[str]:
    """The `key=value` overrides among the arguments (flags and their values left out)."""
    out, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg in VALUE_FLAGS:
            skip = True
        elif not arg.startswith("-"):
            out.append(arg)
    return out


def one_line(message: str) -> str:
    """Hydra's multi-line error as one line: the reason and, for a config group, its options."""
    kept, options = [], []
    lines = iter(message.splitlines())
    for line in lines:
        text = line.strip()
        if not text or text.startswith(("full_key:", "object_type=", "Set the environment variable HYDRA_FULL_ERROR")):
            continue
        if text.startswith("Config search path"):
            break
        if line.startswith("\t") and kept and kept[-1].startswith("Available options"):
            options.append(text)
            continue
        kept.append(text)
    if options:
        kept[-1] = f"{kept[-1]} {', '.join(options)}"
    return "; ".join(part.rstrip(".") for part in kept)


def check_overrides(config_dir: str, config_name: str, args: list[str]) -> None:
    overrides = [o for o in hydra_overrides(args) if not o.lstrip("+~").startswith("hydra")]
    if not overrides:
        return
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as e:
        raise UserError(one_line(str(e))) from None
    for o in parsed:  # a new top-level key is read by no command (+foo=1 ran as if it were not there)
        if o.is_add() and "." not in o.key_or_group and "/" not in o.key_or_group:
            raise UserError(f"+{o.key_or_group}: rm {config_name} has no option {o.key_or_group!r} "
                            f"(`rm {config_name} --help` lists them)")
    first, choices = [], []
    for o in parsed:
        head = o.input_line.split("=", 1)[0]
        values = list(o.sweep_string_iterator()) if o.is_sweep_override() else None
        first.append(f"{head}={values[0]}" if values else o.input_line)
        choices.append([f"{head}={v}" for v in values[1:]] if values else [])
    combos = [first] + [first[:i] + [alt] + first[i + 1:] for i, alts in enumerate(choices) for alt in alts]
    with initialize_config_dir(config_dir=config_dir, version_base=None):
        for combo in combos:
            try:
                cfg = compose(config_name=config_name, overrides=combo)
            except (HydraException, OmegaConfBaseException) as e:
                raise UserError(one_line(str(e))) from None
            if config_name == "train":  # the values too, so a sweep's bad point stops it before the first job trains
                from hydra.utils import instantiate

                from rm_cli import default_sampler
                from rm_cli.config import validate_train
                from rm_cli.samplers import build_sampler

                try:
                    validate_train(cfg)
                    written = default_sampler.as_written(combo)
                    if default_sampler.edits_sampler(written) and not default_sampler.chooses_sampler(written):
                        # the edits apply to the task's preset, which validation decodes with (train.with_task_sampler)
                        cfg, _ = default_sampler.apply(cfg, instantiate(cfg.task), cfg.objective, written)
                    build_sampler(cfg.sampler)  # its own checks (sampler.max_turns=0) ran in the first job's set-up
                except UserError as e:
                    where = f" (sweep point {' '.join(combo)})" if len(combos) > 1 else ""
                    raise UserError(f"{e}{where}") from None


"""Entry points `rm` and `rmdm`.

`rm` shadows coreutils rm inside an activated venv, so every invocation whose first argument
is not one of our subcommands is handed, unchanged, to the next `rm` on PATH (exit code
included): `rm -rf build/` keeps working. A first word that names no file but looks like one of
our commands mistyped (`rm evalu`) or a config override (`rm task=sudoku`) is refused instead.
`rmdm` is the same CLI without that forwarding.
Heavy imports (torch, Lightning, Hydra) happen only after dispatch, so forwarding stays instant.
"""

import os
import sys
from pathlib import Path

SUBCOMMANDS = {
    "train": "post-train a mask diffusion model with Reflective Masking",
    "eval": "decode a test file and score it",
    "infer": "decode the inputs of a prompt file",
    "prepare": "write a task's fixed evaluation split",
    "export": "write a checkpoint as a Hugging Face folder (config.json, model.safetensors)",
}


def _is_our_script(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            return b"rm_cli" in f.read(4096)
    except OSError:
        return False


def system_rm(argv0: str | None = None) -> str | None:
    """The next `rm` on PATH that is not this program (nor another copy of it)."""
    me = Path(argv0 or sys.argv[0]).resolve()
    for directory in os.environ.get("PATH", "").split(os.pathsep):
        candidate = Path(directory or ".") / "rm"
        if not (candidate.is_file() and os.access(candidate, os.X_OK)):
            continue
        if candidate.resolve() == me or _is_our_script(candidate):
            continue
        return str(candidate)
    return None


def mistyped_command(argv: list[str]) -> str | None:
    """Why `rm evalu task=sudoku` must not reach coreutils: it names no file, so the user meant one of
    our commands, and coreutils would delete any later argument that happens to be a file.
    An existing path, an option, or a word unlike our commands is left to the system rm, as is anything
    that reads as a file name (`rm train.log eval.log`: a dot, a slash or a glob character)."""
    if not argv or argv[0].startswith("-") or os.path.lexists(argv[0]):
        return None
    word = argv[0]
    if "=" in word:
        from rm_cli.default_sampler import override_keys

        if override_keys([word])[0].split(".")[0] in _config_keys():
            return f"'{word}' is a config override, not a command; put a command first: rm <command> {' '.join(argv)}"
        return None
    if any(ch in word for ch in "./*?["):
        return None
    import difflib
    close = difflib.get_close_matches(word.lower(), SUBCOMMANDS, n=1, cutoff=0.6)
    if close:
        return f"'{word}' is neither a file nor an rm command; did you mean `rm {close[0]}`? (/bin/rm removes a file of that name)"
    return None


def _config_keys() -> set[str]:
    """Config groups and top-level options of every command (conf/*.yaml and conf/*/)."""
    from omegaconf import OmegaConf

    from rm_cli.config import conf_dir
    directory = conf_dir()
    keys = {p.name for p in directory.iterdir() if p.is_dir() and p.name != "hydra"}
    for name in SUBCOMMANDS:
        keys |= {k for k in OmegaConf.load(directory / f"{name}.yaml") if k != "defaults"}
    return keys


def forward_to_system_rm(argv: list[str]) -> None:
    target = system_rm()
    if target is None:
        sys.stderr.write("rm: no system rm found on PATH to forward to\n")
        sys.exit(127)
    os.execv(target, ["rm", *argv])


def usage(prog: str) -> str:
    lines = [f"usage: {prog} <command> [hydra overrides...]", "", "commands:"]
    lines += [f"  {name:<8} {text}" for name, text in SUBCOMMANDS.items()]
    lines += ["", f"`{prog} <command> --help` lists a command's config groups and options."]
    if prog == "rm":
        lines += ["Any other first argument is passed to the system rm."]
    return "\n".join(lines)


# Hydra's run-mode flags, each with the mode it selects (Hydra takes one mode a run)
RUN_MODES = {"-m": "-m", "--multirun": "-m", "-c": "--cfg", "--cfg": "--cfg", "-i": "--info", "--info": "--info",
             "-r": "--run", "--run": "--run", "-sc": "--shell-completion", "--shell-completion": "--shell-completion"}
MULTIRUN_FLAGS = tuple(flag for flag, mode in RUN_MODES.items() if mode == "-m")


def flags_first(args: list[str]) -> list[str]:
    """`-m` anywhere on the line: Hydra's parser reads its flags only before the first override
    (`rm train seed=0,1 -m x=1` stopped at argparse's usage block: "unrecognized arguments: x=1")."""
    return [a for a in args if a in MULTIRUN_FLAGS] + [a for a in args if a not in MULTIRUN_FLAGS]


def check_run_mode(args: list[str]) -> None:
    """Hydra takes one of these at a time and refuses two with a 15-line traceback."""
    asked = list(dict.fromkeys(RUN_MODES[a] for a in args if a in RUN_MODES))
    if len(asked) > 1:
        from rm_cli.errors import UserError
        raise UserError(f"{' and '.join(asked)} cannot be used together; pass one of them")


def run_subcommand(prog: str, name: str, args: list[str]) -> None:
    import importlib

    import hydra
    from hydra.errors import InstantiationException
    from omegaconf import OmegaConf

    from rm_cli.config import conf_dir
    from rm_cli.default_sampler import loosen
    from rm_cli.errors import UserError, instantiation_cause
    from rm_cli.override_check import check_overrides

    command = importlib.import_module(f"rm_cli.commands.{name}")
    args = flags_first(args)
    # Lightning's DDP launcher starts ranks > 0 by re-running sys.argv (plus hydra.run.dir=...):
    # once Hydra has parsed the overrides, sys.argv must again be the command the user typed.
    relaunch_argv = [os.path.abspath(sys.argv[0]), name, *args]

    def guarded(cfg):
        sys.argv = relaunch_argv
        missing = sorted(OmegaConf.missing_keys(cfg))  # the config's '???' options that the command line left unset
        if missing:
            sys.stderr.write(f"{prog} {name}: error: {', '.join(m + '=' for m in missing)} "
                             f"{'is' if len(missing) == 1 else 'are'} required\n")
            sys.exit(2)
        try:
            result = command.run(cfg)
            sys.stdout.flush()  # a reader that stopped early (`| head`) shows here, not in the interpreter's exit
            return result
        except BrokenPipeError:
            # the reader closed the pipe: stop quietly, as a command killed by SIGPIPE does (status 141)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            sys.exit(128 + 13)
        except UserError as e:
            sys.stderr.write(f"{prog} {name}: error: {e}\n")
            sys.exit(2)
        except InstantiationException as e:  # Hydra wraps what a config's _target_ raises
            cause = instantiation_cause(e)
            if not isinstance(cause, UserError):
                raise
            sys.stderr.write(f"{prog} {name}: error: {cause}\n")
            sys.exit(2)
        except KeyboardInterrupt:
            sys.stderr.write(f"{prog} {name}: interrupted\n")
            sys.exit(130)

    guarded.__name__ = name
    try:
        check_run_mode(args)
        directory = conf_dir()
        # `sampler.KEY=` of a key only the task's default preset has: Hydra must not refuse it (rm_cli/default_sampler.py)
        args = loosen(name, args)
        if not {"--help", "-h", "--hydra-help", "--info"} & set(args):
            check_overrides(str(directory), name, args)
    except UserError as e:
        sys.stderr.write(f"{prog} {name}: error: {e}\n")
        sys.exit(2)
    sys.argv = [f"{prog} {name}", *args]
    hydra.main(config_path=str(directory), config_name=name, version_base=None)(guarded)()


def _main(prog: str, forward: bool) -> None:
    argv = sys.argv[1:]
    if argv and argv[0] in SUBCOMMANDS:
        try:
            run_subcommand(prog, argv[0], argv[1:])
        except KeyboardInterrupt:  # while torch, Lightning and Hydra load (~10 s), before the command's own handler
            sys.stderr.write(f"{prog} {argv[0]}: interrupted\n")
            sys.exit(130)
        return
    if forward:
        mistake = mistyped_command(argv)
        if mistake:
            sys.stderr.write(f"rm: {mistake}\n")
            sys.exit(2)
        forward_to_system_rm(argv)
    if argv and argv[0] in ("-h", "--help"):
        print(usage(prog))
        return
    unknown = f"{prog}: unknown command {argv[0]!r}\n" if argv else ""
    sys.stderr.write(unknown + usage(prog) + "\n")
    sys.exit(2)


def main_rm() -> None:
    _main("rm", forward=True)


def main_rmdm() -> None:
    _main("rmdm", forward=False)

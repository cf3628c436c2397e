"""A Hydra callback that checks the output directory before Hydra writes anything into it.

Hydra creates the run directory (and writes .hydra/config.yaml) before our code runs, so a run_dir
under a file or on a read-only disk would otherwise end in Hydra's traceback. Hydra turns a
callback's exceptions into warnings, hence the explicit one-line message and exit code 2.
It also notes which folders of the run directory's path did not exist before: a refused `rm train`
removes them again when they are empty (runs/sudoku/ of runs/sudoku/<date>), and only them.
"""

import sys
from pathlib import Path

from hydra.experimental.callback import Callback

from rm_cli.errors import UserError
from rm_cli.io import check_run_dir


_created: Path | None = None  # the highest folder of this process's run directory that did not exist before it


def created_folder(run_dir) -> Path | None:
    """The highest folder of `run_dir`'s path (resolved) that this command created, if the preflight saw it made."""
    resolved = Path(run_dir).resolve()
    if _created is not None and resolved.is_relative_to(_created):
        return _created
    return None


def _first_missing(directory) -> Path | None:
    path = Path(directory).resolve()
    missing = None
    for folder in (path, *path.parents):
        if folder.exists():
            break
        missing = folder
    return missing


def _check(directory) -> None:
    try:
        check_run_dir(directory)
    except UserError as e:
        sys.stderr.write(f"{sys.argv[0]}: error: {e}\n")
        sys.exit(2)


class RunDirPreflight(Callback):
    def on_run_start(self, config, **kwargs) -> None:
        global _created
        _created = _first_missing(config.hydra.run.dir)
        _check(config.hydra.run.dir)

    def on_multirun_start(self, config, **kwargs) -> None:
        _check(config.hydra.sweep.dir)

"""A Hydra callback that checks the output directory before Hydra writes anything into it.

Hydra creates the run directory (and writes .hydra/config.yaml) before our code runs, so a run_dir
under a file or on a read-only disk would otherwise end in Hydra's traceback. Hydra turns a
callback's exceptions into warnings, hence the explicit one-line message and exit code 2.
"""

import sys

from hydra.experimental.callback import Callback

from rm_cli.errors import UserError
from rm_cli.io import check_run_dir


def _check(directory) -> None:
    try:
        check_run_dir(directory)
    except UserError as e:
        sys.stderr.write(f"{sys.argv[0]}: error: {e}\n")
        sys.exit(2)


class RunDirPreflight(Callback):
    def on_run_start(self, config, **kwargs) -> None:
        _check(config.hydra.run.dir)

    def on_multirun_start(self, config, **kwargs) -> None:
        _check(config.hydra.sweep.dir)

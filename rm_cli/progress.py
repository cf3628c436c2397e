"""Progress of long work that can be followed live and in a log file.

On a terminal it is a rich bar. Where the output is not a terminal (`rm eval ... > log 2>&1 &`, a
Slurm job) a rich bar draws itself once, when the work is done, so a 13-minute native cache or
500-problem eval would say nothing until its end; there one plain line is printed instead each time
another tenth of the work is done (for training, with the loss, and a line after each validation):

    eval: 256/500 (51%), 0:09:04 elapsed, about 0:08:38 left
    train step: 675/750 (90%), 0:52:21 elapsed, about 0:05:49 left, train/keep 0.03542, train/loss 0.1644, ...
"""

import datetime
import time
from collections.abc import Callable
from contextlib import contextmanager

from lightning.pytorch.callbacks import ProgressBar, RichProgressBar
from rich import get_console
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn


def clock(seconds: float) -> str:
    return str(datetime.timedelta(seconds=round(seconds)))


class ProgressLines:
    """Plain progress lines: one each time the share done passes another `every` (a tenth), and one at the end.

    `done` may start above 0 (a resumed run): the time left is estimated from this process's own pace."""

    def __init__(self, description: str, total: int, console: Console, done: int = 0, every: float = 0.1,
                 timer=time.perf_counter):
        self.description, self.total, self.console, self.every, self.timer = description, total, console, every, timer
        self.start_done = self.done = done
        self.started = timer()
        self.reached = self._shares(done)

    def _shares(self, done: int) -> int:
        """How many whole `every` shares of the total `done` completes."""
        return int(done / self.total / self.every + 1e-9) if self.total > 0 else 0

    def advance(self, n: int = 1, note: str = "") -> None:
        self.update(self.done + n, note)

    def update(self, done: int, note: str | Callable[[], str] = "") -> None:
        """note: text for the end of the line, or a function that makes it, called only when a line is printed."""
        self.done = done
        if self._shares(done) > self.reached:
            self.reached = self._shares(done)
            text = note() if callable(note) else note
            self.console.print(self.line(text), markup=False, highlight=False, soft_wrap=True)

    def line(self, note: str = "") -> str:
        elapsed = self.timer() - self.started
        share = f" ({100 * self.done / self.total:.0f}%)" if self.total else ""
        text = f"{self.description}: {self.done}/{self.total}{share}, {clock(elapsed)} elapsed"
        pace = (self.done - self.start_done) / elapsed if elapsed > 0 else 0.0
        if 0 < self.done < self.total and pace > 0:
            text += f", about {clock((self.total - self.done) / pace)} left"
        return text + (f", {note}" if note else "")


@contextmanager
def progress(description: str, total: int, console: Console | None = None):
    """Yields advance(n): a rich bar on a terminal, ProgressLines anywhere else."""
    console = console or get_console()
    if console.is_terminal:
        columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TimeRemainingColumn()]
        with Progress(*columns, console=console, transient=False) as bar:
            task = bar.add_task(description, total=total)
            yield lambda n=1: bar.update(task, advance=n)
    else:
        yield ProgressLines(description, total, console).advance


class ProgressLinesBar(ProgressBar):
    """Lightning's progress bar as ProgressLines, for `rm train` when the output is not a terminal: a line
    each tenth of the run's steps with the training loss, and one after each validation with its metrics."""

    def __init__(self, console: Console | None = None):
        super().__init__()
        self.console, self.lines, self.enabled = console or get_console(), None, True

    def disable(self) -> None:
        self.enabled = False

    def enable(self) -> None:
        self.enabled = True

    def on_train_start(self, trainer, pl_module) -> None:
        if self.enabled:
            self.lines = ProgressLines("train step", int(trainer.estimated_stepping_batches), self.console,
                                       done=trainer.global_step)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        if self.enabled and self.lines is not None:
            # the metrics are read (a device sync each) only for the ten steps that print a line
            self.lines.update(trainer.global_step, lambda: self._metrics(trainer, "train/"))

    def on_validation_end(self, trainer, pl_module) -> None:
        if self.enabled and not trainer.sanity_checking and (metrics := self._metrics(trainer, "val/")):
            self.console.print(f"validation at step {trainer.global_step}: {metrics}", markup=False, highlight=False,
                               soft_wrap=True)

    @staticmethod
    def _metrics(trainer, prefix: str) -> str:
        values = {k: v for k, v in trainer.callback_metrics.items() if k.startswith(prefix) and v.numel() == 1}
        return ", ".join(f"{k} {float(v):.4g}" for k, v in sorted(values.items()))


def training_progress_bar(console: Console | None = None) -> ProgressBar:
    """A rich bar on a terminal, plain lines anywhere else."""
    console = console or get_console()
    return RichProgressBar() if console.is_terminal else ProgressLinesBar(console)

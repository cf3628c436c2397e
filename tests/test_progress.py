"""Progress where the output is not a terminal: plain lines a log file can be followed by."""

import io

from rich.console import Console

from rm_cli.progress import ProgressLines, progress


class Clock:
    """A timer that moves only when told to."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def _console(terminal: bool) -> tuple[Console, io.StringIO]:
    out = io.StringIO()
    return Console(file=out, force_terminal=terminal, width=200), out


def test_one_line_each_tenth_and_one_at_the_end_with_the_time_left():
    console, out = _console(terminal=False)
    clock = Clock()
    lines = ProgressLines("eval", 25, console, timer=clock)
    for _ in range(25):
        clock.now += 2.0  # two seconds an item
        lines.advance(1)
    printed = out.getvalue().splitlines()
    assert [line.split(":")[1].split()[0] for line in printed] == ["3/25", "5/25", "8/25", "10/25", "13/25", "15/25",
                                                                   "18/25", "20/25", "23/25", "25/25"]
    assert printed[3] == "eval: 10/25 (40%), 0:00:20 elapsed, about 0:00:30 left"
    assert printed[-1] == "eval: 25/25 (100%), 0:00:50 elapsed"


def test_big_steps_print_once_and_a_resumed_count_estimates_from_its_own_pace():
    console, out = _console(terminal=False)
    clock = Clock()
    lines = ProgressLines("train step", 1000, console, done=600, timer=clock)  # resumed at step 600
    clock.now = 100.0
    lines.update(700, "train/loss 1.5")  # 100 steps in 100 s: 300 left take 300 s, not 700 / 600 * 300
    clock.now = 400.0
    lines.update(1000)
    assert out.getvalue().splitlines() == [
        "train step: 700/1000 (70%), 0:01:40 elapsed, about 0:05:00 left, train/loss 1.5",
        "train step: 1000/1000 (100%), 0:06:40 elapsed"]


def test_progress_prints_lines_only_where_there_is_no_terminal():
    for terminal in (False, True):
        console, out = _console(terminal)
        with progress("native cache", 4, console) as advance:
            for _ in range(4):
                advance(1)
        text = out.getvalue()
        assert ("native cache: 4/4 (100%)" in text) is not terminal, text
        assert ("━" in text) is terminal, text  # rich's bar


def test_a_note_given_as_a_function_is_made_only_for_the_lines_printed():
    console, out = _console(terminal=False)
    made = []
    lines = ProgressLines("train step", 20, console, timer=Clock())
    for step in range(1, 21):
        lines.update(step, lambda: made.append(step) or f"train/loss {step}")
    assert made == [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]
    assert out.getvalue().splitlines()[-1] == "train step: 20/20 (100%), 0:00:00 elapsed, train/loss 20"

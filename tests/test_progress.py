"""Progress where the output is not a terminal: plain lines a log file can be followed by."""

import io

import torch
from rich.console import Console

from rm_cli.decode import decode_examples
from rm_cli.progress import ProgressLines, progress
from rm_cli.samplers.best_of import BestOfSampler
from rm_cli.samplers.rm import RMSampler
from rm_cli.samplers.vanilla import VanillaSampler
from rm_cli.tasks.base import Examples


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


class RandomLogits:
    """Fixed random logits over 5 tokens (the mask, id 5, never likely), the same at every turn."""

    mask_id = 5

    def start(self, x0):
        return None

    def advance(self, state, x):
        return None

    def logits(self, x, state=None, logits_from=0):
        g = torch.Generator().manual_seed(0)
        logits = torch.randn(x.shape[0], x.shape[1], 6, generator=g)
        logits[..., self.mask_id] = -20.0  # RM never re-masks
        return logits[:, logits_from:]


def _decode_lines(sampler, n: int = 20, positions: int = 10) -> list[str]:
    console, out = _console(terminal=False)
    x0 = torch.full((n, positions), RandomLogits.mask_id)
    examples = Examples(x0, torch.ones_like(x0, dtype=torch.bool))
    decode_examples(sampler, RandomLogits(), examples, batch_size=n, console=console)
    return [line.split(",")[0] for line in out.getvalue().splitlines()]


def test_one_batch_reports_progress_turn_by_turn_not_only_at_its_end():
    """A text eval's 256-problem batch runs for minutes: its lines follow the sampler's turns."""
    tenths = [f"decoding: {k}/20 ({5 * k}%)" for k in range(2, 21, 2)]  # one batch of 20, ten turns
    assert _decode_lines(VanillaSampler(steps=10)) == tenths
    # RM reveals one a turn and stops at its fixed point after 11 of its 100 turns: progress follows the masks
    assert _decode_lines(RMSampler(max_turns=100, reveal_per_turn=1)) == tenths
    # best_of: the first view's turns fill the first half of the batch's share, the second view's the rest
    assert _decode_lines(BestOfSampler(base="vanilla", views=2, steps=20, symmetry=None,
                                       base_overrides={"temperature": 1.0}, score="board")) == tenths

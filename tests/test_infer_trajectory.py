"""`rm infer show_trajectory=true` for a task that leaves Examples.lines empty (it printed nothing and exited 0)
and for one without render_turns (a traceback after decoding). A minimal task and a scripted model stand in
for a checkpoint; the command runs through the CLI's own dispatch and error handling."""

import contextlib
import io
import sys

import torch
from omegaconf import OmegaConf

from conftest import NoHistoryModel
from rm_cli.cli import run_subcommand
from rm_cli.commands import infer
from rm_cli.tasks.base import Examples, Task


class Undrawn(Task):
    """Four editable positions, tokens 0 and 1; prompt_examples leaves `lines` at its default [] unless numbered."""

    name, vocab_size, mask_id, seq_len = "digits", 3, 2, 4

    def __init__(self, numbered: bool = False):
        self.numbered = numbered

    def prompt_examples(self, path) -> Examples:
        inputs = torch.full((len(open(path).read().split()), self.seq_len), self.mask_id)
        lines = list(range(1, len(inputs) + 1)) if self.numbered else []
        return Examples(inputs, torch.ones_like(inputs, dtype=torch.bool), source=str(path), lines=lines)

    def format_output(self, tokens) -> str:
        return "".join("_" if t == self.mask_id else str(int(t)) for t in tokens)


class Drawn(Undrawn):
    def render_turns(self, trajectory):
        return [f"turn {s}: {self.format_output(state)}" for s, state in enumerate(trajectory)]


class Ones(NoHistoryModel):
    """Token 1 everywhere, confidently; counts its forward passes."""

    mask_id = 2

    def __init__(self):
        self.passes = 0

    def logits(self, x, state=None, logits_from=0):
        self.passes += 1
        return torch.tensor([0.0, 5.0, -5.0]).expand(*x.shape, 3)[:, logits_from:]


class Module:
    def __init__(self, task):
        self.task, self.model, self.cfg = task, Ones(), OmegaConf.create({"objective": "rm"})

    def to(self, device):
        return self


def infer_with(task, monkeypatch, tmp_path) -> tuple[int, str, str, Module]:
    """(exit code, stdout, stderr, module) of `rm infer show_trajectory=true` on two prompts with `task`."""
    module = Module(task)
    module.loaded = False

    def load(path, task_cfg):
        module.loaded = True
        return module

    monkeypatch.setattr(infer, "load_checkpoint", load)
    monkeypatch.setattr(infer, "get_class", lambda target: type(task))
    monkeypatch.setattr(infer, "instantiate", lambda task_cfg: task)
    prompts = tmp_path / "prompts.txt"
    prompts.write_text("a\nb\n")
    out, err, argv = io.StringIO(), io.StringIO(), sys.argv
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            run_subcommand("rm", "infer", [f"checkpoint={tmp_path / 'unused.ckpt'}", f"prompts={prompts}",
                                           "show_trajectory=true"])
    except SystemExit as e:
        code = e.code
    finally:
        sys.argv = argv
    return code, out.getvalue(), err.getvalue(), module


def test_show_trajectory_draws_every_example_when_the_task_records_no_line_numbers(monkeypatch, tmp_path):
    code, out, err, module = infer_with(Drawn(), monkeypatch, tmp_path)
    assert code == 0, err[-2000:]
    for number in (1, 2):
        assert f"prompts.txt:{number} (the example's number, not its line) ──" in out
    assert out.count("turn 0: ____") == 2 and out.count("1111") >= 2
    code, out, err, module = infer_with(Drawn(numbered=True), monkeypatch, tmp_path)  # as before: the file's lines
    assert code == 0 and "prompts.txt:2 ──" in out and "number" not in out and out.count("turn 0: ____") == 2


def test_show_trajectory_for_a_task_that_cannot_draw_is_one_line_before_loading(monkeypatch, tmp_path):
    code, out, err, module = infer_with(Undrawn(numbered=True), monkeypatch, tmp_path)  # was NotImplementedError
    assert code == 2
    assert err == "rm infer: error: task 'digits' cannot draw trajectories; run without show_trajectory\n"
    assert out == "" and module.model.passes == 0 and not module.loaded  # refused before the checkpoint loads

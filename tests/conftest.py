"""Shared fixtures: tiny models, a helper that runs the real CLI as a subprocess, and the scripts/ loaders."""

import importlib.util
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def load_script(name: str):
    """scripts/NAME.py as a module (the scripts are not a package), to call its functions in-process."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_script(script: str, *args) -> subprocess.CompletedProcess:
    """`python scripts/SCRIPT ARGS...` as a user runs it: exit status and output captured."""
    return subprocess.run([sys.executable, str(ROOT / "scripts" / script), *map(str, args)], capture_output=True,
                          text=True)


class NoHistoryModel:
    """Base of the scripted test models: the decoding interface's history hooks, for a model without history
    (a subclass sets mask_id and writes logits)."""

    def start(self, x0):
        return None

    def advance(self, state, x):
        return None


class Adversary(NoHistoryModel):
    """Random distributions over tokens 0..4 and MASK (5) that favour MASK everywhere: a sampler left alone would
    re-mask and rewrite every position, givens included. Seeded, so a decode replays."""

    mask_id, vocab = 5, 6

    def __init__(self, seed=0):
        self.g = torch.Generator().manual_seed(seed)

    def logits(self, x, state=None, logits_from=0):
        logits = torch.randn(*x.shape, self.vocab, generator=self.g)
        logits[..., self.mask_id] += 3.0
        return logits[:, logits_from:]


# A model small enough that a few training steps take well under a second.
TINY = [
    "backbone.n_layers=1", "backbone.d_model=32", "backbone.n_heads=2", "task.train_pool=300",
    "task.val_size=32", "batch_size=16", "trainer.log_every_n_steps=1",
]


def run_cli(*args, prog="rm", cwd=None, env=None, timeout=240, stdin_text=None) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {})}
    return subprocess.run([str(BIN / prog), *args], cwd=cwd or ROOT, env=full_env, capture_output=True, text=True, timeout=timeout,
                          input=stdin_text, stdin=None if stdin_text is not None else subprocess.DEVNULL)


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """One tiny training run shared by the tests that need a checkpoint."""
    run_dir = tmp_path_factory.mktemp("tiny_run")
    proc = run_cli("train", f"run_dir={run_dir}", "trainer.max_steps=12", "trainer.val_check_interval=6", *TINY)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (run_dir.parent / f"{run_dir.name}.output.txt").write_text(proc.stdout + proc.stderr)  # what the user saw
    return run_dir


@pytest.fixture(autouse=True)
def restore_threads():
    """fit() applies the run's `threads` to this process; give every later test its thread count back."""
    before = torch.get_num_threads()
    yield
    torch.set_num_threads(before)


@pytest.fixture
def generator():
    return torch.Generator().manual_seed(0)


def fit_until_ctrl_c(monkeypatch, cfg, run_dir, step: int) -> int:
    """Train with Ctrl-C (a KeyboardInterrupt) at global step `step`; returns the exit status `fit` ended with."""
    from rm_cli.commands.train import fit
    from rm_cli.lightning_module import RMLightningModule

    real_step = RMLightningModule.training_step

    def interrupt(self, batch, batch_idx):
        if self.global_step == step:
            raise KeyboardInterrupt
        return real_step(self, batch, batch_idx)

    handler = signal.getsignal(signal.SIGINT)
    with monkeypatch.context() as patch:
        patch.setattr(RMLightningModule, "training_step", interrupt)
        try:
            with pytest.raises(SystemExit) as stop:
                fit(cfg, run_dir)
        finally:
            signal.signal(signal.SIGINT, handler)  # Lightning ignores further Ctrl-C while it shuts down
    return stop.value.code

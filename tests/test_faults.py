"""Faults: a NaN loss, an unusable run directory, a full disk, Ctrl-C during eval.

Each fails with one clear line, a non-zero exit and no half-written output.
"""

import json
import os
import signal
import subprocess
from collections import namedtuple

import lightning as L
import pytest
import torch
from omegaconf import OmegaConf

from benchmarks.common import train_config
from conftest import BIN, ROOT, TINY, fit_until_ctrl_c, run_cli
from rm_cli.commands.train import fit
from rm_cli.errors import UserError
from rm_cli.lightning_module import RMLightningModule

QUICK = [*TINY, "threads=1", "trainer.max_steps=8", "trainer.val_check_interval=8", "checkpoint_every_n_steps=2",
         "test_after_fit=false"]


def _cfg(*overrides):
    return OmegaConf.create(train_config(*QUICK, *overrides))


def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch):
    real_step = RMLightningModule.training_step

    def nan_at_step_5(self, batch, batch_idx):
        loss = real_step(self, batch, batch_idx)
        return loss * float("nan") if self.global_step == 5 else loss

    monkeypatch.setattr(RMLightningModule, "training_step", nan_at_step_5)
    with pytest.raises(UserError) as failure:
        fit(_cfg(), tmp_path)
    message = str(failure.value)
    assert "\n" not in message and "step 5" in message and "loss is nan" in message
    assert str(tmp_path / "checkpoints" / "last.ckpt") in message
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["global_step"] == 4  # the last save before the bad step, not overwritten
    assert all(torch.isfinite(t).all() for t in last["state_dict"].values())
    assert not (tmp_path / "summary.json").exists()


def test_sigterm_mid_run_exits_143_without_a_summary(tmp_path, monkeypatch, capsys):
    """Lightning turns SIGTERM into SystemExit(None), exit status 0: a killed run must not look finished."""
    real_step = RMLightningModule.training_step

    def sigterm_at_step_3(self, batch, batch_idx):
        if self.global_step == 3:
            os.kill(os.getpid(), signal.SIGTERM)  # Lightning's handler stops the loop at the next step
        return real_step(self, batch, batch_idx)

    monkeypatch.setattr(RMLightningModule, "training_step", sigterm_at_step_3)
    with pytest.raises(SystemExit) as stop:
        fit(_cfg(), tmp_path)
    assert stop.value.code == 143
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert message.startswith("rm train: terminated (SIGTERM) at step ") and "resume=auto" in message
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()
    saved = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
    assert f"last.ckpt holds step {saved}: " in message  # it named the step reached, one past the saved one
    assert not (tmp_path / "summary.json").exists()


def test_ctrl_c_mid_run_exits_130_with_the_resume_hint(tmp_path, monkeypatch, capsys):
    """Lightning shuts down on Ctrl-C and exits 1, as a crash does, with no word from rm."""
    assert fit_until_ctrl_c(monkeypatch, _cfg(), tmp_path, 3) == 130
    message = capsys.readouterr().err.strip().splitlines()[-1]
    assert message.startswith("rm train: interrupted at step 3") and "resume=auto" in message
    saved = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)["global_step"]
    assert f"last.ckpt holds step {saved}: " in message
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file() and not (tmp_path / "summary.json").exists()


def test_unwritable_run_dir_fails_before_hydra_or_training_starts(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    proc = run_cli("train", f"run_dir={blocker / 'run'}", *QUICK)
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [
        f"rm train: error: {blocker / 'run'}: run directory is not writable: Not a directory"]


def test_run_dir_naming_a_file_says_so(tmp_path):
    """It read 'run directory is not writable: File exists'."""
    blocker = tmp_path / "boards.txt"
    blocker.write_text("x")
    proc = run_cli("train", f"run_dir={blocker}", *QUICK)
    assert proc.returncode == 2 and blocker.read_text() == "x", proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines() == [f"rm train: error: {blocker}: run_dir is a file, not a folder; give a folder path"]


def test_full_disk_fails_before_training_starts(tmp_path, monkeypatch):
    Usage = namedtuple("Usage", "total used free")
    monkeypatch.setattr("rm_cli.io.shutil.disk_usage", lambda path: Usage(10**12, 10**12 - 2**20, 2**20))
    with pytest.raises(UserError, match=r"not enough free disk space: 3 checkpoints need about \d+ MiB, 1 MiB free"):
        fit(_cfg(), tmp_path)
    assert not (tmp_path / "logs").exists() and not list(tmp_path.rglob("*.ckpt"))


def test_ctrl_c_during_eval_leaves_the_old_results_file_untouched(tmp_path):
    L.seed_everything(0, verbose=False)
    cfg = train_config(*QUICK)
    ckpt = tmp_path / "tiny.ckpt"
    torch.save({"state_dict": RMLightningModule(cfg).state_dict(), "hyper_parameters": {"cfg": cfg}}, ckpt)
    out = tmp_path / "results.json"
    out.write_text('{"from": "an earlier run"}\n')

    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", "FORCE_COLOR": "1"}  # live progress bar
    # every board runs all 200 turns: decoding lasts minutes, so the signal lands mid-decode
    long_decode = ["batch_size=1", "sampler.max_turns=200", "sampler.stop_at_fixed_point=false"]
    # A shell's background job (`make test &`) ignores SIGINT, and a Python started that way never
    # installs its Ctrl-C handler: give the child the default disposition, as a terminal would.
    proc = subprocess.Popen([str(BIN / "rm"), "eval", f"checkpoint={ckpt}", f"output={out}", *long_decode],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        seen = b""
        while b"eval" not in seen:  # decoding has started
            chunk = os.read(proc.stdout.fileno(), 4096)
            assert chunk, proc.stderr.read().decode()[-2000:]
            seen += chunk
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()  # never leave a decoder running if the test fails
    assert proc.returncode == 130 and err.decode().strip().splitlines() == ["rm eval: interrupted"]
    assert json.loads(out.read_text()) == {"from": "an earlier run"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json", "tiny.ckpt"]  # no temporary file left


def test_an_output_under_a_file_is_refused_before_any_work(tmp_path):
    from rm_cli.io import check_writable

    (tmp_path / "notdir").write_text("a file")
    for output in (tmp_path / "notdir" / "r.json", tmp_path / "notdir" / "sub" / "r.json"):
        with pytest.raises(UserError, match=f"cannot write here: {tmp_path / 'notdir'} is a file, not a directory"):
            check_writable(output)
    check_writable(tmp_path / "new" / "sub" / "r.json")  # missing folders are made when writing: fine

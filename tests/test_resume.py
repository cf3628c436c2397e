"""Resume after a crash: a SIGKILLed run continues from last.ckpt as if it had never stopped."""

import os
import signal
import subprocess
import time

import pytest
import torch
from omegaconf import OmegaConf

from benchmarks.common import train_config
from conftest import BIN, ROOT, TINY
from rm_cli.checkpoint_io import AtomicCheckpointIO
from rm_cli.commands.train import fit

STEPS = 60
ARGS = [*TINY, "threads=1", f"trainer.max_steps={STEPS}", f"trainer.val_check_interval={STEPS}",
        "checkpoint_every_n_steps=4", "test_after_fit=false", "optim.warmup_steps=1"]


def _train(run_dir, *extra) -> subprocess.Popen:
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.Popen([str(BIN / "rm"), "train", f"run_dir={run_dir}", *ARGS, *extra], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)


def _all_checkpoints_load(ckpt_dir) -> dict[str, int]:
    return {p.name: torch.load(p, weights_only=True)["global_step"] for p in sorted(ckpt_dir.glob("*.ckpt"))}


@pytest.mark.parametrize("averaging", [[], ["ema_decay=0.9"]], ids=["plain", "ema"])
def test_sigkill_mid_run_then_resume_auto_matches_an_uninterrupted_run(tmp_path, averaging):
    run_dir = tmp_path / "run"
    last = run_dir / "checkpoints" / "last.ckpt"
    proc = _train(run_dir, *averaging)
    deadline = time.monotonic() + 120
    while not last.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()[-2000:]
    killed_at = _all_checkpoints_load(run_dir / "checkpoints")["last.ckpt"]  # a complete file, not a torn one
    assert 4 <= killed_at < STEPS and not (run_dir / "summary.json").exists()  # killed mid-run

    torn = run_dir / "checkpoints" / ".last.ckpt.k1ll3d.tmp"  # what a kill during a checkpoint write leaves
    torn.write_bytes(b"PK\x03\x04 half a checkpoint")
    resumed = _train(run_dir, "resume=auto", *averaging)
    _, err = resumed.communicate(timeout=240)
    assert resumed.returncode == 0, err[-3000:]
    steps = _all_checkpoints_load(run_dir / "checkpoints")
    assert steps["last.ckpt"] == STEPS and not torn.exists()

    # Model, optimizer, scheduler, step, RNG and data position all came back: the weights equal
    # those of a run that was never interrupted (with ema_decay, both the average and the raw weights).
    reference = fit(OmegaConf.create(train_config(*ARGS, *averaging)), tmp_path / "reference")
    resumed_state, reference_state = torch.load(last, weights_only=True), torch.load(reference["last_checkpoint"], weights_only=True)
    for part in ["state_dict"] + (["current_model_state"] if averaging else []):
        a, b = resumed_state[part], reference_state[part]
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-6)


def test_a_checkpoint_write_that_dies_midway_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "last.ckpt"
    io = AtomicCheckpointIO()
    io.save_checkpoint({"global_step": 1, "w": torch.ones(1000)}, path)

    def torn_save(obj, f):
        f.write(b"PK\x03\x04 half a zip file")
        raise KeyboardInterrupt  # e.g. Ctrl-C or a kill signal turned into an exception mid-write

    monkeypatch.setattr(torch, "save", torn_save)
    with pytest.raises(KeyboardInterrupt):
        io.save_checkpoint({"global_step": 2, "w": torch.zeros(1000)}, path)
    monkeypatch.undo()
    assert torch.load(path, weights_only=True)["global_step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["last.ckpt"]  # no temporary file left behind


def test_a_resumed_run_keeps_its_best_checkpoint_record_and_its_metrics_history(tmp_path):
    """last.ckpt saved at a validation step is written again after it: it carries best.ckpt's score, so a resume
    neither forgets it nor writes best-v1.ckpt; logs/metrics.csv keeps the rows of the run before the resume."""
    args = [*TINY, "threads=1", "trainer.val_check_interval=3", "checkpoint_every_n_steps=3", "test_after_fit=false",
            "optim.warmup_steps=1"]
    run = tmp_path / "run"
    fit(OmegaConf.create(train_config(*args, "trainer.max_steps=3")), run)
    record = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["callbacks"]
    best_state = next(v for k, v in record.items() if k.startswith("ModelCheckpoint") and "val/exact" in k)
    assert best_state["best_model_score"] is not None and best_state["best_model_path"].endswith("best.ckpt")
    before = (run / "logs" / "metrics.csv").read_text().splitlines()

    summary = fit(OmegaConf.create(train_config(*args, "trainer.max_steps=6", "resume=auto")), run)
    assert sorted(p.name for p in (run / "checkpoints").glob("*.ckpt")) == ["best.ckpt", "last.ckpt"]
    assert summary["best_checkpoint"].endswith("best.ckpt") and summary["steps"] == 6
    after = (run / "logs" / "metrics.csv").read_text().splitlines()
    steps = {line.split(",")[after[0].split(",").index("step")] for line in after[1:]}
    assert len(after) > len(before) and {"0", "5"} <= steps  # the first run's rows and the resumed run's


def test_a_resumed_runs_summary_counts_the_time_of_every_process(tmp_path):
    """summary.json's wall and CPU time are the run's cost: a resumed run adds the time its checkpoint carries
    (what the processes before it trained) to its own, and says from which step it resumed."""
    args = [*TINY, "threads=1", "trainer.val_check_interval=100", "checkpoint_every_n_steps=3", "test_after_fit=false",
            "optim.warmup_steps=1"]
    run = tmp_path / "run"
    first = fit(OmegaConf.create(train_config(*args, "trainer.max_steps=3")), run)
    carried = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)["callbacks"]["TrainingClock"]
    assert first["resumed_from_step"] is None
    assert 0 < carried["cpu_time_s"] <= first["cpu_time_s"] and 0 < carried["wall_time_s"] <= first["wall_time_s"]

    carried = {"wall_time_s": 5000.0, "cpu_time_s": 7000.0}  # as if the first process had trained for hours
    state = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
    state["callbacks"]["TrainingClock"] = carried
    torch.save(state, run / "checkpoints" / "last.ckpt")
    resumed = fit(OmegaConf.create(train_config(*args, "trainer.max_steps=6", "resume=auto")), run)
    assert resumed["resumed_from_step"] == 3 and resumed["steps"] == 6
    for key, before in carried.items():
        assert before < resumed[key] < before + 600, key  # the carried time plus this process's few seconds


def test_resume_with_a_checkpoint_this_run_cannot_continue_is_one_line(tmp_path):
    """A dropped override (another width), another history, or a truncated last.ckpt: Lightning's load failed
    with a size-mismatch or zip-reader traceback after the model was built, and another history ran on silently."""
    from rm_cli.errors import UserError

    args = [*TINY, "threads=1", "trainer.val_check_interval=2", "checkpoint_every_n_steps=2", "test_after_fit=false"]
    run = tmp_path / "run"
    fit(OmegaConf.create(train_config(*args, "trainer.max_steps=2")), run)
    again = [*args, "trainer.max_steps=4", "resume=auto"]
    cases = [(["backbone.d_model=48"], r"does not fit this run's model \(model\..*: checkpoint \(.*32.*\), this run"),
             (["history=off"], "the checkpoint trained with history=her, this run asks off"),
             (["history.gamma=0.9"], "the checkpoint trained with history=.*'gamma': 0.5.*, this run asks .*'gamma': 0.9")]
    for extra, message in cases:
        with pytest.raises(UserError, match=message):
            fit(OmegaConf.create(train_config(*again, *extra)), run)
    last = run / "checkpoints" / "last.ckpt"
    last.write_bytes(last.read_bytes()[:5000])
    with pytest.raises(UserError, match=r"resume=.*last.ckpt: not a readable checkpoint"):
        fit(OmegaConf.create(train_config(*again)), run)

"""A non-editable install (the wheel) carries conf/ and the data files, and works from anywhere."""

import os
import subprocess
import sys

from conftest import ROOT


def test_wheel_install_runs_from_another_directory(tmp_path):
    wheels, site, elsewhere = tmp_path / "wheels", tmp_path / "site", tmp_path / "elsewhere"
    elsewhere.mkdir()
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(ROOT)], check=True, timeout=300)
    wheel = next(wheels.glob("rm_cli-*.whl"))
    subprocess.run([*pip, "install", "--no-deps", "--target", str(site), str(wheel)], check=True, timeout=300)
    assert (site / "rm_cli" / "conf" / "train.yaml").is_file()
    assert (site / "rm_cli" / "data" / "sudoku_revision_test.jsonl").is_file()

    env = {**os.environ, "PYTHONPATH": str(site)}
    where = subprocess.run([sys.executable, "-c", "import rm_cli, rm_cli.config as c; print(rm_cli.__file__); print(c.conf_dir())"],
                           cwd=elsewhere, env=env, capture_output=True, text=True, check=True).stdout.split()
    assert where[0].startswith(str(site)) and where[1] == str(site / "rm_cli" / "conf")

    proc = subprocess.run(
        [str(site / "bin" / "rm"), "train", "task=sudoku", "run_dir=run", "trainer.max_steps=2", "trainer.val_check_interval=2",
         "backbone.n_layers=1", "backbone.d_model=32", "backbone.n_heads=2", "task.train_pool=100", "task.val_size=16",
         "batch_size=8", "test_after_fit=false"],
        cwd=elsewhere, env=env, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert (elsewhere / "run" / "checkpoints" / "last.ckpt").is_file()

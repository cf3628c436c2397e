"""Sweeps through Hydra launchers: joblib runs points in parallel for real; the SLURM config renders sbatch."""

import csv
import os

from hydra import compose, initialize_config_dir
from hydra.utils import instantiate

from conftest import TINY, run_cli
from rm_cli.config import conf_dir


def test_joblib_launcher_runs_a_two_point_sweep_in_parallel(tmp_path):
    proc = run_cli("train", "-m", "hydra/launcher=parallel", "seed=0,1", "threads=1", "trainer.max_steps=3",
                   "trainer.val_check_interval=3", "test_after_fit=false", f"hydra.sweep.dir={tmp_path}", *TINY)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Joblib.Parallel(n_jobs=2" in proc.stdout + proc.stderr  # Hydra's joblib launcher ran the points
    assert len(list(tmp_path.glob("*/summary.json"))) == 2
    assert len(list(tmp_path.glob("*/checkpoints/last.ckpt"))) == 2
    with open(tmp_path / "sweep_summary.csv") as f:
        rows = list(csv.DictReader(f))
    assert sorted(r["seed"] for r in rows) == ["0", "1"] and len({r["point"] for r in rows}) == 1
    assert all(r["steps"] == "3" for r in rows)
    assert "(n=2)" in proc.stdout  # the rich table: one point, mean +- std over its 2 seeds


def test_a_local_sweep_refuses_points_that_would_launch_their_own_ddp_processes(tmp_path):
    proc = run_cli("train", "-m", "seed=0,1", "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
                   "threads=1", f"hydra.sweep.dir={tmp_path}", *TINY)
    assert proc.returncode == 2
    errors = [line for line in proc.stderr.splitlines() if "error" in line]
    assert errors == ["rm train: error: a multi-device run cannot start its own processes inside a local sweep; sweep "
                      "with hydra/launcher=slurm (one job per point) or train the points one at a time"]
    assert not list(tmp_path.rglob("*.ckpt")) and not list(tmp_path.rglob("train_ddp_process_*.log"))


def test_slurm_launcher_config_composes_and_renders_sbatch(tmp_path, monkeypatch):
    import submitit  # the sweeps extra; make setup installs it
    overrides = ["hydra/launcher=slurm", "hydra.launcher.partition=gpu-long", "hydra.launcher.timeout_min=90",
                 "hydra.launcher.gpus_per_node=2", "hydra.launcher.tasks_per_node=2", f"hydra.sweep.dir={tmp_path}"]
    with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
        cfg = compose(config_name="train", overrides=overrides, return_hydra_config=True)
    launcher = instantiate(cfg.hydra.launcher)  # the plugin's SlurmLauncher, from our config
    launcher.setup(hydra_context=None, task_function=None, config=cfg)

    rendered = {}

    def render_instead_of_submitting(executor, fn, *job_args):
        rendered["jobs"] = len(job_args[0])
        rendered["sbatch"] = executor._executor._make_submission_file_text("python -m submitit.core._submit", "0")
        return []

    monkeypatch.setattr(submitit.AutoExecutor, "map_array", render_instead_of_submitting)
    fake_bin = tmp_path / "bin"  # submitit only builds a SLURM executor where `srun` exists; this one never runs
    fake_bin.mkdir()
    (fake_bin / "srun").write_text("#!/bin/sh\nexit 1\n")
    (fake_bin / "srun").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake_bin}{os.pathsep}{os.environ['PATH']}")
    launcher.launch([["seed=0"], ["seed=1"]], initial_job_idx=0)
    sbatch = rendered["sbatch"]
    assert rendered["jobs"] == 2
    for line in ("#SBATCH --partition=gpu-long", "#SBATCH --time=90", "#SBATCH --gpus-per-node=2",
                 "#SBATCH --ntasks-per-node=2", "#SBATCH --cpus-per-task=8", "#SBATCH --mem=64GB",
                 "#SBATCH --job-name=train", f"#SBATCH --output={tmp_path}/.submitit/"):
        assert line in sbatch, sbatch

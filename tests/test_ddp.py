"""Multi-device training: the global batch is split over devices and accumulation steps, never changed.

DDP runs for real on this CPU (gloo, 2 processes, the `rm train` command a user types) and is
compared with a single-process run of the same global batch.
"""

import csv
import json

import lightning as L
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from lightning.pytorch.strategies import FSDPStrategy
from omegaconf import OmegaConf
from torch.distributed.fsdp import ShardingStrategy

from benchmarks.common import train_config
from conftest import TINY, run_cli
from rm_cli.commands.train import fit
from rm_cli.config import conf_dir
from rm_cli.errors import UserError
from rm_cli.global_batch import GlobalBatchStream
from rm_cli.lightning_module import RMLightningModule

# Warm-up 1 and a high learning rate, so the weights (and the loss) really move in 6 steps.
SMALL = [*TINY, "threads=1", "trainer.max_steps=6", "trainer.val_check_interval=6", "checkpoint_every_n_steps=3",
         "test_after_fit=false", "optim.warmup_steps=1", "optim.lr=1e-2", "batch_size=16"]


def fit_here(run_dir, *overrides) -> dict:
    """`rm train` in this process (no Hydra run): same code path from the composed config on."""
    return fit(OmegaConf.create(train_config(*SMALL, *overrides)), run_dir)


def train_losses(run_dir) -> list[float]:
    with open(run_dir / "logs" / "metrics.csv") as f:
        return [float(row["train/loss"]) for row in csv.DictReader(f) if row.get("train/loss")]


def logged(run_dir, key: str) -> float:
    with open(run_dir / "logs" / "metrics.csv") as f:
        return [float(row[key]) for row in csv.DictReader(f) if row.get(key)][-1]


def test_ddp_on_two_cpu_processes_matches_one_process(tmp_path):
    ddp = tmp_path / "ddp"
    odd = "task.val_size=7"  # split over 2 devices, Lightning's sampler pads it to 8: each example must count once
    proc = run_cli("train", "task=sudoku", "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
                   "trainer.precision=32-true", f"run_dir={ddp}", *SMALL, odd)
    assert proc.returncode == 0, proc.stderr[-3000:]

    # Both ranks ran: each logs its final step (and rank 0 cannot step without rank 1 in the group).
    rank0, rank1 = (ddp / "train.log").read_text(), (ddp / "train_ddp_process_1.log").read_text()
    assert "rank 0 of 2 trained to step 6" in rank0 and "rank 1 of 2 trained to step 6" in rank1
    # Only rank 0 wrote: every checkpoint save is logged by the process that wrote it.
    assert "saved checkpoint" in rank0 and "saved checkpoint" not in rank1
    files = sorted(p.relative_to(ddp).as_posix() for p in ddp.rglob("*") if p.is_file() and p.parent.name != "tb")
    assert files == [".hydra/config.yaml", ".hydra/hydra.yaml", ".hydra/overrides.yaml", "checkpoints/best.ckpt",
                     "checkpoints/last.ckpt", "logs/hparams.yaml", "logs/metrics.csv", "summary.json", "train.log",
                     "train_ddp_process_1.log"]
    assert len(list((ddp / "tb").glob("events.*"))) == 1
    summary = json.loads((ddp / "summary.json").read_text())
    assert (summary["world_size"], summary["batch_size"], summary["micro_batch_size"], summary["steps"]) == (2, 16, 8, 6)

    single = tmp_path / "single"
    assert fit_here(single, odd)["world_size"] == 1
    one, two = train_losses(single), train_losses(ddp)
    assert len(one) == len(two) == 6
    assert abs(one[-1] - one[0]) > 0.05  # training moved the loss: the comparison below is not trivial
    for a, b in zip(one, two):  # the logged DDP loss is the mean over both ranks, i.e. over the global batch
        assert abs(a - b) < 1e-4 * abs(a), (one, two)
    for key in ("val/exact", "val/token_acc", "val/nfe"):  # over the 7 examples, each once, on both
        assert logged(single, key) == pytest.approx(logged(ddp, key), abs=1e-4), key


def test_a_global_batch_that_does_not_split_evenly_is_refused_before_the_model_is_built(tmp_path, monkeypatch):
    """Refused before any weights load (an 8B backbone takes minutes to load only to be refused)."""
    import rm_cli.commands.train as train

    def no_model(cfg):
        raise AssertionError("the model was built before the batch split was checked")

    monkeypatch.setattr(train, "RMLightningModule", no_model)
    with pytest.raises(UserError, match=r"batch_size=18 \(the global batch\) must be divisible by devices x nodes x "
                                        r"accumulate_grad_batches = 1 x 4"):
        fit_here(tmp_path, "batch_size=18", "trainer.accumulate_grad_batches=4")
    assert not (tmp_path / "logs").exists()


def test_gradient_accumulation_gives_the_same_weights(tmp_path):
    steps = ["trainer.max_steps=3", "trainer.val_check_interval=3"]
    plain = fit_here(tmp_path / "plain", *steps)
    accumulated = fit_here(tmp_path / "acc", *steps, "trainer.accumulate_grad_batches=4")
    assert accumulated["micro_batch_size"] == 4 and accumulated["steps"] == plain["steps"] == 3
    a = torch.load(plain["last_checkpoint"], weights_only=True)["state_dict"]
    b = torch.load(accumulated["last_checkpoint"], weights_only=True)["state_dict"]
    L.seed_everything(0, verbose=False)
    start = RMLightningModule(train_config(*SMALL)).state_dict()

    def distance(x, y) -> float:
        return sum(((x[k] - y[k]) ** 2).sum().item() for k in x) ** 0.5

    # Equal up to float rounding (which Adam amplifies on near-zero gradients): far below how far training moved.
    assert distance(a, start) > 1.0
    assert distance(a, b) < 1e-3 * distance(a, start), (distance(a, b), distance(a, start))


class _Counting:
    """A fake task stream: batch i holds rows i*100 + 0..n-1, so every row says where it came from."""

    def __init__(self, n):
        self.n = n

    def __iter__(self):
        i = 0
        while True:
            yield {"gold": torch.arange(self.n) + 100 * i}
            i += 1


def _draw(batch, generator):
    return {"gold": batch["gold"], "noise": torch.rand(batch["gold"].shape, generator=generator)}


def _micro_batches(world, rank, accumulate, start=0, count=6, monkeypatch=None):
    stream = GlobalBatchStream(_Counting(8), _draw, batch_size=8, accumulate=accumulate, world_size=world, steps=10, seed=3)
    monkeypatch.setattr(stream, "_rank", lambda: rank)
    stream.load_state_dict({"position": start})
    it = iter(stream)
    return [next(it) for _ in range(count)]


def test_ranks_and_accumulation_steps_partition_the_global_batch(monkeypatch):
    whole = _micro_batches(1, 0, 1, monkeypatch=monkeypatch)  # 6 global batches of 8
    split = [_micro_batches(2, r, 2, count=12, monkeypatch=monkeypatch) for r in (0, 1)]  # 4 rows per micro-batch
    for g in range(6):
        parts = [split[r][2 * g + a] for a in (0, 1) for r in (0, 1)]
        for key in ("gold", "noise"):  # same rows, same noise, whatever the split
            assert torch.equal(torch.cat([p[key] for p in parts]).sort().values, whole[g][key].sort().values)
    resumed = _micro_batches(2, 1, 2, start=5, count=3, monkeypatch=monkeypatch)
    assert all(torch.equal(x["noise"], y["noise"]) for x, y in zip(resumed, split[1][5:8]))


def test_a_resume_with_another_accumulation_continues_at_the_same_global_batch(monkeypatch):
    one = GlobalBatchStream(_Counting(8), _draw, batch_size=8, accumulate=1, world_size=1, steps=10, seed=3)
    it = iter(one)
    trained = [next(it) for _ in range(4)]  # 4 steps of accumulation 1
    two = GlobalBatchStream(_Counting(8), _draw, batch_size=8, accumulate=2, world_size=1, steps=10, seed=3)
    monkeypatch.setattr(two, "_rank", lambda: 0)
    two.load_state_dict(one.state_dict())
    nxt = iter(two)
    step5 = torch.cat([next(nxt)["gold"], next(nxt)["gold"]])
    assert trained[-1]["gold"].tolist() == list(range(300, 308)) and step5.tolist() == list(range(400, 408))
    for key, value in (("batch_size", 16), ("seed", 4)):  # another run's data: refused
        other = GlobalBatchStream(_Counting(16), _draw, batch_size=16 if key == "batch_size" else 8, accumulate=1,
                                  world_size=1, steps=10, seed=4 if key == "seed" else 3)
        with pytest.raises(UserError, match=f"resume: the checkpoint trained with {key}="):
            other.load_state_dict(one.state_dict())


def test_fsdp_config_builds_lightnings_fsdp_strategy():
    """FSDP itself needs GPUs (Lightning refuses it on CPU); here: the config builds the intended strategy."""
    with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
        cfg = compose(config_name="train", overrides=["trainer=fsdp"])
    strategy = instantiate(cfg.trainer.strategy)
    assert isinstance(strategy, FSDPStrategy) and strategy.sharding_strategy == ShardingStrategy.FULL_SHARD
    assert strategy._state_dict_type == "full"  # one checkpoint file that eval/infer/export can read
    policy = strategy.kwargs["auto_wrap_policy"]
    assert policy._module_classes == {torch.nn.TransformerEncoderLayer}
    assert (cfg.trainer.accelerator, cfg.trainer.precision, cfg.trainer.accumulate_grad_batches) == ("gpu", "bf16-mixed", 1)

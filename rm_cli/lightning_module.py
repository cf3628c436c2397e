"""The LightningModule: backbone + History Reference + the training objective.

Lightning does the loop, checkpointing, resume, logging and devices. This module only says
how one batch becomes a loss (RM: simulate a trajectory, score its oracle labels; MDM: the
standard masked-diffusion loss) and how validation decodes.
"""

import math

import lightning as L
import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from rm_cli.history import make_history
from rm_cli.mdm_loss import mask_at_random_ratio, mdm_loss
from rm_cli.model import Denoiser, first_editable_column, input_embeddings
from rm_cli.rm_loss import RMLoss
from rm_cli.samplers import build_sampler
from rm_cli.trajectory import KEEP, TrajectorySimulator


def build_denoiser(cfg, task) -> Denoiser:
    # backbone.tokenizer (text backbones) names the vocabulary; the task reads it, the network does not.
    spec = OmegaConf.masked_copy(cfg.backbone, [k for k in cfg.backbone if k != "tokenizer"])
    backbone = instantiate(spec, vocab_size=task.vocab_size, seq_len=task.seq_len, coordinates=task.coordinates())
    history = None
    if cfg.history.enabled:
        dim = input_embeddings(backbone).embedding_dim
        history = make_history(cfg.history, dim)
    return Denoiser(backbone, task.mask_id, history)


class RMLightningModule(L.LightningModule):
    def __init__(self, cfg: dict):
        super().__init__()
        self.save_hyperparameters({"cfg": cfg})
        self.cfg = OmegaConf.create(cfg)
        self.task = instantiate(self.cfg.task)
        self.model = build_denoiser(self.cfg, self.task)
        self.objective = self.cfg.objective
        self.simulator = TrajectorySimulator(self.cfg.trajectory.length)
        self.rm_loss = RMLoss(**self.cfg.loss)
        self.corruption = instantiate(self.cfg.corruption)
        self.sampler = build_sampler(self.cfg.sampler)
        self._val_rows: list[torch.Tensor] = []  # one row per validation example, scored at the epoch's end

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def draw(self, batch: dict, generator: torch.Generator | None = None) -> dict:
        """The random part of a training example (corruption + trajectory, or mask ratio), drawn from `generator`.

        Drawn on the global batch by the data stream (rm_cli.global_batch), so that it does not
        depend on how the batch is split over devices; None draws from torch's global RNG.
        """
        gold, editable, mask_id = batch["gold"], batch["editable"], self.task.mask_id
        if self.objective == "mdm":
            noisy, masked, ratio = mask_at_random_ratio(gold, editable, mask_id, generator=generator)
            return {"gold": gold, "editable": editable, "noisy": noisy, "masked": masked, "ratio": ratio}
        # A task may bring each example's own wrong-token candidates (text + native corruption),
        # and may read which positions show their gold token all along (rule KEEP: givens, kept blanks).
        extra = {"candidates": batch["wrong_candidates"]} if "wrong_candidates" in batch else {}
        kept = batch["rule"] == KEEP
        wrong = self.corruption(gold, self.task.vocab_size, mask_id, generator=generator, kept=kept, **extra)
        traj = self.simulator(gold, batch["rule"], wrong, mask_id, generator=generator)
        return {"editable": editable, "states": traj.states, "t": traj.t, "labels": traj.labels, "kind": traj.kind}

    def training_step(self, batch, batch_idx):
        if "rule" in batch:  # a task batch whose noise is not drawn yet
            batch = self.draw(batch)
        n = batch["editable"].shape[0]
        # Only the editable columns are scored; a text prompt's logits are not even computed.
        s = first_editable_column(batch["editable"])
        editable = batch["editable"][:, s:]
        # sync_dist: the logged loss is the mean over all devices, i.e. over the global batch.
        if self.objective == "mdm":
            logits = self.model.logits(batch["noisy"], logits_from=s)
            loss = mdm_loss(logits, batch["gold"][:, s:], batch["masked"][:, s:], batch["ratio"], editable,
                            batch.get("loss_tokens"))
            self.log("train/loss", loss, prog_bar=True, batch_size=n, sync_dist=True)
            return loss
        logits = self.model.forward_trajectory(batch["states"], batch["t"], logits_from=s)
        parts = self.rm_loss(logits, batch["labels"][:, s:], batch["kind"][:, s:], editable, batch.get("loss_tokens"))
        self.log("train/loss", parts["loss"], prog_bar=True, batch_size=n, sync_dist=True)
        for name in ("reveal", "mask", "keep"):
            # a part's mean over its positions on all devices; a step with none of them logs nothing, not 0
            # (averaging per-device means, or logging 0, read low with small micro-batches)
            count = self._summed_over_devices(parts[f"n_{name}"].float())
            if count > 0:
                self.log(f"train/{name}", self._summed_over_devices(parts[name] * parts[f"n_{name}"]) / count,
                         batch_size=n)
        return parts["loss"]

    def _summed_over_devices(self, x: torch.Tensor) -> torch.Tensor:
        trainer = self._trainer  # None when a test calls training_step directly
        return x if trainer is None else trainer.strategy.reduce(x, reduce_op="sum")

    def on_save_checkpoint(self, checkpoint: dict) -> None:
        """Resume restores the RNG too (dropout draws from it); the training noise has its own seeds. The task's
        signature (vocabulary, tokenizer fingerprint) lets eval/infer check files given in place of moved ones."""
        checkpoint["task_signature"] = self.task.signature()
        checkpoint["rng_states"] = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            checkpoint["rng_states"]["cuda"] = torch.cuda.get_rng_state_all()

    def on_load_checkpoint(self, checkpoint: dict) -> None:
        states = checkpoint.get("rng_states", {})
        if "torch" in states:
            torch.set_rng_state(states["torch"])
        if "cuda" in states and torch.cuda.is_available() and len(states["cuda"]) == torch.cuda.device_count():
            torch.cuda.set_rng_state_all(states["cuda"])

    def on_validation_epoch_start(self) -> None:
        self._val_rows = []

    def validation_step(self, batch, batch_idx):
        inputs, editable, gold, index = batch
        # each example's own draws (temperature > 0), as `rm eval` seeds them: val/* must not depend on
        # val.batch_size or on which examples share a batch
        result = self.sampler(self.model, inputs, editable, seeds=index + self.cfg.seed * 1_000_003)
        exact = self.task.validation_correct(result.tokens, gold, editable)
        # over the editable positions only (until 2026-12-07 the fixed prompt counted as right: 144 + 56 text
        # positions logged 72 % for a model with no answer token right)
        right = ((result.tokens == gold) & editable).sum(-1)
        self._val_rows.append(torch.stack([index, exact, right, editable.sum(-1), result.nfe.to(index.device)], 1).double())

    def on_validation_epoch_end(self) -> None:
        """val/exact and val/nfe: means over the validation examples; val/token_acc: the share of their editable
        positions decoded right. Under DDP, Lightning's sampler pads the set to split evenly over the devices,
        repeating a few examples: gathered by index, each counts once, so val/* do not depend on the device count."""
        if not self._val_rows:
            return
        rows = torch.cat(self._val_rows)
        self._val_rows = []
        if self._trainer is not None and self._trainer.world_size > 1:  # None: a test calls the hooks directly
            rows = self.all_gather(rows).reshape(-1, rows.shape[1])  # every rank holds as many rows (the padding)
        order = torch.argsort(rows[:, 0], stable=True)
        first = torch.ones(len(order), dtype=torch.bool, device=rows.device)
        first[1:] = rows[order[1:], 0] != rows[order[:-1], 0]
        rows = rows[order[first]]
        self.log("val/exact", rows[:, 1].mean() * 100, prog_bar=True, sync_dist=True)  # the same on every rank
        self.log("val/token_acc", rows[:, 2].sum() / rows[:, 3].sum().clamp(min=1) * 100, sync_dist=True)
        self.log("val/nfe", rows[:, 4].mean(), sync_dist=True)

    def configure_optimizers(self):
        o = self.cfg.optim
        opt = torch.optim.AdamW(self.model.parameters(), lr=o.lr, weight_decay=o.weight_decay, betas=tuple(o.betas))
        total = max(int(self.trainer.max_steps), 1) if self.trainer and self.trainer.max_steps > 0 else None
        warmup = o.warmup_steps

        def schedule(step: int) -> float:
            if step < warmup:
                return (step + 1) / warmup
            if total is None:
                return 1.0
            progress = min((step - warmup) / max(total - warmup, 1), 1.0)
            return o.min_lr_ratio + (1 - o.min_lr_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

        sched = torch.optim.lr_scheduler.LambdaLR(opt, schedule)
        return {"optimizer": opt, "lr_scheduler": {"scheduler": sched, "interval": "step"}}


def as_container(cfg: DictConfig) -> dict:
    return OmegaConf.to_container(cfg, resolve=True)

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

from rm_cli.history import HistoryReference
from rm_cli.mdm_loss import mask_at_random_ratio, mdm_loss
from rm_cli.model import Denoiser, input_embeddings
from rm_cli.rm_loss import RMLoss
from rm_cli.trajectory import TrajectorySimulator


def build_denoiser(cfg, task) -> Denoiser:
    backbone = instantiate(cfg.backbone, vocab_size=task.vocab_size, seq_len=task.seq_len, coordinates=task.coordinates())
    history = None
    if cfg.history.enabled:
        dim = input_embeddings(backbone).embedding_dim
        history = HistoryReference(dim, gamma=cfg.history.gamma, rotate=cfg.history.rotate, rope_base=cfg.history.rope_base)
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
        self.sampler = instantiate(self.cfg.sampler)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.model.parameters())

    def training_step(self, batch, batch_idx):
        gold, editable = batch["gold"], batch["editable"]
        if self.objective == "mdm":
            noisy, masked, t = mask_at_random_ratio(gold, editable, self.task.mask_id)
            loss = mdm_loss(self.model.logits(noisy), gold, masked, t, editable)
            self.log("train/loss", loss, prog_bar=True)
            return loss
        wrong = self.corruption(gold, self.task.vocab_size, self.task.mask_id)
        traj = self.simulator(gold, batch["rule"], wrong, self.task.mask_id)
        logits = self.model.forward_trajectory(traj.states, traj.t)
        parts = self.rm_loss(logits, traj.labels, traj.kind, editable)
        self.log("train/loss", parts["loss"], prog_bar=True)
        for name in ("reveal", "mask", "keep"):
            self.log(f"train/{name}", parts[name])
        return parts["loss"]

    def validation_step(self, batch, batch_idx):
        inputs, editable, gold = batch
        result = self.sampler(self.model, inputs, editable)
        exact = (result.tokens == gold).all(-1).float().mean() * 100
        accuracy = ((result.tokens == gold) | ~editable).float().mean() * 100
        n = inputs.shape[0]
        self.log("val/exact", exact, batch_size=n, prog_bar=True, sync_dist=True)
        self.log("val/token_acc", accuracy, batch_size=n, sync_dist=True)
        self.log("val/nfe", result.nfe.float().mean(), batch_size=n, sync_dist=True)

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

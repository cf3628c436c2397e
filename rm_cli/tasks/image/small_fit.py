"""Lightning fit for the task's two small helper networks (tokenizer, classifier): one CPU
device, no checkpoints or logs on disk (the caller saves the weights with their metrics)."""

import time

import lightning as L
import torch

from rm_cli.progress import training_progress_bar


def fit(module: L.LightningModule, data: torch.Tensor, labels: torch.Tensor | None, epochs: int, batch_size: int,
        seed: int) -> dict:
    """Train `module` on (data[, labels]) for `epochs`; returns wall time per epoch and per step."""
    L.seed_everything(seed, verbose=False)
    tensors = (data,) if labels is None else (data, labels)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(*tensors), batch_size=batch_size, shuffle=True,
                                         generator=torch.Generator().manual_seed(seed), drop_last=len(data) > batch_size)
    trainer = L.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False, enable_checkpointing=False,
                        enable_model_summary=False, callbacks=[training_progress_bar()], num_sanity_val_steps=0)
    started = time.perf_counter()
    trainer.fit(module, train_dataloaders=loader)
    wall = time.perf_counter() - started
    steps = max(trainer.global_step, 1)
    return {"epochs": epochs, "steps": trainer.global_step, "train_items": len(data), "wall_time_s": round(wall, 1),
            "seconds_per_epoch": round(wall / max(epochs, 1), 2), "seconds_per_step": round(wall / steps, 4)}

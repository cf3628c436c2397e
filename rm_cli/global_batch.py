"""Training batches that do not depend on the number of devices, and that resume where they stopped.

Every rank draws the same global batch of `batch_size` examples - the task's data and the
training noise (corruption, trajectory, mask ratio), the noise seeded by the batch's index - and
keeps its own slice: one slice per gradient-accumulation step. A run on 8 devices therefore
trains on exactly the samples of a 1-device run with the same `batch_size`. Each slice also carries
`loss_tokens`, the global batch's editable positions divided by the number of slices: the losses divide
their sums by it, so the mean over slices that DDP and accumulation take is the global batch's mean
per position, and the gradients are the 1-device run's up to floating-point summation order (a slice's
own count would weigh the positions of a slice with few blanks more, where the count varies per example).

Lightning saves `state_dict()` with every checkpoint and calls `load_state_dict()` on resume, so
a resumed run continues at the batch after the checkpoint: the task's stream is replayed up to
there (data only, no training), and the noise of later batches does not depend on the replay.
"""

import torch
import torch.distributed as dist

from rm_cli.errors import UserError


def noise_seed(seed: int, index: int) -> int:
    """Seed of the training noise of global batch `index`: independent of device count and resume."""
    return (seed * 1_000_003 + index) % 2**63


def check_same_data(saved: dict, batch_size: int, seed: int) -> None:
    """A resume continues the same data: `saved` (a stream's state, or the checkpoint's rm config) must hold the
    global batch size and seed this run asks for, where it records them."""
    for key, asked in (("batch_size", batch_size), ("seed", seed)):
        if key in saved and saved[key] != asked:
            raise UserError(f"resume: the checkpoint trained with {key}={saved[key]}, this run asks {key}={asked}; "
                            f"resume with the same {key} (or start a new run_dir)")


class GlobalBatchStream:
    """An iterable of this rank's micro-batches, `steps * accumulate` of them in all.

    task_stream: the task's endless iterable of global batches (dicts of [batch_size, ...] tensors).
    draw: draw(batch, generator) -> dict of [batch_size, ...] tensors, the noise drawn in.
    """

    def __init__(self, task_stream, draw, batch_size: int, accumulate: int, world_size: int, steps: int, seed: int):
        if batch_size % (world_size * accumulate):
            raise ValueError(f"batch_size={batch_size} does not split over {world_size} devices x {accumulate} accumulation steps")
        self.task_stream, self.draw = task_stream, draw
        self.batch_size, self.accumulate, self.world_size = batch_size, accumulate, world_size
        self.steps, self.seed = steps, seed
        self.micro_batch_size = batch_size // (world_size * accumulate)
        self.position = 0  # micro-batches handed out so far (the same count on every rank)

    def __len__(self) -> int:
        # Known length: Lightning then fetches no batch ahead, so `position` is exactly what was trained on.
        return self.steps * self.accumulate

    def state_dict(self) -> dict:
        return {"position": self.position, "accumulate": self.accumulate, "batch_size": self.batch_size, "seed": self.seed}

    def load_state_dict(self, state: dict) -> None:
        """The position in global batches is what carries over: a resume may change the device count or the
        accumulation (not the global batch or the seed, which would make it another run's data)."""
        check_same_data(state, self.batch_size, self.seed)
        saved = int(state.get("accumulate", self.accumulate))  # checkpoints before 2026-12-07: assumed unchanged
        position = int(state["position"])
        # checkpoints fall between optimizer steps, so another accumulation continues at the same global batch
        self.position = position if saved == self.accumulate else position // saved * self.accumulate

    def _rank(self) -> int:
        if not (dist.is_available() and dist.is_initialized()):
            if self.world_size != 1:
                raise RuntimeError(f"expected {self.world_size} processes but torch.distributed is not initialised")
            return 0
        if dist.get_world_size() != self.world_size:
            raise RuntimeError(f"expected {self.world_size} processes, torch.distributed has {dist.get_world_size()}")
        return dist.get_rank()

    def __iter__(self):
        rank = self._rank()
        source = iter(self.task_stream)
        index, drawn = -1, None
        while True:
            wanted, step = divmod(self.position, self.accumulate)
            while index < wanted:
                batch, index, drawn = next(source), index + 1, None
            if drawn is None:
                drawn = self.draw(batch, torch.Generator().manual_seed(noise_seed(self.seed, index)))
            start = (step * self.world_size + rank) * self.micro_batch_size
            self.position += 1
            micro = {key: value[start:start + self.micro_batch_size] for key, value in drawn.items()}
            if "editable" in drawn:
                micro["loss_tokens"] = drawn["editable"].sum().clamp(min=1).float() / (self.world_size * self.accumulate)
            yield micro

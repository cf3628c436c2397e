"""Decode a set of examples in batches, with progress (progress.py): shared by eval and infer.

Each example's random draws (temperature > 0) are seeded by `seed` and its index in the set,
never by its batch, so a result does not depend on batch_size."""

import torch

from rm_cli.errors import UserError
from rm_cli.progress import progress
from rm_cli.samplers.base import SampleResult, concat_results, to_cpu
from rm_cli.tasks.base import Examples


def on_device(module, device: str):
    """`module` moved to `device` (eval/infer/prepare's device=), or a one-line error if there is none such."""
    try:
        target = torch.device(device)
        if target.type == "cuda" and not torch.cuda.is_available():
            raise UserError(f"device={device} but no CUDA device is available; use device=cpu")
        if target.type == "mps" and not torch.backends.mps.is_available():  # torch raised only when moving the model
            raise UserError(f"device={device} but this torch has no MPS (Apple GPU) device; use device=cpu")
    except RuntimeError as e:
        raise UserError(f"device={device!r} is not a device torch knows ({str(e).splitlines()[0]})") from None
    return module.to(target)


def decode_examples(sampler, model, examples: Examples, batch_size: int, record_trajectory: bool = False,
                    description: str = "decoding", console=None, seed: int = 0, device=None) -> SampleResult:
    """device: move each batch there (the model's device); results come back on the CPU. Progress moves with
    the sampler's turns inside a batch (Sampler.share_done), as one batch of a text eval may take minutes."""
    results = []
    with progress(description, len(examples), console) as advance:
        shown = 0

        def show(done: int) -> None:
            nonlocal shown
            if done > shown:
                advance(done - shown)
                shown = done

        for start in range(0, len(examples), batch_size):
            stop = min(start + batch_size, len(examples))
            with torch.inference_mode():
                seeds = torch.arange(start, stop) + seed * 1_000_003
                x, editable = examples.inputs[start:stop], examples.editable[start:stop]
                if device is not None:
                    x, editable = x.to(device), editable.to(device)
                result = sampler(model, x, editable, record_trajectory, seeds=seeds,
                                 on_turn=lambda share, a=start, b=stop: show(a + int(round(share * (b - a), 3))))
                results.append(result if device is None else to_cpu(result))
            show(stop)
    return concat_results(results)

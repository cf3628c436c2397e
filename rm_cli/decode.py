"""Decode a set of examples in batches, with a progress bar: shared by eval and infer."""

import torch
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from rm_cli.samplers.base import SampleResult, concat_results
from rm_cli.tasks.base import Examples


def decode_examples(sampler, model, examples: Examples, batch_size: int, record_trajectory: bool = False,
                    description: str = "decoding", console=None) -> SampleResult:
    results = []
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TimeRemainingColumn()]
    with Progress(*columns, console=console, transient=False) as progress:
        bar = progress.add_task(description, total=len(examples))
        for start in range(0, len(examples), batch_size):
            stop = min(start + batch_size, len(examples))
            with torch.inference_mode():
                results.append(sampler(model, examples.inputs[start:stop], examples.editable[start:stop], record_trajectory))
            progress.update(bar, advance=stop - start)
    return concat_results(results)

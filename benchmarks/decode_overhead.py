"""(b) Decoding time divided by (its forward passes x the time of one forward pass). Goal: <= 1.10.

The sampler records how many rows each of its forward passes had (finished rows are dropped),
so the denominator times exactly those passes: the ratio is the sampler's own overhead
(softmax, keep/re-mask/reveal decisions, history updates, bookkeeping).
"""

from collections import Counter

import torch

from benchmarks.common import median_time
from rm_cli.checkpoint import load_checkpoint
from rm_cli.samplers.rm import RMSampler
from omegaconf import OmegaConf


def run(n_boards: int = 256, repeats: int = 3) -> dict:
    torch.manual_seed(0)
    module = load_checkpoint(None, OmegaConf.create({"_target_": "rm_cli.tasks.sudoku.SudokuTask", "name": "sudoku", "mode": "revision"}))
    model = module.model
    examples = module.task.test_examples().take(n_boards)
    sampler = RMSampler(max_turns=32)

    def decode():
        with torch.inference_mode():
            return sampler(model, examples.inputs, examples.editable)

    result = decode()
    decode_s = median_time(decode, repeats, warmup=1)
    forward_s = 0.0
    for rows, count in Counter(result.forward_rows).items():
        x = examples.inputs[:rows]
        state = model.start(x)

        def forward():
            with torch.inference_mode():
                model.logits(x, state)

        forward_s += count * median_time(forward, repeats=max(repeats, 5), warmup=1)
    return {
        "boards": n_boards,
        "forward_passes": len(result.forward_rows),
        "mean_nfe_per_board": result.nfe.float().mean().item(),
        "decode_s": decode_s,
        "forward_only_s": forward_s,
        "ratio": decode_s / forward_s,
        "goal": 1.10,
    }


if __name__ == "__main__":
    print(run())

"""(b) Decoding time divided by (its forward passes x the time of one forward pass). Goal: <= 1.10.

The sampler records how many rows each of its forward passes had (finished rows are dropped),
so the denominator replays exactly those passes, in order: the ratio is the sampler's own overhead
(softmax, keep/re-mask/reveal decisions, history updates, bookkeeping). A decode and its replay
are timed as an adjacent pair, `repeats` times; the median of the pairs' ratios and its quartiles
are reported (timing all decodes, then all forwards, let a slow spell land on one side: 1.8 to 12).
"""

import torch

from benchmarks.common import paired_ratio
from rm_cli.checkpoint import load_checkpoint
from rm_cli.samplers.rm import RMSampler
from omegaconf import OmegaConf


def run(n_boards: int = 256, repeats: int = 5) -> dict:
    torch.manual_seed(0)
    module = load_checkpoint(None, OmegaConf.create({"_target_": "rm_cli.tasks.sudoku.SudokuTask", "name": "sudoku", "mode": "revision"}))
    model = module.model
    examples = module.task.test_examples().take(n_boards)
    sampler = RMSampler(max_turns=32)

    def decode():
        with torch.inference_mode():
            return sampler(model, examples.inputs, examples.editable)

    result = decode()
    inputs = {rows: (examples.inputs[:rows], model.start(examples.inputs[:rows])) for rows in set(result.forward_rows)}

    def forwards_only():
        with torch.inference_mode():
            for rows in result.forward_rows:
                model.logits(*inputs[rows])

    return {
        "boards": n_boards,
        "threads": torch.get_num_threads(),
        "forward_passes": len(result.forward_rows),
        "mean_nfe_per_board": result.nfe.float().mean().item(),
        **paired_ratio(decode, forwards_only, repeats, warmup=1, names=("decode_s", "forward_only_s")),
        "goal": 1.10,
    }


if __name__ == "__main__":
    print(run())

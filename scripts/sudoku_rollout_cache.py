"""A corruption cache of a frozen solving model's own decodes: its mistakes as they happen, together.

    python scripts/sudoku_rollout_cache.py --checkpoint CKPT --sampler rm_solve --n 20000 --out rollout.pt
    rm train task=sudoku task.mode=solve corruption=native corruption.cache=rollout.pt task.keep_rate=1.0 ...

`rm prepare split=native` caches, per cell, a frozen model's top-k wrong digits on the fully masked
puzzle: each cell's likely mistake on its own. When the model solves, its mistakes are not
independent: the first wrong digit leads to others that agree with it (docs/results/sudoku_solving.md,
step 12). This writes the same file format (k = 1) from the boards of `rm prepare split=native` (the
training stream's seeded sample), decoded by `--sampler`: each blank's "wrong" digit is the digit the
decode ended with, gold where it was right. `corruption=native` then shows, on a cell the trajectory
marks wrong, the model's own decoded digit; where that digit is right the cell simply shows gold (the
oracle labels compare with gold), so a training board carries a subset of one real decode's mistakes.
An experiment of step 12, not part of the `rm` command: it did not help (one seed).
"""

import argparse
from pathlib import Path


def rollout_cache(model, examples, sampler, batch_size: int, source: str) -> dict:
    """The native-cache dict (gold, editable, wrong [n, 81, 1]) of `sampler`'s decodes of `examples`."""
    import torch

    from rm_cli.decode import decode_examples

    result = decode_examples(sampler, model, examples, batch_size, description="decoding the cache's boards")
    decoded = torch.where(examples.editable.bool(), result.tokens, examples.gold)
    return {"gold": examples.gold.to(torch.int8), "editable": examples.editable.bool(),
            "wrong": decoded.unsqueeze(-1).to(torch.int8), "k": 1, "source": source, "examples": examples.source}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=None, help="a solving .ckpt (default: the shipped model)")
    parser.add_argument("--sampler", default="rm_solve", help="a preset under conf/sampler")
    parser.add_argument("--n", type=int, default=20_000, help="boards (as rm prepare split=native n=)")
    parser.add_argument("--seed", type=int, default=None, help="the boards' seed (default: rm prepare's)")
    parser.add_argument("--puzzle-pool", type=int, default=None, help="puzzles the boards are drawn from "
                        "(default: task.puzzle_pool, as rm prepare)")
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    if args.checkpoint is not None and not Path(args.checkpoint).is_file():
        parser.error(f"no such file: {args.checkpoint}")
    if args.n < 1:
        parser.error(f"--n must be >= 1, got {args.n}")

    import torch
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from rm_cli.checkpoint import load_checkpoint
    from rm_cli.config import conf_dir, sampler_preset
    from rm_cli.errors import UserError
    from rm_cli.io import atomic_write_bytes, check_writable

    preset = sampler_preset(args.sampler)
    if not preset.is_file():
        parser.error(f"unknown sampler {args.sampler!r}")
    try:
        check_writable(args.out)
    except UserError as e:
        parser.error(str(e))
    task_cfg = OmegaConf.load(conf_dir() / "task" / "sudoku.yaml")
    task_cfg.mode = "solve"
    if args.puzzle_pool is not None:
        task_cfg.puzzle_pool = args.puzzle_pool
    module = load_checkpoint(args.checkpoint, task_cfg)
    task = instantiate(task_cfg).for_checkpoint(module.task)
    examples = task.native_examples(args.n, args.seed)
    cache = rollout_cache(module.model.eval(), examples, instantiate(OmegaConf.load(preset)), args.batch_size,
                          f"{args.sampler} decodes of {args.checkpoint or 'the shipped model'}")
    wrong = cache["editable"] & (cache["wrong"][..., 0] != cache["gold"])
    atomic_write_bytes(args.out, lambda f: torch.save(cache, f))
    print(f"wrote {args.out}: {len(examples)} boards, {100 * float((~wrong.any(-1)).float().mean()):.1f} % decoded "
          f"exactly, {float(wrong.sum(-1).float().mean()):.2f} wrong digits a board")


if __name__ == "__main__":
    main()

"""Every sampler on the same solving checkpoints, per test level, at one budget of forward passes.

    python scripts/sudoku_solving_study.py --out docs/results/sudoku_solving/study.csv \
        --checkpoints RUN0/checkpoints/last.ckpt RUN1/... RUN2/... \
        --levels easy medium hard kaidoku:3 kaidoku:9 --limit 500 --kaidoku-limit 100 --budget 32
    python scripts/sudoku_solving_study.py --out all.csv --from-csv seed0.csv seeds12.csv   # join, no decoding

One (checkpoint, level) pair per job: the model and the test puzzles load once and every
sampler of `--samplers` (default: all that take a budget) decodes them through the same code as
`rm eval scaling=true` (rm_cli.scaling.sweep). Writes one CSV row per (checkpoint, level,
sampler) with the training seed, then prints a markdown table of exact % (mean +- std over
checkpoints) per level and sampler, which docs/results/sudoku_solving.md quotes. `--from-csv`
joins the rows of earlier runs (say one seed studied before the others finished training) and
writes the same CSV and tables without decoding again.
"""

import argparse
import csv
import json
import statistics
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

LEVELS = ("easy", "medium", "hard")


def score(job: tuple) -> list[dict]:
    """All samplers on one checkpoint and one level (runs in a worker process)."""
    checkpoint, level, samplers, budget, limit, batch_size, threads = job
    import torch
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from rm_cli import scaling
    from rm_cli.checkpoint import load_checkpoint
    from rm_cli.config import conf_dir
    from rm_cli.runinfo import git_commit

    torch.set_num_threads(threads)
    task_cfg = OmegaConf.load(conf_dir() / "task" / "sudoku.yaml")
    task_cfg.mode = "solve"
    if level in LEVELS:
        task_cfg.level = level
    module = load_checkpoint(checkpoint, task_cfg)
    task = instantiate(task_cfg).for_checkpoint(module.task)
    examples = task.eval_examples(None if level in LEVELS else level, limit)
    configs = sampler_configs(samplers)
    rows = scaling.sweep(module.model, task, examples, configs, [budget], batch_size, module.cfg.history.name)
    # each row says how it was decoded: a preset's defaults change (best_of's score did), its name alone does not
    settings = {name: json.dumps(OmegaConf.to_container(cfg, resolve=True), sort_keys=True) for name, cfg in configs.items()}
    commit = git_commit()
    return [{"checkpoint": str(checkpoint), "seed": module.cfg.seed, "level": level, "n": len(examples), **row,
             "sampler_config": settings[row["sampler"]], "git_commit": commit} for row in rows]


def sampler_configs(names: list[str] | None) -> dict:
    """conf/sampler presets by name; `NAME:KEY=VALUE,...` is the preset with those keys changed (its own column)."""
    from omegaconf import OmegaConf

    from rm_cli import scaling

    if names is None:
        return scaling.sampler_configs(None, OmegaConf.create({"_target_": None}))
    out = {}
    for name in names:
        preset, _, changes = name.partition(":")
        (cfg,) = scaling.sampler_configs([preset], OmegaConf.create({"_target_": None})).values()
        out[name] = OmegaConf.merge(cfg, OmegaConf.from_dotlist(changes.split(","))) if changes else cfg
    return out


def table(rows: list[dict], metric: str = "exact_pct", by_history: bool = False) -> str:
    """Markdown: one line per level (per level and history setting with by_history), one column per sampler."""
    key = (lambda r: f"{r['level']}, {r['history']}") if by_history else (lambda r: r["level"])
    groups = list(dict.fromkeys(key(r) for r in rows))
    samplers = list(dict.fromkeys(r["sampler"] for r in rows))
    lines = ["| level (n) | " + " | ".join(samplers) + " |", "|---|" + "---|" * len(samplers)]
    for group in groups:
        cells = []
        for name in samplers:
            picked = [r for r in rows if key(r) == group and r["sampler"] == name]
            values = [float(r[metric]) for r in picked]
            nfe = statistics.mean(float(r["nfe_mean"]) for r in picked)
            std = statistics.stdev(values) if len(values) > 1 else 0.0
            cells.append(f"{statistics.mean(values):.1f} ± {std:.1f} ({nfe:.1f})")
        n = next(r["n"] for r in rows if key(r) == group)
        lines.append(f"| {group} ({n}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--checkpoints", nargs="+")
    what.add_argument("--from-csv", nargs="+", help="join the rows of these study CSVs instead of decoding")
    parser.add_argument("--levels", nargs="+", default=list(LEVELS), help="easy|medium|hard or kaidoku:LEVEL")
    parser.add_argument("--samplers", nargs="+", default=None,
                        help="sampler presets; NAME:KEY=VALUE,... changes keys of one (best_of:views=2)")
    parser.add_argument("--budget", type=int, default=32, help="forward passes per board, at most")
    parser.add_argument("--limit", type=int, default=None, help="first N puzzles of each generated level")
    parser.add_argument("--kaidoku-limit", type=int, default=None, help="first N puzzles of each kaidoku level")
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--jobs", type=int, default=2, help="worker processes (one torch thread each)")
    parser.add_argument("--out", required=True, help="CSV of every (checkpoint, level, sampler) row")
    parser.add_argument("--by-history", action="store_true", help="one table line per level and history setting")
    args = parser.parse_args()
    for path in args.checkpoints or args.from_csv:
        if not Path(path).is_file():
            parser.error(f"no such file: {path}")

    from rm_cli.io import atomic_write_text
    from rm_cli.scaling import write_csv

    if args.from_csv:
        rows = []
        for path in args.from_csv:
            with open(path, newline="") as f:
                rows += list(csv.DictReader(f))
        budgets = sorted({row["budget"] for row in rows})
        if len(budgets) != 1:
            parser.error(f"the CSVs mix budgets {budgets}; a table compares one budget")
        budget = budgets[0]
    else:
        limit = lambda level: args.kaidoku_limit if level.startswith("kaidoku:") else args.limit  # noqa: E731
        jobs = [(c, level, args.samplers, args.budget, limit(level), args.batch_size, 1)
                for c in args.checkpoints for level in args.levels]
        with ProcessPoolExecutor(args.jobs) as pool:
            rows = [row for result in pool.map(score, jobs) for row in result]
        budget = args.budget
    n_checkpoints = len({row["checkpoint"] for row in rows})
    write_csv(args.out, rows)
    md = f"exact % (mean ± std over {n_checkpoints} checkpoints; mean NFE per board), budget {budget}\n\n"
    md += (table(rows, by_history=args.by_history) + "\n\ncell accuracy on blanks %\n\n"
           + table(rows, "cell_acc_blanks_pct", args.by_history) + "\n")
    atomic_write_text(Path(args.out).with_suffix(".md"), md)
    print(md)


if __name__ == "__main__":
    main()

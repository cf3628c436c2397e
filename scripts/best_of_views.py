"""How far `sampler=best_of`'s choice is from the best one: is it the views or the score that limits it?

    python scripts/best_of_views.py --checkpoints RUN0.ckpt RUN1.ckpt RUN2.ckpt --level hard --limit 200 \
        --base rm_solve --views 8 --per-view 60 --out docs/results/sudoku_solving/best_of_views.csv

Each puzzle is decoded once under `--views` symmetries (view 0 the puzzle as given; the same views and
seeds as best_of, which it runs), each view with `--per-view` forward passes of the base sampler. Then,
for every k <= views, with the first k views: one view alone (view 0), the mean view, the oracle
(some view right: the most any score can pick), and the exact % that each score of best_of picks,
`board` (the completed board, one pass) and `masked` (--score-parts passes, parts of the blanks
masked in turn). Writes one CSV row per (checkpoint, k) and, beside it (.md) and on stdout, the
table of mean +- std over checkpoints.
"""

import argparse
import csv
import io
import statistics
from pathlib import Path

COLUMNS = ("one_view_pct", "mean_view_pct", "oracle_pct", "board_pct", "masked_pct")


def view_rows(model, examples, sampler, batch_size: int = 250) -> list[dict]:
    """One row per k = 1..views: exact % of view 0, of the mean view, of the oracle and of each score's pick."""
    import torch

    K, boards, board_score, masked_score = sampler.views, [], [], []
    n = len(examples)
    for start in range(0, n, batch_size):
        x0, editable = examples.inputs[start:start + batch_size], examples.editable[start:start + batch_size]
        seeds = torch.arange(start, start + len(x0))  # rm eval's seeds at seed=0
        with torch.inference_mode():
            out, view = sampler.decode_views(model, x0, editable, seeds)
            tokens = sampler.to_board(out.tokens, view)
            edit = editable.repeat(K, 1)
            board_score.append(sampler.score_views(model, tokens, edit, seeds, score="board").view(K, -1))
            masked_score.append(sampler.score_views(model, tokens, edit, seeds, score="masked").view(K, -1))
        boards.append(tokens.view(K, len(x0), -1))
    right = (torch.cat(boards, 1) == examples.gold).all(-1)  # [K, n]
    scores = {"board_pct": torch.cat(board_score, 1), "masked_pct": torch.cat(masked_score, 1)}
    rows = []
    for k in range(1, K + 1):
        row = {"k": k, "one_view_pct": right[0].float().mean(), "mean_view_pct": right[:k].float().mean(),
               "oracle_pct": right[:k].any(0).float().mean()}
        for name, score in scores.items():  # the first view wins a tie, as in best_of
            row[name] = right[:k].gather(0, score[:k].argmax(0, keepdim=True)).float().mean()
        rows.append({key: round(100 * float(v), 2) if key in COLUMNS else v for key, v in row.items()})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoints", nargs="+", required=True)
    parser.add_argument("--level", default="hard", help="easy, medium, hard or kaidoku:N")
    parser.add_argument("--limit", type=int, default=None, help="the first N puzzles of the level's test file")
    parser.add_argument("--base", default="topk_margin", help="the sampler preset that decodes each view")
    parser.add_argument("--views", type=int, default=8)
    parser.add_argument("--per-view", type=int, default=60, help="forward passes of the base sampler a view")
    parser.add_argument("--score-parts", type=int, default=4)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    import torch
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from rm_cli.checkpoint import load_checkpoint
    from rm_cli.config import conf_dir
    from rm_cli.errors import UserError
    from rm_cli.io import atomic_write_text
    from rm_cli.runinfo import git_commit
    from rm_cli.samplers.best_of import BestOfSampler
    from rm_cli.tasks.sudoku.symmetry import SudokuSymmetry

    for path in args.checkpoints:
        if not Path(path).is_file():
            parser.error(f"no such checkpoint file: {path}")
    if args.views < 1 or args.per_view < 1:
        parser.error("--views and --per-view must be >= 1")
    torch.set_num_threads(args.threads)
    try:
        sampler = BestOfSampler(base=args.base, views=args.views, steps=args.views * (args.per_view + args.score_parts),
                                symmetry=SudokuSymmetry(), score="masked", score_parts=args.score_parts)
        rows = []
        commit = git_commit()
        for checkpoint in args.checkpoints:
            task_cfg = OmegaConf.load(conf_dir() / "task" / "sudoku.yaml")
            task_cfg.mode = "solve"
            if not args.level.startswith("kaidoku:"):
                task_cfg.level = args.level
            module = load_checkpoint(checkpoint, task_cfg)
            task = instantiate(task_cfg).for_checkpoint(module.task)
            examples = task.eval_examples(args.level if args.level.startswith("kaidoku:") else None, args.limit)
            for row in view_rows(module.model.eval(), examples, sampler):
                rows.append({"checkpoint": checkpoint, "seed": module.cfg.seed, "level": args.level, "n": len(examples),
                             "base": args.base, "per_view": args.per_view, **row, "git_commit": commit})
            print(f"{checkpoint}: done", flush=True)
    except UserError as err:
        parser.error(str(err))
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(args.out, text.getvalue())  # each file whole or not at all
    atomic_write_text(args.out.with_suffix(".md"), table(rows))
    print(table(rows), end="")


def table(rows: list[dict]) -> str:
    """Markdown: one line per number of views, each column's mean +- std over the checkpoints."""
    lines = [f"| views | {' | '.join(COLUMNS)} |", f"|---|{'---|' * len(COLUMNS)}"]
    for k in sorted({int(r["k"]) for r in rows}):
        cells = []
        for column in COLUMNS:
            values = [float(r[column]) for r in rows if int(r["k"]) == k]
            spread = f" ± {statistics.stdev(values):.1f}" if len(values) > 1 else ""
            cells.append(f"{statistics.mean(values):.1f}{spread}")
        lines.append(f"| {k} | {' | '.join(cells)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()

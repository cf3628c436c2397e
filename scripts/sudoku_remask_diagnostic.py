"""Does the RM head find the model's own mistakes when it solves? A diagnostic of one checkpoint.

    python scripts/sudoku_remask_diagnostic.py --levels easy hard --limit 200 --out diag.json
    python scripts/sudoku_remask_diagnostic.py --checkpoint RUN/checkpoints/last.ckpt --sampler rm_solve ...

Decodes the first `--limit` puzzles of each level with `--sampler` (default rm_solve) and the
checkpoint (default: the shipped solving model), replays each recorded trajectory through the model
(the same history states the decode saw) and asks, of every board that ends wrong:

- the first mistake: at which turn the first wrong digit becomes visible, how many blanks are
  revealed by then, and where the next pass ranks that digit by the re-mask score
  log p(MASK) - log p(digit) among the revealed digits that are right (percentile: 100 = more
  suspect than all of them, 50 = chance), whether that pass re-masks it (p(MASK) > p(digit)), and whether any later turn does;
- the final board: wrong digits and rule-breaking (conflict) cells per board, the share of the
  conflict cells that are wrong, the same score's AUC between wrong and right digits, and
  the share of each that the rule would re-mask;
- the same final board scored the way best_of's masked score does (the blanks split at random into
  `--parts` groups, each masked in turn): how unlikely each digit is when the model cannot see it,
  -log p(digit | the rest), its AUC between wrong and right digits, and the share of each whose masked
  argmax is another digit. This asks whether the model holds the information the re-mask head lacks;
- for contrast, the kind of board it was trained on: each solution with a quarter of its blanks
  (seeded) replaced by uniformly drawn wrong digits, the same AUC and shares (no history).

A head that has learnt to find the model's own mistakes ranks them high (percentile, AUC near 100 / 1);
the numbers in docs/results/sudoku_solving.md come from this script. Trajectories of boards that
stopped at a fixed point repeat their last state, so the replayed history of such a board keeps
adding that state after its decode stopped: the final-board numbers are approximate for them.
"""

import argparse
import json
import math
import statistics
from pathlib import Path


def rank_auc(score, positive) -> float:
    """Probability that a random positive scores above a random negative (ties count half)."""
    import torch

    pos, neg = int(positive.sum()), int((~positive).sum())
    if pos == 0 or neg == 0:
        return float("nan")
    order = score.argsort()
    ranks = torch.empty_like(score)
    ranks[order] = torch.arange(1, len(score) + 1, dtype=score.dtype)
    for value in score.unique():  # average ranks of ties
        tied = score == value
        ranks[tied] = ranks[tied].mean()
    return float((ranks[positive].sum() - pos * (pos + 1) / 2) / (pos * neg))


def replayed_scores(model, trajectory):
    """[T, B, N] re-mask score log p(MASK) - log p(token) of every state, with the history the decode had."""
    import torch

    scores = []
    with torch.inference_mode():
        state = model.start(trajectory[0])
        for k in range(trajectory.shape[0]):
            if k:
                state = model.advance(state, trajectory[k])
            logp = model.logits(trajectory[k], state).float().log_softmax(-1)
            scores.append(logp[..., model.mask_id] - logp.gather(-1, trajectory[k].unsqueeze(-1)).squeeze(-1))
    return torch.stack(scores)


def uniform_contrast(model, examples, share: float = 0.25, seed: int = 0) -> dict:
    """The head on solutions with `share` of the blanks turned into uniform wrong digits (its training kind)."""
    import torch

    from rm_cli.corruption import UniformCorruption
    from rm_cli.tasks.sudoku.grid import N_DIGITS

    g = torch.Generator().manual_seed(seed)
    gold, blank = examples.gold, examples.editable.bool()
    wrong = blank & (torch.rand(gold.shape, generator=g) < share)
    board = torch.where(wrong, UniformCorruption(0, N_DIGITS)(gold, N_DIGITS, model.mask_id, g), gold)
    with torch.inference_mode():
        logp = model.logits(board, model.start(board)).float().log_softmax(-1)
    score = (logp[..., model.mask_id] - logp.gather(-1, board.unsqueeze(-1)).squeeze(-1))[blank]
    wrong = wrong[blank]
    return {"uniform_auc": rank_auc(score, wrong), "uniform_wrong_flagged_pct": 100 * float((score[wrong] > 0).float().mean()),
            "uniform_right_flagged_pct": 100 * float((score[~wrong] > 0).float().mean())}


def masked_surprise(model, board, blank, parts: int, seed: int = 0):
    """([B, N] -log p(digit) of every blank with its part of the blanks masked, [B, N] whether the masked
    argmax is another digit): the final board scored as best_of's masked score scores it (no history)."""
    import torch

    from rm_cli.samplers.base import best_token

    g = torch.Generator().manual_seed(seed)
    part = torch.randint(parts, board.shape, generator=g)
    surprise, other = torch.zeros(board.shape), torch.zeros(board.shape, dtype=torch.bool)
    with torch.inference_mode():
        for p in range(parts):
            hidden = blank & (part == p)
            shown = board.masked_fill(hidden, model.mask_id)
            probs = model.logits(shown, model.start(shown)).float().softmax(-1)
            own = probs.gather(-1, board.unsqueeze(-1)).squeeze(-1)
            surprise = torch.where(hidden, -own.clamp(min=1e-30).log(), surprise)
            other = torch.where(hidden, best_token(probs, model.mask_id)[1] != board, other)
    return surprise, other


def diagnose(model, examples, sampler, parts: int = 4) -> dict:
    """The numbers of the module docstring for one set of puzzles."""
    import torch

    from rm_cli.tasks.sudoku.grid import conflict_cells

    with torch.inference_mode():
        result = sampler(model, examples.inputs, examples.editable.bool(), record_trajectory=True)
    traj, gold, blank, mask_id = result.trajectory, examples.gold, examples.editable.bool(), model.mask_id
    scores = replayed_scores(model, traj)
    visible = blank.unsqueeze(0) & (traj != mask_id)  # [T, B, N] revealed digits
    wrong = visible & (traj != gold.unsqueeze(0))
    failed = wrong[-1].any(-1)
    first = []
    for b in failed.nonzero().squeeze(1).tolist():
        k = int(wrong[:, b].any(-1).nonzero()[0])
        cells = wrong[k, b].nonzero().squeeze(1)
        right = scores[k, b][visible[k, b] & ~wrong[k, b]]  # the revealed digits that are right
        later_masked = (traj[k + 1:, b][:, cells] == mask_id).any(0) if k + 1 < traj.shape[0] else torch.zeros(len(cells), dtype=torch.bool)
        first.append({
            "turn": k, "revealed": int(visible[k, b].sum()), "wrong": len(cells),
            "percentile": 100 * float((right.unsqueeze(0) < scores[k, b][cells].unsqueeze(1)).float().mean())
            if len(right) else float("nan"),
            "flagged": float((scores[k, b][cells] > 0).float().mean()), "ever_remasked": float(later_masked.float().mean()),
        })
    out = {"boards": len(examples), "exact_pct": 100 * float((~failed).float().mean()), "failed": int(failed.sum()),
           "remasks_per_board": float(result.remask_total.float().mean())}
    if first:
        def mean(key):  # over the boards where the value is defined (a percentile needs a right digit revealed)
            return statistics.mean(f[key] for f in first if not math.isnan(f[key]))
        final_vis, final_wrong, final_score = visible[-1][failed], wrong[-1][failed], scores[-1][failed]
        clash = conflict_cells(traj[-1][failed], mask_id) & blank[failed]
        out.update({
            "blanks_per_failed_board": float(blank[failed].sum(-1).float().mean()),
            "wrong_per_failed_board": float(final_wrong.sum(-1).float().mean()),
            "conflict_cells_per_failed_board": float(clash.sum(-1).float().mean()),
            "conflict_cells_wrong_pct": 100 * float(final_wrong[clash].float().mean()),
            "first_mistake_turn": mean("turn"), "first_mistake_revealed": mean("revealed"),
            "first_mistake_wrong_digits": mean("wrong"), "first_mistake_percentile": mean("percentile"),
            "first_mistake_flagged_pct": 100 * mean("flagged"), "first_mistake_ever_remasked_pct": 100 * mean("ever_remasked"),
            "final_auc": rank_auc(final_score[final_vis], final_wrong[final_vis]),
            "final_wrong_flagged_pct": 100 * float((final_score[final_wrong] > 0).float().mean()),
            "final_right_flagged_pct": 100 * float((final_score[final_vis & ~final_wrong] > 0).float().mean()),
        })
        surprise, other = masked_surprise(model, traj[-1][failed], blank[failed], parts)
        final_right = final_vis & ~final_wrong
        out.update({
            "final_masked_auc": rank_auc(surprise[final_vis], final_wrong[final_vis]),
            "final_masked_wrong_other_pct": 100 * float(other[final_wrong].float().mean()),
            "final_masked_right_other_pct": 100 * float(other[final_right].float().mean()),
        })
    out.update(uniform_contrast(model, examples))
    return {key: round(value, 3) if isinstance(value, float) else value for key, value in out.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", default=None, help="a solving .ckpt (default: the shipped model)")
    parser.add_argument("--sampler", default="rm_solve", help="a preset under conf/sampler")
    parser.add_argument("--levels", nargs="+", default=["easy", "hard"])
    parser.add_argument("--limit", type=int, default=200, help="first N puzzles of each level")
    parser.add_argument("--parts", type=int, default=4, help="groups the final board's blanks are masked in")
    parser.add_argument("--out", required=True, help="JSON of the numbers, one entry per level")
    args = parser.parse_args()
    if args.checkpoint is not None and not Path(args.checkpoint).is_file():
        parser.error(f"no such file: {args.checkpoint}")

    import torch
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    from rm_cli.checkpoint import load_checkpoint
    from rm_cli.config import conf_dir, sampler_preset
    from rm_cli.io import atomic_write_text
    from rm_cli.runinfo import git_commit
    from rm_cli.tasks.sudoku.solve import solve_test_file

    preset = sampler_preset(args.sampler)
    if not preset.is_file():
        parser.error(f"unknown sampler {args.sampler!r}")
    task_cfg = OmegaConf.load(conf_dir() / "task" / "sudoku.yaml")
    task_cfg.mode = "solve"
    module = load_checkpoint(args.checkpoint, task_cfg)
    model = module.model.eval()
    task = instantiate(task_cfg).for_checkpoint(module.task)
    results = {"checkpoint": args.checkpoint or "shipped", "sampler": args.sampler, "limit": args.limit, "parts": args.parts,
               "torch_threads": torch.get_num_threads(), "git_commit": git_commit(), "levels": {}}
    for level in args.levels:
        results["levels"][level] = diagnose(model, task.eval_examples(solve_test_file(level), args.limit), instantiate(OmegaConf.load(preset)),
                                             args.parts)
        print(level, json.dumps(results["levels"][level], indent=1))
    atomic_write_text(args.out, json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()

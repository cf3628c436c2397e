"""Sudoku metrics (SPEC §5), each a plain function of boards so it can be tested on hand-made ones."""

import torch

from rm_cli.tasks.sudoku.grid import MASK_ID, ambiguous, conflict_cells


def exact(final: torch.Tensor, solution: torch.Tensor) -> torch.Tensor:
    """[n] bool: the board equals its solution."""
    return (final == solution).all(-1)


def valid(final: torch.Tensor) -> torch.Tensor:
    """[n] bool: every cell filled and no rule broken (a valid grid need not be *the* solution)."""
    return (final != MASK_ID).all(-1) & ~conflict_cells(final).any(-1)


def valid_within_k(start: torch.Tensor, final: torch.Tensor, solution: torch.Tensor) -> torch.Tensor:
    """[n] bool: a valid grid that changed no more cells than the corruption did.

    When the corruption makes another solved grid as close to the input as the solution, no
    revision can know which was meant; this counts either as a successful revision.
    """
    return valid(final) & ((final != start).sum(-1) <= (solution != start).sum(-1))


def conflicts_per_board(final: torch.Tensor) -> torch.Tensor:
    """[n] number of cells taking part in a rule violation."""
    return conflict_cells(final).sum(-1)


def changed_correct(start: torch.Tensor, final: torch.Tensor, solution: torch.Tensor) -> torch.Tensor:
    """[n] cells that were right in the input and differ in the output (damage done)."""
    return ((start == solution) & (final != start)).sum(-1)


def replay_events(trajectory: torch.Tensor, solution: torch.Tensor) -> tuple[int, int]:
    """(re-masks of a wrong digit, how many of those were later revealed as that same digit).

    trajectory: [S + 1, n, 81] states, turn by turn.
    """
    S = trajectory.shape[0] - 1
    # next_visible[s]: the first non-mask value at or after turn s (MASK if none).
    next_visible = [None] * (S + 1)
    next_visible[S] = trajectory[S]
    for s in range(S - 1, -1, -1):
        next_visible[s] = torch.where(trajectory[s] == MASK_ID, next_visible[s + 1], trajectory[s])
    events = replays = 0
    for s in range(S):
        before, after = trajectory[s], trajectory[s + 1]
        remasked_wrong = (before != MASK_ID) & (before != solution) & (after == MASK_ID)
        events += int(remasked_wrong.sum())
        replays += int((remasked_wrong & (next_visible[s + 1] == before)).sum())
    return events, replays


def sudoku_metrics(start, final, solution, trajectory=None) -> dict:
    n = final.shape[0]
    out = {
        "exact_pct": 100.0 * exact(final, solution).float().mean().item(),
        "valid_pct": 100.0 * valid(final).float().mean().item(),
        "valid_within_k_pct": 100.0 * valid_within_k(start, final, solution).float().mean().item(),
        "conflict_cells_per_board": conflicts_per_board(final).float().mean().item(),
        "changed_correct_per_board": changed_correct(start, final, solution).float().mean().item(),
        "n": n,
    }
    out["ambiguous_boards_pct"] = 100.0 * ambiguous(start, solution).float().mean().item()
    if trajectory is not None:
        events, replays = replay_events(trajectory, solution)
        out["replay_mistake_pct"] = 100.0 * replays / events if events else 0.0
        out["wrong_remask_events"] = events
    return out


def remasked_cells(trajectory: torch.Tensor) -> torch.Tensor:
    """[n, 81] bool: cells re-masked at least once along a trajectory [S + 1, n, 81]."""
    return ((trajectory[:-1] != MASK_ID) & (trajectory[1:] == MASK_ID)).any(0)


def solve_metrics(puzzle, final, solution, trajectory=None, nfe=None, remasks=None, several=None) -> dict:
    """Solving from givens: `puzzle` holds the givens and MASK at the blanks.

    solved = a valid grid that keeps every given (equal to exact when the solution is unique);
    givens_kept must be 100 (the decoding loop never lets a sampler touch them); the re-mask
    figures say whether revising paid off: how many cells were re-masked, how many of those
    ended correct, and how often a re-masked wrong digit came back (replay).
    """
    blank = puzzle == MASK_ID
    kept = ((final == puzzle) | blank).all(-1)
    out = {
        "exact_pct": 100.0 * exact(final, solution).float().mean().item(),
        "solved_pct": 100.0 * (valid(final) & kept).float().mean().item(),
        # None (printed n/a) for boards with no blank: there is no cell to be right or wrong about
        "cell_acc_blanks_pct": 100.0 * ((final == solution) & blank).sum().item() / int(blank.sum())
        if blank.any() else None,
        "givens_kept_pct": 100.0 * kept.float().mean().item(),
        "conflict_cells_per_board": conflicts_per_board(final).float().mean().item(),
        "blanks_per_board": blank.sum(-1).float().mean().item(),
        "n": final.shape[0],
        "several_solutions": 0 if several is None else int(several.sum()),
    }
    if nfe is not None:
        out["nfe_per_board"] = nfe.float().mean().item()
    if remasks is not None:
        out["remasks_per_board"] = remasks.float().mean().item()
    if trajectory is not None:
        cells = remasked_cells(trajectory)
        n_cells = int(cells.sum())
        out["remasked_cells_per_board"] = n_cells / final.shape[0]
        out["remasked_end_correct_pct"] = 100.0 * int((cells & (final == solution)).sum()) / n_cells if n_cells else None
        events, replays = replay_events(trajectory, solution)
        out["replay_mistake_pct"] = 100.0 * replays / events if events else None
        out["wrong_remask_events"] = events
    return out

"""corruption=consistent: wrong digits that no kept cell (given or kept blank) rules out, wired through RM
training on Sudoku solving."""

import pytest
import torch

from benchmarks.common import train_config
from conftest import TINY, run_cli
from rm_cli.errors import UserError
from rm_cli.lightning_module import RMLightningModule
from rm_cli.tasks.sudoku.corruption import ConsistentDigits, open_wrong_digits
from rm_cli.tasks.sudoku.grid import MASK_ID, PEERS
from rm_cli.trajectory import KEEP, WRONG

SOLVED = "534678912672195348198342567859761423426853791713924856961537284287419635345286179"
GOLD = torch.tensor([[int(c) - 1 for c in SOLVED]])


def kept_peer_digits(gold, kept, cell):
    """The digits the kept cells among `cell`'s peers show, by hand."""
    return {int(gold[0, j]) for j in range(81) if PEERS[cell, j] and kept[0, j]}


def test_open_digits_are_the_ones_no_kept_peer_shows():
    kept = torch.zeros(1, 81, dtype=torch.bool)
    kept[0, [1, 9, 10, 20, 40]] = True  # r1c2, r2c1, r2c2, r3c3 (box 1), r5c5 (not a peer of r1c1)
    allowed = open_wrong_digits(GOLD, kept)
    expected = set(range(9)) - {int(GOLD[0, 0])} - kept_peer_digits(GOLD, kept, 0)
    assert {d for d in range(9) if allowed[0, 0, d]} == expected and len(expected) == 4
    assert allowed[0, 80].sum() == 8  # r9c9 has no kept peer: every digit but gold
    full = torch.ones(1, 81, dtype=torch.bool)
    full[0, 0] = False  # every other cell kept: only gold is open, so any digit but gold
    assert allowed.shape == (1, 81, 9) and open_wrong_digits(GOLD, full)[0, 0].sum() == 8


def test_draws_cover_the_open_digits_and_nothing_else():
    kept = torch.rand(64, 81, generator=torch.Generator().manual_seed(0)) < 0.4
    gold = GOLD.expand(64, -1)
    wrong = ConsistentDigits()(gold, 10, MASK_ID, torch.Generator().manual_seed(1), kept=kept)
    allowed = open_wrong_digits(gold, kept)
    assert (wrong != gold).all() and allowed.gather(-1, wrong.unsqueeze(-1)).all()
    drawn = torch.zeros_like(allowed).scatter_(-1, wrong.unsqueeze(-1), True)
    assert drawn.any(0).sum() > 0.9 * allowed.any(0).sum()  # not stuck on one digit per cell
    again = ConsistentDigits()(gold, 10, MASK_ID, torch.Generator().manual_seed(1), kept=kept)
    assert torch.equal(wrong, again)


def test_training_trajectories_show_only_consistent_wrong_digits():
    cfg = train_config(*TINY, "task=sudoku", "task.mode=solve", "task.puzzle_pool=40", "corruption=consistent",
                       "task.wrong_rate=0.5", "task.keep_rate=1.0")
    module = RMLightningModule(cfg)
    batch = next(iter(module.task.train_stream(batch_size=32, seed=0)))
    drawn = module.draw(batch, torch.Generator().manual_seed(0))
    shown = drawn["states"]  # [B, T, 81]
    wrong = (batch["rule"] == WRONG).unsqueeze(1) & (shown != MASK_ID) & (shown != batch["gold"].unsqueeze(1))
    assert wrong.sum() > 100
    kept = batch["rule"] == KEEP  # givens and blanks that show their gold digit all along
    assert (kept & batch["editable"]).any()
    allowed = open_wrong_digits(batch["gold"], kept).unsqueeze(1).expand(-1, shown.shape[1], -1, -1)
    assert allowed.gather(-1, shown.clamp(max=8).unsqueeze(-1)).squeeze(-1)[wrong].all()


def test_other_tasks_get_one_clear_error(tmp_path):
    proc = run_cli("train", f"run_dir={tmp_path}", "task=sudoku", "corruption=consistent")  # revision mode
    assert proc.returncode == 2 and "corruption=consistent is for task.mode=solve" in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and not (tmp_path / "checkpoints").exists()
    with pytest.raises(UserError, match="task=sudoku task.mode=solve"):
        ConsistentDigits()(torch.zeros(2, 20, dtype=torch.long), 50, 49, kept=torch.ones(2, 20, dtype=torch.bool))

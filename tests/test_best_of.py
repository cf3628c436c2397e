"""sampler=best_of: views under Sudoku's symmetries, mapped back, the most likely decode kept."""

import csv

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from conftest import NoHistoryModel, load_script, run_script

from rm_cli import scaling
from rm_cli.checkpoint import shipped_checkpoint
from rm_cli.config import conf_dir
from rm_cli.errors import UserError
from rm_cli.runinfo import git_commit
from rm_cli.samplers.best_of import BestOfSampler
from rm_cli.samplers.topk_margin import TopKMarginSampler
from rm_cli.tasks.base import Examples
from rm_cli.tasks.sudoku import solver
from rm_cli.tasks.sudoku.grid import MASK_ID, PEERS, apply_transform, random_transform, undo_transform
from rm_cli.tasks.sudoku.puzzles import generate, to_digits
from rm_cli.tasks.sudoku.symmetry import SudokuSymmetry


class PeerCountModel(NoHistoryModel):
    """A toy Sudoku model whose output for a board never depends on the rest of the batch: digit d at
    a cell scores -3 per peer showing d (exact integer counts), plus a fixed random bias per cell
    and digit, so that a relabelled or permuted copy of a board is decoded differently."""

    mask_id = MASK_ID

    def __init__(self, seed=0):
        self.bias = torch.randn(81, MASK_ID, generator=torch.Generator().manual_seed(seed))

    def logits(self, x, state=None, logits_from=0):
        shown = torch.nn.functional.one_hot(x, MASK_ID + 1).float()[..., :MASK_ID]
        counts = torch.einsum("ij,bjd->bid", PEERS.float(), shown)
        digits = -3.0 * counts + self.bias
        return torch.cat([digits, torch.full_like(digits[..., :1], -30.0)], -1)[:, logits_from:]


class SolverModel(NoHistoryModel):
    """Puts all its mass on the solution of whatever board it is shown (the project's solver)."""

    mask_id = MASK_ID

    def logits(self, x, state=None, logits_from=0):
        out = torch.full((*x.shape, MASK_ID + 1), -20.0)
        for i, board in enumerate(x):
            digits = to_digits(board)
            if solver.conflict(digits) is None:
                (solution, *_) = solver.solutions(digits, limit=1)
                out[i, torch.arange(81), torch.tensor(solution) - 1] = 20.0
        return out[:, logits_from:]


def best_of(views, steps, base="topk_margin", **kw):
    return BestOfSampler(base=base, views=views, steps=steps, symmetry=SudokuSymmetry(), **kw)


@pytest.fixture(scope="module")
def puzzles():
    return generate(seed=5, n=6, level="easy")


def test_a_view_maps_back_to_the_board_it_came_from():
    g = torch.Generator().manual_seed(0)
    boards, _ = generate(seed=1, n=4, level="hard")
    index, relabel = random_transform(4, g)
    seen = apply_transform(boards, index, relabel)
    assert not torch.equal(seen, boards) and torch.equal(undo_transform(seen, index, relabel), boards)
    assert torch.equal((seen == MASK_ID).sum(-1), (boards == MASK_ID).sum(-1))  # MASK stays MASK
    assert torch.equal(undo_transform(apply_transform(boards, index), index), boards)


def test_every_view_of_a_solved_puzzle_maps_back_to_its_solution(puzzles):
    boards, gold = puzzles
    blank = boards == MASK_ID
    res = best_of(views=3, steps=30)(SolverModel(), boards, blank, record_trajectory=True)
    assert torch.equal(res.tokens, gold)
    assert torch.equal(res.trajectory[0], boards) and torch.equal(res.trajectory[-1], gold)
    for state in res.trajectory:  # every recorded state, back in the board's frame, keeps the givens
        assert torch.equal(state[~blank], boards[~blank])


class GarbledVisibleModel(PeerCountModel):
    """PeerCountModel whose outputs at visible positions are fresh noise on every call: what the masked
    objective leaves there, as it never trains them."""

    def logits(self, x, state=None, logits_from=0):
        out = super().logits(x, state, logits_from)
        noise = 10 * torch.randn(out.shape, generator=self.noise)
        return torch.where((x != MASK_ID)[:, logits_from:, None], noise, out)

    def __init__(self, seed=0):
        super().__init__(seed)
        self.noise = torch.Generator().manual_seed(99)


@pytest.mark.parametrize("score", ["masked", "board"])
def test_keeps_the_givens_and_the_budget_and_picks_the_most_likely_view(puzzles, score):
    boards, _ = puzzles
    blank = boards == MASK_ID
    model, views, steps = PeerCountModel(1), 4, 90
    sampler = best_of(views, steps, score=score)
    res = sampler(model, boards, blank, record_trajectory=True)
    assert torch.equal(res.tokens[~blank], boards[~blank])
    passes = 1 if score == "board" else 4  # the yaml's score_parts
    alone = TopKMarginSampler(steps=steps // views - passes)(model, boards, blank)  # the first view: the board as given
    assert (res.nfe <= steps).all() and (res.nfe == 4 * alone.nfe + views * passes).all()
    seeds = torch.arange(len(boards))
    chosen, first = (sampler.score_views(model, b, blank, seeds) for b in (res.tokens, alone.tokens))
    assert (chosen >= first).all() and (chosen > first).any()  # another view won on some board
    assert torch.equal(res.tokens[chosen == first], alone.tokens[chosen == first])


def test_the_masked_score_reads_no_output_at_a_visible_position(puzzles):
    """With noise at visible positions (an MDM's untrained outputs) the masked score picks as before and the
    board score does not."""
    boards, _ = puzzles
    blank = boards == MASK_ID
    picks = {score: [best_of(6, 6 * 24, score=score)(m(), boards, blank).tokens for m in (PeerCountModel, GarbledVisibleModel)]
             for score in ("masked", "board")}
    assert torch.equal(*picks["masked"])
    assert not torch.equal(*picks["board"])


def test_a_board_decodes_the_same_in_any_batch(puzzles):
    boards, _ = puzzles
    blank = boards == MASK_ID
    sampler, model = best_of(views=3, steps=60), PeerCountModel(1)
    whole = sampler(model, boards, blank, seeds=torch.arange(10, 16))
    parts = [sampler(model, boards[i:i + 3], blank[i:i + 3], seeds=torch.arange(10 + i, 13 + i)) for i in (0, 3)]
    assert torch.equal(whole.tokens, torch.cat([p.tokens for p in parts]))
    other_seeds = sampler(model, boards, blank, seeds=torch.arange(20, 26))
    assert not torch.equal(whole.tokens, other_seeds.tokens)  # the seeds choose the views


def test_one_view_is_the_base_sampler(puzzles):
    boards, _ = puzzles
    blank = boards == MASK_ID
    res = best_of(views=1, steps=20)(PeerCountModel(), boards, blank)
    alone = TopKMarginSampler(steps=20)(PeerCountModel(), boards, blank)
    assert torch.equal(res.tokens, alone.tokens) and torch.equal(res.nfe, alone.nfe)


def test_the_yaml_budget_and_bad_settings():
    cfg = scaling.with_budget(OmegaConf.load(conf_dir() / "sampler" / "best_of.yaml"), 128)
    sampler = instantiate(cfg)
    assert sampler.steps == 128 and sampler.views == 4 and sampler.base.steps == 32 - 4  # 4 passes score a view
    with pytest.raises(UserError, match="steps >= 20"):
        best_of(views=4, steps=19)
    with pytest.raises(UserError, match="steps >= 8"):
        best_of(views=4, steps=7, score="board")
    with pytest.raises(UserError, match="sampler.score must be masked or board"):
        best_of(views=2, steps=20, score="full")
    with pytest.raises(UserError, match="score_parts must be >= 2"):
        best_of(views=2, steps=20, score_parts=1)
    with pytest.raises(UserError, match="sampler.base must be a sampler preset"):
        best_of(views=2, steps=20, base="best_of")
    with pytest.raises(UserError, match="sampler.base must be a sampler preset"):
        best_of(views=2, steps=20, base="nope")
    with pytest.raises(UserError, match="temperature > 0"):
        BestOfSampler(base="vanilla", views=2, steps=20, symmetry=None)
    text_like = torch.full((2, 30), 5)
    with pytest.raises(UserError, match="set sampler.symmetry=null"):
        best_of(views=2, steps=20)(PeerCountModel(), text_like, torch.ones_like(text_like, dtype=torch.bool))


def test_without_symmetry_the_views_are_draws_of_a_sampling_base(puzzles):
    """View v of example i is the base sampler's decode with seed s_i * views + v; the most likely one is kept."""
    boards, _ = puzzles
    blank = boards == MASK_ID
    model, views, seeds = PeerCountModel(), 3, torch.arange(6)
    sampler = BestOfSampler(base="vanilla", views=views, steps=60, symmetry=None, base_overrides={"temperature": 1.0})
    res = sampler(model, boards, blank, seeds=seeds)
    draws = [sampler.base(model, boards, blank, seeds=seeds * views + v).tokens for v in range(views)]
    scores = sampler.score_views(model, torch.cat(draws), blank.repeat(views, 1), seeds).view(views, -1)
    assert torch.equal(res.tokens, torch.stack(draws)[scores.argmax(0), torch.arange(6)])
    assert scores.argmax(0).unique().numel() > 1  # the draws differ and not one view always wins
    assert torch.equal(res.tokens[~blank], boards[~blank])


def test_the_views_script_bounds_every_pick_by_the_oracle_and_matches_the_sampler(puzzles):
    """scripts/best_of_views.py: k=1 is view 0 alone, the oracle grows with k and bounds every pick, and with
    every view each score picks what best_of with that score keeps."""
    script = load_script("best_of_views")
    boards, _ = generate(seed=3, n=8, level="hard")
    blank = boards == MASK_ID
    model, views, per_view = PeerCountModel(1), 4, 20
    passes = {"board": 1, "masked": 4}  # the same 20 passes a view under either score
    kept = {score: best_of(views, views * (per_view + passes[score]), score=score)(model, boards, blank).tokens
            for score in passes}
    gold = kept["board"]  # a "solution" that the board score always picks and the masked one not always
    rows = script.view_rows(model, Examples(boards, blank, gold), best_of(views, views * (per_view + 4)), batch_size=3)
    assert [r["k"] for r in rows] == [1, 2, 3, 4]
    assert len({rows[0][c] for c in script.COLUMNS}) == 1  # one view: every column is view 0's
    assert all(a["oracle_pct"] <= b["oracle_pct"] for a, b in zip(rows, rows[1:]))
    assert all(r["oracle_pct"] >= max(r["board_pct"], r["masked_pct"], r["one_view_pct"]) for r in rows)
    for score in ("board", "masked"):
        assert rows[-1][f"{score}_pct"] == round(100 * float((kept[score] == gold).all(-1).float().mean()), 2)
    assert rows[-1]["board_pct"] == 100.0 > rows[-1]["masked_pct"]  # the two scores picked differently somewhere


def test_the_views_script_refuses_a_missing_checkpoint_and_writes_nothing(tmp_path):
    out = tmp_path / "views.csv"
    proc = run_script("best_of_views.py", "--checkpoints", tmp_path / "none.ckpt", "--out", out)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1].endswith(f"no such checkpoint file: {tmp_path / 'none.ckpt'}")
    assert list(tmp_path.iterdir()) == []


def test_the_views_script_writes_one_row_per_k_recording_the_code_that_made_it(tmp_path):
    """An end-to-end run on the shipped solving model: every CSV row names the checkpoint, the level and the git
    commit, so a number in docs/ traces back to the code that produced it."""
    out, checkpoint = tmp_path / "views.csv", shipped_checkpoint("sudoku", "solve")
    proc = run_script("best_of_views.py", "--checkpoints", checkpoint, "--level", "hard", "--limit", "3", "--views", "2",
                      "--per-view", "8", "--out", out)
    assert proc.returncode == 0, proc.stderr
    rows = list(csv.DictReader(out.open()))
    assert [r["k"] for r in rows] == ["1", "2"] and {r["n"] for r in rows} == {"3"}
    assert {r["git_commit"] for r in rows} == {git_commit()} and len(git_commit()) == 40
    assert out.with_suffix(".md").is_file()


def test_the_documented_overrides_compose_and_build_the_sampler():
    """`sampler.base_overrides={temperature: 0.7}` as the docs write it (a struct config refuses new keys in an
    empty dict, so the YAML leaves it null), and `sampler.score=board`."""
    with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
        cfg = compose(config_name="eval", overrides=["task=text", "sampler=best_of", "sampler.symmetry=null",
                                                      "sampler.base=vanilla_text", "sampler.base_overrides={temperature: 0.7}",
                                                      "sampler.score=board"])
    sampler = instantiate(cfg.sampler)
    assert sampler.base.temperature == 0.7 and sampler.score == "board" and sampler.symmetry is None

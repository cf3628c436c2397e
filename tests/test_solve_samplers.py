"""The peer samplers (topk_margin, entropy, remdm), the guarantees every registered sampler
shares (givens never change, a budget of forward passes is kept), and test-time scaling."""

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

from conftest import Adversary, NoHistoryModel

from rm_cli import scaling
from rm_cli.config import conf_dir
from rm_cli.errors import UserError
from rm_cli.samplers import SAMPLERS
from rm_cli.samplers.entropy import EntropySampler
from rm_cli.samplers.remdm import ReMDMSampler
from rm_cli.samplers.topk_margin import TopKMarginSampler
from rm_cli.samplers.vanilla import VanillaSampler
from rm_cli.tasks.sudoku import solver
from rm_cli.tasks.sudoku.grid import MASK_ID
from rm_cli.tasks.sudoku.puzzles import generate, to_digits

M, V = Adversary.mask_id, Adversary.vocab  # scripted vocabulary: tokens 0..4, mask 5


class FixedModel(NoHistoryModel):
    """The same distribution at every turn: `probs` [N, V] for each row."""

    mask_id = M

    def __init__(self, probs):
        self.probs = torch.as_tensor(probs, dtype=torch.float)

    def logits(self, x, state=None, logits_from=0):
        return (self.probs.clamp(min=1e-9).log().expand(x.shape[0], -1, -1))[:, logits_from:]


def reveal_order(sampler, probs):
    x0 = torch.full((1, len(probs)), M)
    res = sampler(FixedModel(probs), x0, torch.ones_like(x0, dtype=torch.bool), record_trajectory=True)
    traj = res.trajectory[:, 0]
    return [int((traj[s + 1] != traj[s]).nonzero()[0]) for s in range(len(probs))]


# Four positions whose order differs under each score (tokens 0-4; MASK gets nothing):
#   A: .6 / .4            top .60  margin .20   entropy .67
#   B: .5 / 4 x .125      top .50  margin .375  entropy 1.39
#   C: .55 / .45          top .55  margin .10   entropy .69
#   D: .7 / 4 x .075      top .70  margin .625  entropy 1.03
PROBS = [
    [0.6, 0.4, 0.0, 0.0, 0.0, 0.0],
    [0.5, 0.125, 0.125, 0.125, 0.125, 0.0],
    [0.55, 0.45, 0.0, 0.0, 0.0, 0.0],
    [0.7, 0.075, 0.075, 0.075, 0.075, 0.0],
]


def test_vanilla_margin_and_entropy_reveal_in_their_own_order():
    assert reveal_order(VanillaSampler(steps=4), PROBS) == [3, 0, 2, 1]  # top probability
    assert reveal_order(TopKMarginSampler(steps=4), PROBS) == [3, 1, 0, 2]
    assert reveal_order(EntropySampler(steps=4), PROBS) == [0, 2, 3, 1]


def test_margin_and_entropy_ignore_the_mask_probability():
    probs = torch.tensor(PROBS)
    probs[:, M] = torch.tensor([0.0, 0.0, 0.0, 5.0])  # renormalised away: D's shape is unchanged
    probs = probs / probs.sum(-1, keepdim=True)
    assert reveal_order(VanillaSampler(steps=4), probs) == [0, 2, 1, 3]  # raw top probability: D is last now
    assert reveal_order(TopKMarginSampler(steps=4), probs) == [3, 1, 0, 2]
    assert reveal_order(EntropySampler(steps=4), probs) == [0, 2, 3, 1]


BUDGET_KEYS = ("steps", "max_turns", "reveal_steps")
# the registered samplers' presets and the other presets of their classes (rm_solve, rm_text, vanilla_text)
BUDGETED_PRESETS = sorted(path.stem for path in (conf_dir() / "sampler").glob("*.yaml")
                          if any(key in OmegaConf.load(path) for key in BUDGET_KEYS))


def sampler_from_yaml(name: str, budget: int, stop_at_fixed_point: bool = True):
    cfg = OmegaConf.load(conf_dir() / "sampler" / f"{name}.yaml")
    if name == "best_of":  # these scripted boards have no Sudoku symmetry: views are draws of a sampling base
        cfg.symmetry, cfg.base, cfg.views, cfg.score_parts = None, "vanilla", 2 if budget >= 6 else 1, 2
        cfg.base_overrides = {"temperature": 1.0, "stop_at_fixed_point": stop_at_fixed_point}
    if any(key in cfg for key in BUDGET_KEYS):
        cfg = scaling.with_budget(cfg, budget)
        if name not in ("best_of", "rm_edit"):  # rm_edit's re-mask phase always ends when nothing new is masked
            cfg.stop_at_fixed_point = stop_at_fixed_point
    return instantiate(cfg)


def test_scaling_compares_every_sampler_that_takes_a_budget():
    names = scaling.budgeted_samplers()
    assert {"rm", "vanilla", "topk_margin", "entropy", "remdm", "rm_edit"} <= set(names)
    assert "best_of" in names and "best_of" not in scaling.compared_by_default()  # a wrapper: compared when named
    assert "rm_edit" not in scaling.compared_by_default()  # image editing's: stands in for rm there (test_image_cli)
    assert list(scaling.sampler_configs(None, OmegaConf.create({"_target_": "none"}))) == scaling.compared_by_default()
    assert scaling.compared_by_default() == [name for name in names if name not in ("best_of", "rm_edit")]


def test_the_default_preset_of_rms_class_leaves_a_listed_rm_and_rm_solve_as_they_are():
    chosen = OmegaConf.load(conf_dir() / "sampler" / "rm_solve.yaml")  # task.mode=solve's default, not named
    both = scaling.sampler_configs(["rm", "rm_solve"], chosen, chosen_name="rm_solve")
    assert list(both) == ["rm", "rm_solve"] and both["rm"].reveal_per_turn is None


def test_scaling_samplers_given_one_name_without_brackets_is_that_sampler():
    chosen = OmegaConf.create({"_target_": "rm_cli.samplers.rm.RMSampler", "max_turns": 7})
    assert list(scaling.sampler_configs("vanilla", chosen)) == ["vanilla"]  # was "unknown sampler 'v'"


def test_scaling_takes_presets_and_gives_the_chosen_overrides_to_its_own_entry():
    rm_target = "rm_cli.samplers.rm.RMSampler"
    chosen = OmegaConf.create({"_target_": rm_target, "max_turns": 7, "reveal_per_turn": 3})
    alone = scaling.sampler_configs(["vanilla", "rm"], chosen)
    assert alone["rm"] is chosen and alone["vanilla"]._target_.endswith("VanillaSampler")
    # another preset of rm's class in rm's place is reported under its own name, in rm's position
    swapped = scaling.sampler_configs(["rm", "vanilla"], chosen, chosen_name="rm_solve")
    assert list(swapped) == ["rm_solve", "vanilla"] and swapped["rm_solve"] is chosen
    both = scaling.sampler_configs(["rm", "rm_solve"], chosen)  # two RMSampler configs: each its own YAML
    assert both["rm"].reveal_per_turn is None and both["rm_solve"].reveal_per_turn == 1 and both["rm_solve"].fit_budget
    named = scaling.sampler_configs(["rm", "rm_solve"], chosen, chosen_name="rm_solve")  # the chosen preset by name
    assert named["rm_solve"] is chosen and named["rm"].reveal_per_turn is None
    # a listed preset is not another preset of its class: the default sampler=rm leaves rm_solve alone
    preset = scaling.sampler_configs(["vanilla", "rm_solve"], chosen, chosen_name="rm")
    assert preset["rm_solve"] is not chosen and preset["rm_solve"].reveal_per_turn == 1 and preset["rm_solve"].fit_budget
    with pytest.raises(UserError, match="unknown sampler 'fast'.*rm_solve"):
        scaling.sampler_configs(["fast"], chosen)


def test_a_sampler_named_on_the_command_line_is_compared_or_refused_never_dropped():
    chosen = OmegaConf.create({"_target_": "rm_cli.samplers.rm.RMSampler", "max_turns": 7, "remask_threshold": 0.5})
    with pytest.raises(UserError, match=r"sampler=rm \(with its overrides\) is not among the compared samplers \(vanilla, rm_solve\)"):
        scaling.sampler_configs(["vanilla", "rm_solve"], chosen, chosen_name="rm", named=True, edited=True)  # 0.5 lost
    # sampler=rm, no edits, beside a listed rm_solve: rm_solve decodes as its YAML says (test_solve_cli)
    assert scaling.sampler_configs(["vanilla", "rm_solve"], chosen, chosen_name="rm", named=True)["rm_solve"] is not chosen
    best_of = OmegaConf.load(scaling.sampler_preset("best_of"))
    with pytest.raises(UserError, match="add best_of to scaling_samplers"):
        scaling.sampler_configs(None, best_of, chosen_name="best_of", named=True)
    assert scaling.sampler_configs(["vanilla", "rm"], chosen, chosen_name="rm", named=True)["rm"] is chosen


def test_a_sampler_that_spends_more_than_its_budget_is_refused(monkeypatch):
    from types import SimpleNamespace

    over = SimpleNamespace(nfe=torch.tensor([2, 3]))  # vanilla with block_size at a budget below its block count
    monkeypatch.setattr(scaling, "decode_examples", lambda *a, **k: over)
    task = SimpleNamespace(metrics_read_trajectory=False, metrics=lambda examples, result: {})
    configs = {"vanilla": OmegaConf.load(scaling.sampler_preset("vanilla"))}
    with pytest.raises(UserError, match="vanilla spent 3 forward passes at budget 2"):
        scaling.sweep(None, task, None, configs, [2], batch_size=4)


def test_a_budget_too_small_for_a_sampler_is_refused_as_the_budget_not_as_steps():
    """best_of at scaling budget 4 named `sampler.steps=4`, which the user never set."""
    configs = {"topk_margin": OmegaConf.load(scaling.sampler_preset("topk_margin")),
               "best_of": OmegaConf.load(scaling.sampler_preset("best_of"))}
    with pytest.raises(UserError) as e:
        scaling.sweep(None, None, None, configs, [4, 8], batch_size=4)
    assert str(e.value).startswith("scaling budget 4 is too small for best_of: it needs 20 forward passes per example")
    assert "sampler.steps" not in str(e.value)
    assert scaling.smallest_budget(configs["best_of"], 4) == 20
    bad = OmegaConf.merge(configs["best_of"], {"views": 0})  # no budget would do: the sampler's own message
    with pytest.raises(UserError, match="sampler.views must be >= 1"):
        scaling.sweep(None, None, None, {"best_of": bad}, [64], batch_size=4)


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_no_sampler_ever_changes_a_given(name):
    g = torch.Generator().manual_seed(1)
    x0 = torch.randint(0, M, (6, 30), generator=g)
    editable = torch.rand(6, 30, generator=g) < 0.6
    x0[editable & (torch.rand(6, 30, generator=g) < 0.7)] = M  # most blanks masked, a few visible
    res = sampler_from_yaml(name, budget=12)(Adversary(), x0, editable, record_trajectory=True)
    fixed = ~editable
    for state in res.trajectory:
        assert torch.equal(state[fixed], x0[fixed]), name
    assert torch.equal(res.tokens[fixed], x0[fixed])


@pytest.mark.parametrize("name", BUDGETED_PRESETS)
def test_every_sampler_keeps_a_budget_of_forward_passes(name):
    x0 = torch.full((3, 20), M)
    editable = torch.ones_like(x0, dtype=torch.bool)
    exact = scaling.spends_whole_budget(OmegaConf.load(conf_dir() / "sampler" / f"{name}.yaml"))
    for budget in (1, 2, 5, 9):
        res = sampler_from_yaml(name, budget, stop_at_fixed_point=False)(Adversary(budget), x0, editable)
        assert res.nfe.max() <= budget, (name, budget, res.nfe.tolist())
        if exact:
            assert (res.nfe == budget).all(), (name, budget, res.nfe.tolist())
        assert (res.tokens != M).all()


def test_the_samplers_that_spend_the_whole_budget_are_told_by_their_budget_key():
    """`steps` on a sampler that wraps none: exactly B passes; `max_turns` (a final fill it may not need),
    `reveal_steps` (rm_edit) and wrappers (best_of): at most B. Read from the preset, not from a list of names,
    so that a new max_turns sampler is not held to B exactly."""
    exact = {name for name in BUDGETED_PRESETS
             if scaling.spends_whole_budget(OmegaConf.load(conf_dir() / "sampler" / f"{name}.yaml"))}
    assert {"vanilla", "topk_margin", "entropy", "remdm", "vanilla_text"} <= exact
    assert not exact & {"rm", "rm_solve", "rm_text", "best_of", "rm_edit"}
    new_max_turns_sampler = OmegaConf.create({"_target_": "rm_cli.samplers.rm.RMSampler", "max_turns": 8})
    assert not scaling.spends_whole_budget(new_max_turns_sampler)
    assert not scaling.spends_whole_budget(OmegaConf.create({"_target_": "not.registered.Sampler", "steps": 8}))


def test_rm_solve_reveals_the_most_confident_on_vanillas_schedule_and_still_remasks():
    """rm_solve with a model that never asks for MASK reveals in vanilla's order and schedule; with
    one that prefers MASK on a revealed token it re-masks it (what rm does, a few cells at a time)."""
    def rm_solve_at(budget):
        return instantiate(scaling.with_budget(OmegaConf.load(conf_dir() / "sampler" / "rm_solve.yaml"), budget))
    rm_solve = rm_solve_at(5)
    assert rm_solve.max_turns == 4 and rm_solve.reveal_per_turn == 1 and rm_solve.fit_budget
    assert reveal_order(rm_solve_at(5), PROBS) == reveal_order(VanillaSampler(steps=4), PROBS)
    x0 = torch.full((2, 20), M)
    editable = torch.ones_like(x0, dtype=torch.bool)
    res = rm_solve(FixedModel([[0.9, 0.1, 0, 0, 0, 0]] * 20), x0, editable, record_trajectory=True)
    assert res.revealed[:, 0].tolist() == [5, 5, 5, 5] and res.nfe.tolist() == [4, 4]  # ceil(20 / 4) a turn
    probs = [[0.6, 0.0, 0, 0, 0, 0.4]] * 19 + [[0.3, 0.0, 0, 0, 0, 0.7]]  # the last position: MASK beats 0
    res = rm_solve_at(12)(FixedModel(probs), x0, editable)
    assert res.remasked.sum() > 0


def test_remdm_remasks_the_expected_number_of_least_probable_tokens():
    n, steps = 16, 8
    p_gold = torch.linspace(0.9, 0.5, n)  # position i's token is less probable as i grows
    probs = torch.zeros(n, V)
    probs[:, 0] = p_gold
    probs[:, 1] = 1 - p_gold
    x0 = torch.full((1, n), M)
    editable = torch.ones_like(x0, dtype=torch.bool)
    for schedule, eta in (("cap", 0.3), ("rescale", 0.5), ("conf", 0.0), ("loop", 0.2)):
        sampler = ReMDMSampler(steps=steps, schedule=schedule, eta=eta, t_on=0.7, t_off=0.2, alpha_on=0.5)
        res = sampler(FixedModel(probs), x0, editable, record_trajectory=True)
        expected = int(sampler.expected_remasks(steps - 1, torch.tensor([float(n)])).floor())
        assert res.remask_total.item() == expected > 0, schedule
        assert (res.nfe == steps).all() and (res.tokens == 0).all()
        traj = res.trajectory[:, 0]
        for s in range(steps):
            remasked = ((traj[s] != M) & (traj[s + 1] == M)).nonzero().flatten()
            if len(remasked):  # the least probable of the decoded tokens go back to MASK
                kept = ((traj[s] != M) & (traj[s + 1] != M)).nonzero().flatten()
                assert len(kept) == 0 or remasked.min() > kept.max(), (schedule, s)
    vanilla_like = ReMDMSampler(steps=steps, eta=0.0)(FixedModel(probs), x0, editable)
    assert vanilla_like.remask_total.item() == 0 and (vanilla_like.tokens == 0).all()


def test_remdm_loop_holds_the_decoded_share_during_its_loop_phase():
    n, steps = 20, 10
    probs = torch.zeros(n, V)
    probs[:, 2] = torch.linspace(0.9, 0.6, n)
    probs[:, 3] = 1 - probs[:, 2]
    x0 = torch.full((1, n), M)
    sampler = ReMDMSampler(steps=steps, schedule="loop", eta=0.2, t_on=0.6, t_off=0.15, alpha_on=0.8)
    res = sampler(FixedModel(probs), x0, torch.ones_like(x0, dtype=torch.bool), record_trajectory=True)
    decoded = (res.trajectory[:, 0] != M).sum(-1).tolist()
    assert decoded[0] == 0 and decoded[-1] == n
    loop_turns = [i for i in range(steps) if 1 - i / steps <= 0.6 and 1 - (i + 1) / steps > 0.15]
    assert all(decoded[i + 1] == 16 for i in loop_turns)  # alpha_on * n, while tokens cycle
    assert res.remasked[loop_turns].sum() > 0 and res.remasked[: loop_turns[0]].sum() == 0


def test_remdm_rejects_bad_settings():
    with pytest.raises(UserError, match="schedule='linear'"):
        ReMDMSampler(schedule="linear")
    with pytest.raises(UserError, match="eta"):
        ReMDMSampler(eta=2.0)
    with pytest.raises(UserError, match="t_off < t_on"):
        ReMDMSampler(schedule="loop", t_on=0.1, t_off=0.5)


class PropagationModel(NoHistoryModel):
    """A stand-in Sudoku model that reasons like a person using singles: at a masked cell, the
    digits the solver's propagation leaves (one when a single applies); at a visible digit that
    clashes with the board, MASK."""

    mask_id = MASK_ID

    def logits(self, x, state=None, logits_from=0):
        out = torch.full((*x.shape, 10), -9.0)
        for b, row in enumerate(x):
            digits = to_digits(row)
            cands = solver.candidates(digits)
            for i, d in enumerate(digits):
                if d:
                    clash = cands is None or solver.conflict(digits) is not None
                    out[b, i, MASK_ID if clash else d - 1] = 5.0
                elif cands is not None:
                    for k in range(9):
                        if cands[i] >> k & 1:
                            out[b, i, k] = 5.0
        return (out)[:, logits_from:]


@pytest.mark.parametrize("name", ["vanilla", "topk_margin", "entropy", "remdm"])
def test_schedule_samplers_solve_singles_puzzles_one_cell_a_turn(name):
    boards, gold = generate(3, 2, "easy", singles_only=True)
    editable = boards == MASK_ID
    budget = int(editable.sum(-1).max())  # one reveal per turn
    res = sampler_from_yaml(name, budget)(PropagationModel(), boards, editable)
    assert torch.equal(res.tokens, gold), name


@pytest.mark.parametrize("name", ["rm", "rm_solve", "rm_text"])
def test_a_budget_of_one_pass_is_one_pass_when_rm_re_masks_a_visible_digit(name):
    """Boards with visible editable digits (revision): the one turn re-masks some, and the final fill that
    would reveal them again is a second pass, over a budget of one."""
    x0 = torch.randint(0, M, (3, 20), generator=torch.Generator().manual_seed(0))
    x0[:, ::2] = M
    cfg = scaling.with_budget(OmegaConf.load(conf_dir() / "sampler" / f"{name}.yaml"), 1)
    cfg.stop_at_fixed_point = False
    res = instantiate(cfg)(Adversary(), x0, torch.ones_like(x0, dtype=torch.bool))
    assert res.nfe.tolist() == [1, 1, 1] and int(res.remask_total.sum()) > 0


def test_scaling_decodes_with_the_evals_seed():
    """scaling=true must draw like a plain eval with the same seed= (temperature > 0)."""
    from rm_cli.decode import decode_examples
    from rm_cli.tasks.base import Examples, Task

    class TokensTask(Task):
        def metrics(self, examples, result):
            return {"exact_pct": 0.0, "tokens": result.tokens.tolist()}

    examples = Examples(torch.full((8, 12), M), torch.ones(8, 12, dtype=torch.bool))
    model = FixedModel(torch.full((12, V), 1.0 / V))
    cfg = OmegaConf.load(conf_dir() / "sampler" / "vanilla.yaml")
    cfg.temperature = 1.0
    configs = {"vanilla": cfg}

    def sweep(seed):
        return scaling.sweep(model, TokensTask(), examples, configs, [4], batch_size=3, seed=seed)[0]["tokens"]

    plain = decode_examples(instantiate(scaling.with_budget(cfg, 4)), model, examples, 3, seed=5).tokens.tolist()
    assert sweep(5) == plain
    assert sweep(6) != plain


def test_scaling_refuses_a_sampler_without_a_budget_before_decoding_anything():
    """A sampler with no budget key (a user's own): the sweep must stop before the first sampler decodes (no model,
    no examples are touched here), not after minutes of decoding the ones listed before it."""
    configs = {"vanilla": OmegaConf.load(conf_dir() / "sampler" / "vanilla.yaml"),
               "mine": OmegaConf.create({"_target_": "my.Sampler", "passes": 3})}
    with pytest.raises(UserError, match="my.Sampler has no steps, max_turns or reveal_steps.*choose from: .*vanilla"):
        scaling.sweep(None, None, None, configs, [4, 8], batch_size=2)

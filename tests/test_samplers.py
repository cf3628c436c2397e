"""Samplers on scripted models whose probabilities are known, and on a real tiny denoiser."""

import pytest
import torch

from rm_cli.backbone import TransformerBackbone
from rm_cli.history import HistoryReference
from rm_cli.model import Denoiser
from rm_cli.samplers import SAMPLERS, get_sampler
from rm_cli.samplers.base import concat_results
from rm_cli.samplers.rm import RMSampler
from rm_cli.samplers.vanilla import VanillaSampler
from rm_cli.errors import UserError

M, V = 5, 6  # tokens 0..4, mask 5


class OracleModel:
    """Says MASK (p=0.9) for any visible token that is not gold, and gold for masked positions.

    `confidence` gives each position's probability for its gold token when masked, so the
    reveal order can be scripted. `calls` records the batch size of each forward pass.
    """

    mask_id = M

    def __init__(self, gold, confidence=None, always_wrong_at=None):
        self.gold, self.confidence, self.always_wrong_at, self.calls = gold, confidence, always_wrong_at, []

    def start(self, x0):
        return torch.arange(x0.shape[0])  # the "history state" carries the row index

    def advance(self, state, x):
        return state

    def logits(self, x, state=None, logits_from=0):
        self.calls.append(x.shape[0])
        gold = self.gold[state]
        probs = torch.full((*x.shape, V), 0.01)
        conf = 0.9 if self.confidence is None else self.confidence[state]
        target = gold.clone()
        if self.always_wrong_at is not None:  # this position is always revealed wrong
            target[:, self.always_wrong_at] = (gold[:, self.always_wrong_at] + 1) % M
        conf = torch.as_tensor(conf).expand(x.shape).unsqueeze(-1)
        probs.scatter_(-1, target.unsqueeze(-1), conf)
        visible_wrong = (x != M) & (x != gold)
        probs[..., M] = torch.where(visible_wrong, 0.95, 0.001)
        return (probs.log())[:, logits_from:]


def test_rm_fixes_wrong_tokens_and_stops_at_fixed_point():
    gold = torch.tensor([[0, 1, 2, 3], [4, 3, 2, 1]])
    x0 = torch.tensor([[0, 4, 2, 3], [4, 3, 2, 1]])  # row 0 has one wrong token, row 1 none
    model = OracleModel(gold)
    res = RMSampler(max_turns=10)(model, x0, torch.ones_like(x0, dtype=torch.bool), record_trajectory=True)
    assert torch.equal(res.tokens, gold)
    # row 0: turn 1 re-masks, turn 2 reveals, turn 3 sees no change -> 3 passes; row 1: 1 pass
    assert res.nfe.tolist() == [3, 1]
    assert model.calls == [2, 1, 1]  # finished rows are not forwarded again
    assert res.remasked[:, 0].tolist() == [1, 0, 0] and res.revealed[:, 0].tolist() == [0, 1, 0]
    assert res.kept[0].tolist() == [3, 4]
    assert res.trajectory.shape == (4, 2, 4)
    assert res.trajectory[1, 0].tolist() == [0, M, 2, 3]


def test_rm_never_touches_non_editable_positions():
    gold = torch.tensor([[0, 1, 2, 3]])
    x0 = torch.tensor([[1, M, 3, 4]])  # everything wrong or masked
    editable = torch.tensor([[False, True, False, True]])
    res = RMSampler(max_turns=10)(OracleModel(gold), x0, editable, record_trajectory=True)
    assert (res.trajectory[:, 0, ~editable[0]] == x0[0, ~editable[0]]).all()
    assert res.tokens[0].tolist() == [1, 1, 3, 3]


def test_remask_cap_limits_re_masks_per_position():
    gold = torch.tensor([[0, 1, 2]])
    x0 = torch.tensor([[0, 2, 2]])
    model = OracleModel(gold, always_wrong_at=1)  # position 1 is re-revealed wrong forever
    res = RMSampler(max_turns=50, remask_cap=3)(model, x0, torch.ones_like(x0, dtype=torch.bool))
    assert res.remask_total.item() == 3
    assert res.nfe.item() < 50  # once capped, the state reaches a fixed point
    loop = RMSampler(max_turns=20)(OracleModel(gold, always_wrong_at=1), x0, torch.ones_like(x0, dtype=torch.bool))
    assert loop.nfe.item() == 20 and loop.remask_total.item() == 10  # uncapped: loops to the budget


def test_reveal_per_turn_reveals_most_confident_first():
    gold = torch.tensor([[0, 1, 2, 3]])
    x0 = torch.full((1, 4), M)
    confidence = torch.tensor([[0.3, 0.9, 0.5, 0.7]])
    res = RMSampler(max_turns=10, reveal_per_turn=1)(OracleModel(gold, confidence), x0, torch.ones_like(x0, dtype=torch.bool),
                                                     record_trajectory=True)
    order = [int((res.trajectory[s + 1, 0] != res.trajectory[s, 0]).nonzero()[0]) for s in range(4)]
    assert order == [1, 3, 2, 0]
    assert torch.equal(res.tokens, gold)


def test_fit_budget_spreads_reveals_over_a_budget_below_the_mask_count():
    gold = torch.arange(8).remainder(M).unsqueeze(0)
    x0 = torch.full((1, 8), M)
    editable = torch.ones_like(x0, dtype=torch.bool)
    res = RMSampler(max_turns=3, reveal_per_turn=1, fit_budget=True)(OracleModel(gold), x0, editable, record_trajectory=True)
    assert res.revealed[:, 0].tolist()[:3] == [3, 3, 2] and res.nfe.item() == 3  # ceil(8 / 3) a turn, no end fill
    assert torch.equal(res.tokens, gold)
    fixed = RMSampler(max_turns=3, reveal_per_turn=1)(OracleModel(gold), x0, editable, record_trajectory=True)
    assert fixed.revealed[:, 0].tolist()[:3] == [1, 1, 1] and fixed.nfe.item() == 4  # 5 left to the end fill
    roomy = RMSampler(max_turns=20, reveal_per_turn=1, fit_budget=True)(OracleModel(gold), x0, editable, record_trajectory=True)
    assert roomy.revealed[:, 0].tolist()[:8] == [1] * 8  # enough turns: reveal_per_turn as set


def test_remask_threshold_blocks_low_mask_probability():
    gold = torch.tensor([[0, 1]])
    x0 = torch.tensor([[1, 1]])
    res = RMSampler(max_turns=5, remask_threshold=0.99)(OracleModel(gold), x0, torch.ones_like(x0, dtype=torch.bool))
    assert res.tokens.tolist() == [[1, 1]] and res.remask_total.item() == 0


@pytest.mark.parametrize("n_masked,steps,expected_nfe", [(8, 4, 4), (8, 16, 8), (3, 3, 3)])
def test_vanilla_reveals_on_schedule_and_never_revises(n_masked, steps, expected_nfe):
    gold = torch.arange(10).remainder(M).unsqueeze(0)
    x0 = gold.clone()
    x0[0, :n_masked] = M
    x0[0, 9] = (gold[0, 9] + 1) % M  # a wrong visible token vanilla must leave alone
    res = VanillaSampler(steps=steps)(OracleModel(gold), x0, torch.ones_like(x0, dtype=torch.bool), record_trajectory=True)
    assert res.nfe.item() == expected_nfe
    assert res.remask_total.item() == 0
    assert res.tokens[0, 9] == x0[0, 9]
    assert torch.equal(res.tokens[0, :9], gold[0, :9])
    per_turn = res.revealed[:, 0].tolist()
    assert sum(per_turn) == n_masked and max(per_turn) - min(per_turn) <= 1


def test_fill_at_end_reveals_what_the_budget_left_masked():
    gold = torch.tensor([[0, 1, 2, 3]])
    x0 = torch.full((1, 4), M)
    res = RMSampler(max_turns=2, reveal_per_turn=1)(OracleModel(gold), x0, torch.ones_like(x0, dtype=torch.bool))
    assert torch.equal(res.tokens, gold) and res.nfe.item() == 3
    kept_masked = RMSampler(max_turns=2, reveal_per_turn=1, fill_at_end=False)(OracleModel(gold), x0, torch.ones_like(x0, dtype=torch.bool))
    assert (kept_masked.tokens == M).sum() == 2


def test_history_state_in_decoding_matches_training_aggregate():
    """What the sampler feeds HR at turn t equals Denoiser.forward_trajectory's input for x(0..t)."""
    torch.manual_seed(0)
    backbone = TransformerBackbone(vocab_size=V, seq_len=8, d_model=16, n_layers=1, n_heads=2)
    model = Denoiser(backbone, M, HistoryReference(16, gamma=0.5, rotate=True)).eval()
    x0 = torch.randint(0, M, (3, 8))
    res = RMSampler(max_turns=4, fill_at_end=False)(model, x0, torch.ones_like(x0, dtype=torch.bool), record_trajectory=True)
    traj = res.trajectory.transpose(0, 1)  # [B, T, N]
    steps = traj.shape[1]
    state = model.start(traj[:, 0])
    for k in range(1, steps):
        state = model.advance(state, traj[:, k])
    with torch.no_grad():
        direct = model.logits(traj[:, -1], state)
        via_training = model.forward_trajectory(traj, torch.full((3,), steps - 1))
    torch.testing.assert_close(direct, via_training)


def test_registry_names_every_sampler_and_rejects_unknown():
    assert {"rm", "vanilla"} <= set(SAMPLERS)
    assert isinstance(get_sampler("rm", max_turns=3), RMSampler)
    with pytest.raises(UserError, match="unknown sampler 'nope'.*rm"):
        get_sampler("nope")


def test_concat_results_pads_turns_and_trajectories():
    gold = torch.tensor([[0, 1, 2, 3]])
    model = OracleModel(torch.cat([gold, gold]))
    ed = torch.ones(1, 4, dtype=torch.bool)
    a = RMSampler(max_turns=10)(model, torch.tensor([[0, 4, 2, 3]]), ed, record_trajectory=True)
    b = RMSampler(max_turns=10)(model, gold.clone(), ed, record_trajectory=True)
    joined = concat_results([a, b])
    assert joined.tokens.shape == (2, 4) and joined.remasked.shape[1] == 2
    assert joined.trajectory.shape == (a.trajectory.shape[0], 2, 4)
    assert (joined.trajectory[:, 1] == gold).all()


def test_stop_at_fixed_point_false_runs_every_turn():
    gold = torch.tensor([[0, 1, 2, 3]])
    res = RMSampler(max_turns=7, stop_at_fixed_point=False)(OracleModel(gold), gold.clone(), torch.ones(1, 4, dtype=torch.bool))
    assert res.nfe.item() == 7 and torch.equal(res.tokens, gold)


class CountingModel:
    """Every masked cell equally sure (p = 1.0 after a float32 softmax); the token it predicts is the number of
    cells already visible in the row mod 5, so the order in which tied cells are revealed shows in the output."""

    mask_id = M

    def start(self, x0):
        return None

    def advance(self, state, x):
        return state

    def logits(self, x, state=None, logits_from=0):
        token = ((x != M).sum(-1, keepdim=True) % 5).expand_as(x)
        out = torch.full((*x.shape, V), -50.0).scatter_(-1, token.unsqueeze(-1), 50.0)
        return out[:, logits_from:]


@pytest.mark.parametrize("name", ["vanilla", "topk_margin", "entropy"])
def test_tied_confidences_decode_the_same_alone_as_in_a_batch(name):
    """Ties go to the leftmost cell: a board must not decode differently because its batch-mate's first blank
    comes earlier (the unstable sort broke ties by the row's width, so Sudoku results depended on batching)."""
    from rm_cli.decode import decode_examples
    from rm_cli.tasks.base import Examples

    a = torch.full((40,), M)
    a[:5] = 1  # first blank at column 5
    b = torch.full((40,), M)  # blank from column 0
    examples = Examples(torch.stack([a, b]), torch.stack([a, b]) == M)
    sampler = get_sampler(name, steps=35)
    alone = decode_examples(sampler, CountingModel(), examples, batch_size=1).tokens
    together = decode_examples(sampler, CountingModel(), examples, batch_size=2).tokens
    assert torch.equal(alone, together)
    assert alone[0, 5:10].tolist() == [(5 + i) % 5 for i in range(5)]  # left to right: 0, 1, 2, 3, 4


@pytest.mark.parametrize("name", ["vanilla", "topk_margin", "entropy", "remdm"])
def test_a_step_count_below_one_names_the_option_the_config_has(name):
    with pytest.raises(UserError, match=r"^sampler.steps must be >= 1, got -3$"):  # was 'sampler.max_turns'
        get_sampler(name, steps=-3)


def test_a_device_this_torch_lacks_is_one_line():
    from rm_cli.decode import on_device

    for device, message in (("cuda", "no CUDA device is available"), ("mps", "no MPS"), ("tpu9", "not a device torch knows")):
        if (device == "cuda" and torch.cuda.is_available()) or (device == "mps" and torch.backends.mps.is_available()):
            continue
        with pytest.raises(UserError, match=message):
            on_device(torch.nn.Linear(2, 2), device)


def test_build_sampler_turns_constructor_refusals_into_one_line():
    """`+sampler.stpes=3` was Hydra's 4-line TypeError, exit 1, in eval, infer and train."""
    from omegaconf import OmegaConf

    from rm_cli.samplers import build_sampler

    assert isinstance(build_sampler(OmegaConf.create({"_target_": "rm_cli.samplers.vanilla.VanillaSampler", "steps": 3})),
                      VanillaSampler)
    with pytest.raises(UserError, match=r"^sampler.stpes is not an option of sampler 'vanilla'$"):
        build_sampler(OmegaConf.create({"_target_": "rm_cli.samplers.vanilla.VanillaSampler", "stpes": 3}))
    with pytest.raises(UserError, match=r"^sampler.steps must be >= 1, got 0$"):
        build_sampler(OmegaConf.create({"_target_": "rm_cli.samplers.vanilla.VanillaSampler", "steps": 0}))


def test_a_draw_at_the_top_of_the_unit_interval_never_picks_the_mask_token(monkeypatch):
    """u * total can round up to the total: the draw must still land on a real token, MASK last in the vocabulary."""
    import rm_cli.samplers.base as base

    probs = torch.tensor([[[0.2, 0.3, 0.0, 0.5]]])  # MASK is id 3, the last, with the largest probability
    monkeypatch.setattr(base.torch, "rand", lambda n, **kw: torch.ones(n, dtype=torch.float64))
    for temperature in (1.0, 0.5):
        p, tok = base.sampled_token(probs, mask_id=3, temperature=temperature, generators=[torch.Generator()])
        assert tok.item() == 1 and p.item() == pytest.approx(0.3)  # the last token of positive weight

"""Block (semi-autoregressive) decoding and temperature sampling in the rm and vanilla samplers."""

import re

import pytest
import torch

from conftest import NoHistoryModel

from rm_cli.errors import UserError
from rm_cli.samplers import get_sampler
from rm_cli.samplers.base import samplers_with
from rm_cli.samplers.rm import RMSampler
from rm_cli.samplers.vanilla import VanillaSampler

M, V = 5, 6  # tokens 0..4, mask 5


class ConfidentModel:
    """Gold at every masked position, more confident further right (so an unconstrained sampler
    would reveal right to left); MASK for a visible wrong token. Optionally a real random model."""

    mask_id = M

    def __init__(self, gold, wrong_once_at=None):
        self.gold, self.wrong_once_at, self.seen = gold, wrong_once_at, set()

    def start(self, x0):
        return torch.arange(x0.shape[0])

    def advance(self, state, x):
        return state

    def logits(self, x, state=None, logits_from=0):
        gold = self.gold[state]
        n = x.shape[1]
        conf = torch.linspace(0.5, 0.9, n).expand(x.shape)
        target = gold.clone()
        if self.wrong_once_at is not None and self.wrong_once_at not in self.seen:  # first reveal there is wrong
            target[:, self.wrong_once_at] = (gold[:, self.wrong_once_at] + 1) % M
        probs = torch.full((*x.shape, V), 0.01)
        probs.scatter_(-1, target.unsqueeze(-1), conf.unsqueeze(-1))
        wrong = (x != M) & (x != gold)
        if self.wrong_once_at is not None and wrong[:, self.wrong_once_at].any():
            self.seen.add(self.wrong_once_at)
        probs[..., M] = torch.where(wrong, 0.99, 0.001)
        return (probs.log())[:, logits_from:]


def reveal_order(res, row=0):
    out = []
    for s in range(res.trajectory.shape[0] - 1):
        changed = (res.trajectory[s + 1, row] != M) & (res.trajectory[s, row] == M)
        out.append(changed.nonzero().flatten().tolist())
    return out


def test_rm_reveals_block_by_block_and_returns_to_a_remasked_earlier_block():
    gold = torch.tensor([[0, 1, 2, 3, 4, 0]])
    x0 = torch.tensor([[4, M, M, M, M, M]])
    editable = torch.tensor([[False, True, True, True, True, True]])  # 5 editable: blocks {1,2} {3,4} {5}
    free = RMSampler(max_turns=20, reveal_per_turn=1)(ConfidentModel(gold), x0, editable, record_trajectory=True)
    assert reveal_order(free)[:2] == [[5], [4]]  # without blocks: most confident (rightmost) first
    res = RMSampler(max_turns=20, reveal_per_turn=1, block_size=2)(ConfidentModel(gold), x0, editable, record_trajectory=True)
    assert [o for o in reveal_order(res) if o] == [[2], [1], [4], [3], [5]]
    assert res.tokens[0, 1:].tolist() == gold[0, 1:].tolist() and res.tokens[0, 0] == 4
    # position 1 is first revealed wrong: it is re-masked in a later block's turn and block 1 becomes current again
    back = RMSampler(max_turns=30, reveal_per_turn=1, block_size=2)(ConfidentModel(gold, wrong_once_at=1), x0, editable,
                                                                     record_trajectory=True)
    assert torch.equal(back.tokens[0, 1:], gold[0, 1:]) and back.remask_total.item() == 1
    order = [o for o in reveal_order(back) if o]
    # turn 3 re-masks 1 while revealing in block 2; then block 1 is current again and 1 is revealed before 3
    assert order[:4] == [[2], [1], [4], [1]] and back.remasked[2, 0] == 1


@pytest.mark.parametrize("block_size,steps,per_turn", [(None, 3, [2, 2, 2]), (2, 6, [1, 1, 1, 1, 1, 1]), (3, 4, [2, 1, 2, 1]),
                                                      (2, 4, [1, 1, 2, 2])])  # 4 turns, 3 blocks: the first gets 2
def test_vanilla_blocks_split_the_steps_and_reveal_only_inside_the_current_block(block_size, steps, per_turn):
    gold = torch.tensor([[0, 1, 2, 3, 4, 0]])
    x0 = torch.full((1, 6), M)
    res = VanillaSampler(steps=steps, block_size=block_size)(ConfidentModel(gold), x0, torch.ones_like(x0, dtype=torch.bool),
                                                             record_trajectory=True)
    assert res.revealed[:, 0].tolist() == per_turn and torch.equal(res.tokens, gold)
    if block_size:
        first_turns = reveal_order(res)
        seen = []
        for turn in first_turns:
            assert all(p // block_size == min(turn) // block_size for p in turn)  # one block per turn
            seen += turn
        assert [p // block_size for p in seen] == sorted(p // block_size for p in seen)  # blocks in order


def test_rm_fit_budget_spends_every_turn_when_the_blocks_do_not_divide_the_budget():
    gold = torch.tensor([[0, 1, 2, 3, 4, 0]])
    x0 = torch.full((1, 6), M)
    res = RMSampler(max_turns=4, reveal_per_turn=1, fit_budget=True, block_size=2)(
        ConfidentModel(gold), x0, torch.ones_like(x0, dtype=torch.bool))
    assert res.revealed[:, 0].tolist() == [1, 1, 2, 2] and res.nfe.item() == 4 and torch.equal(res.tokens, gold)


def test_block_size_and_temperature_are_rejected_where_a_sampler_ignores_them():
    for name in ("topk_margin", "entropy"):
        with pytest.raises(UserError, match=f"only {re.escape(samplers_with('reveals_by_block'))} decode by block"):
            get_sampler(name, steps=4, block_size=2)
        with pytest.raises(UserError, match=f"sampler '{name}' decodes at temperature 0 only"):
            get_sampler(name, steps=4, temperature=1.0)  # it said "must be >= 0 ..., got 1.0"
    with pytest.raises(UserError, match="block_size must be null or >= 1"):
        RMSampler(block_size=0)


@pytest.mark.parametrize("options,message", [
    # each decoded without error: nothing revealed until the final fill, or never a re-mask
    ({"reveal_per_turn": 0}, "sampler.reveal_per_turn must be null"), ({"reveal_per_turn": 1.5}, "reveal_per_turn"),
    ({"remask_threshold": 2}, r"sampler.remask_threshold must be in \[0, 1\)"), ({"remask_threshold": -0.1}, "remask_threshold"),
    ({"remask_cap": -1}, "sampler.remask_cap must be null"),
])
def test_rm_options_that_would_switch_its_rule_off_are_refused(options, message):
    with pytest.raises(UserError, match=message):
        RMSampler(max_turns=4, **options)
    RMSampler(max_turns=4, reveal_per_turn=1, remask_threshold=0.9, remask_cap=0)  # the edges that mean something


class RandomModel(NoHistoryModel):
    """A fixed random function of each row alone (no cross-row computation), so any batch-size
    dependence of the result could only come from the sampler's random draws."""

    mask_id = M

    def __init__(self):
        self.table = torch.randn(V, 7, V, generator=torch.Generator().manual_seed(0))

    def logits(self, x, state=None, logits_from=0):
        return (self.table[x, torch.arange(x.shape[1])])[:, logits_from:]


@pytest.mark.parametrize("sampler", [RMSampler(max_turns=12, reveal_per_turn=1, remask_cap=2, temperature=1.0),
                                     VanillaSampler(steps=4, temperature=0.7, block_size=3)])
def test_temperature_draws_are_per_example_so_results_do_not_depend_on_batch_size(sampler):
    from rm_cli.decode import decode_examples
    from rm_cli.tasks.base import Examples

    n = 9
    x0 = torch.full((n, 7), M)
    editable = torch.ones_like(x0, dtype=torch.bool)
    for i in range(n):  # rows differ in their fixed tokens, and their editable parts start at columns 1 to 3
        fixed = 1 + i % 3  # (Sudoku's blanks do: a batch's window starts at its rows' first blank)
        x0[i, :fixed] = (torch.arange(fixed) + i) % M
        editable[i, :fixed] = False
    examples = Examples(x0, editable)
    whole = decode_examples(sampler, RandomModel(), examples, batch_size=n, seed=5).tokens
    for bs in (1, 4):
        assert torch.equal(decode_examples(sampler, RandomModel(), examples, batch_size=bs, seed=5).tokens, whole)
    assert not torch.equal(decode_examples(sampler, RandomModel(), examples, batch_size=n, seed=6).tokens, whole)


@pytest.mark.parametrize("sampler,history", [("vanilla_text", "off"), ("rm_text", "her")])
def test_decoding_skips_the_prompts_logits_and_decodes_the_same(sampler, history, monkeypatch):
    """The head runs on the answer columns only, and the tokens are those of a decode that scores
    every column (first_editable_column forced to 0)."""
    import rm_cli.samplers.base as base
    from benchmarks.common import train_config
    from rm_cli.lightning_module import RMLightningModule

    torch.manual_seed(0)
    module = RMLightningModule(train_config("task=text", "task.train_size=32", "task.val_size=6", "task.max_ops=1",
                                            "backbone=tiny", "backbone.n_layers=1", "backbone.d_model=32",
                                            "backbone.n_heads=2", f"sampler={sampler}", f"history={history}")).eval()
    ex = module.task.val_examples()
    head_rows = []
    hook = module.model.backbone.head.register_forward_hook(lambda m, args, out: head_rows.append(args[0].shape[1]))
    answer_only = module.sampler(module.model, ex.inputs, ex.editable)
    hook.remove()
    assert set(head_rows) == {module.task.seq_len - module.task.prompt_len}
    monkeypatch.setattr(base, "first_editable_column", lambda editable: 0)
    every_column = module.sampler(module.model, ex.inputs, ex.editable)
    assert torch.equal(answer_only.tokens, every_column.tokens)
    assert torch.equal(answer_only.nfe, every_column.nfe)
    assert torch.equal(answer_only.remasked, every_column.remasked)

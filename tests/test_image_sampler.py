"""rm_edit, the two-phase image-editing decoder, against a scripted model: what it re-masks, when
phase 1 ends, the cosine reveal schedule, and per-row bookkeeping in a batch."""

import math

import pytest
import torch

from conftest import NoHistoryModel

from rm_cli.errors import UserError
from rm_cli.samplers.rm_edit import RMEditSampler

V, MASK = 6, 5  # real tokens 0..4, MASK = 5


class ScriptedModel(NoHistoryModel):
    """p(MASK) for a visible token comes from `mask_prob(x)` [b, N]; a masked position's best token
    is `answer` with confidence that decreases with the position (so reveal order is known)."""

    mask_id = MASK

    def __init__(self, mask_prob, answer: int = 3):
        self.mask_prob, self.answer, self.calls = mask_prob, answer, 0

    def logits(self, x, state=None, logits_from=0):
        self.calls += 1
        b, n = x.shape
        probs = torch.zeros(b, n, V)
        pm = self.mask_prob(x)
        rest = 1.0 - pm
        conf = 0.9 - 0.5 * torch.arange(n).float() / n  # earlier positions more confident
        probs[..., self.answer] = rest * conf
        probs[..., (self.answer + 1) % MASK] = rest * (1 - conf)
        probs[..., MASK] = pm
        return (probs.clamp(min=1e-9).log())[:, logits_from:]


def cosine_reveals(n0: int, steps: int) -> list[int]:
    kept = [math.floor(n0 * math.cos(math.pi / 2 * s / steps) + 1e-9) for s in range(steps + 1)]
    return [kept[s] - kept[s + 1] for s in range(steps)]


def test_remasks_only_above_threshold_and_above_current_then_reveals_on_the_cosine_schedule():
    n = 24
    x0 = torch.zeros(1, n, dtype=torch.long)  # source tokens: all 0
    editable = torch.ones(1, n, dtype=torch.bool)
    editable[0, :4] = False  # context: never changes

    def mask_prob(x):
        p = torch.full(x.shape, 0.02)
        p[:, :16] = 0.95  # 16 positions (12 of them editable) clearly wrong
        p[:, 20] = 0.6  # more likely wrong than right, but under the 0.9 threshold: kept
        return p

    sampler = RMEditSampler(remask_steps=8, reveal_steps=8, remask_threshold=0.9)
    out = sampler(ScriptedModel(mask_prob), x0, editable, record_trajectory=True)
    remasked_any = ((out.trajectory[:-1] == 0) & (out.trajectory[1:] == MASK)).any(0)[0]
    assert remasked_any.nonzero().flatten().tolist() == list(range(4, 16))
    assert out.remasked[:, 0].tolist()[:2] == [12, 0]  # phase 1: one turn masks, the next finds nothing new
    assert out.revealed[1:, 0].tolist()[:8] == cosine_reveals(12, 8)
    assert (out.tokens[0, 4:16] == 3).all() and (out.tokens[0, 16:] == 0).all() and (out.tokens[0, :4] == 0).all()
    assert int(out.nfe[0]) == 1 + 8  # the turn that ends phase 1 already reveals

    lower = RMEditSampler(remask_threshold=0.5)(ScriptedModel(mask_prob), x0, editable)
    assert int(lower.remask_total[0]) == 13  # position 20 (p(MASK) 0.6 > p(token) 0.4) now re-masked too


def test_phase_one_keeps_masking_while_new_positions_appear_and_stops_at_remask_steps():
    n = 12
    x0 = torch.zeros(1, n, dtype=torch.long)
    editable = torch.ones(1, n, dtype=torch.bool)

    def spreading(x):  # a masked position makes its right neighbour look wrong: one new mask per turn
        p = torch.full(x.shape, 0.01)
        p[:, 0] = 0.99
        masked = x == MASK
        p[:, 1:][masked[:, :-1]] = 0.99
        return p

    out = RMEditSampler(remask_steps=3, reveal_steps=2)(ScriptedModel(spreading), x0, editable)
    assert out.remasked[:, 0].tolist()[:4] == [1, 1, 1, 0]  # capped at 3 turns of re-masking
    assert int(out.remask_total[0]) == 3 and not (out.tokens == MASK).any()
    assert int(out.nfe[0]) == 3 + 2


def test_all_masked_canvas_decodes_as_maskgit_and_rows_stop_independently():
    n = 10
    x0 = torch.stack([torch.full((n,), MASK), torch.zeros(n, dtype=torch.long)])  # row 1: nothing to edit
    editable = torch.ones(2, n, dtype=torch.bool)
    model = ScriptedModel(lambda x: torch.full(x.shape, 0.01))
    out = RMEditSampler(reveal_steps=4)(model, x0, editable, record_trajectory=True)
    assert out.remask_total.tolist() == [0, 0]
    assert out.revealed[:, 0].tolist()[:4] == cosine_reveals(n, 4)
    first = out.trajectory[1, 0]
    assert (first[: cosine_reveals(n, 4)[0]] != MASK).all()  # the most confident (leftmost) go first
    assert out.nfe.tolist() == [4, 1] and out.tokens[1].tolist() == [0] * n
    assert not (out.tokens[0] == MASK).any()


def test_no_remasking_once_revealing_started():
    n = 8
    x0 = torch.zeros(1, n, dtype=torch.long)
    editable = torch.ones(1, n, dtype=torch.bool)

    def after_first_reveal_everything_looks_wrong(x):
        p = torch.full(x.shape, 0.01)
        p[:, :4] = 0.99
        if (x == 3).any():  # a revealed answer: the model now wants to re-mask the rest (it must not)
            p[:] = 0.99
        return p

    out = RMEditSampler(remask_steps=8, reveal_steps=4)(ScriptedModel(after_first_reveal_everything_looks_wrong), x0, editable)
    assert int(out.remask_total[0]) == 4 and (out.tokens[0, 4:] == 0).all()


@pytest.mark.parametrize("kwargs", [{"reveal_steps": 0}, {"remask_threshold": 1.0}, {"remask_steps": -1}])
def test_bad_settings_are_one_line_errors(kwargs):
    with pytest.raises(UserError, match="sampler"):
        RMEditSampler(**kwargs)

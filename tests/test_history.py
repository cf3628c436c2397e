import math

import pytest
import torch

from rm_cli.backbone import TransformerBackbone
from rm_cli.history import HistoryReference, rope_frequencies, rotate
from rm_cli.model import Denoiser


def explicit_sum(embeds: list[torch.Tensor], gamma: float, freqs) -> torch.Tensor:
    """SPEC §3: a(t) = sum_k gamma^(t-k) R_(k-t) E(x(k))."""
    t = len(embeds) - 1
    return sum(gamma ** (t - k) * rotate(e, k - t, freqs) for k, e in enumerate(embeds))


@pytest.mark.parametrize("gamma,rot", [(1.0, False), (0.5, False), (0.7, True), (1.0, True)])
def test_recurrence_equals_explicit_sum(gamma, rot):
    torch.manual_seed(0)
    d = 16
    hr = HistoryReference(d, gamma=gamma, rotate=rot)
    freqs = rope_frequencies(d) if rot else torch.zeros(d // 2, dtype=torch.float64)
    embeds = [torch.randn(3, 5, d, dtype=torch.float64) for _ in range(6)]
    a = None
    for e in embeds:
        a = hr.update(a, e)
    torch.testing.assert_close(a, explicit_sum(embeds, gamma, freqs), rtol=1e-5, atol=1e-5)


def test_rotation_preserves_norm_and_composes():
    d = 32
    freqs = rope_frequencies(d)
    x = torch.randn(10, d, dtype=torch.float64)
    for lag in (-3, -1, 2, 7.5):
        torch.testing.assert_close(rotate(x, lag, freqs).norm(dim=-1), x.norm(dim=-1))
    torch.testing.assert_close(rotate(rotate(x, -1, freqs), -2, freqs), rotate(x, -3, freqs))
    torch.testing.assert_close(rotate(x, 0, freqs), x)
    assert not torch.allclose(rotate(x, -1, freqs), x)


def test_step_back_is_gamma_times_rotation_by_minus_one():
    d = 8
    hr = HistoryReference(d, gamma=0.5, rotate=True)
    x = torch.randn(4, d)
    torch.testing.assert_close(hr.step_back(x), 0.5 * rotate(x, -1, rope_frequencies(d)).float())
    assert math.isclose(hr.step_back(x).norm().item(), 0.5 * x.norm().item(), rel_tol=1e-5)


def test_history_adds_no_parameters():
    def make(history):
        torch.manual_seed(0)
        backbone = TransformerBackbone(vocab_size=10, seq_len=81, d_model=32, n_layers=1, n_heads=2)
        return Denoiser(backbone, mask_id=9, history=history)

    plain, with_her = make(None), make(HistoryReference(32, gamma=0.5, rotate=True))
    assert sum(p.numel() for p in with_her.parameters()) == sum(p.numel() for p in plain.parameters())
    assert with_her.state_dict().keys() == plain.state_dict().keys()


def test_normalize_is_weightless_rmsnorm_at_the_current_embedding_scale():
    hr = HistoryReference(16)
    a = torch.randn(2, 3, 16) * 7
    current = torch.randn(2, 3, 16) * 0.05  # e.g. a pretrained BERT's embedding scale
    out = hr.normalize(a, current)
    torch.testing.assert_close(out.pow(2).mean(-1), current.pow(2).mean(-1), rtol=1e-3, atol=1e-6)
    torch.testing.assert_close(out / out.norm(dim=-1, keepdim=True), a / a.norm(dim=-1, keepdim=True))
    assert list(hr.parameters()) == []


def test_rescale_false_is_the_papers_weightless_rmsnorm():
    hr = HistoryReference(16, gamma=0.5, rotate=True, rescale=False)
    a, current = torch.randn(2, 3, 16) * 7, torch.randn(2, 3, 16) * 0.05
    out = hr.normalize(a, current)
    torch.testing.assert_close(out.pow(2).mean(-1), torch.ones(2, 3), rtol=1e-3, atol=1e-5)
    torch.testing.assert_close(out / out.norm(dim=-1, keepdim=True), a / a.norm(dim=-1, keepdim=True))


def test_history_rescale_comes_from_the_config_and_old_configs_keep_the_rescaled_input():
    from omegaconf import OmegaConf

    from rm_cli.history import make_history

    base = {"enabled": True, "kind": "recurrence", "gamma": 0.5, "rotate": True, "rope_base": 10000.0}
    assert make_history(OmegaConf.create(base), 16).rescale  # a checkpoint from before the option
    assert not make_history(OmegaConf.create({**base, "rescale": False}), 16).rescale


def test_without_a_past_the_input_is_the_plain_embedding():
    """At t = 0 HR feeds exactly E(x(0)), so a history model starts where a plain one does."""
    hr = HistoryReference(16, gamma=0.5, rotate=True)
    e = torch.randn(2, 5, 16)
    torch.testing.assert_close(hr.normalize(hr.update(None, e), e), e, rtol=1e-4, atol=1e-5)


def test_training_aggregate_matches_sampler_recurrence():
    """The history fed at training time for x(t) is exactly what decoding builds turn by turn."""
    torch.manual_seed(0)
    embed = torch.nn.Embedding(10, 16)
    hr = HistoryReference(16, gamma=0.6, rotate=True)
    states = torch.randint(0, 10, (4, 6, 7))
    t = torch.tensor([0, 2, 5, 3])
    batched, current = hr.aggregate(embed, states, t)
    for b in range(4):
        a = None
        for k in range(int(t[b]) + 1):
            a = hr.update(a, embed(states[b : b + 1, k]))
        torch.testing.assert_close(batched[b : b + 1], a)
        torch.testing.assert_close(current[b : b + 1], embed(states[b : b + 1, int(t[b])]))


def test_gamma_out_of_range_is_rejected():
    with pytest.raises(ValueError, match="gamma"):
        HistoryReference(8, gamma=0.0)


# ---- the released code's variant (history=code) ------------------------------------------------

def test_windowed_history_decoding_state_matches_training_state():
    from rm_cli.history import WindowedHistory

    torch.manual_seed(0)
    embed = torch.nn.Embedding(10, 16)
    wh = WindowedHistory(16, window=3, decay=0.5)
    states = torch.randint(0, 10, (2, 6, 5))
    for t in range(6):
        state = wh.start(embed(states[:, 0]))
        for k in range(1, t + 1):
            state = wh.advance(state, embed(states[:, k]))
        window, current = wh.trajectory_state(embed, states, torch.full((2,), t))
        torch.testing.assert_close(window, state)
        torch.testing.assert_close(current, embed(states[:, t]))
        torch.testing.assert_close(wh.inputs(window, current), wh.inputs(state, embed(states[:, t])))


def test_windowed_history_adds_a_normalised_decayed_sum_to_the_current_embedding():
    from rm_cli.history import WindowedHistory

    wh = WindowedHistory(8, window=2, decay=1.0)
    e = [torch.randn(1, 3, 8) for _ in range(4)]
    state = wh.start(e[0])
    for x in e[1:]:
        state = wh.advance(state, x)
    expected = e[3] + wh.norm(e[2] + torch.exp(torch.tensor(-1.0)) * e[1])  # lags 1 and 2 only
    torch.testing.assert_close(wh.inputs(state, e[3]), expected)
    assert sum(p.numel() for p in wh.parameters()) == 2 * 8  # the LayerNorm's affine, nothing else

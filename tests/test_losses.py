import itertools

import torch
import torch.nn.functional as F

from rm_cli.corruption import UniformCorruption
from rm_cli.mdm_loss import mask_at_random_ratio, mdm_loss
from rm_cli.rm_loss import RMLoss
from rm_cli.trajectory import KIND_KEEP, KIND_MASK, KIND_REVEAL


def _case(generator):
    logits = torch.randn(4, 10, 6, generator=generator)
    labels = torch.randint(0, 6, (4, 10), generator=generator)
    kind = torch.randint(0, 3, (4, 10), generator=generator)
    editable = torch.rand(4, 10, generator=generator) < 0.8
    return logits, labels, kind, editable


def test_unit_weights_give_plain_cross_entropy_over_editable_positions(generator):
    logits, labels, kind, editable = _case(generator)
    parts = RMLoss()(logits, labels, kind, editable)
    expected = F.cross_entropy(logits[editable], labels[editable])
    torch.testing.assert_close(parts["loss"], expected)


def test_parts_are_means_over_their_positions_and_weights_apply(generator):
    logits, labels, kind, editable = _case(generator)
    ce = F.cross_entropy(logits.flatten(0, 1), labels.flatten(), reduction="none").view(4, 10)
    parts = RMLoss(reveal_weight=2.0, mask_weight=0.5, keep_weight=0.0)(logits, labels, kind, editable)
    for k, name in ((KIND_REVEAL, "reveal"), (KIND_MASK, "mask"), (KIND_KEEP, "keep")):
        sel = editable & (kind == k)
        torch.testing.assert_close(parts[name], ce[sel].mean())
        assert parts[f"n_{name}"] == sel.sum()
    w = torch.where(kind == KIND_REVEAL, 2.0, torch.where(kind == KIND_MASK, 0.5, 0.0))
    torch.testing.assert_close(parts["loss"], (ce * w)[editable].sum() / editable.sum())


def test_non_editable_positions_do_not_move_the_loss(generator):
    logits, labels, kind, editable = _case(generator)
    base = RMLoss()(logits, labels, kind, editable)["loss"]
    shuffled = logits.clone()
    shuffled[~editable] = torch.randn_like(shuffled[~editable]) * 100
    torch.testing.assert_close(RMLoss()(shuffled, labels, kind, editable)["loss"], base)


def test_uniform_corruption_never_gold_or_mask_and_covers_the_rest(generator):
    gold = torch.randint(0, 9, (20000,), generator=generator)
    wrong = UniformCorruption(low=0, high=None)(gold, vocab_size=10, mask_id=9, generator=generator)
    assert not (wrong == gold).any() and not (wrong == 9).any()
    for g in range(9):
        seen = set(wrong[gold == g].tolist())
        assert seen == set(range(9)) - {g}


def test_uniform_corruption_with_mask_inside_the_range(generator):
    gold = torch.randint(1, 6, (5000,), generator=generator)  # mask id 0 sits below the real tokens
    wrong = UniformCorruption()(gold, vocab_size=6, mask_id=0, generator=generator)
    assert not (wrong == gold).any() and not (wrong == 0).any()
    assert set(wrong.tolist()) == {1, 2, 3, 4, 5}


def test_mdm_masks_only_editable_and_weights_by_inverse_ratio(generator):
    gold = torch.randint(0, 9, (64, 20), generator=generator)
    editable = torch.zeros_like(gold, dtype=torch.bool)
    editable[:, 5:] = True
    noisy, masked, t = mask_at_random_ratio(gold, editable, 9, generator=generator)
    assert not masked[:, :5].any() and torch.equal(noisy[masked], torch.full_like(noisy[masked], 9))
    assert torch.equal(noisy[~masked], gold[~masked])
    logits = torch.randn(64, 20, 10, generator=generator)
    ce = F.cross_entropy(logits.flatten(0, 1), gold.flatten(), reduction="none").view(64, 20)
    expected = (ce * masked / t[:, None]).sum() / editable.sum()
    torch.testing.assert_close(mdm_loss(logits, gold, masked, t, editable), expected)


def test_slices_of_a_global_batch_average_to_its_loss_when_examples_have_different_editable_counts(generator):
    """Sudoku solving's blanks vary per board: the micro-batches DDP and accumulation average must give the
    global batch's per-position mean, which each slice's own mean does not (4 boards with 10, 10, 60, 60 blanks)."""
    from rm_cli.global_batch import GlobalBatchStream

    B, N, V = 4, 81, 10
    editable = torch.zeros(B, N, dtype=torch.bool)
    for row, blanks in enumerate((10, 10, 60, 60)):
        editable[row, :blanks] = True
    gold = torch.randint(0, V, (B, N), generator=generator)
    logits = torch.randn(B, N, V, generator=generator)
    kind = torch.randint(0, 3, (B, N), generator=generator)
    t = torch.rand(B, generator=generator) * 0.9 + 0.1
    masked = editable & (torch.rand(B, N, generator=generator) < 0.5)
    whole_mdm = mdm_loss(logits, gold, masked, t, editable)
    whole_rm = RMLoss()(logits, gold, kind, editable)["loss"]
    batch = {"row": torch.arange(B), "editable": editable}
    stream = GlobalBatchStream([batch], lambda b, g: b, batch_size=B, accumulate=2, world_size=1, steps=1, seed=0)
    mdm_parts, rm_parts, own = [], [], []
    for micro in itertools.islice(stream, 2):  # the stream is endless; Lightning stops at its len()
        r = micro["row"]
        mdm_parts.append(mdm_loss(logits[r], gold[r], masked[r], t[r], editable[r], micro["loss_tokens"]))
        rm_parts.append(RMLoss()(logits[r], gold[r], kind[r], editable[r], micro["loss_tokens"])["loss"])
        own.append(mdm_loss(logits[r], gold[r], masked[r], t[r], editable[r]))
    assert torch.allclose(torch.stack(mdm_parts).mean(), whole_mdm) and torch.allclose(torch.stack(rm_parts).mean(), whole_rm)
    assert not torch.allclose(torch.stack(own).mean(), whole_mdm)  # what each slice's own count gave

"""task=image data: the IDX reader, the seeded pair generator (disjoint pools, verb semantics,
regeneration of the shipped test file), instructions in words, and the pair-file checks."""

import json

import numpy as np
import pytest
import torch

from conftest import ROOT
from rm_cli.errors import UserError
from rm_cli.tasks.image import fashion, pairs
from rm_cli.tasks.image import instructions as ins
from rm_cli.tasks.image.scenes import EMPTY, compose, is_empty, join_quadrants, quadrant_box, split_quadrants

MINI = str(ROOT / "tests" / "data" / "fashion_mnist_mini")
T10K_LABELS = str(ROOT / "tests" / "data" / "fashion_mnist_t10k_labels")
SHIPPED = ROOT / "rm_cli" / "data" / "image_edit_test.jsonl"


def test_idx_reader_reads_the_fixture_and_rejects_bad_files(tmp_path):
    x, y = fashion.images(MINI, "train"), fashion.labels(MINI, "train")
    assert x.shape == (200, 28, 28) and x.dtype == np.uint8 and y.shape == (200,)
    assert set(y.tolist()) == set(range(10)) and x.max() > 200  # real items: bright on black
    with pytest.raises(UserError, match="apt-get install dataset-fashion-mnist"):
        fashion.labels(str(tmp_path), "t10k")
    (tmp_path / "t10k-labels-idx1-ubyte").write_bytes(b"\x00\x00\x08\x03" + b"\x00" * 12)
    with pytest.raises(UserError, match="not an IDX file"):
        fashion.labels(str(tmp_path), "t10k")


def test_pools_are_disjoint_and_every_class_is_in_each():
    tr_split, tr = fashion.pool(MINI, "train")
    va_split, va = fashion.pool(MINI, "val")
    te_split, te = fashion.pool(MINI, "test")
    assert tr_split == va_split == "train" and te_split == "t10k"
    assert not set(tr) & set(va) and len(tr) + len(va) == 200
    for split, idx in ((tr_split, tr), (va_split, va), (te_split, te)):
        assert set(fashion.labels(MINI, split)[idx].tolist()) == set(range(10))


def test_generated_pairs_follow_each_verb_and_differ_only_in_the_named_quadrant():
    split, pool = fashion.pool(MINI, "val")
    labels = fashion.labels(MINI, split)
    p = pairs.generate(labels, pool, 60, seed=3, empty_rate=0.3)
    assert p.verb.tolist() == [i % 3 for i in range(60)]
    for i in range(60):
        q, src, tgt, c = int(p.quadrant[i]), p.source[i].tolist(), p.target[i].tolist(), int(p.cls[i])
        assert all(src[j] == tgt[j] for j in range(4) if j != q)
        assert all(r == EMPTY or r in set(pool.tolist()) for r in src + tgt)  # only this pool's items
        if p.verb[i] == ins.ADD:
            assert src[q] == EMPTY and labels[tgt[q]] == c
        elif p.verb[i] == ins.REMOVE:
            assert src[q] != EMPTY and tgt[q] == EMPTY and c == -1
        else:
            assert labels[tgt[q]] == c != labels[src[q]]
    again = pairs.generate(labels, pool, 60, seed=3, empty_rate=0.3)
    other = pairs.generate(labels, pool, 60, seed=4, empty_rate=0.3)
    assert torch.equal(again.source, p.source) and torch.equal(again.target, p.target)
    assert not torch.equal(other.source, p.source)


def test_shipped_test_file_regenerates_from_the_real_labels_alone():
    labels = fashion.labels(T10K_LABELS, "t10k")
    p = pairs.generate(labels, np.arange(len(labels)), 600, seed=1234, empty_rate=0.25)
    text = "".join(json.dumps(r) + "\n" for r in pairs.records(p, "t10k", prefix="test-"))
    assert text == SHIPPED.read_text()
    rows, lines = pairs.read_jsonl(SHIPPED)
    assert len(rows) == 600 and lines[-1] == 600 and {r["split"] for r in rows} == {"t10k"}


def test_scenes_compose_and_split_back_into_quadrants():
    items = fashion.images(MINI, "t10k")
    scene = compose(items, [3, EMPTY, 7, 9])
    assert np.array_equal(scene[quadrant_box(0)], items[3]) and np.array_equal(scene[quadrant_box(3)], items[9])
    assert is_empty(scene[quadrant_box(1)]) and not is_empty(scene[quadrant_box(2)])
    quads = split_quadrants(torch.from_numpy(scene).unsqueeze(0))
    assert torch.equal(quads[0, 2], torch.from_numpy(items[7]))
    assert torch.equal(join_quadrants(quads)[0], torch.from_numpy(scene))


@pytest.mark.parametrize("text,expected", [
    ("replace the top-left item with a sneaker", (ins.REPLACE, 0, 7)),
    ("Replace the TOP LEFT item with an Ankle Boot.", (ins.REPLACE, 0, 9)),
    ("remove the bottom-right item", (ins.REMOVE, 3, None)),
    ("remove the bag in the upper right corner", (ins.REMOVE, 1, None)),
    ("add a bag in the top-right", (ins.ADD, 1, 8)),
    ("add trousers in the bottom left quadrant", (ins.ADD, 2, 1)),
])
def test_instructions_in_words_parse_and_render_back(text, expected):
    got = ins.parse(text)
    assert (got.verb, got.quadrant, got.cls) == expected
    assert ins.parse(got.text()) == got


@pytest.mark.parametrize("text,fragment", [
    ("paint the top-left item with a sneaker", "unknown word 'paint'"),
    ("replace the middle item with a sneaker", "unknown word 'middle'"),
    ("replace the top-left item with a hat", "unknown word 'hat'"),
    ("add a bag", "names 0 positions"),
    ("add in the top-right", "add needs exactly one class"),
    ("", "empty instruction"),
])
def test_bad_instructions_name_the_problem_and_the_accepted_words(text, fragment):
    with pytest.raises(UserError) as e:
        ins.parse(text)
    message = str(e.value)
    assert fragment in message
    if "unknown word" in fragment:  # the error lists every accepted verb, position and class
        assert "verbs: replace, remove, add; positions: top-left, top-right, bottom-left, bottom-right" in message
        assert "classes: t-shirt, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle boot" in message


def test_pair_file_checks_name_the_line(tmp_path):
    good = json.loads(SHIPPED.read_text().splitlines()[1])  # a remove
    bad = dict(good, target=[EMPTY] * 4)  # also empties another quadrant
    f = tmp_path / "pairs.jsonl"
    f.write_text(json.dumps(good) + "\n\n" + json.dumps(bad) + "\n")
    with pytest.raises(UserError, match=r"pairs.jsonl:3: source and target differ outside"):
        pairs.read_jsonl(f)
    f.write_text(json.dumps(dict(good, instruction="add a bag in the " + good["position"])) + "\n")
    with pytest.raises(UserError, match=r":1: add does not fit"):
        pairs.read_jsonl(f)
    f.write_text("{not json\n")
    with pytest.raises(UserError, match=r":1: not valid JSON"):
        pairs.read_jsonl(f)


@pytest.mark.parametrize("value", ["no", "false", 1])
def test_instructions_option_takes_only_a_boolean(value):
    """task.instructions=no was read as true (any non-empty string is), showing a regenerate model the instruction."""
    from rm_cli.tasks.image.task import ImageTask

    with pytest.raises(UserError, match=f"task.instructions must be true, false or null, got {value!r}"):
        ImageTask(instructions=value, tokenizer="unused.pt")._tok()

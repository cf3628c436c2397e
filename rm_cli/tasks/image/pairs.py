"""The edit benchmark: seeded (source scene, instruction, target scene) pairs, as item references.

A pair names the four items of its source and target scenes by index into one Fashion-MNIST
split (EMPTY for an empty quadrant); the target differs from the source in exactly the quadrant
the instruction names. Only the labels are needed to draw pairs, so a test file is tiny and
regenerating it needs no pixels. The same vectorised draw feeds training (one batch at a time).

    replace  an item -> an item of another class      remove  an item -> empty
    add      empty -> an item of the named class      other quadrants: empty with prob. empty_rate
"""

import json
from dataclasses import dataclass

import numpy as np
import torch

from rm_cli.errors import UserError
from rm_cli.io import atomic_write_text, jsonl_records
from rm_cli.tasks.image import instructions as ins
from rm_cli.tasks.image.fashion import CLASSES, SPLITS
from rm_cli.tasks.image.scenes import EMPTY, POSITIONS


@dataclass
class Pairs:
    """n pairs; item references index a pool (draw) or a split (files, after `to_split`)."""

    source: torch.Tensor  # [n, 4] item per quadrant, EMPTY = -1
    target: torch.Tensor  # [n, 4]
    verb: torch.Tensor  # [n] REPLACE | REMOVE | ADD
    quadrant: torch.Tensor  # [n]
    cls: torch.Tensor  # [n] requested class, -1 for remove

    def __len__(self) -> int:
        return self.verb.shape[0]

    def instruction(self, i: int) -> ins.Instruction:
        c = int(self.cls[i])
        return ins.Instruction(int(self.verb[i]), int(self.quadrant[i]), None if c < 0 else c)

    def to_split(self, pool_indices: torch.Tensor) -> "Pairs":
        """Pool positions -> indices into the split the pool comes from."""
        lookup = lambda refs: torch.where(refs >= 0, pool_indices[refs.clamp(min=0)], refs)  # noqa: E731
        return Pairs(lookup(self.source), lookup(self.target), self.verb, self.quadrant, self.cls)


def draw(pool_labels: torch.Tensor, n: int, generator: torch.Generator, empty_rate: float,
         verbs: torch.Tensor | None = None) -> Pairs:
    """n random pairs over a pool of items with these labels; `verbs` fixes each pair's verb."""
    P = pool_labels.shape[0]
    counts = torch.bincount(pool_labels, minlength=len(CLASSES))
    if (counts == 0).any():
        missing = [CLASSES[c] for c in (counts == 0).nonzero().flatten().tolist()]
        raise UserError(f"the item pool has no {', '.join(missing)}: every class is needed to draw edits")
    g = generator
    verb = torch.randint(0, 3, (n,), generator=g) if verbs is None else verbs.long()
    quadrant = torch.randint(0, 4, (n,), generator=g)
    source = torch.randint(0, P, (n, 4), generator=g)
    source = torch.where(torch.rand(n, 4, generator=g) < empty_rate, EMPTY, source)
    rows = torch.arange(n)
    edited = torch.randint(0, P, (n,), generator=g)
    source[rows, quadrant] = torch.where(verb == ins.ADD, EMPTY, edited)
    shift = torch.randint(1, len(CLASSES), (n,), generator=g)
    any_class = torch.randint(0, len(CLASSES), (n,), generator=g)
    cls = torch.where(verb == ins.ADD, any_class, (pool_labels[edited] + shift) % len(CLASSES))
    cls = torch.where(verb == ins.REMOVE, -1, cls)
    order = torch.argsort(pool_labels, stable=True)
    start = torch.cumsum(counts, 0) - counts
    c = cls.clamp(min=0)
    pick = order[start[c] + (torch.rand(n, generator=g) * counts[c]).long().clamp(max=counts[c] - 1)]
    target = source.clone()
    target[rows, quadrant] = torch.where(verb == ins.REMOVE, EMPTY, pick)
    return Pairs(source, target, verb, quadrant, cls)


def generate(labels: np.ndarray, pool_indices: np.ndarray, n: int, seed: int, empty_rate: float) -> Pairs:
    """A fixed split: n pairs from `seed`, verbs cycling replace/remove/add (balanced), split indices."""
    pool_indices = torch.as_tensor(pool_indices, dtype=torch.long)
    pool_labels = torch.as_tensor(labels, dtype=torch.long)[pool_indices]
    g = torch.Generator().manual_seed(seed)
    return draw(pool_labels, n, g, empty_rate, verbs=torch.arange(n) % 3).to_split(pool_indices)


def records(pairs: Pairs, split: str, prefix: str) -> list[dict]:
    out = []
    for i in range(len(pairs)):
        instr = pairs.instruction(i)
        verb, position, cls = instr.words()
        out.append({"id": f"{prefix}{i:04d}", "instruction": instr.text(), "verb": verb, "position": position,
                    "class": None if cls == ins.NONE else cls, "split": split,
                    "source": pairs.source[i].tolist(), "target": pairs.target[i].tolist()})
    return out


def write_jsonl(path, rows: list[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(r) + "\n" for r in rows))


def _check(rec, path, line: int) -> tuple[str, ins.Instruction, list[int], list[int]]:
    def bad(msg):
        return UserError(msg, path=path, line=line)

    if not isinstance(rec, dict) or not {"instruction", "split", "source", "target"} <= set(rec):
        raise bad('a pair needs "instruction", "split", "source" and "target"')
    if rec["split"] not in SPLITS:
        raise bad(f"split must be one of {', '.join(SPLITS)}, got {rec['split']!r}")
    src, tgt = rec["source"], rec["target"]
    for name, refs in (("source", src), ("target", tgt)):
        if not (isinstance(refs, list) and len(refs) == 4 and all(isinstance(r, int) and r >= EMPTY for r in refs)):
            raise bad(f"{name} must be 4 item indices (-1 for an empty quadrant), got {refs!r}")
    try:
        instr = ins.parse(rec["instruction"])
    except UserError as e:
        raise bad(str(e)) from None
    q = instr.quadrant
    if any(src[i] != tgt[i] for i in range(4) if i != q):
        raise bad(f"source and target differ outside the {POSITIONS[q]} quadrant the instruction names")
    ok = {ins.ADD: src[q] == EMPTY and tgt[q] != EMPTY, ins.REMOVE: src[q] != EMPTY and tgt[q] == EMPTY,
          ins.REPLACE: src[q] != EMPTY and tgt[q] != EMPTY}[instr.verb]
    if not ok:
        raise bad(f"{ins.VERBS[instr.verb]} does not fit the {POSITIONS[q]} quadrant of source {src} -> target {tgt}")
    return rec["split"], instr, src, tgt


def read_jsonl(path) -> tuple[list[dict], list[int]]:
    """(records, line numbers) of a pair file, each checked; UserError with file:line otherwise."""
    rows, lines = [], []
    for n, rec in jsonl_records(path, "pair file"):
        split, instr, src, tgt = _check(rec, path, n)
        rows.append({**rec, "parsed": instr})
        lines.append(n)
    if not rows:
        raise UserError("file holds no pairs", path=path)
    return rows, lines

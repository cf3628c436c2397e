"""What a task gives the engine: a vocabulary, training batches, evaluation examples, metrics.

The engine (trajectory simulator, loss, samplers, Lightning module, CLI) only talks to this
interface, so a new task is one module that subclasses `Task` plus one YAML in conf/task/.
"""

from dataclasses import dataclass, field

import torch

from rm_cli.errors import UserError


@dataclass
class Examples:
    """A set of decoding problems: start states, which positions may change, and (for eval) gold."""

    inputs: torch.Tensor  # [n, N] start state (mask id where blank)
    editable: torch.Tensor  # [n, N] bool
    gold: torch.Tensor | None = None  # [n, N] target, when known
    source: str = ""  # where they came from, for messages
    lines: list[int] = field(default_factory=list)  # line number of each example in `source`

    def __len__(self) -> int:
        return self.inputs.shape[0]

    def take(self, n: int | None) -> "Examples":
        if n is None:
            return self
        g = None if self.gold is None else self.gold[:n]
        return Examples(self.inputs[:n], self.editable[:n], g, self.source, self.lines[:n])


class Task:
    """Subclasses set name, vocab_size, mask_id and seq_len and implement the methods below."""

    name: str
    vocab_size: int  # including the mask token
    mask_id: int
    seq_len: int

    def signature(self) -> dict:
        """What a checkpoint must agree on to be used with this task."""
        return {"task": self.name, "vocab_size": self.vocab_size, "mask_id": self.mask_id, "seq_len": self.seq_len}

    def coordinates(self) -> torch.Tensor | None:
        """[axes, seq_len] integer coordinates of each position (None: plain sequence positions)."""
        return None

    def train_stream(self, batch_size: int, seed: int) -> torch.utils.data.IterableDataset:
        """Endless batches of dicts with `gold`, `editable` and `rule` (trajectory.KEEP/WRONG/MASK)."""
        raise NotImplementedError

    def val_examples(self) -> Examples:
        raise NotImplementedError

    def test_examples(self, path=None) -> Examples:
        """Scored examples, from `path` or the task's fixed test file."""
        raise NotImplementedError

    def eval_examples(self, path=None, limit: int | None = None) -> Examples:
        """What `rm eval` scores: the first `limit` test examples. A task whose reading is costly
        (e.g. solving every puzzle for its gold) overrides this to read only those."""
        return self.test_examples(path).take(limit)

    def native_examples(self, n: int | None = None, seed: int | None = None) -> Examples:
        """Training-distribution examples with their editable positions masked: the inputs on which
        `rm prepare split=native` caches a frozen checkpoint's top-k wrong tokens."""
        raise UserError(f"corruption=native is not available for task {self.name!r}")

    def write_split(self, split: str, path, n: int | None = None, seed: int | None = None) -> None:
        """Write a fixed evaluation split to `path` (what `rm prepare` does)."""
        raise NotImplementedError

    def prompt_examples(self, path) -> Examples:
        """Inputs to decode for `rm infer`; gold may be absent."""
        raise NotImplementedError

    def metrics(self, examples: Examples, result) -> dict:
        raise NotImplementedError

    def format_output(self, tokens: torch.Tensor) -> str:
        raise NotImplementedError

    def render_turns(self, trajectory: torch.Tensor):
        """A rich renderable per turn of one example's trajectory [turns + 1, N]."""
        raise NotImplementedError

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
    """Subclasses set name, vocab_size, mask_id and seq_len and implement the methods below that raise
    NotImplementedError (render_turns only for `rm infer show_trajectory=true`); the others have defaults.
    docs/extending.md walks through one."""

    name: str
    # options with a fixed set of values (config key -> allowed values): checked before anything is built
    # (config.validate_train / validate_io), so a sweep over a bad value stops before its first point trains
    option_choices: dict[str, tuple] = {}
    vocab_size: int  # including the mask token
    mask_id: int
    seq_len: int
    splits: tuple = ("test", "val")  # what `rm prepare split=...` writes (besides native)
    native_k: int = 3  # top-k that `rm prepare split=native` caches when no k= is given
    reads_prompts_from_stdin: bool = True  # `rm infer prompts=-` (stdin_prompts.py); not where prompts name other files
    # objective -> sampler preset that decodes when the command line names none (rm_cli/default_sampler.py);
    # empty: conf's default (`rm`, one-shot reveal then revise)
    default_samplers: dict[str, str] = {}
    # the metrics read every turn's state (replays, re-masked cells that end right); text's do not, and a
    # trajectory of a long answer region over many turns can be gigabytes on a large benchmark
    metrics_read_trajectory: bool = True

    def signature(self) -> dict:
        """What a checkpoint must agree on to be used with this task."""
        return {"task": self.name, "vocab_size": self.vocab_size, "mask_id": self.mask_id, "seq_len": self.seq_len}

    def checkpoint_task_config(self, trained: dict) -> dict:
        """The checkpoint's task config to rebuild its task with: by default as it was trained. A task whose
        files (the image task's tokenizer and classifier) may have moved since takes this command's paths."""
        return trained

    def headline_metric(self, examples) -> str:
        """The metric that `rm eval scaling=true` tabulates and plots against NFE."""
        return "exact_pct"

    def for_checkpoint(self, trained: "Task") -> "Task":
        """The task eval/infer/prepare work with, once `trained` (the checkpoint's own task) has passed
        the signature check: by default this command's task. A task whose vocabulary comes from the
        model (text) returns its options bound to the checkpoint's vocabulary."""
        return self

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

    def benchmark_examples(self, name: str, limit: int | None = None, **options) -> Examples:
        """What `rm eval benchmark=NAME` scores (rm_cli.benchmarks)."""
        raise UserError(f"task {self.name!r} has no benchmarks; benchmark= is for task=text")

    def native_examples(self, n: int | None = None, seed: int | None = None) -> Examples:
        """Training-distribution examples with their editable positions masked: the inputs on which
        `rm prepare split=native` caches a frozen checkpoint's top-k wrong tokens."""
        raise UserError(f"corruption=native is not available for task {self.name!r}")

    def write_native_cache(self, model, path, k: int, n: int | None, seed: int | None, batch_size: int, source: str) -> None:
        """`rm prepare split=native`: the frozen `model`'s top-k wrong tokens on native_examples(), one torch file."""
        import torch

        from rm_cli.corruption import build_native_cache
        from rm_cli.io import atomic_write_bytes

        cache = build_native_cache(model, self.native_examples(n, seed), k, batch_size, source=source)
        atomic_write_bytes(path, lambda f: torch.save(cache, f))

    def write_split(self, split: str, path, n: int | None = None, seed: int | None = None) -> None:
        """Write a fixed evaluation split to `path` (what `rm prepare` does)."""
        raise NotImplementedError

    def prompt_examples(self, path) -> Examples:
        """Inputs to decode for `rm infer`; gold may be absent."""
        raise NotImplementedError

    def metrics(self, examples: Examples, result) -> dict:
        raise NotImplementedError

    def validation_correct(self, tokens: torch.Tensor, gold: torch.Tensor, editable: torch.Tensor) -> torch.Tensor:
        """[B] bool: decoded rows that count as right for `val/exact` (which picks best.ckpt).
        Default: every position equals the gold one; a task whose score reads less (text: the final
        answer) says so here, so that best.ckpt follows the metric `rm eval` reports."""
        return (tokens == gold).all(-1)

    def evaluate(self, examples: Examples, result) -> tuple[dict, list]:
        """(metrics, one prediction per example) for `rm eval`'s results file."""
        return self.metrics(examples, result), [self.format_output(row) for row in result.tokens]

    def format_output(self, tokens: torch.Tensor) -> str:
        raise NotImplementedError

    def print_outputs(self, examples: Examples, outputs: list[str], console) -> None:
        """How `rm infer` prints its outputs: one a line."""
        print("\n".join(outputs))

    def write_outputs(self, path, examples: Examples, outputs: list[str]) -> None:
        """What `rm infer output=FILE` writes: one output a line, atomically."""
        from rm_cli.io import atomic_write_text

        atomic_write_text(path, "\n".join(outputs) + "\n")

    def check_output(self, output, prompts) -> None:
        """Fail before decoding when what `rm infer output=...` names could not be written (by default a
        file path; a task that writes files instead of text may name a folder, derived from `prompts`)."""
        from rm_cli.io import check_writable

        check_writable(output)

    def write_files(self, output, examples: Examples, result, show_trajectory: bool = False,
                    run_info: dict | None = None) -> list | None:
        """`rm infer` for a task whose outputs are files (images) rather than lines of text: write them
        all, atomically, with run_info (seed, config, versions) as run.json, and return their paths.
        None (the default): outputs are text, printed by print_outputs or written by write_outputs."""
        return None

    def render_turns(self, trajectory: torch.Tensor):
        """A rich renderable per turn of one example's trajectory [turns + 1, N]."""
        raise NotImplementedError

    @classmethod
    def draws_trajectories(cls) -> bool:
        """Whether the task implements render_turns: `rm infer show_trajectory=true` is refused before the
        checkpoint loads when it does not (it crashed after decoding)."""
        return cls.render_turns is not Task.render_turns


class _FromCheckpoint:
    """A signature value that equals anything: the key is not pinned by this command, so the
    checkpoint's value is taken (like unittest.mock.ANY)."""

    def __eq__(self, other) -> bool:
        return True

    def __ne__(self, other) -> bool:
        return False

    __hash__ = object.__hash__

    def __repr__(self) -> str:
        return "<the checkpoint's>"


FROM_CHECKPOINT = _FromCheckpoint()

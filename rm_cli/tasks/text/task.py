"""The text task: a prompt (fixed context) and an answer region the model writes and revises.

Vocabulary. `task.tokenizer` is `${backbone.tokenizer}`: the backbone config names the tokenizer
that goes with its network (tokenizers.py). The task's signature carries the tokenizer's
fingerprint, vocabulary size and mask id, so a checkpoint trained with another vocabulary is
refused. `rm eval` / `rm infer` / `rm prepare` compose no backbone by default: their text task is
then unbound (no tokenizer, no layout) and takes both from the checkpoint (`for_checkpoint`);
`backbone=NAME` there pins the vocabulary the checkpoint must have.

Layout (layout.py): left-padded prompt of `prompt_len` tokens, then `answer_len` editable tokens
(answer, then end tokens). null lengths mean DEFAULT_PROMPT_LEN / DEFAULT_ANSWER_LEN for a new
model and "the checkpoint's" for an unbound eval/infer/prepare task. A bound one (`backbone=NAME`)
pins its whole layout, defaults included: a checkpoint with another layout is refused by name.

Data. `train_file` / `val_file` / `test_file` are any prompt/answer tables (files.py); left null,
the built-in arithmetic problems (arithmetic.py) are used: training and validation problems are
generated from fixed seeds, the 500 test problems ship in rm_cli/data/text_arithmetic_test.jsonl
(`rm prepare task=text split=test output=FILE` regenerates them). The three are disjoint by prompt.

Training batches and their RM rules (which answer positions start wrong): stream.py.
"""

import copy
import functools
import random
from importlib import resources
from pathlib import Path

import torch

from rm_cli.corruption import native_candidates
from rm_cli.errors import UserError
from rm_cli.tasks.base import FROM_CHECKPOINT, Task
from rm_cli.benchmarks.math_answers import grade
from rm_cli.tasks.text import arithmetic, native
from rm_cli.tasks.text.files import Record, read_pairs, read_prompts, write_jsonl
from rm_cli.tasks.text.layout import TextExamples, answer_ids, completion, encode
from rm_cli.tasks.text.render import render_turns
from rm_cli.tasks.text.stream import SAMPLINGS, TextTrainStream
from rm_cli.tasks.text.tokenizers import load_tokenizer

# A new model's layout when task.prompt_len / task.answer_len are null. Checkpoints trained with
# null store null, so these must never change: fits every built-in problem with the char tokenizer.
DEFAULT_PROMPT_LEN, DEFAULT_ANSWER_LEN = 144, 56
TRAIN_SEED, VAL_SEED, TEST_SEED = 1, 4321, 1234
SPLIT_SIZES = {"train": 20_000, "val": 128, "test": 500}


def shipped_test_file() -> Path:
    return Path(str(resources.files("rm_cli") / "data" / "text_arithmetic_test.jsonl"))


class TextTask(Task):
    splits = ("train", "val", "test")
    option_choices = {"wrong_rate_sampling": SAMPLINGS}
    native_k = 50  # the paper's top-k (SPEC §4; the released code's is 8: rm prepare ... k=8)
    default_samplers = {"rm": "rm_text", "mdm": "vanilla_text"}  # SPEC §2's text decoding
    metrics_read_trajectory = False

    def __init__(self, name: str = "text", tokenizer=None, prompt_len: int | None = None, answer_len: int | None = None,
                 truncate_prompt: bool = False, train_file: str | None = None, val_file: str | None = None,
                 test_file: str | None = None, train_size: int = SPLIT_SIZES["train"], val_size: int = SPLIT_SIZES["val"],
                 min_ops: int = 1, max_ops: int = 3, wrong_rate: float = 0.3, wrong_rate_sampling: str = "fixed",
                 native_cache: str | None = None):
        for key, value in (("prompt_len", prompt_len), ("answer_len", answer_len)):
            if value is not None and value < 1:
                raise UserError(f"task.{key} must be >= 1, got {value}")
        if answer_len is not None and answer_len < 2:
            raise UserError(f"task.answer_len must be >= 2 (an answer and its end token), got {answer_len}")
        if not 0.0 <= wrong_rate <= 1.0:
            raise UserError(f"task.wrong_rate must be in [0, 1], got {wrong_rate}")
        if wrong_rate_sampling not in SAMPLINGS:
            raise UserError(f"task.wrong_rate_sampling must be one of {', '.join(SAMPLINGS)}, got {wrong_rate_sampling!r}")
        if not 1 <= min_ops <= max_ops:
            raise UserError(f"need 1 <= task.min_ops <= task.max_ops, got {min_ops}..{max_ops}")
        self.name, self.truncate_prompt = name, truncate_prompt
        self.asked = {k: v for k, v in (("prompt_len", prompt_len), ("answer_len", answer_len)) if v is not None}
        self.prompt_len = prompt_len or DEFAULT_PROMPT_LEN
        self.answer_len = answer_len or DEFAULT_ANSWER_LEN
        self.train_file, self.val_file, self.test_file = train_file, val_file, test_file
        self.train_size, self.val_size, self.min_ops, self.max_ops = train_size, val_size, min_ops, max_ops
        self.wrong_rate, self.wrong_rate_sampling, self.native_cache = wrong_rate, wrong_rate_sampling, native_cache
        self.tokenizer = None if tokenizer is None else load_tokenizer(tokenizer)

    # ---- vocabulary and layout --------------------------------------------------------------
    def _tok(self):
        if self.tokenizer is None:
            load_tokenizer(None)  # raises the one-line error that says how to pick a tokenizer
        return self.tokenizer

    @property
    def vocab_size(self) -> int:
        return self._tok().vocab_size

    @property
    def mask_id(self) -> int:
        return self._tok().mask_id

    @property
    def seq_len(self) -> int:
        return self.prompt_len + self.answer_len

    def signature(self) -> dict:
        """Vocabulary and layout. Without a tokenizer (eval/infer/prepare with no backbone=) only what was
        asked is pinned; the other keys are FROM_CHECKPOINT, which matches whatever the checkpoint has."""
        if self.tokenizer is None:
            free = dict.fromkeys(("tokenizer", "prompt_format", "vocab_size", "mask_id", "prompt_len", "answer_len"),
                                 FROM_CHECKPOINT)
            return {"task": self.name, **free, **self.asked}
        t = self.tokenizer
        return {"task": self.name, "tokenizer": t.fingerprint, "prompt_format": t.prompt_format, "vocab_size": t.vocab_size,
                "mask_id": t.mask_id, "prompt_len": self.prompt_len, "answer_len": self.answer_len}

    def for_checkpoint(self, trained: "TextTask") -> "TextTask":
        """This command's data options on the checkpoint's vocabulary and layout."""
        bound = copy.copy(self)
        bound.tokenizer, bound.prompt_len, bound.answer_len = trained.tokenizer, trained.prompt_len, trained.answer_len
        return bound

    def _encode(self, records, source, with_gold: bool, truncate: bool = False) -> TextExamples:
        return encode(self._tok(), records, self.prompt_len, self.answer_len, source, with_gold, truncate)

    # ---- data -------------------------------------------------------------------------------
    def _test_prompts(self) -> set[str]:
        return {r.prompt for r in read_pairs(self.test_file or shipped_test_file())}

    def _generated(self, split: str, n: int | None = None, seed: int | None = None) -> list[dict]:
        """Built-in arithmetic problems of a split, disjoint from the splits after it (train < val < test)."""
        n = n or {"train": self.train_size, "val": self.val_size}.get(split, SPLIT_SIZES[split])
        seed = {"train": TRAIN_SEED, "val": VAL_SEED, "test": TEST_SEED}[split] if seed is None else seed
        exclude = set()
        if split in ("train", "val"):
            exclude |= self._test_prompts()
        if split == "train":
            exclude |= {p["prompt"] for p in self._generated("val")} if self.val_file is None else \
                {r.prompt for r in read_pairs(self.val_file)}
        return arithmetic.generate(seed, n, exclude, self.min_ops, self.max_ops, prefix=f"{split}-")

    @staticmethod
    def _records(problems: list[dict]) -> list[Record]:
        return [Record(i + 1, p["prompt"], p["answer"], p["id"]) for i, p in enumerate(problems)]

    def _train_records(self) -> tuple[list[Record], str]:
        if self.train_file:
            return read_pairs(self.train_file), str(self.train_file)
        return self._records(self._generated("train")), "generated arithmetic (train)"

    def train_stream(self, batch_size: int, seed: int):
        if self.native_cache is not None:
            expect = {"tokenizer": self._tok().fingerprint, "prompt_format": self._tok().prompt_format,
                      "prompt_len": self.prompt_len, "answer_len": self.answer_len}
            gold, wrong, meta = native.read_cache(self.native_cache, expect)
            if self.train_file:  # the cache is the training data: a train_file named beside it must be its source
                named = {tuple(row) for row in self._encode(read_pairs(self.train_file), self.train_file, True).gold.tolist()}
                if not all(tuple(row) in named for row in gold.tolist()):
                    raise UserError(f"the native cache {self.native_cache} holds examples of {meta.get('examples')}, not of "
                                    f"task.train_file={self.train_file}; drop task.train_file (the cache is the training "
                                    "data) or prepare a cache from it")
            editable = torch.zeros_like(gold, dtype=torch.bool)
            editable[:, self.prompt_len:] = True
            return TextTrainStream(gold, editable, batch_size, seed, self.wrong_rate, self.wrong_rate_sampling, wrong)
        records, source = self._train_records()
        ex = self._encode(records, source, with_gold=True)
        return TextTrainStream(ex.gold, ex.editable, batch_size, seed, self.wrong_rate, self.wrong_rate_sampling)

    def val_examples(self) -> TextExamples:
        if self.val_file:
            return self._encode(read_pairs(self.val_file), self.val_file, with_gold=True)
        return self._encode(self._records(self._generated("val")), "generated arithmetic (val)", with_gold=True)

    def test_examples(self, path=None) -> TextExamples:
        return self.eval_examples(path)

    def eval_examples(self, path=None, limit: int | None = None) -> TextExamples:
        path = path or self.test_file or shipped_test_file()
        records = read_pairs(path)
        return self._encode(records[:limit] if limit is not None else records, path, with_gold=False,
                            truncate=self.truncate_prompt)

    def benchmark_examples(self, name: str, limit: int | None = None, **options) -> TextExamples:
        from rm_cli.benchmarks import get_benchmark

        bench = get_benchmark(name, **options)
        items = list(bench.items(limit))
        if not items:
            raise UserError(f"benchmark {name!r} has no items")
        # a file's items (local) are named by file and line in messages, the others by benchmark and item number
        path = getattr(bench, "path", None)
        records = [Record(item.meta.get("line", i + 1) if path else i + 1, item.prompt, None, str(item.id))
                   for i, item in enumerate(items)]
        examples = self._encode(records, str(path) if path else f"benchmark {name}", with_gold=False,
                                truncate=self.truncate_prompt)
        examples.benchmark, examples.items = bench, items
        return examples

    def prompt_examples(self, path) -> TextExamples:
        return self._encode(read_prompts(path), path, with_gold=False, truncate=self.truncate_prompt)

    def write_split(self, split: str, path, n: int | None = None, seed: int | None = None) -> None:
        """Write built-in arithmetic problems of `split` as JSONL ({"id", "prompt", "answer"})."""
        if split not in self.splits:
            raise UserError(f"split must be one of {', '.join(self.splits)} or native, got {split!r}")
        write_jsonl(path, self._generated(split, n, seed))

    def write_native_cache(self, model, path, k: int, n: int | None, seed: int | None, batch_size: int, source: str) -> None:
        """The training examples (the first n, in a seeded shuffle when seed is given) with a frozen
        model's top-k wrong tokens per answer position (native.py)."""
        records, origin = self._train_records()
        if seed is not None:
            random.Random(seed).shuffle(records)
        records = records[:n] if n else records
        examples = self._encode(records, origin, with_gold=True)
        rows = max(1, min(batch_size, 2**27 // max(1, self.answer_len * self.vocab_size)))  # answer logits only
        wrong = native_candidates(model, examples.inputs, examples.gold, k, rows, start=self.prompt_len).to(torch.int32)
        meta = {"tokenizer": self._tok().fingerprint, "prompt_format": self._tok().prompt_format,
                "prompt_len": self.prompt_len, "answer_len": self.answer_len,
                "k": k, "n": len(records), "checkpoint": source, "examples": origin}
        native.write_cache(path, examples, [r.id for r in records], wrong, meta)

    # ---- scoring and display -----------------------------------------------------------------
    def format_output(self, tokens) -> str:
        return completion(self._tok(), tokens, self.prompt_len)

    def evaluate(self, examples: TextExamples, result) -> tuple[dict, list]:
        """Metrics and one record per example (prompt, completion, reference, extracted, correct).
        Without a benchmark: exact_pct = exact final answer; sequence_exact_pct = the answer's tokens
        equal the reference's, token for token."""
        outputs = [self.format_output(row) for row in result.tokens]
        records = []
        if examples.benchmark is not None:
            read_back = read_back_of(self._tok())
            scores = [examples.benchmark.score_completion(item, out, read_back) for item, out in zip(examples.items, outputs)]
            metrics = dict(examples.benchmark.aggregate(examples.items, scores))
            for item, out, score in zip(examples.items, outputs, scores):
                records.append({"id": str(item.id), "prompt": item.prompt, "completion": out, "reference": item.reference,
                                "extracted": score.get("extracted"), "correct": bool(score.get("correct"))})
        else:
            tok = self._tok()
            for r, out, row in zip(examples.records, outputs, result.tokens):
                gold = _answer_tokens(tok, r.answer or "")
                # graded against the reference as the tokenizer reads it back, as the completion was (an uncased
                # word-piece tokenizer gives 'paris' for 'Paris', '- 5' for '-5'), as validation grades
                reference = (r.answer or "") if gold is None else tok.decode(gold)
                got, correct = grade(out, reference)
                same = gold is not None and answer_ids(tok, row, self.prompt_len) == gold
                records.append({"id": r.id, "line": r.line, "prompt": r.prompt, "completion": out, "reference": r.answer,
                                "extracted": got, "correct": correct, "sequence_exact": same})
            n = max(len(records), 1)
            metrics = {"exact_pct": 100.0 * sum(x["correct"] for x in records) / n,
                       "sequence_exact_pct": 100.0 * sum(x["sequence_exact"] for x in records) / n}
        for rec, cut in zip(records, examples.truncated):
            rec["truncated_prompt"] = cut
        metrics["nfe_per_example"] = result.nfe.float().mean().item()
        metrics["remasks_per_example"] = result.remask_total.float().mean().item()
        metrics["truncated_prompts"] = sum(examples.truncated)
        return metrics, records

    def headline_metric(self, examples: TextExamples) -> str:
        return examples.benchmark.metric if examples.benchmark is not None else "exact_pct"

    def metrics(self, examples: TextExamples, result) -> dict:
        return self.evaluate(examples, result)[0]

    def validation_correct(self, tokens, gold, editable) -> torch.Tensor:
        """The final answer is right (what `rm eval` scores as exact_pct), however the steps read."""
        tok = self._tok()
        right = []
        for row, ref in zip(tokens.cpu(), gold.cpu()):
            right.append(grade(completion(tok, row, self.prompt_len), completion(tok, ref, self.prompt_len))[1])
        return torch.tensor(right, dtype=torch.bool, device=tokens.device)

    def render_turns(self, trajectory: torch.Tensor):
        return render_turns(self._tok(), trajectory, self.prompt_len)

    def print_outputs(self, examples: TextExamples, outputs: list[str], console) -> None:
        """One header naming file:line per prompt, then its completion (completions may span lines). A prompt cut
        by task.truncate_prompt says so in its header: the completion answers only the prompt's last tokens."""
        from rm_cli.report import print_source_line

        cuts = examples.truncated or [False] * len(outputs)
        for line, out, cut in zip(examples.lines, outputs, cuts):
            note = f"prompt cut to its last {self.prompt_len} tokens" if cut else ""
            print_source_line(console, examples.source, line, style="dim", note=note)
            console.print(out, markup=False, highlight=False)

    def write_outputs(self, path, examples: TextExamples, outputs: list[str]) -> None:
        write_jsonl(path, [{"id": r.id, "line": r.line, "prompt": r.prompt, "completion": out, "truncated_prompt": cut}
                           for r, out, cut in zip(examples.records, outputs, examples.truncated)])


_READ_BACK_PROBE = "Question: The answer is -3.5, \\frac{A}{2}"


def read_back_of(tok):
    """text -> the text as `tok` writes it back (its tokens decoded; as written where it cannot write it), for a
    benchmark to compare a completion in the tokenizer's own form; None for a tokenizer that writes text back
    unchanged (a cased one, the tiny one), which then changes nothing. Cached: every completion cuts at the same
    stop sequences, and multiple choice reads back the same few letters."""
    @functools.lru_cache(maxsize=None)
    def read_back(text: str) -> str:
        ids = _answer_tokens(tok, text)
        return text if ids is None else tok.decode(ids)

    return None if read_back(_READ_BACK_PROBE) == _READ_BACK_PROBE else read_back


def _answer_tokens(tok, answer: str) -> list[int] | None:
    """The reference's tokens, None when the tokenizer cannot write it (the tiny one has no '°'): such a
    reference is graded as written, and no completion can equal it token for token."""
    try:
        return tok.encode_answer(answer)
    except ValueError:
        return None

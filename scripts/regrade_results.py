"""Regrade the stored predictions of text results JSONs with the scorer as it is now, so a change to
answer extraction is checked against every published number before it lands.

    python scripts/regrade_results.py [ROOT ...]      (default: docs/results)

Reads every *.json under ROOT that `rm eval task=text` wrote (own test file, benchmark=local, or a
benchmark whose items are on this machine), scores each prediction's completion again and compares with
its stored `correct`, in the form the run's tokenizer writes text (read back through the tokenizer its
training config names, as `rm eval` grades). Prints the count per kind and every disagreement; exit 1 when any
differs.
"""

import argparse
import json
import sys
from pathlib import Path

from rm_cli.benchmarks.base import get_benchmark
from rm_cli.benchmarks.math_answers import grade
from rm_cli.errors import UserError
from rm_cli.tasks.text.task import read_back_of
from rm_cli.tasks.text.tokenizers import load_tokenizer


def text_results(roots):
    for root in roots:
        for path in sorted(Path(root).rglob("*.json")):
            try:
                report = json.loads(path.read_text())
            except (json.JSONDecodeError, UnicodeDecodeError):
                continue
            task = report.get("config", {}).get("task", {}) if isinstance(report, dict) else {}
            if isinstance(task, dict) and task.get("name") == "text" and isinstance(report.get("predictions"), list):
                yield path, report


def read_back_for(report, tokenizers: dict):
    """read_back_of the tokenizer the run's model was trained with (None: text back unchanged)."""
    spec = ((report.get("train_config") or {}).get("backbone") or {}).get("tokenizer")
    key = json.dumps(spec, sort_keys=True)
    if key not in tokenizers:
        tokenizers[key] = read_back_of(load_tokenizer(spec)) if spec else None
    return tokenizers[key]


def regrade(path, report, benchmarks: dict, tokenizers: dict) -> tuple[str, int, list[str]]:
    """(kind, predictions checked, disagreements) of one results file."""
    name = report.get("benchmark")
    read_back = read_back_for(report, tokenizers)
    if name is None:  # the task's own test file: the reference is the answer line, as the tokenizer writes it
        written = read_back or (lambda text: text)
        score = lambda p: grade(p["completion"], written(p["reference"]))[1]  # noqa: E731
    else:
        if name not in benchmarks:
            options = {"path": report["test_file"]} if name == "local" else {}
            try:
                bench = get_benchmark(name, **options)
                benchmarks[name] = (bench, {item.id: item for item in bench.items()})
            except UserError as e:
                return name, 0, [f"{path}: cannot load benchmark {name}: {e}"]
        bench, items = benchmarks[name]
        score = lambda p: bench.score_completion(items[str(p["id"])], p["completion"], read_back)["correct"]  # noqa: E731
    differ = [f"{path}#{p['id']}: stored {p['correct']}, now {not p['correct']} ({p['completion']!r})"
              for p in report["predictions"] if bool(score(p)) != bool(p["correct"])]
    return name or "own test file", len(report["predictions"]), differ


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("roots", nargs="*", default=["docs/results"])
    args = parser.parse_args()
    counts, problems, benchmarks, tokenizers = {}, [], {}, {}
    for path, report in text_results(args.roots):
        kind, n, differ = regrade(path, report, benchmarks, tokenizers)
        counts[kind] = counts.get(kind, 0) + n
        problems += differ
    for kind, n in sorted(counts.items()):
        print(f"{kind}: {n} predictions regraded")
    print(f"{len(problems)} differ from the stored score")
    for line in problems:
        print(line)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())

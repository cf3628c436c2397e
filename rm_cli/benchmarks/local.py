"""Any JSONL file of {"prompt": ..., "answer": ...} records (e.g. a held-out split of the text
task's arithmetic set): `get_benchmark("local", path=FILE)`.

The reference is the final answer of `answer`: what follows "####" / "The answer is" or the last
\\boxed{} when the answer is a worked solution, else the whole (stripped) answer. It is scored by
`math_answers.grade`, the rule of the text task's own `exact_pct` and `val/exact`: a numeric reference
as GSM8K is (the completion's final number), any other as MATH is (normalised exact match).
"""

import json
from pathlib import Path

from rm_cli.benchmarks.base import Benchmark, Item, read_back_as_latex
from rm_cli.benchmarks.math_answers import grade, stated_answer
from rm_cli.errors import UserError
from rm_cli.io import json_problem


class Local(Benchmark, name="local"):
    def __init__(self, path=None):
        if path is None or str(path).strip() == "":
            raise UserError("benchmark 'local' needs the JSONL file: test_file=FILE (one {\"prompt\", \"answer\"} object a line)")
        self.path = Path(str(path)).expanduser()
        self._cache = self._read()

    def _read(self) -> list[Item]:
        try:
            raw = self.path.read_bytes()
        except IsADirectoryError:
            raise UserError("is a directory, expected a JSONL file", path=self.path) from None
        except OSError as e:
            raise UserError(f"cannot read: {e.strerror}", path=self.path) from None
        items = []
        for number, line in enumerate(raw.split(b"\n"), start=1):
            try:
                text = line.decode("utf-8").strip()
            except UnicodeDecodeError:
                raise UserError("not UTF-8 text", path=self.path, line=number) from None
            if not text:
                continue
            items.append(self._item(text, number))
        if not items:
            raise UserError("no records: expected one JSON object with \"prompt\" and \"answer\" per line", path=self.path)
        return items

    def _item(self, text: str, number: int) -> Item:
        def bad(message):
            return UserError(message, path=self.path, line=number)

        try:
            record = json.loads(text)
        except (ValueError, RecursionError) as e:
            where = f" at column {e.colno}" if isinstance(e, json.JSONDecodeError) else ""
            raise bad(f"not valid JSON ({json_problem(e)}{where})") from None
        if not isinstance(record, dict):
            raise bad(f"expected a JSON object with \"prompt\" and \"answer\", got {type(record).__name__}")
        for key in ("prompt", "answer"):
            if key not in record:
                raise bad(f"missing \"{key}\"")
        prompt, answer = record["prompt"], record["answer"]
        if not isinstance(prompt, str) or not prompt.strip():
            raise bad("\"prompt\" must be a non-empty string")
        if isinstance(answer, bool) or not isinstance(answer, (str, int, float)) or not str(answer).strip():
            raise bad("\"answer\" must be a non-empty string or a number")
        answer = str(answer)
        item_id = record.get("id", number)
        return Item(id=str(item_id), prompt=prompt, reference=stated_answer(answer) or answer.strip(),
                    meta={"answer": answer, "line": number})

    as_written_by = staticmethod(read_back_as_latex)  # as `rm eval task=text` grades its own file; grade() joins numbers

    def score(self, item: Item, completion: str) -> dict:
        extracted, correct = grade(completion, item.reference)
        return {"correct": correct, "extracted": extracted}

    def gold_completion(self, item: Item) -> str:
        return item.meta["answer"]

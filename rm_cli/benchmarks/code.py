"""Code benchmarks scored by pass@1: the completion's code runs against the benchmark's own
tests in rm_cli.sandbox; it passes when the program runs to its end with every assert true."""

import re

from rm_cli.benchmarks.base import Benchmark, Item
from rm_cli.errors import UserError
from rm_cli.sandbox import run_python


def extract_code(completion: str) -> str:
    """The code in a completion: the first fenced block (```python, ```python3, ```) when there is one
    (chat-style answers), else the completion as it is."""
    fenced = re.search(r"```[^\n`]*\n(.*?)(?:```|$)", completion, flags=re.DOTALL)  # any info string: python3, py
    return fenced.group(1) if fenced else completion


class CodeBenchmark(Benchmark):
    metric = "pass@1_pct"

    def __init__(self, timeout: float = 5.0):
        if not isinstance(timeout, (int, float)) or timeout <= 0:
            raise UserError(f"benchmark {self.name!r}: timeout must be a positive number of seconds, got {timeout!r}")
        self.timeout = float(timeout)

    def program(self, item: Item, code: str) -> str:
        """The whole program to run: the completion's code and the tests."""
        raise NotImplementedError

    def score(self, item: Item, completion: str) -> dict:
        code = extract_code(completion)
        result = run_python(self.program(item, code), timeout=self.timeout)
        return {"correct": result.passed, "extracted": code, "status": result.status, "error": result.error}

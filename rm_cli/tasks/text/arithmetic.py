"""A seeded generator of multi-step arithmetic word problems with worked solutions.

Small enough that a CPU model learns it, hard enough that one wrong digit anywhere in the
chain gives a wrong final answer. A problem starts with a quantity, applies 1-3 operations
(add, take away, multiply, keep a fraction) and asks for the result:

    prompt:  Mia has 12 pears. Mia buys 7 more. Mia gives away 5. How many pears does Mia have now?
    answer:  12 + 7 = 19. 19 - 5 = 14. #### 14

The final answer follows "####" (GSM8K's convention), which `rm_cli.benchmarks.math_answers.grade`
reads the same way from a gold answer and from a model's completion. Every number stays a non-negative
integer below 1000. The same seed gives the same problems on every machine (Python's `random.Random`).
"""

import random


NAMES = ["Mia", "Tom", "Ana", "Leo", "Sam", "Ivy", "Max", "Zoe", "Ben", "Eva", "Noah", "Lily", "Omar", "Ruth", "Kai", "Nina"]
ITEMS = ["apples", "pears", "coins", "books", "stamps", "shells", "marbles", "cards", "pens", "eggs", "plums", "beads"]
ADD = ["{n} buys {k} more.", "{n} finds {k} more.", "{n} gets {k} more."]
SUB = ["{n} gives away {k}.", "{n} loses {k}.", "{n} sells {k}."]
MUL = ["{n} gets {k} times as many."]
DIV = ["{n} keeps 1/{k} of them."]
LIMIT = 999


def _step(rng: random.Random, value: int) -> tuple[str, str, int] | None:
    """One operation on `value`: (sentence template, worked step, new value), or None if none fits."""
    ops = ["add", "sub", "mul", "div"]
    rng.shuffle(ops)
    for op in ops:
        if op == "add" and value + 1 <= LIMIT:
            k = rng.randint(1, min(30, LIMIT - value))
            return rng.choice(ADD).replace("{k}", str(k)), f"{value} + {k} = {value + k}.", value + k
        if op == "sub" and value >= 2:
            k = rng.randint(1, min(30, value - 1))
            return rng.choice(SUB).replace("{k}", str(k)), f"{value} - {k} = {value - k}.", value - k
        if op == "mul" and 2 * value <= LIMIT:
            k = rng.randint(2, min(4, LIMIT // value))
            return rng.choice(MUL).replace("{k}", str(k)), f"{value} * {k} = {value * k}.", value * k
        if op == "div":
            divisors = [k for k in range(2, 7) if value % k == 0 and value // k >= 1]
            if divisors:
                k = rng.choice(divisors)
                return rng.choice(DIV).replace("{k}", str(k)), f"{value} / {k} = {value // k}.", value // k
    return None


def problem(rng: random.Random, min_ops: int = 1, max_ops: int = 3) -> dict:
    """One problem: {"prompt", "answer"} drawn from `rng`."""
    name, item = rng.choice(NAMES), rng.choice(ITEMS)
    value = rng.randint(2, 60)
    sentences, steps = [f"{name} has {value} {item}."], []
    for _ in range(rng.randint(min_ops, max_ops)):
        template, step, value = _step(rng, value)
        sentences.append(template.replace("{n}", name))
        steps.append(step)
    sentences.append(f"How many {item} does {name} have now?")
    return {"prompt": " ".join(sentences), "answer": f"{' '.join(steps)} #### {value}"}


def generate(seed: int, n: int, exclude: set[str] = frozenset(), min_ops: int = 1, max_ops: int = 3, prefix: str = "") -> list[dict]:
    """n problems with distinct prompts, none of them in `exclude`, each with an id `prefix-i`."""
    if not 1 <= min_ops <= max_ops:
        raise ValueError(f"need 1 <= min_ops <= max_ops, got {min_ops}..{max_ops}")
    rng, seen, out = random.Random(seed), set(exclude), []
    while len(out) < n:
        p = problem(rng, min_ops, max_ops)
        if p["prompt"] not in seen:
            seen.add(p["prompt"])
            out.append({"id": f"{prefix}{len(out)}", **p})
    return out

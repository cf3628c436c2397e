"""A seeded generator of multi-step arithmetic word problems with worked solutions.

Small enough that a CPU model learns it, hard enough that one wrong digit anywhere in the
chain gives a wrong final answer. A problem starts with a quantity, applies 1-3 operations
(add, take away, multiply, keep a fraction) and asks for the result:

    prompt:  Mia has 12 pears. Mia buys 7 more. Mia gives away 5. How many pears does Mia have now?
    answer:  12 + 7 = 19. 19 - 5 = 14. #### 14

The final answer follows "####" (GSM8K's convention), so `final_answer` reads it the same way
from a gold answer and from a model's completion (`grade` also scores other answer files, whose final
answers may be fractions or expressions: MATH's normalised match). Every number stays a non-negative integer
below 1000. The same seed gives the same problems on every machine (Python's `random.Random`).
"""

import random
import re

from rm_cli.benchmarks.math_answers import extract_math_answer, last_boxed, math_equal

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


_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


_MARKER = re.compile(r"#\s*#\s*#\s*#")  # '####', also as a word-piece tokenizer decodes it ('# # # #')


def final_answer(text: str) -> str | None:
    """The final answer of a solution: the number after the last '####', else the last number."""
    parts = _MARKER.split(text)
    if len(parts) > 1:
        found = _NUMBER.findall(parts[-1])
        return normalize_number(found[0]) if found else None
    found = _NUMBER.findall(text)
    return normalize_number(found[-1]) if found else None


_NUMBER_WITH_UNITS = re.compile(r"\$?-?\d[\d,]*(?:\.\d+)?(?:\s*[A-Za-z%][A-Za-z%\s]*)?\.?")


def marked_answer(text: str) -> str | None:
    """What follows the last '####' (to the end of its line), else the last \\boxed{}, else None."""
    parts = _MARKER.split(text)
    if len(parts) > 1:
        lines = parts[-1].strip().splitlines()
        return lines[0].strip() if lines else None
    return last_boxed(text)


def grade(output: str, reference: str) -> tuple[str | None, bool]:
    """(the output's final answer, whether it is the reference's). A reference whose final answer is a
    number (units allowed: '#### 14', '#### -3.50 apples', or no marker: its last number) is compared as
    a number, as GSM8K is; any other ('#### 3/4', '\\boxed{\\frac{3}{4}}', '#### x + 1') as MATH is, by
    normalised exact match. A reference without a final answer matches nothing."""
    text = marked_answer(reference)
    if text is not None and not _NUMBER_WITH_UNITS.fullmatch(text):
        got = extract_math_answer(output) or marked_answer(output) or output.strip() or None
        return got, math_equal(got, text)
    want, got = final_answer(reference), final_answer(output)
    return got, want is not None and got == want


def same_final_answer(output: str, reference: str) -> bool:
    """The output's final answer is the reference's (see grade)."""
    return grade(output, reference)[1]


def normalize_number(s: str) -> str:
    """'1,200' -> '1200', '14.0' -> '14', '-3.50' -> '-3.5': equal numbers compare equal as strings."""
    s = s.replace(",", "")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s

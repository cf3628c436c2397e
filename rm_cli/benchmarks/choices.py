"""Multiple choice scored by letter: the prompt lists the choices as " A. ...", the model answers
with a letter, accuracy is the share of items whose extracted letter is the gold one."""

import re

from rm_cli.benchmarks.base import Benchmark, Item

LETTERS = "ABCDE"


def format_question(question: str, choices: list[str]) -> str:
    """OLMES' multiple-choice format (the one oe-eval's ARC requests use), so ARC and MMLU match."""
    lines = [f"Question: {question.strip()}"] + [f" {LETTERS[i]}. {c.strip()}" for i, c in enumerate(choices)]
    return "\n".join(lines) + "\nAnswer:"


def extract_letter(completion: str) -> str | None:
    """The answer letter, tried in this order: "answer is (C)" / "Answer: C" (last one), a letter
    that opens the completion ("C", "C.", "(C)", "C) ..."), a lone "(C)" anywhere (first one).
    "A good answer" does not count as A, nor "E.g. ..." as E."""
    text = completion.replace("*", "")
    said = re.findall(r"(?i:answer\s*(?:is|:)\s*(?:option\s*)?)\(?([A-E])\)?(?![A-Za-z])", text)
    if said:
        return said[-1]
    opening = re.match(r"\s*(?:\(([A-E])\)|([A-E])(?:[.):,](?![A-Za-z])|\s*$|\s*\n))", text)  # not "E.g."
    if opening:
        return opening.group(1) or opening.group(2)
    bracketed = re.search(r"\(([A-E])\)", text)
    return bracketed.group(1) if bracketed else None


class MultipleChoice(Benchmark):
    stop_sequences = ("Question:",)  # the next question of the format: its "Answer: X" is not this one's
    def as_written_by(self, item: Item, completion: str, read_back) -> tuple[Item, str]:
        """A tokenizer that writes the letter C back as 'c' (uncased) answers in lower case: read it in upper case
        ("E.g." and "a good answer" still do not count, see extract_letter)."""
        return item, completion.upper() if read_back(item.reference) != item.reference else completion

    def score(self, item: Item, completion: str) -> dict:
        extracted = extract_letter(completion)
        return {"correct": extracted == item.reference, "extracted": extracted}

    def gold_completion(self, item: Item) -> str:
        return f" {item.reference}"

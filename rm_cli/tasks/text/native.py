"""The native corruption cache of the text task: a frozen checkpoint's likely wrong tokens.

`rm prepare task=text split=native checkpoint=CKPT output=DIR` runs the frozen model once over
the training examples with their answer region masked (the state decoding starts from) and
keeps, at every answer position, its top-k tokens with the gold token and MASK removed. DIR is
a `datasets` dataset (`save_to_disk`) with one row per example:

    id         the example's id in the training data
    input_ids  [prompt_len + answer_len] the gold sequence (prompt, answer, end tokens)
    wrong      [answer_len][k] the model's top-k wrong tokens per answer position, best first

plus `rm_native.json` (tokenizer fingerprint, layout, k, source checkpoint). Training with
`corruption=native corruption.cache=DIR` reads it back: the task trains on exactly these
examples and puts each one's candidates into the batch, so the frozen model never runs again.
"""

import json
from pathlib import Path

import torch

from rm_cli.errors import UserError
from rm_cli.io import atomic_write_dir

META = "rm_native.json"
FORMAT = "rm-cli/text-native/1"


def write_cache(path, examples, ids: list[str], wrong: torch.Tensor, meta: dict) -> None:
    import datasets

    table = datasets.Dataset.from_dict({"id": ids, "input_ids": examples.gold.tolist(), "wrong": wrong.tolist()})

    def fill(folder: Path) -> None:
        table.save_to_disk(str(folder))
        (folder / META).write_text(json.dumps({"format": FORMAT, **meta}, indent=2) + "\n")

    atomic_write_dir(path, fill)


def read_cache(path, expect: dict) -> tuple[torch.Tensor, torch.Tensor, dict]:
    """(gold [n, N], wrong [n, A, k], meta) of a cache, checked against `expect` (tokenizer, layout)."""
    import datasets

    folder = Path(str(path))
    meta_file = folder / META
    if not folder.exists():
        raise UserError("no such native corruption cache; write it with "
                        "rm prepare task=text split=native checkpoint=CKPT output=DIR", path=path)
    if not meta_file.is_file():
        raise UserError(f"not a text native corruption cache (no {META}); write it with "
                        "rm prepare task=text split=native checkpoint=CKPT output=DIR", path=path)
    try:
        meta = json.loads(meta_file.read_text())
        datasets.disable_progress_bars()
        table = datasets.load_from_disk(str(folder)).with_format("torch")
    except (OSError, ValueError) as e:
        raise UserError(f"unreadable native corruption cache ({e.__class__.__name__})", path=path) from None
    if meta.get("format") != FORMAT:
        raise UserError(f"native cache format {meta.get('format')!r}, expected {FORMAT!r}", path=path)
    # a key the cache did not record (prompt_format, before 2026-12-07) is not checked
    diff = [f"{key}={meta[key]!r} (this run: {value!r})" for key, value in expect.items() if key in meta and meta[key] != value]
    if diff:
        raise UserError(f"native cache was made for another vocabulary or layout: {', '.join(diff)}", path=path)
    columns = table[:]
    return columns["input_ids"].long(), columns["wrong"].long(), meta

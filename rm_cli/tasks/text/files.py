"""Reading the text task's files, with one clear error naming the file and line.

Prompt/answer tables (training, validation and test data) load through Hugging Face `datasets`:
JSONL/JSON, CSV, Parquet, or a folder written by `Dataset.save_to_disk`, each row with string
`prompt` and `answer` fields (an `id` is kept when present). Prompt files for `rm infer` are
plain text (one prompt a line) or JSONL (a `prompt` field): read line by line, so that every
error names its line.
"""

import codecs
import json
from dataclasses import dataclass
from pathlib import Path

from rm_cli.errors import UserError
from rm_cli.io import file_lines, json_problem

BUILDERS = {".jsonl": "json", ".json": "json", ".csv": "csv", ".parquet": "parquet"}


@dataclass
class Record:
    line: int  # line (JSONL, plain text) or 1-based row (other formats) in the source file
    prompt: str
    answer: str | None = None
    id: str = ""


def _check_file(path) -> Path:
    p = Path(str(path))
    if not p.exists():
        raise UserError("no such file", path=path)
    return p


def _check_text_file(p: Path) -> None:
    """A JSON/JSONL/CSV table must be UTF-8 text holding something; read in 1 MiB pieces (a training file can be large)."""
    decoder, blank = codecs.getincrementaldecoder("utf-8")(), True
    with p.open("rb") as f:
        try:
            while chunk := f.read(1 << 20):
                blank = not decoder.decode(chunk).strip() and blank
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            raise UserError("not UTF-8 text; save it as UTF-8", path=p) from None
    if blank:
        raise UserError("the file holds no records", path=p)


def _bad_json_line(p: Path) -> tuple[int, str] | None:
    """(line, reason) of the first line of a JSONL file that is not a JSON object, or whose prompt or answer is
    there but not a string (datasets would cast a column of mixed types, and the row it blamed was not this one)."""
    with p.open(encoding="utf-8-sig", errors="replace") as f:
        for number, text in enumerate(f, 1):
            if not text.strip():
                continue
            try:
                obj = json.loads(text)
            except (ValueError, RecursionError) as e:
                return number, f"not valid JSON ({json_problem(e)})"
            if not isinstance(obj, dict):
                return number, f"expected a JSON object, got {type(obj).__name__}"
            for key in ("prompt", "answer"):
                if key in obj and not isinstance(obj[key], str):
                    return number, f"{key} is not a string (got {type(obj[key]).__name__}: {json.dumps(obj[key])[:40]})"
    return None


def _line_numbers(p: Path, n: int) -> list[int]:
    """Line of each row of a JSONL file (blank lines hold no row), of a CSV file (after its header line);
    rows elsewhere count from 1."""
    if p.suffix.lower() == ".csv":
        return list(range(2, n + 2))
    if p.suffix.lower() != ".jsonl":
        return list(range(1, n + 1))
    with p.open(encoding="utf-8-sig", errors="replace") as f:
        lines = [number for number, text in enumerate(f, 1) if text.strip()]
    return lines[:n] + list(range(len(lines) + 1, n + 1))


def load_table(path):
    """The rows of a prompt/answer file as a `datasets.Dataset`."""
    import datasets

    p = _check_file(path)
    datasets.disable_progress_bars()
    if p.is_dir():
        try:
            table = datasets.load_from_disk(str(p))
        except (FileNotFoundError, ValueError) as e:
            raise UserError(f"not a dataset folder written by save_to_disk ({e.__class__.__name__})", path=path) from None
        if isinstance(table, datasets.DatasetDict):
            raise UserError(f"holds several splits ({', '.join(table)}); point at one of them", path=path)
        return table
    builder = BUILDERS.get(p.suffix.lower())
    if builder is None:
        raise UserError(f"unknown file type {p.suffix!r}; use .jsonl, .json, .csv, .parquet or a save_to_disk folder", path=path)
    if builder in ("json", "csv"):  # datasets fails on these with an empty message or a raw codec error
        _check_text_file(p)
    if p.suffix.lower() == ".jsonl":  # datasets would name no line
        bad = _bad_json_line(p)
        if bad:
            raise UserError(bad[1], path=path, line=bad[0])
    try:
        return datasets.load_dataset(builder, data_files=str(p), split="train")
    except Exception as e:  # datasets/pyarrow raise many types for a malformed file
        first = (str(e).splitlines() or [""])[0][:200]
        raise UserError(f"cannot read as {builder} ({e.__class__.__name__}{': ' + first if first else ''})", path=path) from None


def read_pairs(path) -> list[Record]:
    """Every row of a prompt/answer table, checked: non-empty string prompt and answer."""
    table = load_table(path)
    columns = set(table.column_names)
    wanted = {"prompt", "answer"}
    if not wanted <= columns:
        raise UserError(f"needs the fields {sorted(wanted)}; found {sorted(columns)}", path=path)
    if len(table) == 0:
        raise UserError("holds no rows", path=path)
    lines = _line_numbers(Path(str(path)), len(table))
    out = []
    typed = Path(str(path)).suffix.lower() in (".csv", ".parquet")  # columns typed by content: "4" reads as 4
    for i, row in enumerate(table):
        prompt, answer = row.get("prompt"), row.get("answer")
        if typed and isinstance(answer, (int, float)) and not isinstance(answer, bool):
            answer = str(int(answer)) if float(answer).is_integer() else str(answer)  # as a number: 4, 3.5
        if not isinstance(prompt, str) or not prompt.strip():
            raise UserError("prompt is empty or not a string", path=path, line=lines[i])
        if not isinstance(answer, str) or not answer.strip():
            raise UserError("answer is empty or not a string", path=path, line=lines[i])
        ident = row.get("id")
        out.append(Record(lines[i], prompt, answer, str(ident) if ident is not None else str(i)))
    return out


def read_prompts(path) -> list[Record]:
    """Prompts of a plain-text file (one a line) or a JSONL file (`prompt`, optional `answer`/`id`).

    A file is JSONL when its name ends in .jsonl or its first non-blank line starts with '{'.
    Blank lines are skipped; line numbers are those of the file.
    """
    p = _check_file(path)
    if p.is_dir():
        raise UserError("is a directory; expected a prompt file", path=path)
    try:
        text = p.read_text(encoding="utf-8-sig")  # a byte-order mark (some editors write one) is not the prompt
    except (OSError, UnicodeDecodeError) as e:
        raise UserError(f"cannot read: {e.__class__.__name__}", path=path) from None
    lines = [(i + 1, s) for i, s in enumerate(file_lines(text)) if s.strip()]
    if not lines:
        raise UserError("file holds no prompts", path=path)
    is_jsonl = p.suffix.lower() == ".jsonl" or lines[0][1].lstrip().startswith("{")
    out = []
    for number, s in lines:
        if not is_jsonl:
            out.append(Record(number, s.strip(), None, str(number)))
            continue
        try:
            obj = json.loads(s)
        except (ValueError, RecursionError) as e:
            raise UserError(f"not valid JSON ({json_problem(e)})", path=path, line=number) from None
        if not isinstance(obj, dict):
            raise UserError(f"expected a JSON object with a \"prompt\", got {type(obj).__name__}", path=path, line=number)
        prompt = obj.get("prompt")
        if not isinstance(prompt, str) or not prompt.strip():
            raise UserError("missing or empty \"prompt\" string", path=path, line=number)
        answer = obj.get("answer")
        out.append(Record(number, prompt, answer if isinstance(answer, str) else None, str(obj.get("id", number))))
    return out


def write_jsonl(path, rows: list[dict]) -> None:
    from rm_cli.io import atomic_write_text

    atomic_write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))

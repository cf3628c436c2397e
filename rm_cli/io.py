"""Output files appear whole or not at all: write to a temporary file beside the target, then rename.

Also the fail-fast checks that run before any work: can this file or run directory be written,
and is there room for the checkpoints; and the one JSONL line reader whose errors name file:line.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

from rm_cli.errors import UserError


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path, write) -> None:
    """Call write(binary file) on a temporary file beside `path`, then rename it into place.

    The data is flushed to disk before the rename, so even a crash of the machine leaves either
    the old file or the new one, never a truncated one.
    """
    check_writable(path)  # not a device, pipe or folder: the rename would replace it (as root, /dev/null too)
    target = Path(os.path.realpath(path))  # a symlink keeps pointing at the file, which is replaced
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as e:
        raise UserError(f"cannot write: {e.strerror}", path=path) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes the file private; give it a normal file's mode
        os.replace(tmp, target)
    except OSError as e:  # a full disk, a quota: the old file (if any) stays as it was
        Path(tmp).unlink(missing_ok=True)
        raise UserError(f"cannot write: {e.strerror or e}", path=path) from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_write_text(path, text: str) -> None:
    atomic_write_bytes(path, lambda f: f.write(text.encode("utf-8")))


def atomic_write_json(path, obj) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2) + "\n")


def atomic_write_dir(path, fill) -> None:
    """Call fill(temporary directory) beside `path`, then rename the directory into place.

    `path` must not exist or be an empty directory; a failed or interrupted fill leaves nothing (a
    killed one leaves its temporary folder, which the next write to the same `path` removes). Files
    are flushed to disk before the rename, as in atomic_write_bytes.
    """
    target = Path(path)
    check_new_dir(target)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        for stale in target.parent.glob(f".{target.name}.*.tmp"):
            if stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
        tmp = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp"))
    except OSError as e:
        raise UserError(f"cannot write: {e.strerror}", path=path) from None
    try:
        fill(tmp)
        for item in tmp.rglob("*"):  # mkdtemp and some writers make files private; a folder here is meant to be shared
            item.chmod(0o755 if item.is_dir() else 0o644)
            if item.is_file():
                _fsync(item)
        tmp.chmod(0o755)
        os.replace(tmp, target)
    except OSError as e:  # a full disk, a quota: nothing is left behind
        shutil.rmtree(tmp, ignore_errors=True)
        raise UserError(f"cannot write: {e.strerror or e}", path=path) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def remove_stale_temporaries(directory) -> list[Path]:
    """Delete the temporary files of atomic writes that were killed midway (`.NAME.XXXX.tmp`)."""
    stale = [p for p in Path(directory).glob(".*.tmp") if p.is_file()]
    for p in stale:
        p.unlink(missing_ok=True)
    return stale


def refuse_dash(path) -> None:
    """`prompts=-` reads standard input, so `output=-` reads as standard output; it would be a file named '-'."""
    if str(path) == "-":
        raise UserError("'-' is not standard output here (it would be a file or folder named '-'); give a path "
                        "(./- for that name)")


def check_writable(path) -> None:
    """Fail before any work when an output file could not be written."""
    if path is None:
        return
    if not str(path).strip():  # Path("") is ".", a directory: the message named a folder nobody gave
        raise UserError("output= is empty; give a file path or leave output out")
    refuse_dash(path)
    if str(path).endswith(("/", os.sep)):  # Path() drops the slash: 'out/' would become a file named out
        raise UserError("output names a folder (it ends with '/'), expected a file path", path=path)
    parent = Path(path).resolve().parent
    probe = parent
    while not probe.exists():
        probe = probe.parent
    if Path(path).is_dir():
        raise UserError("output is a directory, expected a file path", path=path)
    if Path(path).exists() and not Path(path).is_file():
        raise UserError("output is not a regular file (a device, pipe or socket); give a file path", path=path)
    if not probe.is_dir():  # a file where a folder of the path should be
        raise UserError(f"cannot write here: {probe} is a file, not a directory", path=path)
    if not os.access(probe, os.W_OK):
        raise UserError("output directory is not writable", path=path)


def check_new_dir(path) -> None:
    """Fail before any work when `path` is taken (anything but an empty directory) or its parent is read-only."""
    refuse_dash(path)
    target = Path(path)
    if target.exists() and not target.is_dir():
        raise UserError("is a file; give a folder that does not exist yet (or an empty one)", path=path)
    if target.exists() and any(target.iterdir()):
        raise UserError("already exists and is not an empty directory; remove it or choose another", path=path)
    check_writable(target / "probe")


def check_run_dir(directory) -> None:
    """Create `directory` and write a probe file in it: fails on a file in the way, a read-only or full disk."""
    directory = Path(directory)
    if directory.exists() and not directory.is_dir():
        raise UserError("run_dir is a file, not a folder; give a folder path", path=directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=directory) as probe:
            probe.write(b"probe")
            probe.flush()
            os.fsync(probe.fileno())
    except OSError as e:
        raise UserError(f"run directory is not writable: {e.strerror}", path=directory) from None


def check_free_space(directory, need_bytes: int, what: str) -> None:
    """Fail when the disk holding `directory` has less than `need_bytes` free."""
    free = shutil.disk_usage(directory).free
    if free < need_bytes:
        raise UserError(f"not enough free disk space: {what} need about {need_bytes / 2**20:.0f} MiB, "
                        f"{free / 2**20:.0f} MiB free", path=directory)


def json_problem(e: Exception) -> str:
    """Why json.loads refused a line, in a few words: its own message, or the two failures that are not a
    JSONDecodeError (a 5,000-digit number exceeds Python's integer limit; deep nesting exceeds the recursion limit)."""
    if isinstance(e, json.JSONDecodeError):
        return e.msg
    return "nested too deeply" if isinstance(e, RecursionError) else str(e).split(";")[0][:80]


def file_lines(text: str) -> list[str]:
    """A file's lines as editors and `grep -n` count them: split at \\n only (str.splitlines also splits at
    form feeds, \\x85 and U+2028, which a JSON string may hold, and shifts every later line number)."""
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def jsonl_records(path, what: str, hint: str = ""):
    """(line number, parsed object) for each non-blank line of a JSONL file; a missing file or a line
    that is not JSON is a UserError naming the file (and line). `what` names the file in errors
    ("pair file"), `hint` follows "not valid JSON" (the expected shape of a line)."""
    p = Path(str(path))
    if not p.is_file():
        raise UserError(f"no such {what}", path=path)
    # utf-8-sig: a byte-order mark (some editors write one) is not part of the first record
    for n, text in enumerate(file_lines(p.read_text(encoding="utf-8-sig", errors="replace")), 1):
        if not text.strip():
            continue
        try:
            yield n, json.loads(text)
        except (ValueError, RecursionError):  # JSONDecodeError, and the two that are not (json_problem)
            raise UserError(f"not valid JSON{hint}", path=path, line=n) from None

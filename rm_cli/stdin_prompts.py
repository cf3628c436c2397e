"""`rm infer prompts=-`: the prompts come on standard input (`python make_boards.py | rm infer task=sudoku prompts=-`).

A task reads its prompts from a file, so standard input is first copied to a private temporary file,
read there with every check a file gets, and the file removed; messages and output headers name it
`<stdin>` where they would name a file.
"""

import sys
import tempfile
from pathlib import Path

from rm_cli.errors import UserError

STDIN = "-"
NAME = "<stdin>"


def check(task, prompts) -> None:
    """Before any output is planned: `-` only for a task whose prompts stand alone."""
    if str(prompts) == STDIN and not task.reads_prompts_from_stdin:
        raise UserError(f"prompts=- (standard input) is not for task={task.name}: its prompts name files relative "
                        "to the prompt file; pass prompts=FILE")


def prompt_examples(task, prompts):
    """The task's examples of `prompts`, a file or `-` (standard input)."""
    if str(prompts) != STDIN:
        return task.prompt_examples(prompts)
    check(task, prompts)
    if sys.stdin is None:
        raise UserError("prompts=- reads standard input, and this process has none; pass prompts=FILE")
    try:
        if sys.stdin.isatty():
            sys.stderr.write("reading prompts from the terminal; end them with Ctrl-D\n")
        data = sys.stdin.buffer.read()
    except (OSError, ValueError) as e:  # closed, write-only or otherwise unreadable
        detail = getattr(e, "strerror", None) or str(e)
        raise UserError(f"cannot read standard input ({e.__class__.__name__}: {detail})") from None
    with tempfile.TemporaryDirectory(prefix="rm-stdin-") as folder:
        path = Path(folder) / "stdin"
        path.write_bytes(data)
        try:
            examples = task.prompt_examples(path)
        except UserError as e:
            raise UserError(str(e).replace(str(path), NAME)) from None
    examples.source = NAME
    return examples

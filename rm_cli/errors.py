"""One exception type for every mistake a user can make, so the CLI can print it as one line."""


class UserError(Exception):
    """Bad input, bad config or a missing file: reported as one line, exit code 2, no traceback."""

    def __init__(self, message: str, *, path=None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)

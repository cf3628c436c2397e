"""One exception type for every mistake a user can make, so the CLI can print it as one line."""


class UserError(Exception):
    """Bad input, bad config or a missing file: reported as one line, exit code 2, no traceback."""

    def __init__(self, message: str, *, path=None, line: int | None = None):
        where = ""
        if path is not None:
            where = f"{path}:{line}: " if line is not None else f"{path}: "
        super().__init__(where + message)


def instantiation_cause(error: BaseException) -> BaseException:
    """What a config's `_target_` raised, under the InstantiationException(s) Hydra wraps it in."""
    from hydra.errors import InstantiationException  # here: this module is imported before Hydra is needed

    cause = error
    while isinstance(cause, InstantiationException) and cause.__cause__ is not None:
        cause = cause.__cause__
    return cause


def unexpected_option(error: BaseException) -> str | None:
    """The keyword a constructor refused (`+trainer.max_step=20`, `+sampler.stpes=3`), else None."""
    text = str(error)
    if isinstance(error, TypeError) and "unexpected keyword argument '" in text:
        return text.split("unexpected keyword argument '")[1].split("'")[0]
    return None

"""Reading the image task's own small checkpoint files (tokenizer, classifier): one set of checks and errors."""

from pathlib import Path

import torch

from rm_cli.errors import UserError


def read_saved_model(path, what: str, fmt: str, hint: str) -> dict:
    """The payload dict of a file saved with format `fmt`; a UserError naming the file otherwise."""
    p = Path(str(path))
    if not p.is_file():
        raise UserError(f"no such {what} checkpoint ({hint})", path=path)
    try:
        payload = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # a torch.load failure can be any of a dozen types
        raise UserError(f"not a readable {what} checkpoint ({e.__class__.__name__})", path=path) from None
    if not isinstance(payload, dict) or payload.get("format") != fmt:
        raise UserError(f"not an image {what} checkpoint ({hint})", path=path)
    return payload

"""Fashion-MNIST from its IDX files (Debian's `dataset-fashion-mnist`), read with numpy alone.

The three item pools the benchmark draws from are disjoint by image: training pairs use the
official training split minus its last VAL_ITEMS images, validation pairs those last images, test
pairs the official test split (`t10k`). Everything downstream refers to an item as (split, index).
"""

import gzip
from functools import lru_cache
from pathlib import Path

import numpy as np

from rm_cli.errors import UserError

DEFAULT_DIR = "/usr/share/datasets/fashion-mnist"
SIDE = 28  # an item is 28x28 pixels
CLASSES = ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot")
SPLITS = ("train", "t10k")
VAL_ITEMS = 5000  # the last images of the training split: the validation pool
IMAGE_MAGIC, LABEL_MAGIC = 2051, 2049


def _open(path: Path) -> bytes:
    for candidate in (path.with_name(path.name + ".gz"), path):
        if candidate.is_file():
            try:
                raw = candidate.read_bytes()
                return gzip.decompress(raw) if candidate.suffix == ".gz" else raw
            except (OSError, EOFError, gzip.BadGzipFile) as e:
                raise UserError(f"unreadable Fashion-MNIST file ({e.__class__.__name__})", path=candidate) from None
    raise UserError("Fashion-MNIST not found (apt-get install dataset-fashion-mnist, or task.data_dir=DIR)",
                    path=path.with_name(path.name + ".gz"))


def read_idx(path: Path, magic: int) -> np.ndarray:
    """An IDX array: big-endian magic, one big-endian uint32 per dimension, then uint8 data."""
    data = _open(path)
    if len(data) < 8 or int.from_bytes(data[:4], "big") != magic:
        raise UserError(f"not an IDX file of the expected kind (magic {magic})", path=path)
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise UserError(f"IDX file holds {body.size} values, its header says {dims}", path=path)
    return body.reshape(dims).copy()  # writable (frombuffer's view is not)


@lru_cache(maxsize=8)
def labels(data_dir: str, split: str) -> np.ndarray:
    if split not in SPLITS:
        raise UserError(f"Fashion-MNIST split must be one of {', '.join(SPLITS)}, got {split!r}")
    return read_idx(Path(data_dir) / f"{split}-labels-idx1-ubyte", LABEL_MAGIC).astype(np.int64)


@lru_cache(maxsize=8)
def images(data_dir: str, split: str) -> np.ndarray:
    """[n, 28, 28] uint8, white items on black (the dataset's own convention)."""
    if split not in SPLITS:
        raise UserError(f"Fashion-MNIST split must be one of {', '.join(SPLITS)}, got {split!r}")
    out = read_idx(Path(data_dir) / f"{split}-images-idx3-ubyte", IMAGE_MAGIC)
    if out.ndim != 3 or out.shape[1:] != (SIDE, SIDE):
        raise UserError(f"expected 28x28 images, got shape {out.shape}", path=Path(data_dir) / split)
    if len(out) != len(labels(data_dir, split)):
        raise UserError(f"{len(out)} images but {len(labels(data_dir, split))} labels", path=Path(data_dir) / split)
    return out


def pool(data_dir: str, name: str) -> tuple[str, np.ndarray]:
    """(split, item indices) of a pool: `train`, `val` or `test`."""
    if name == "test":
        return "t10k", np.arange(len(labels(data_dir, "t10k")))
    n = len(labels(data_dir, "train"))
    held = min(VAL_ITEMS, n // 5)  # a small copy of the data (test fixture) keeps a fifth for validation
    if name == "val":
        return "train", np.arange(n - held, n)
    if name == "train":
        return "train", np.arange(n - held)
    raise ValueError(f"unknown pool {name!r}")

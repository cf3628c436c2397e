"""Write the small Fashion-MNIST copy the image tests use, from the real IDX files.

    python scripts/make_fashion_fixture.py [/usr/share/datasets/fashion-mnist] [tests/data]

tests/data/fashion_mnist_mini/: 200 training images (16 per class from the training pool, then 4 per
class from the last 5000, so the fixture's own validation fifth holds every class) and 100 test
images (10 per class), with their labels, in the dataset's own gzipped IDX format.
tests/data/fashion_mnist_t10k_labels/: the real test-split labels, whole (5 KB): enough to
regenerate the shipped test file (rm_cli/data/image_edit_test.jsonl), which needs no pixels.
"""

import gzip
import shutil
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from rm_cli.tasks.image.fashion import IMAGE_MAGIC, LABEL_MAGIC, VAL_ITEMS, images, labels  # noqa: E402


def first_per_class(y: np.ndarray, idx: np.ndarray, k: int) -> np.ndarray:
    return np.sort(np.concatenate([idx[y[idx] == c][:k] for c in range(10)]))


def write_idx(path: Path, array: np.ndarray, magic: int) -> None:
    header = magic.to_bytes(4, "big") + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    with open(path, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as f:
        f.write(header + np.ascontiguousarray(array, dtype=np.uint8).tobytes())


def main(src: str, out: str) -> None:
    mini = Path(out) / "fashion_mnist_mini"
    mini.mkdir(parents=True, exist_ok=True)
    y = labels(src, "train")
    n = len(y)
    keep = np.concatenate([first_per_class(y, np.arange(n - VAL_ITEMS), 16), first_per_class(y, np.arange(n - VAL_ITEMS, n), 4)])
    yt = labels(src, "t10k")
    keep_t = first_per_class(yt, np.arange(len(yt)), 10)
    for split, idx in (("train", keep), ("t10k", keep_t)):
        write_idx(mini / f"{split}-images-idx3-ubyte.gz", images(src, split)[idx], IMAGE_MAGIC)
        write_idx(mini / f"{split}-labels-idx1-ubyte.gz", labels(src, split)[idx], LABEL_MAGIC)
    full = Path(out) / "fashion_mnist_t10k_labels"
    full.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(Path(src) / "t10k-labels-idx1-ubyte.gz", full / "t10k-labels-idx1-ubyte.gz")
    print(f"wrote {mini} ({len(keep)} + {len(keep_t)} images) and {full}")


if __name__ == "__main__":
    main(*(sys.argv[1:] + ["/usr/share/datasets/fashion-mnist", "tests/data"][len(sys.argv) - 1:]))

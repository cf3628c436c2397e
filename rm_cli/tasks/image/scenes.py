"""A scene is a 2x2 mosaic of 28x28 Fashion-MNIST items (or empty quadrants): 56x56 pixels.

Quadrants are numbered 0 top-left, 1 top-right, 2 bottom-left, 3 bottom-right. An item is
referred to by its index in a split, EMPTY (-1) marks an empty quadrant.
"""

import numpy as np
import torch

from rm_cli.tasks.image.fashion import SIDE

SCENE = 2 * SIDE  # 56
POSITIONS = ("top-left", "top-right", "bottom-left", "bottom-right")
EMPTY = -1


def quadrant_box(q: int) -> tuple[slice, slice]:
    """(rows, cols) of quadrant q in scene pixels."""
    r, c = divmod(q, 2)
    return slice(r * SIDE, (r + 1) * SIDE), slice(c * SIDE, (c + 1) * SIDE)


def region_mask(q: int) -> np.ndarray:
    """[56, 56] bool: the pixels of quadrant q (the target region of an edit there)."""
    mask = np.zeros((SCENE, SCENE), dtype=bool)
    mask[quadrant_box(q)] = True
    return mask


def compose(items: np.ndarray, refs) -> np.ndarray:
    """[56, 56] uint8 scene from four item references into `items` ([n, 28, 28] uint8)."""
    scene = np.zeros((SCENE, SCENE), dtype=np.uint8)
    for q, ref in enumerate(refs):
        if ref != EMPTY:
            scene[quadrant_box(q)] = items[ref]
    return scene


def split_quadrants(scenes: torch.Tensor) -> torch.Tensor:
    """[B, 56, 56] -> [B, 4, 28, 28] in quadrant order."""
    B = scenes.shape[0]
    return scenes.reshape(B, 2, SIDE, 2, SIDE).permute(0, 1, 3, 2, 4).reshape(B, 4, SIDE, SIDE)


def join_quadrants(quads: torch.Tensor) -> torch.Tensor:
    """[B, 4, 28, 28] -> [B, 56, 56]."""
    B = quads.shape[0]
    return quads.reshape(B, 2, 2, SIDE, SIDE).permute(0, 1, 3, 2, 4).reshape(B, SCENE, SCENE)


def is_empty(quadrant: np.ndarray, level: float = 0.1, share: float = 0.01) -> bool:
    """An empty quadrant: under 1% of its pixels brighter than 10% white (items are bright on black)."""
    return float((np.asarray(quadrant, dtype=np.float32) / 255.0 > level).mean()) < share

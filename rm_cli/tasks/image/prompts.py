"""What `rm infer task=image` reads: JSONL lines {"image": "scene.png", "instruction": "..."}, and
optionally an "id" (kept in edits.jsonl, as text infer keeps it; the line number when absent).

Image paths are relative to the prompt file. Any 8- or 16-bit mode is converted to 8-bit grayscale (items are
light on black, as in Fashion-MNIST); a size other than 56x56 is refused, not resized. Every line
is read and checked before anything is decoded.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from rm_cli.errors import UserError
from rm_cli.io import jsonl_records
from rm_cli.tasks.image import instructions as ins
from rm_cli.tasks.image.scenes import POSITIONS, SCENE, is_empty, quadrant_box


@dataclass
class Prompt:
    line: int
    image: Path
    pixels: np.ndarray  # [56, 56] uint8
    instruction: ins.Instruction
    text: str
    id: str = ""


def read_image(path: Path, where, line: int) -> np.ndarray:
    """The image as [56, 56] uint8 gray. The size is checked before the pixels load (a small file can
    declare a huge image); 16-bit gray is scaled to 8 bits (PIL's convert clips it to black and white)."""
    if not path.is_file():
        raise UserError(f"no such image: {path}", path=where, line=line)
    try:
        with Image.open(path) as img:
            if img.size != (SCENE, SCENE):
                raise UserError(f"image {path} is {img.size[0]}x{img.size[1]} pixels, expected {SCENE}x{SCENE} "
                                "(a 2x2 mosaic of 28x28 items)", path=where, line=line)
            if img.mode in ("I", "F"):
                raise UserError(f"image {path} has 32-bit pixels (mode {img.mode}); save it as 8- or 16-bit gray or "
                                "as RGB", path=where, line=line)
            img.load()
            if img.mode.startswith("I;16"):
                return np.round(np.asarray(img, dtype=np.float64) / 257.0).astype(np.uint8)
            return np.asarray(img.convert("L"), dtype=np.uint8).copy()
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as e:
        raise UserError(f"cannot read image {path} ({e.__class__.__name__}: not a readable PNG/JPEG/...)",
                        path=where, line=line) from None


def check_fits(instr: ins.Instruction, pixels: np.ndarray, where, line: int) -> None:
    """add needs an empty quadrant, replace/remove an occupied one."""
    empty = is_empty(pixels[quadrant_box(instr.quadrant)])
    pos = POSITIONS[instr.quadrant]
    if instr.verb == ins.ADD and not empty:
        raise UserError(f"cannot add to the {pos} quadrant: it already holds an item (use replace)", path=where, line=line)
    if instr.verb != ins.ADD and empty:
        raise UserError(f"cannot {ins.VERBS[instr.verb]} the {pos} item: that quadrant is empty (use add)",
                        path=where, line=line)


def read_prompts(path) -> list[Prompt]:
    p = Path(str(path))
    out = []
    for n, rec in jsonl_records(path, "prompt file", ' (expected {"image": "scene.png", "instruction": "..."})'):
        if not isinstance(rec, dict) or not isinstance(rec.get("image"), str) or not isinstance(rec.get("instruction"), str):
            raise UserError('each line needs "image" (a file name) and "instruction" (text)', path=path, line=n)
        try:
            instr = ins.parse(rec["instruction"])
        except UserError as e:
            raise UserError(str(e), path=path, line=n) from None
        image = Path(rec["image"])
        image = image if image.is_absolute() else p.parent / image
        pixels = read_image(image, path, n)
        check_fits(instr, pixels, path, n)
        out.append(Prompt(n, image, pixels, instr, rec["instruction"], str(rec.get("id", n))))
    if not out:
        raise UserError("file holds no prompts", path=path)
    return out

"""One figure of example edits: per prompt, the source scene and each method's edited scene side by side.

    python scripts/image_editing_figure.py --tokenizer TOK.pt --method rm=DIR --method sft=DIR ... --out FIG.png

Each DIR is an `rm infer task=image ... output=DIR` folder; its edits.jsonl names the source image,
the instruction and the edited PNG of every prompt (all folders must come from the same prompt file).
Changed pixels are tinted red, so that what was generated stays visible (the infer panels paint them
solid): |edited - source| > task.change_threshold * 255 with the source passed through the
tokenizer, as the metrics count them (a column shows that reconstruction).
"""

import argparse
import json
from pathlib import Path

import numpy as np
import torch
from omegaconf import OmegaConf
from PIL import Image, ImageDraw

from rm_cli.config import conf_dir
from rm_cli.tasks.image.tokenizer import load_tokenizer

SCALE, PAD, CAPTION = 3, 6, 14


def read_edits(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "edits.jsonl").read_text().splitlines() if line.strip()]


def tinted(edited: np.ndarray, changed: np.ndarray) -> Image.Image:
    """Gray edited scene as RGB, changed pixels tinted red."""
    rgb = np.stack([edited] * 3, axis=-1).astype(np.uint8)
    rgb[changed] = (rgb[changed] * 0.5 + np.array([127, 0, 0])).astype(np.uint8)
    return Image.fromarray(rgb)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--method", action="append", required=True, help="NAME=INFER_OUTPUT_DIR (repeatable, in column order)")
    parser.add_argument("--tokenizer", type=Path, required=True, help="the tokenizer the models were trained with")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    methods = [(name, Path(folder)) for name, folder in (m.split("=", 1) for m in args.method)]
    edits = {name: read_edits(folder) for name, folder in methods}
    first = edits[methods[0][0]]
    if any(len(e) != len(first) or [r["image"] for r in e] != [r["image"] for r in first] for e in edits.values()):
        raise SystemExit("image_editing_figure: the folders were not made from the same prompt file")
    side = 56 * SCALE
    tokenizer = load_tokenizer(args.tokenizer)
    threshold = OmegaConf.load(conf_dir() / "task" / "image.yaml").change_threshold * 255.0  # the metrics' default
    columns = ["source", "via tokenizer"] + [name for name, _ in methods]
    width = len(columns) * (side + PAD) + PAD
    height = CAPTION + len(first) * (side + CAPTION + PAD) + PAD
    canvas = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(canvas)
    for c, title in enumerate(columns):
        draw.text((PAD + c * (side + PAD), 1), title, fill="black")
    for r, record in enumerate(first):
        top = CAPTION + r * (side + CAPTION + PAD)
        draw.text((PAD, top), record["instruction"], fill="black")
        raw = np.asarray(Image.open(record["image"]).convert("L"))
        source = tokenizer.decode(tokenizer.encode(torch.from_numpy(raw.copy())[None]))[0].numpy()  # float, as edit_files.py
        tiles = [Image.fromarray(raw).convert("RGB"), Image.fromarray(np.clip(source, 0, 255).astype(np.uint8)).convert("RGB")]
        for name, folder in methods:
            edited = np.asarray(Image.open(folder / edits[name][r]["edited"]).convert("L"))
            changed = np.abs(edited.astype(np.float32) - source) > threshold
            tiles.append(tinted(edited, changed))
        for c, tile in enumerate(tiles):
            canvas.paste(tile.resize((side, side), Image.NEAREST), (PAD + c * (side + PAD), top + CAPTION))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    canvas.save(args.out)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

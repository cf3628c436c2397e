"""What a person looks at: the side-by-side panel (source | edited | changed pixels), the animated
GIF of the decoding turns, and the per-turn token map `rm infer show_trajectory=true` prints."""

import io

import numpy as np
import torch
from PIL import Image, ImageDraw
from rich.text import Text

ZOOM = 4
RED, YELLOW, BLUE = (230, 40, 40), (250, 210, 40), (70, 120, 255)


def _rgb(gray: np.ndarray) -> np.ndarray:
    g = np.clip(np.asarray(gray, dtype=np.float32), 0, 255).astype(np.uint8)
    return np.repeat(g[..., None], 3, axis=-1)


def _zoom(rgb: np.ndarray) -> Image.Image:
    img = Image.fromarray(rgb, "RGB")
    return img.resize((img.width * ZOOM, img.height * ZOOM), Image.NEAREST)


def _outline(img: Image.Image, box: tuple[slice, slice], color) -> None:
    rows, cols = box
    ImageDraw.Draw(img).rectangle([cols.start * ZOOM, rows.start * ZOOM, cols.stop * ZOOM - 1, rows.stop * ZOOM - 1],
                                  outline=color, width=2)


def _strip(tiles: list[Image.Image], labels: list[str]) -> Image.Image:
    gap, head = 8, 14
    w, h = tiles[0].width, tiles[0].height
    out = Image.new("RGB", (len(tiles) * w + (len(tiles) - 1) * gap, h + head), (255, 255, 255))
    draw = ImageDraw.Draw(out)
    for i, (tile, label) in enumerate(zip(tiles, labels)):
        out.paste(tile, (i * (w + gap), head))
        draw.text((i * (w + gap) + 2, 1), label, fill=(0, 0, 0))
    return out


def changed_view(edited: np.ndarray, changed: np.ndarray) -> np.ndarray:
    """The edited image dimmed to 30%, changed pixels in red."""
    rgb = (_rgb(edited) * 0.3).astype(np.uint8)
    rgb[changed] = RED
    return rgb


def panel(source: np.ndarray, edited: np.ndarray, changed: np.ndarray, region: tuple[slice, slice]) -> Image.Image:
    """source | edited | changed pixels, 4x zoom; the named quadrant outlined in yellow."""
    tiles = [_zoom(_rgb(source)), _zoom(_rgb(edited)), _zoom(changed_view(edited, changed))]
    for tile in tiles:
        _outline(tile, region, YELLOW)
    return _strip(tiles, ["source", "edited", f"changed pixels: {int(changed.sum())}"])


def masked_overlay(pixels: np.ndarray, masked_boxes: list[tuple[slice, slice]]) -> np.ndarray:
    rgb = _rgb(pixels).astype(np.float32)
    for rows, cols in masked_boxes:
        rgb[rows, cols] = 0.4 * rgb[rows, cols] + 0.6 * np.array(BLUE, dtype=np.float32)
    return rgb.astype(np.uint8)


def trajectory_gif(source: np.ndarray, frames: list[np.ndarray], masked: list[list], captions: list[str],
                   region: tuple[slice, slice], ms: int = 700) -> bytes:
    """Animated GIF: per turn the source beside the canvas (masked tokens tinted blue)."""
    images = []
    for pixels, boxes, caption in zip(frames, masked, captions):
        tiles = [_zoom(_rgb(source)), _zoom(masked_overlay(pixels, boxes))]
        for tile in tiles:
            _outline(tile, region, YELLOW)
        images.append(_strip(tiles, ["source", caption]).convert("P", palette=Image.ADAPTIVE))
    buf = io.BytesIO()
    durations = [ms] * (len(images) - 1) + [3 * ms]
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=durations, loop=0)
    return buf.getvalue()


def png_bytes(img: Image.Image) -> bytes:
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def turn_counts(before: torch.Tensor, after: torch.Tensor, mask_id: int) -> tuple[int, int]:
    """(re-masked, revealed) between two canvas states."""
    return int(((before != mask_id) & (after == mask_id)).sum()), int(((before == mask_id) & (after != mask_id)).sum())


def token_map(canvas: torch.Tensor, source: torch.Tensor, grid: int, mask_id: int, title: str) -> Text:
    """One character per canvas token in scene layout: '_' masked, '#' differs from the source, '.' same."""
    text = Text(title + "\n", style="bold")
    side = 2 * grid
    cells = {}
    for i in range(canvas.shape[0]):
        q, cell = divmod(i, grid * grid)
        cells[((q // 2) * grid + cell // grid, (q % 2) * grid + cell % grid)] = i
    for r in range(side):
        for c in range(side):
            i = cells[(r, c)]
            tok = int(canvas[i])
            if tok == mask_id:
                text.append("_", style="bold blue")
            elif tok != int(source[i]):
                text.append("#", style="bold red")
            else:
                text.append(".")
            if c < side - 1:
                text.append(" | " if c == grid - 1 else " ")
        text.append("\n")
        if r == grid - 1:  # as wide as a row ('. . | . .'), its '+' under the '|' (it was 4 * side wide)
            text.append("-" * (2 * grid) + "+" + "-" * (2 * grid) + "\n")
    return text

"""What `rm infer task=image` writes for each prompt: the edited scene, the side-by-side panel and
(show_trajectory) the animated GIF of the decoding turns, plus edits.jsonl (one record per prompt, with
its id and line; the pictures: render.py)."""

import json
from pathlib import Path

import numpy as np
import torch

from rm_cli.tasks.image import render
from rm_cli.tasks.image.scenes import quadrant_box


def edit_files(task, examples, result, show_trajectory: bool = False) -> dict[str, bytes]:
    """{file name: contents}: per prompt the edited scene (56x56 PNG), the panel source | edited |
    changed pixels and, with show_trajectory, an animated GIF of the turns; plus edits.jsonl."""
    tok, lay = task.tokenizer, task.layout
    decoded = tok.decode(result.tokens[:, lay.canvas])
    edited = decoded.round().clamp(0, 255).to(torch.uint8).numpy()
    # changed pixels from the decode itself, as `rm eval` counts them (the rounded PNG moved a few across the threshold)
    changed_all = (decoded - tok.decode(examples.source_tokens)).abs().numpy() > task.change_threshold * 255.0
    files: dict[str, bytes] = {}
    summary = []
    for i, line in enumerate(examples.lines):
        stem = f"{line:03d}_{Path(examples.images[i]).stem}" if examples.images else f"{i:03d}"
        box = quadrant_box(examples.instructions[i].quadrant)
        changed = changed_all[i]
        files[f"{stem}_edited.png"] = _png_gray(edited[i])
        files[f"{stem}_panel.png"] = render.png_bytes(render.panel(examples.source_pixels[i].numpy(), edited[i], changed, box))
        # the prompt's id (its line number when it has none), as text infer keeps it
        entry = {"id": examples.ids[i] if examples.ids else str(line), "line": line,
                 "image": str(examples.images[i]) if examples.images else None,
                 "instruction": examples.texts[i], "edited": f"{stem}_edited.png", "panel": f"{stem}_panel.png",
                 "changed_pixels": int(changed.sum()), "nfe": int(result.nfe[i]),
                 "remasked_tokens": int(result.remasked[:, i].sum()) if result.remasked.numel() else 0}
        if show_trajectory and result.trajectory is not None:
            files[f"{stem}_turns.gif"] = _gif(task, examples, result.trajectory[: int(result.nfe[i]) + 1, i], i, box)
            entry["turns"] = f"{stem}_turns.gif"
        summary.append(entry)
    files["edits.jsonl"] = "".join(json.dumps(e) + "\n" for e in summary).encode()
    return files


def _gif(task, examples, trajectory: torch.Tensor, i: int, box) -> bytes:
    tok, lay = task.tokenizer, task.layout
    coords, patch = tok.coordinates(), tok.model.patch
    frames, masked_boxes, captions = [], [], []
    src = examples.source_tokens[i]
    for s in range(trajectory.shape[0]):
        canvas = trajectory[s, lay.canvas]
        is_masked = canvas == task.mask_id
        frames.append(tok.decode(torch.where(is_masked, src, canvas).unsqueeze(0))[0].numpy())
        masked_boxes.append([(slice(int(r) * patch, int(r + 1) * patch), slice(int(c) * patch, int(c + 1) * patch))
                             for r, c in zip(coords[0][is_masked], coords[1][is_masked])])
        re, rv = render.turn_counts(trajectory[max(s - 1, 0), lay.canvas], canvas, task.mask_id) if s else (0, 0)
        captions.append(f"turn {s}: {re} re-masked, {rv} revealed")
    return render.trajectory_gif(examples.source_pixels[i].numpy(), frames, masked_boxes, captions, box)


def _png_gray(pixels: np.ndarray) -> bytes:
    from PIL import Image

    return render.png_bytes(Image.fromarray(np.asarray(pixels, dtype=np.uint8), "L"))

"""`rm eval task=image`: the pixel, success and localisation metrics of a set of edits, plus one
record per edit (definitions: metrics.py and docs/image_editing.md)."""

import math

import numpy as np
import torch

from rm_cli.errors import UserError
from rm_cli.tasks.image import fashion
from rm_cli.tasks.image import instructions as ins
from rm_cli.tasks.image.classifier import EMPTY_CLASS, load_classifier
from rm_cli.tasks.image.metrics import localisation, pixel_metrics, psnr, remasked_positions
from rm_cli.tasks.image.scenes import region_mask, split_quadrants


def score(task, examples, result) -> tuple[dict, list]:
    """(metrics, per-edit records) of `result`, the decoding of `examples` by a model of `task` (an ImageTask)."""
    if examples.target_pixels is None:
        raise UserError(f"{examples.source}: these examples have no target scenes to score against")
    tok, lay = task.tokenizer, task.layout
    n = len(examples)
    canvas = result.tokens[:, lay.canvas]
    edited, source_dec = tok.decode(canvas), tok.decode(examples.source_tokens)
    target_tokens = examples.gold[:, lay.canvas]
    target_dec = tok.decode(target_tokens)
    quadrant = torch.tensor([i.quadrant for i in examples.instructions])
    region = torch.from_numpy(np.stack([region_mask(int(q)) for q in quadrant]))
    real = examples.target_pixels.float()
    pm = pixel_metrics(source_dec, edited, real, region, task.change_threshold)
    gold_pm = pixel_metrics(source_dec, target_dec, real, region, task.change_threshold)
    metrics = {
        "precision_pct": _pct(pm["precision"]), "coverage_pct": _pct(pm["coverage"]),
        "mae_out": _mean(pm["mae_out"]), "psnr_out_db": _mean(pm["psnr_out"]), "ssim_out": _mean(pm["ssim_out"]),
    }
    wanted = torch.tensor([EMPTY_CLASS if i.cls is None else i.cls for i in examples.instructions])
    verbs = torch.tensor([i.verb for i in examples.instructions])
    predicted = gold_predicted = None
    if task.classifier:
        judge = load_classifier(task.classifier)
        pick = lambda img: split_quadrants(img)[torch.arange(n), quadrant]  # noqa: E731
        predicted, gold_predicted = judge.predict(pick(edited)), judge.predict(pick(target_dec))
        ok = predicted == wanted
        metrics["success_pct"] = _pct(ok.float())
        for v, verb in enumerate(ins.VERBS):
            metrics[f"success_{verb}_pct"] = _pct(ok[verbs == v].float())
    remasked = region_tokens = None
    if result.trajectory is not None:
        remasked = remasked_positions(result.trajectory[:, :, lay.canvas], task.mask_id)
        region_tokens = torch.zeros_like(remasked)
        for i, q in enumerate(quadrant.tolist()):
            region_tokens[i, tok.quadrant_tokens(q)] = True
        loc = localisation(remasked, region_tokens, target_tokens != examples.source_tokens)
        metrics["remask_precision_pct"] = _pct(loc["precision"])
        metrics["remask_recall_pct"] = _pct(loc["recall"])
    metrics["no_change_pct"] = _pct((pm["changed"].sum((-2, -1)) == 0).float())
    metrics["nfe_per_example"] = _mean(result.nfe.float())
    metrics["remasks_per_example"] = _mean(result.remask_total.float())
    # ceilings: the tokenizer's own reconstruction, and the real target through tokenizer and classifier
    metrics["ceiling_psnr_out_db"] = _mean(psnr(source_dec, examples.source_pixels, mask=~region))
    metrics["gold_coverage_pct"] = _pct(gold_pm["coverage"])
    if gold_predicted is not None:
        metrics["gold_success_pct"] = _pct((gold_predicted == wanted).float())
    records = []
    for i in range(n):
        rec = {"id": examples.ids[i] if examples.ids else str(i), "line": examples.lines[i] if examples.lines else None,
               "instruction": examples.texts[i], "changed_pixels": int(pm["changed"][i].sum()),
               "precision": _num(pm["precision"][i]), "coverage": _num(pm["coverage"][i]),
               "psnr_out_db": _num(pm["psnr_out"][i]), "nfe": int(result.nfe[i]),
               "canvas": " ".join(str(int(t)) for t in canvas[i])}
        if predicted is not None:
            pred = int(predicted[i])
            rec["predicted"] = "empty" if pred == EMPTY_CLASS else fashion.CLASSES[pred]
            rec["success"] = bool(pred == int(wanted[i]))
        if remasked is not None:
            rec["remasked_tokens"] = int(remasked[i].sum())
        records.append(rec)
    return metrics, records


def _mean(x: torch.Tensor) -> float | None:
    x = x[~torch.isnan(x)]
    return round(float(x.mean()), 4) if x.numel() else None


def _pct(x: torch.Tensor) -> float | None:
    m = _mean(x.float())
    return None if m is None else round(100.0 * m, 2)


def _num(x: torch.Tensor) -> float | None:
    return None if math.isnan(float(x)) else round(float(x), 4)

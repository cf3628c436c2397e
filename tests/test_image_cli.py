"""task=image end to end on the committed Fashion-MNIST fixture: the tokenizer and classifier
commands, RM and SFT training, eval's pixel metrics, the infer file hook, and bad input as one
line with exit code 2 and no output."""

import json

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from PIL import Image

from conftest import ROOT, run_cli
from rm_cli.checkpoint import load_checkpoint
from rm_cli.commands.train import fit
from rm_cli.config import conf_dir
from rm_cli.decode import decode_examples
from rm_cli.errors import UserError
from rm_cli.tasks.image.classifier import load_classifier
from rm_cli.tasks.image.tokenizer import load_tokenizer

MINI = str(ROOT / "tests" / "data" / "fashion_mnist_mini")
TINY_MODEL = ["backbone.n_layers=1", "backbone.d_model=32", "backbone.n_heads=2", "batch_size=8", "threads=1",
              "task.val_size=6", "trainer.log_every_n_steps=1"]


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    """A tiny tokenizer, classifier, test file and RM model, all made with the real commands."""
    d = tmp_path_factory.mktemp("image")
    tok, cls, test = d / "tok.pt", d / "cls.pt", d / "test.jsonl"
    data = f"task.data_dir={MINI}"
    proc = run_cli("prepare", "task=image", "split=tokenizer", data, f"output={tok}", "task.tokenizer_fit.epochs=3",
                   "task.tokenizer_fit.codebook=32", "task.tokenizer_fit.channels=16", "task.tokenizer_fit.batch_size=32")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "test_psnr_db" in proc.stdout and f"wrote {tok}" in proc.stdout
    proc = run_cli("prepare", "task=image", "split=classifier", data, f"output={cls}", f"task.tokenizer={tok}",
                   "task.classifier_fit.epochs=1", "task.classifier_fit.channels=4")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "test_accuracy_pct" in proc.stdout and "reconstructed_accuracy_pct" in proc.stdout
    task = instantiate(_compose("prepare", ["task=image", data, f"task.tokenizer={tok}"]).task)
    task.write_split("test", test, n=6)
    run_dir = d / "rm"
    proc = run_cli("train", "task=image", data, f"task.tokenizer={tok}", f"task.classifier={cls}", f"task.test_file={test}",
                   "corruption=source", "sampler=rm_edit", "history=off", f"run_dir={run_dir}", "trainer.max_steps=4",
                   "trainer.val_check_interval=4", *TINY_MODEL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["test"]["nfe_per_example"] >= 1 and "precision_pct" in summary["test"]
    return {"dir": d, "tok": tok, "cls": cls, "test": test, "ckpt": run_dir / "checkpoints" / "last.ckpt", "task": task}


def _compose(name: str, overrides: list[str]):
    with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
        return compose(config_name=name, overrides=overrides)


def test_tokenizer_and_classifier_reload_and_report_their_quality(image_run):
    tok = load_tokenizer(image_run["tok"])
    assert tok.n_tokens == 64 and tok.codebook_size == 32 and set(tok.metrics) >= {"test_psnr_db", "seconds_per_step"}
    scene = torch.from_numpy(np.array(Image.new("L", (56, 56)))).unsqueeze(0)
    codes = tok.encode(scene)
    assert codes.shape == (1, 64) and torch.equal(codes[0, :16], tok.empty_codes)
    assert tok.decode(codes).shape == (1, 56, 56)
    judge = load_classifier(image_run["cls"])
    assert judge.predict(torch.zeros(3, 28, 28)).shape == (3,)
    for path, loader in ((image_run["dir"] / "nope.pt", load_tokenizer), (image_run["cls"], load_tokenizer),
                         (image_run["tok"], load_classifier)):
        with pytest.raises(UserError, match="no such|not an image"):
            loader(path)


def test_rm_training_sees_source_tokens_as_the_wrong_tokens(image_run):
    task = image_run["task"]
    stream = iter(task.train_stream(batch_size=16, seed=0))
    batch = next(stream)
    lay = task.layout
    src, tgt = batch["gold"][:, lay.source], batch["gold"][:, lay.canvas]
    wrong = batch["wrong_candidates"][..., 0][:, lay.canvas]
    assert torch.equal(wrong, src)
    rule = batch["rule"][:, lay.canvas]
    assert torch.equal(rule == 1, src != tgt) and (batch["rule"][:, : lay.canvas.start] == 0).all()
    assert batch["editable"][:, lay.canvas].all() and not batch["editable"][:, : lay.canvas.start].any()
    per_quadrant = (src != tgt).view(16, 4, 16).any(-1).sum(-1)
    assert (per_quadrant <= 1).all()  # an edit changes tokens of one quadrant only


def test_sft_trains_with_the_masked_objective_and_decodes_from_an_all_masked_canvas(image_run, tmp_path):
    cfg = _compose("train", ["task=image", f"task.data_dir={MINI}", f"task.tokenizer={image_run['tok']}",
                             "objective=mdm", "history=off", "sampler=rm_edit", "trainer.max_steps=2",
                             "trainer.val_check_interval=2", "test_after_fit=false", *TINY_MODEL])
    summary = fit(cfg, tmp_path / "sft")
    assert summary["objective"] == "mdm" and summary["steps"] == 2
    module = load_checkpoint(summary["last_checkpoint"], cfg.task)
    assert module.task.canvas == "masked"
    ex = module.task.test_examples(image_run["test"])
    assert (ex.inputs[:, module.task.layout.canvas] == module.task.mask_id).all()
    assert torch.equal(ex.inputs[:, module.task.layout.source], ex.source_tokens)


def test_eval_reports_pixel_metrics_success_and_localisation(image_run, tmp_path):
    out = tmp_path / "res.json"
    proc = run_cli("eval", "task=image", f"checkpoint={image_run['ckpt']}", f"test_file={image_run['test']}",
                   "sampler=rm_edit", f"output={out}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    m = report["metrics"]
    assert report["n"] == 6 and set(m) >= {"precision_pct", "coverage_pct", "mae_out", "psnr_out_db", "ssim_out",
                                           "success_pct", "success_remove_pct", "remask_precision_pct",
                                           "ceiling_psnr_out_db", "gold_success_pct"}
    preds = report["predictions"]
    assert m["success_pct"] == pytest.approx(100 * sum(p["success"] for p in preds) / 6, abs=0.01)
    assert all(len(p["canvas"].split()) == 64 for p in preds)
    assert report["train_config"]["task"]["objective"] == "rm" and report["config"]["task"]["canvas"] is None


def test_infer_writes_the_edited_png_the_panel_and_the_turns_gif_atomically(image_run, tmp_path):
    prompts_dir = tmp_path / "scenes"
    image_run["task"].write_split("prompts", prompts_dir, n=3, seed=5)
    prompts = prompts_dir / "prompts.jsonl"
    cfg = _compose("infer", ["task=image", f"checkpoint={image_run['ckpt']}", f"prompts={prompts}", "sampler=rm_edit"])
    # what rm infer does (rm_cli/commands/infer.py), with the task's file hook
    module = load_checkpoint(cfg.checkpoint, cfg.task)
    task = instantiate(cfg.task).for_checkpoint(module.task)
    task.check_output(cfg.output, cfg.prompts)
    examples = task.prompt_examples(cfg.prompts)
    result = decode_examples(instantiate(cfg.sampler), module.model, examples, 4, record_trajectory=True)
    written = task.write_files(cfg.output, examples, result, show_trajectory=True)
    folder = prompts_dir / "prompts.out"
    assert sorted(p.name for p in folder.iterdir()) == sorted(p.name for p in written)
    rows = [json.loads(line) for line in (folder / "edits.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rows] == [1, 2, 3]
    edited = Image.open(folder / rows[0]["edited"])
    assert edited.size == (56, 56) and edited.mode == "L"
    expected = task.tokenizer.decode(result.tokens[:1, task.layout.canvas]).round().clamp(0, 255).to(torch.uint8)
    assert np.array_equal(np.array(edited), expected[0].numpy())
    panel = Image.open(folder / rows[0]["panel"])
    assert panel.width > 3 * 56 * 4 and panel.height > 56 * 4
    gif = Image.open(folder / rows[0]["turns"])
    assert gif.n_frames == int(result.nfe[0]) + 1
    with pytest.raises(UserError, match="already exists"):
        task.check_output(None, prompts)
    frames = task.render_turns(result.trajectory[: int(result.nfe[0]) + 1, 0])
    assert frames[0].plain.startswith("turn 0: 0 re-masked, 0 revealed, 0 masked")


@pytest.mark.parametrize("case", ["size", "word"])
def test_infer_bad_input_is_one_line_exit_2(image_run, tmp_path, case):
    prompts = tmp_path / "p.jsonl"
    Image.new("RGB" if case == "word" else "L", (56 if case == "word" else 64, 56)).save(tmp_path / "s.png")
    text = "add a hat in the top-left" if case == "word" else "add a bag in the top-left"
    prompts.write_text(json.dumps({"image": "s.png", "instruction": text}) + "\n")
    proc = run_cli("infer", "task=image", f"checkpoint={image_run['ckpt']}", f"prompts={prompts}", "sampler=rm_edit")
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert "\n" not in line and line.startswith(f"rm infer: error: {prompts}:1: ")
    if case == "size":
        assert line.endswith("is 64x56 pixels, expected 56x56 (a 2x2 mosaic of 28x28 items)")
    else:
        assert "unknown word 'hat'" in line and "classes: t-shirt, trouser" in line
    assert not (tmp_path / "p.out").exists()


def test_prompt_errors_name_file_and_line(image_run, tmp_path):
    task = image_run["task"]
    items = Image.fromarray(np.full((56, 56), 200, dtype=np.uint8), "L")
    items.save(tmp_path / "full.png")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    cases = {
        '{"image": "broken.png", "instruction": "remove the top-left item"}': "cannot read image",
        '{"image": "missing.png", "instruction": "remove the top-left item"}': "no such image",
        '{"image": "full.png", "instruction": "add a bag in the top-left"}': "cannot add to the top-left quadrant",
        '{"image": "full.png", "instruction": "bring a bag to the top-left"}': "unknown word 'bring'",
        '{"image": "full.png"}': 'each line needs "image"',
    }
    for text, fragment in cases.items():
        f = tmp_path / "p.jsonl"
        f.write_text("\n" + text + "\n")
        with pytest.raises(UserError, match=f"p.jsonl:2: .*{fragment}"):
            task.prompt_examples(f)


def test_missing_tokenizer_is_one_line_before_anything_runs(tmp_path):
    run_dir = tmp_path / "run"
    proc = run_cli("train", "task=image", f"task.data_dir={MINI}", f"task.tokenizer={tmp_path}/none.pt", f"run_dir={run_dir}",
                   *TINY_MODEL)
    assert proc.returncode == 2
    assert proc.stderr.strip() == (f"rm train: error: {tmp_path}/none.pt: no such tokenizer checkpoint "
                                   "(train one with: rm prepare task=image split=tokenizer output=FILE)")
    assert not (run_dir / "checkpoints").exists()

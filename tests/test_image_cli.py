"""task=image end to end on the committed Fashion-MNIST fixture: the tokenizer and classifier
commands, RM and SFT training, eval's pixel metrics, infer's PNG/panel/GIF folder, and bad input as
one line with exit code 2 and no output.

Only the tokenizer command runs as a real `rm` process (the documented command, entry point
included); the others go through the same CLI dispatch in this process (`rm_in_process`), which
saves an interpreter start and a torch import (~5 s of CPU) each.
"""

import contextlib
import io
import json
import sys

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from PIL import Image

from conftest import ROOT, run_cli
from rm_cli import scaling
from rm_cli.checkpoint import load_checkpoint
from rm_cli.cli import run_subcommand
from rm_cli.commands.train import fit
from rm_cli.config import conf_dir
from rm_cli.errors import UserError
from rm_cli.tasks.image.classifier import load_classifier
from rm_cli.tasks.image.tokenizer import VQVAE, SceneTokenizer, load_tokenizer

MINI = str(ROOT / "tests" / "data" / "fashion_mnist_mini")
DATA = f"task.data_dir={MINI}"
TINY_MODEL = ["backbone.n_layers=1", "backbone.d_model=32", "backbone.n_heads=2", "batch_size=8", "threads=1",
              "task.val_size=6", "trainer.log_every_n_steps=1"]


def rm_in_process(*args: str) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `rm ARGS...` run through the CLI's own dispatch and error handling."""
    out, err, argv = io.StringIO(), io.StringIO(), sys.argv
    code = 0
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            run_subcommand("rm", args[0], list(args[1:]))
    except SystemExit as e:
        code = e.code
    finally:
        sys.argv = argv
    return code, out.getvalue(), err.getvalue()


def _compose(name: str, overrides: list[str]):
    with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
        return compose(config_name=name, overrides=overrides)


def _fit(overrides: list[str], run_dir) -> dict:
    """What `rm train` does after parsing (commands/train.py), restoring torch's thread count after."""
    threads = torch.get_num_threads()
    try:
        return fit(_compose("train", ["task=image", DATA, *overrides, *TINY_MODEL]), run_dir)
    finally:
        torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def image_run(tmp_path_factory):
    """A tiny tokenizer, classifier, test file and RM model, made with the real commands."""
    d = tmp_path_factory.mktemp("image")
    tok, cls, test = d / "tok.pt", d / "cls.pt", d / "test.jsonl"
    proc = run_cli("prepare", "task=image", "split=tokenizer", DATA, f"output={tok}", "task.tokenizer_fit.epochs=4",
                   "task.tokenizer_fit.codebook=32", "task.tokenizer_fit.channels=8", "task.tokenizer_fit.batch_size=32",
                   "task.tokenizer_fit.restart_every=5",  # 20 steps: without early restarts every item gets one code
                   env={"OMP_NUM_THREADS": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "test_psnr_db" in proc.stdout and f"wrote {tok}" in proc.stdout
    code, out, err = rm_in_process("prepare", "task=image", "split=classifier", DATA, f"output={cls}", f"task.tokenizer={tok}",
                                   "task.classifier_fit.epochs=1", "task.classifier_fit.channels=4")
    assert code == 0, err[-2000:]
    assert "test_accuracy_pct" in out and "reconstructed_accuracy_pct" in out
    code, out, err = rm_in_process("prepare", "task=image", "split=test", "n=6", DATA, f"output={test}")
    assert code == 0, err[-2000:]
    summary = _fit([f"task.tokenizer={tok}", f"task.classifier={cls}", f"task.test_file={test}", "corruption=source",
                    "sampler=rm_edit", "history=off", "trainer.max_steps=3", "trainer.val_check_interval=3"], d / "rm")
    assert summary["objective"] == "rm" and summary["test"]["nfe_per_example"] >= 1
    assert "precision_pct" in summary["test"] and "success_pct" in summary["test"]
    task = instantiate(_compose("prepare", ["task=image", DATA, f"task.tokenizer={tok}", "task.canvas=source"]).task)
    return {"dir": d, "tok": tok, "cls": cls, "test": test, "ckpt": summary["last_checkpoint"], "task": task}


def test_tokenizer_and_classifier_reload_report_their_quality_and_keep_quadrants_apart(image_run):
    tok = load_tokenizer(image_run["tok"])
    assert tok.n_tokens == 64 and tok.codebook_size == 32 and set(tok.metrics) >= {"test_psnr_db", "seconds_per_step"}
    scene = torch.zeros(1, 56, 56, dtype=torch.uint8)
    codes = tok.encode(scene)
    assert codes.shape == (1, 64) and torch.equal(codes[0, :16], tok.empty_codes)
    # an edit confined to one quadrant's tokens changes its own pixels and no pixel of the other three.
    # Checked on a seeded untrained tokenizer: the 20-step one above may decode every code alike (its
    # 4-channel last stage can die on another CPU's floats; CI saw that), and locality is structural.
    torch.manual_seed(0)
    fresh = SceneTokenizer(VQVAE(codebook=32, channels=16), path="untrained", fingerprint="untrained")
    codes = fresh.encode(scene)
    edited = codes.clone()
    edited[0, fresh.quadrant_tokens(1)] = (edited[0, fresh.quadrant_tokens(1)] + 1) % fresh.codebook_size
    before, after = fresh.decode(codes)[0], fresh.decode(edited)[0]
    assert not torch.equal(before[:28, 28:], after[:28, 28:])
    for rows, cols in ((slice(0, 28), slice(0, 28)), (slice(28, 56), slice(0, 56))):
        assert torch.equal(before[rows, cols], after[rows, cols])
    judge = load_classifier(image_run["cls"])
    assert judge.predict(torch.zeros(3, 28, 28)).shape == (3,)
    for path, loader in ((image_run["dir"] / "nope.pt", load_tokenizer), (image_run["cls"], load_tokenizer),
                         (image_run["tok"], load_classifier)):
        with pytest.raises(UserError, match="no such|not an image"):
            loader(path)


def test_the_same_seed_trains_the_same_tokenizer_and_classifier(image_run, tmp_path):
    """The starting weights are seeded too (they were drawn before the seed was set: two runs, two models)."""
    def prepare(split, out, *options):
        code, _, err = rm_in_process("prepare", "task=image", f"split={split}", DATA, f"output={out}", "seed=3", *options)
        assert code == 0, err[-2000:]
        return torch.load(out, weights_only=False)["state_dict"]

    tokenizer = ["task.tokenizer_fit.epochs=0", "task.tokenizer_fit.codebook=32", "task.tokenizer_fit.channels=8"]
    a, b = (prepare("tokenizer", tmp_path / f"tok{i}.pt", *tokenizer) for i in (1, 2))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    classifier = ["task.classifier_fit.epochs=1", "task.classifier_fit.channels=4"]
    a, b = (prepare("classifier", tmp_path / f"cls{i}.pt", *classifier) for i in (1, 2))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_rm_training_sees_source_tokens_as_the_wrong_tokens(image_run):
    task = image_run["task"]
    batch = next(iter(task.train_stream(batch_size=16, seed=0)))
    lay = task.layout
    src, tgt = batch["gold"][:, lay.source], batch["gold"][:, lay.canvas]
    assert torch.equal(batch["wrong_candidates"][..., 0][:, lay.canvas], src)
    rule = batch["rule"][:, lay.canvas]
    assert torch.equal(rule == 1, src != tgt) and (batch["rule"][:, : lay.canvas.start] == 0).all()
    assert batch["editable"][:, lay.canvas].all() and not batch["editable"][:, : lay.canvas.start].any()
    per_quadrant = (src != tgt).view(16, 4, 16).any(-1).sum(-1)
    assert (per_quadrant <= 1).all() and (per_quadrant == 1).any()  # an edit changes tokens of one quadrant only


def test_sft_trains_with_the_masked_objective_and_decodes_from_an_all_masked_canvas(image_run, tmp_path):
    summary = _fit([f"task.tokenizer={image_run['tok']}", "objective=mdm", "history=off", "sampler=rm_edit",
                    "trainer.max_steps=2", "trainer.val_check_interval=2", "test_after_fit=false"], tmp_path / "sft")
    assert summary["objective"] == "mdm" and summary["steps"] == 2
    module = load_checkpoint(summary["last_checkpoint"], _compose("eval", ["task=image"]).task)
    assert module.task.canvas == "masked"
    ex = module.task.test_examples(image_run["test"])
    assert (ex.inputs[:, module.task.layout.canvas] == module.task.mask_id).all()
    assert torch.equal(ex.inputs[:, module.task.layout.source], ex.source_tokens)


def test_eval_reports_pixel_metrics_success_and_localisation(image_run, tmp_path):
    out = tmp_path / "res.json"
    code, _, err = rm_in_process("eval", "task=image", f"checkpoint={image_run['ckpt']}", f"test_file={image_run['test']}",
                                 "sampler=rm_edit", f"output={out}")
    assert code == 0, err[-2000:]
    report = json.loads(out.read_text())
    m = report["metrics"]
    assert report["n"] == 6 and set(m) >= {"precision_pct", "coverage_pct", "mae_out", "psnr_out_db", "ssim_out",
                                           "success_pct", "success_remove_pct", "remask_precision_pct",
                                           "ceiling_psnr_out_db", "gold_success_pct"}
    preds = report["predictions"]
    assert m["success_pct"] == pytest.approx(100 * sum(p["success"] for p in preds) / 6, abs=0.01)
    assert m["no_change_pct"] == pytest.approx(100 * sum(p["changed_pixels"] == 0 for p in preds) / 6, abs=0.01)
    assert all(len(p["canvas"].split()) == 64 for p in preds)
    assert report["train_config"]["task"]["objective"] == "rm" and report["config"]["task"]["canvas"] is None


def test_infer_writes_the_edited_png_the_panel_and_the_turns_gif(image_run, tmp_path):
    task = image_run["task"]
    scenes = tmp_path / "scenes"
    task.write_split("prompts", scenes, n=3, seed=5)
    prompts = scenes / "prompts.jsonl"
    args = ("infer", "task=image", f"checkpoint={image_run['ckpt']}", f"prompts={prompts}", "sampler=rm_edit",
            "show_trajectory=true")
    code, out, err = rm_in_process(*args)
    assert code == 0, err[-2000:]
    folder = scenes / "prompts.out"
    names = sorted(p.name for p in folder.iterdir())
    assert f"wrote {len(names)} files to {folder}" in out and "turn 0: 0 re-masked, 0 revealed, 0 masked" in out
    rows = [json.loads(line) for line in (folder / "edits.jsonl").read_text().splitlines()]
    assert [r["line"] for r in rows] == [1, 2, 3] and len(names) == 2 + 3 * 3  # edits.jsonl, run.json
    run = json.loads((folder / "run.json").read_text())  # what makes the edits again
    assert run["seed"] == 0 and run["config"]["sampler"]["_target_"].endswith("RMEditSampler") and run["checkpoint"] == str(image_run["ckpt"])
    assert run["train_config"]["task"]["name"] == "image" and "torch" in run["versions"] and run["prompts"] == str(prompts)
    for row in rows:
        edited = Image.open(folder / row["edited"])
        assert edited.size == (56, 56) and edited.mode == "L"
        # the changed-pixel count is edited vs the source as the tokenizer sees it (both decoded)
        source = torch.from_numpy(np.array(Image.open(row["image"]))).unsqueeze(0)
        source_dec = task.tokenizer.decode(task.tokenizer.encode(source))[0].numpy()
        changed = np.abs(np.array(edited).astype(np.float32) - source_dec) > 0.1 * 255.0
        assert row["changed_pixels"] == int(changed.sum())
        panel = Image.open(folder / row["panel"])
        assert panel.width > 3 * 56 * 4 and panel.height > 56 * 4
        assert Image.open(folder / row["turns"]).n_frames == row["nfe"] + 1
    code, out, err = rm_in_process(*args)  # the folder exists now: refused before decoding, nothing touched
    assert code == 2 and "already exists" in err and sorted(p.name for p in folder.iterdir()) == names


def _infer_error(image_run, tmp_path, prompt: dict, *extra: str) -> str:
    """The single stderr line of a refused `rm infer`, after checking exit code 2 and that nothing was written."""
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"image": "s.png", "instruction": "remove the top-left item"}) + "\n"
                       + json.dumps(prompt) + "\n")
    code, out, err = rm_in_process("infer", "task=image", f"checkpoint={image_run['ckpt']}", f"prompts={prompts}",
                                   "sampler=rm_edit", *extra)
    assert code == 2 and out == ""
    assert err.endswith("\n") and "\n" not in err.strip() and err.startswith("rm infer: error: ")
    assert not (tmp_path / "p.out").exists()
    return err.strip()


@pytest.fixture
def scene_png(tmp_path):
    """s.png: an item (a bright block) in the top-left quadrant, the rest empty."""
    pixels = np.zeros((56, 56), dtype=np.uint8)
    pixels[4:24, 4:24] = 220
    Image.fromarray(pixels, "L").save(tmp_path / "s.png")
    return pixels


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares width x height 1-bit pixels and holds none."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)) + chunk(b"IEND", b"")


def test_infer_bad_images_are_one_line_exit_2_and_no_output(image_run, tmp_path, scene_png):
    Image.new("L", (64, 56)).save(tmp_path / "big.png")
    err = _infer_error(image_run, tmp_path, {"image": "big.png", "instruction": "add a bag in the top-left"})
    assert err.endswith(":2: image " + str(tmp_path / "big.png") + " is 64x56 pixels, expected 56x56 (a 2x2 mosaic "
                        "of 28x28 items)")
    for side in (5000, 20000):  # declared in a 60-byte header; 20000 is past PIL's decompression-bomb limit
        (tmp_path / "huge.png").write_bytes(png_header_only(side, side))
        err = _infer_error(image_run, tmp_path, {"image": "huge.png", "instruction": "remove the top-left item"})
        assert ":2: " in err and ("is 5000x5000 pixels" in err if side == 5000 else "DecompressionBombError" in err)
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    err = _infer_error(image_run, tmp_path, {"image": "broken.png", "instruction": "remove the top-left item"})
    assert ":2: cannot read image" in err
    err = _infer_error(image_run, tmp_path, {"image": "gone.png", "instruction": "remove the top-left item"})
    assert ":2: no such image" in err


@pytest.mark.parametrize("instruction,fragment", [
    ("add a hat in the top-right", "unknown word 'hat'"),
    ("paint the top-left item", "unknown word 'paint'"),
    ("replace the middle item with a bag", "unknown word 'middle'"),
])
def test_infer_unknown_words_list_the_accepted_ones(image_run, tmp_path, scene_png, instruction, fragment):
    err = _infer_error(image_run, tmp_path, {"image": "s.png", "instruction": instruction})
    assert f":2: {fragment}" in err
    assert "verbs: replace, remove, add; positions: top-left, top-right, bottom-left, bottom-right; classes: " \
           "t-shirt, trouser, pullover, dress, coat, sandal, shirt, sneaker, bag, ankle boot" in err


def test_infer_missing_tokenizer_is_one_line(image_run, tmp_path, scene_png):
    err = _infer_error(image_run, tmp_path, {"image": "s.png", "instruction": "remove the top-left item"},
                       f"task.tokenizer={tmp_path}/none.pt")
    assert err == (f"rm infer: error: {tmp_path}/none.pt: no such tokenizer checkpoint "
                   "(train one with: rm prepare task=image split=tokenizer output=FILE)")


def test_infer_keeps_each_prompts_id_in_edits_jsonl(image_run, tmp_path, scene_png):
    """A prompt's "id" was read and dropped (text infer keeps it): edits.jsonl said only the line."""
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"image": "s.png", "instruction": "remove the top-left item", "id": "mine-7"}) + "\n\n"
                       + json.dumps({"image": "s.png", "instruction": "add a bag in the top-right"}) + "\n")
    code, out, err = rm_in_process("infer", "task=image", f"checkpoint={image_run['ckpt']}", f"prompts={prompts}",
                                   "sampler=rm_edit")
    assert code == 0, err[-2000:]
    rows = [json.loads(line) for line in (tmp_path / "p.out" / "edits.jsonl").read_text().splitlines()]
    assert [(r["id"], r["line"]) for r in rows] == [("mine-7", 1), ("3", 3)]  # no id: the line number, as text's


@pytest.mark.parametrize("output", ["x.txt", "edits.jsonl", "scene.PNG", "taken"])
def test_infer_output_that_names_a_file_is_refused_before_decoding(image_run, tmp_path, scene_png, output):
    """output=x.txt made a folder named x.txt: image infer writes a folder, so a file's name (or a file) is refused."""
    (tmp_path / "taken").write_text("mine")
    err = _infer_error(image_run, tmp_path, {"image": "s.png", "instruction": "remove the top-left item"},
                       f"output={tmp_path / output}")
    if output == "taken":
        assert err == f"rm infer: error: {tmp_path / output}: is a file; give a folder that does not exist yet (or an empty one)"
        assert (tmp_path / "taken").read_text() == "mine"
    else:
        suffix = output[output.index("."):]
        assert err == (f"rm infer: error: {tmp_path / output}: output names a file ({suffix}), expected a folder: "
                       "task=image writes its edited PNGs, panels, edits.jsonl and run.json into one")
        assert not (tmp_path / output).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.jsonl", "s.png", "taken"]


def test_infer_output_with_a_trailing_slash_is_the_folder_it_names(image_run, tmp_path, scene_png):
    prompts = tmp_path / "p.jsonl"
    prompts.write_text(json.dumps({"image": "s.png", "instruction": "remove the top-left item"}) + "\n")
    code, out, err = rm_in_process("infer", "task=image", f"checkpoint={image_run['ckpt']}", f"prompts={prompts}",
                                   "sampler=rm_edit", f"output={tmp_path / 'edits.v2.txt'}/")
    assert code == 0, err[-2000:]
    assert (tmp_path / "edits.v2.txt" / "edits.jsonl").is_file()


def test_prompts_convert_any_mode_and_check_the_quadrant(image_run, tmp_path, scene_png):
    task = image_run["task"]
    Image.fromarray(scene_png, "L").convert("RGBA").save(tmp_path / "rgba.png")
    f = tmp_path / "p.jsonl"
    f.write_text(json.dumps({"image": "rgba.png", "instruction": "Remove the upper-left item."}) + "\n")
    ex = task.prompt_examples(f)
    assert np.array_equal(ex.source_pixels[0].numpy(), scene_png) and ex.instructions[0].quadrant == 0
    Image.fromarray(scene_png.astype(np.uint16) * 257).save(tmp_path / "gray16.png")  # 16-bit gray: scaled, not clipped
    assert Image.open(tmp_path / "gray16.png").mode == "I;16"
    f.write_text(json.dumps({"image": "gray16.png", "instruction": "Remove the upper-left item."}) + "\n")
    assert np.array_equal(task.prompt_examples(f).source_pixels[0].numpy(), scene_png)
    cases = {
        '{"image": "s.png", "instruction": "add a bag in the top-left"}': "cannot add to the top-left quadrant",
        '{"image": "s.png", "instruction": "remove the bottom-right item"}': "cannot remove the bottom-right item",
        '{"image": "s.png"}': 'each line needs "image"',
        '{"image": "s.png", "instruction": "remove the top-left item"': "not valid JSON",
    }
    for text, fragment in cases.items():
        f.write_text("\n" + text + "\n")
        with pytest.raises(UserError, match=f"p.jsonl:2: .*{fragment}"):
            task.prompt_examples(f)


def test_train_without_a_tokenizer_file_stops_before_anything_is_written(tmp_path):
    with pytest.raises(UserError) as e:
        _fit([f"task.tokenizer={tmp_path}/none.pt", "corruption=source"], tmp_path / "run")
    assert str(e.value) == (f"{tmp_path}/none.pt: no such tokenizer checkpoint "
                            "(train one with: rm prepare task=image split=tokenizer output=FILE)")
    assert not (tmp_path / "run").exists()


def test_rm_training_with_another_corruption_is_refused_at_start(image_run, tmp_path):
    with pytest.raises(UserError, match="task=image trains RM with corruption=source .* got corruption "
                                        "rm_cli.corruption.UniformCorruption"):
        _fit([f"task.tokenizer={image_run['tok']}", "corruption=uniform"], tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_eval_with_a_missing_classifier_stops_before_decoding(image_run, tmp_path):
    out = tmp_path / "res.json"
    code, _, err = rm_in_process("eval", "task=image", f"checkpoint={image_run['ckpt']}", f"test_file={image_run['test']}",
                                 f"task.classifier={tmp_path}/none.pt", f"output={out}")
    assert code == 2 and err == (f"rm eval: error: {tmp_path}/none.pt: no such classifier checkpoint "
                                 "(train one with: rm prepare task=image split=classifier output=FILE)\n")
    assert not out.exists()


def test_a_broken_classifier_stops_eval_before_decoding(image_run, tmp_path):
    bad, out = tmp_path / "bad.pt", tmp_path / "res.json"
    bad.write_bytes(b"not a checkpoint")
    code, stdout, err = rm_in_process("eval", "task=image", f"checkpoint={image_run['ckpt']}", f"test_file={image_run['test']}",
                                      f"task.classifier={bad}", f"output={out}")
    assert code == 2 and err.startswith(f"rm eval: error: {bad}: not a readable classifier checkpoint")
    assert "eval:" not in stdout and not out.exists()  # nothing decoded


def _moved(image_run, tmp_path, **signature) -> str:
    """A copy of the run's checkpoint whose config names a tokenizer and classifier that are gone (the run folder
    moved, or its paths were relative to another folder); `signature` edits the task signature it saved."""
    ckpt = torch.load(image_run["ckpt"], map_location="cpu", weights_only=True)
    task = ckpt["hyper_parameters"]["cfg"]["task"]
    task["tokenizer"], task["classifier"] = "runs/gone/tok.pt", "runs/gone/cls.pt"
    ckpt["task_signature"].update(signature)
    path = tmp_path / "moved.ckpt"
    torch.save(ckpt, path)
    return str(path)


def test_a_checkpoint_whose_files_moved_takes_them_from_the_command_line(image_run, tmp_path):
    moved = _moved(image_run, tmp_path)
    scenes = tmp_path / "scenes"
    image_run["task"].write_split("prompts", scenes, n=2, seed=3)
    infer = ("infer", "task=image", f"checkpoint={moved}", f"prompts={scenes / 'prompts.jsonl'}", "sampler=rm_edit")
    code, out, err = rm_in_process(*infer)
    assert code == 2 and err == ("rm infer: error: the checkpoint's tokenizer runs/gone/tok.pt is not there (moved, or "
                                 "a path relative to another folder?); pass task.tokenizer=FILE\n")
    code, out, err = rm_in_process(*infer, f"task.tokenizer={image_run['tok']}")  # infer scores nothing: no classifier
    assert code == 0, err[-2000:]
    assert "wrote 6 files" in out  # edits.jsonl, run.json, and an edited PNG and a panel per prompt
    evaluate = ("eval", "task=image", f"checkpoint={moved}", f"test_file={image_run['test']}", "limit=2",
                f"task.tokenizer={image_run['tok']}", f"output={tmp_path / 'res.json'}")
    code, out, err = rm_in_process(*evaluate)
    assert code == 2 and err.startswith("rm eval: error: runs/gone/cls.pt: no such classifier checkpoint")
    code, out, err = rm_in_process(*evaluate, f"task.classifier={image_run['cls']}")
    assert code == 0, err[-2000:]
    assert "success_pct" in json.loads((tmp_path / "res.json").read_text())["metrics"]


def test_a_tokenizer_given_for_a_moved_one_must_be_the_one_trained_with(image_run, tmp_path):
    moved = _moved(image_run, tmp_path, tokenizer="another tokenizer's fingerprint")
    code, out, err = rm_in_process("infer", "task=image", f"checkpoint={moved}", f"task.tokenizer={image_run['tok']}",
                                   f"prompts={image_run['dir'] / 'none.jsonl'}")
    assert code == 2 and "the task's files are not those the model was trained with: tokenizer=" in err
    assert "(trained with \"another tokenizer's fingerprint\")" in err


def test_eval_scaling_plots_the_image_tasks_success_against_nfe(image_run, tmp_path):
    """Image metrics have no exact_pct: the scaling table, CSV and plot use the task's headline metric."""
    out = tmp_path / "scaling.json"
    code, stdout, err = rm_in_process("eval", "task=image", f"checkpoint={image_run['ckpt']}", f"test_file={image_run['test']}",
                                      "limit=3", "scaling=true", "scaling_budgets=[2,4]", "scaling_samplers=[vanilla]",
                                      "task.canvas=masked", f"output={out}")
    assert code == 0, err[-2000:]
    report = json.loads(out.read_text())
    assert report["metric"] == "success_pct" and [r["budget"] for r in report["scaling"]] == [2, 4]
    assert "success_pct" in stdout  # the table title (rich wraps it)
    assert (tmp_path / "scaling.csv").read_text().splitlines()[0].startswith("sampler,history,budget,nfe_mean,nfe_max,success_pct,")
    assert (tmp_path / "scaling.png").stat().st_size > 0


@pytest.mark.parametrize("ids, line, why", [(["same", "same"], 2, "another line has it"),
                                            (["a/b0", "c"], 1, "it cannot be a file name")])
def test_prompt_folder_refuses_pair_ids_that_are_not_one_file_name_each(image_run, tmp_path, ids, line, why):
    """A pair's id names its scene PNG: two equal ids overwrote the first scene, a '/' crashed the write."""
    records = [json.loads(x) for x in image_run["test"].read_text().splitlines()[:2]]
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text("".join(json.dumps({**r, "id": i}) + "\n" for r, i in zip(records, ids)))
    code, _, err = rm_in_process("prepare", "task=image", "split=prompts", "n=2", DATA, f"task.test_file={pairs}",
                                 f"output={tmp_path / 'folder'}")
    assert code == 2 and err.strip() == (f"rm prepare: error: {pairs}:{line}: pair id {ids[line - 1]!r} names the "
                                         f"scene's PNG, and {why}")
    assert not (tmp_path / "folder").exists()


def test_prompt_folder_from_the_shipped_file_needs_the_full_dataset(tmp_path):
    code, _, err = rm_in_process("prepare", "task=image", "split=prompts", DATA, f"output={tmp_path / 'scenes'}")
    assert code == 2 and "image_edit_test.jsonl:1: item 7095 is not in t10k" in err and f"(100 images under {MINI})" in err
    assert not (tmp_path / "scenes").exists()


def test_infer_and_eval_count_the_same_changed_pixels(image_run, monkeypatch):
    """Both from the float decode (infer counted on the PNG rounded to 8 bits: 2504 where eval said 2502)."""
    from rm_cli.samplers.base import SampleResult
    from rm_cli.tasks.image.edit_files import edit_files
    from rm_cli.tasks.image.scoring import score

    task = image_run["task"]
    # the fixture's 20-step tokenizer decodes every scene within 0.16 of the same grey: a threshold below that
    monkeypatch.setattr(task, "change_threshold", 0.0004)  # (0.1 pixel levels) puts rounding at stake
    examples = task.test_examples(image_run["test"])
    n = len(examples)
    torch.manual_seed(0)
    tokens = examples.gold.clone()  # the gold edit, with a third of its canvas codes redrawn: many near-threshold pixels
    canvas = tokens[:, task.layout.canvas]
    redraw = torch.rand(canvas.shape) < 0.3
    canvas[redraw] = torch.randint(0, task.tokenizer.codebook_size, (int(redraw.sum()),))
    tokens[:, task.layout.canvas] = canvas
    result = SampleResult(tokens, torch.ones(n), torch.zeros(1, n), torch.zeros(1, n), torch.zeros(1, n))
    _, records = score(task, examples, result)
    written = [json.loads(x) for x in edit_files(task, examples, result)["edits.jsonl"].decode().splitlines()]
    assert [w["changed_pixels"] for w in written] == [r["changed_pixels"] for r in records]
    assert sum(r["changed_pixels"] for r in records) > 0


def test_an_exported_image_model_card_names_the_files_it_needs(image_run, tmp_path):
    """The tokenizer and classifier are not in the exported folder: the card's commands said nothing of them."""
    from rm_cli.hf_export import write_export

    write_export(load_checkpoint(image_run["ckpt"], _compose("eval", ["task=image", DATA]).task), tmp_path / "hf", source="x")
    card = (tmp_path / "hf" / "README.md").read_text()
    assert f"its tokenizer `{image_run['tok']}`" in card and f"its classifier `{image_run['cls']}`" in card
    assert "rm eval task=image checkpoint=DIR task.tokenizer=FILE task.classifier=FILE\n" in card
    assert "rm infer task=image checkpoint=DIR task.tokenizer=FILE prompts=FILE\n" in card


def test_eval_scaling_compares_rm_edit_the_image_tasks_own_rm_at_each_budget(image_run, tmp_path):
    """The default list compared Sudoku's rm rule and left rm_edit out; named, it was refused (no budget).
    The default list follows the registry (a new sampler joins it), with the image task's own rm in rm's place."""
    own = image_run["task"].default_samplers["rm"]
    assert own == "rm_edit" and "rm" in scaling.compared_by_default() and own not in scaling.compared_by_default()
    default = sorted(own if name == "rm" else name for name in scaling.compared_by_default())
    for samplers, expected in ((None, default), ("[rm_edit,vanilla]", ["rm_edit", "vanilla"])):
        out = tmp_path / f"scaling{len(expected)}.json"
        listed = [f"scaling_samplers={samplers}"] if samplers else []
        code, _, err = rm_in_process("eval", "task=image", f"checkpoint={image_run['ckpt']}", f"test_file={image_run['test']}",
                                     "limit=3", "scaling=true", "scaling_budgets=[1,2,5]", *listed, f"output={out}")
        assert code == 0, err[-2000:]
        report = json.loads(out.read_text())
        assert sorted(report["samplers"]) == expected and "rm_edit" in expected and "rm" not in expected
        edits = [r for r in report["scaling"] if r["sampler"] == "rm_edit"]
        assert [r["budget"] for r in edits] == [1, 2, 5] and all(r["nfe_max"] <= r["budget"] for r in edits)

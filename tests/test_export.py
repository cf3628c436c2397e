"""Hugging Face export: `rm export` writes a folder that `checkpoint=DIR` loads back to the same model."""

import json

import lightning as L
import pytest
import torch
from omegaconf import OmegaConf
from safetensors.torch import load_file

from benchmarks.common import train_config
from conftest import TINY, run_cli
from rm_cli.checkpoint import load_checkpoint
from rm_cli.errors import UserError
from rm_cli.hf_export import write_export
from rm_cli.lightning_module import RMLightningModule

TASK = OmegaConf.create({"_target_": "rm_cli.tasks.sudoku.SudokuTask", "name": "sudoku", "mode": "revision"})


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    L.seed_everything(0, verbose=False)
    cfg = train_config(*TINY)
    module = RMLightningModule(cfg)
    with torch.no_grad():  # weights that are not their init values, so a load that silently re-inits shows
        for p in module.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    path = tmp_path_factory.mktemp("ckpt") / "tiny.ckpt"
    torch.save({"state_dict": module.state_dict(), "hyper_parameters": {"cfg": cfg}, "global_step": 12}, path)
    return path


def _logits(module, x):
    with torch.inference_mode():
        return module.model.logits(x, module.model.start(x))


def test_export_cli_writes_a_hf_folder_that_loads_back_with_identical_logits(checkpoint, tmp_path):
    out = tmp_path / "hf"
    proc = run_cli("export", f"checkpoint={checkpoint}", f"out={out}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "config.json", "model.safetensors",
                                                   "special_tokens_map.json", "vocab.json"]
    config = json.loads((out / "config.json").read_text())
    assert (config["vocab_size"], config["mask_token_id"], config["seq_len"], config["global_step"]) == (10, 9, 81, 12)
    assert config["history_reference"]["name"] == "her" and config["history_reference"]["rotate"] is True
    assert config["reflective_masking"]["objective"] == "rm" and "max_turns" in config["reflective_masking"]["sampler"]
    assert json.loads((out / "vocab.json").read_text())["."] == 9
    assert set(load_file(str(out / "model.safetensors"))) == set(
        k.removeprefix("model.") for k in torch.load(checkpoint, weights_only=True)["state_dict"])

    original, exported = load_checkpoint(checkpoint, TASK), load_checkpoint(out, TASK)
    x = original.task.test_examples().take(8).inputs
    assert torch.equal(_logits(original, x), _logits(exported, x))
    assert exported.checkpoint_step == 12

    again = tmp_path / "again"  # an exported folder exports again to the same weights
    write_export(exported, again, source=str(out))
    assert torch.equal(_logits(load_checkpoint(again, TASK), x), _logits(original, x))


def test_export_refuses_a_used_folder_and_bad_folders_are_one_line_errors(checkpoint, tmp_path):
    used = tmp_path / "used"
    used.mkdir()
    (used / "keep.txt").write_text("mine")
    with pytest.raises(UserError, match="already exists and is not an empty directory"):
        write_export(load_checkpoint(checkpoint, TASK), used, source="x")
    assert [p.name for p in used.iterdir()] == ["keep.txt"]
    assert not list(tmp_path.glob(".used.*"))  # nothing half-written beside it
    with pytest.raises(UserError, match="not an exported model folder"):
        load_checkpoint(used, TASK)
    (used / "config.json").write_text("{}")
    (used / "model.safetensors").write_bytes(b"junk")
    with pytest.raises(UserError, match="was not written by rm export"):
        load_checkpoint(used, TASK)


@pytest.mark.parametrize("damage, missing", [({}, "task, backbone, history, objective"), ({"backbone": None}, "backbone")])
def test_an_export_whose_rm_config_lost_keys_is_one_line(checkpoint, tmp_path, damage, missing):
    """An edited config.json failed inside the model's constructor with an omegaconf traceback."""
    out = tmp_path / "hf"
    write_export(load_checkpoint(checkpoint, TASK), out, source="x")
    config = json.loads((out / "config.json").read_text())
    config["rm_config"] = {**config["rm_config"], **damage} if damage else {}
    (out / "config.json").write_text(json.dumps(config))
    with pytest.raises(UserError, match=f"the checkpoint's rm config lacks {missing}$"):
        load_checkpoint(out, TASK)


def test_an_empty_checkpoint_path_and_a_checkpoint_without_weights_say_so(checkpoint, tmp_path):
    with pytest.raises(UserError, match="^checkpoint= is empty; give a .ckpt file or a folder written by rm export$"):
        load_checkpoint("", TASK)  # read as the folder '.': "not an exported model folder"
    ckpt = torch.load(checkpoint, weights_only=True)
    del ckpt["state_dict"]
    torch.save(ckpt, tmp_path / "no_weights.ckpt")
    with pytest.raises(UserError, match="holds an rm config but no weights"):  # was "no rm config inside"
        load_checkpoint(tmp_path / "no_weights.ckpt", TASK)


def test_export_reads_the_task_off_the_checkpoint_and_the_card_names_the_mode(tmp_path):
    """`rm export checkpoint=SOLVE.ckpt out=DIR` was refused ('pass task.mode=solve') though the checkpoint records
    its task, and the card's commands left task.mode=solve out, so they failed as written."""
    from rm_cli.checkpoint import shipped_checkpoint

    out = tmp_path / "solve"
    proc = run_cli("export", f"checkpoint={shipped_checkpoint('sudoku', 'solve')}", f"out={out}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    card = (out / "README.md").read_text()
    assert "rm eval task=sudoku task.mode=solve checkpoint=DIR" in card
    assert "rm infer task=sudoku task.mode=solve checkpoint=DIR prompts=FILE" in card
    prompts = tmp_path / "p.txt"
    prompts.write_text("..3.65..956.984..1...2......598736..7..4..9...31.2..4.9.5..8....7..9.4.8.8.....96\n")
    proc = run_cli("infer", "task=sudoku", "task.mode=solve", f"checkpoint={out}", f"prompts={prompts}")
    assert proc.returncode == 0 and proc.stdout.strip() == "143765289562984371897231564459873612728416935631529847915648723376192458284357196"
    proc = run_cli("export", f"checkpoint={shipped_checkpoint('sudoku', 'solve')}", f"out={tmp_path / 'rev'}",
                   "task.mode=revision")  # a task named on the command line is still checked
    assert proc.returncode == 2 and "pass task.mode=solve" in proc.stderr


def test_a_tiny_text_models_mask_token_is_its_tokenizers_string_not_its_id(tmp_path):
    """special_tokens_map.json said {"mask_token": "2"} (vocab.json listed ids: the special tokens all print as
    nothing): the tiny tokenizer's mask token is "<mask>", and vocab.json now names it, as it names every token."""
    from rm_cli.tasks.text.tokenizers import CharTokenizer

    cfg = train_config("task=text", "backbone=tiny", "backbone.n_layers=1", "backbone.d_model=32", "backbone.n_heads=2",
                       "task.train_size=8", "task.val_size=2", "batch_size=4")
    module = RMLightningModule(cfg)
    out = tmp_path / "hf"
    write_export(module, out, source="x")
    config = json.loads((out / "config.json").read_text())
    vocab = json.loads((out / "vocab.json").read_text())
    assert json.loads((out / "special_tokens_map.json").read_text()) == {"mask_token": CharTokenizer.MASK} == {"mask_token": "<mask>"}
    assert vocab["<mask>"] == config["mask_token_id"] == 2 and vocab["<pad>"] == 0 and vocab["<eos>"] == 1
    assert vocab == {token: i for i, token in enumerate(CharTokenizer().tokens)} and len(vocab) == config["vocab_size"]

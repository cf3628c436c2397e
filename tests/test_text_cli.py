"""task=text through the real CLI: train a tiny model, eval, infer, prepare (splits and the native
cache), benchmark wiring, and every bad input as one line with exit code 2 and no output file."""

import json
import sys
import types

import pytest
import torch
from hydra import compose, initialize_config_dir

from conftest import ROOT, run_cli
from benchmarks.common import train_config
from rm_cli.config import conf_dir
from rm_cli.errors import UserError
from rm_cli.lightning_module import RMLightningModule
from rm_cli.trajectory import WRONG

SHIPPED = ROOT / "rm_cli" / "data" / "text_arithmetic_test.jsonl"
TINY_TEXT = ["task=text", "backbone=tiny", "backbone.n_layers=1", "backbone.d_model=32", "backbone.n_heads=2",
             "task.train_size=64", "task.val_size=4", "batch_size=8", "threads=1", "test_after_fit=false",
             "sampler=rm_text", "sampler.max_turns=4"]
FAST = ["sampler=rm_text", "sampler.max_turns=4", "batch_size=4"]


@pytest.fixture(scope="module")
def text_ckpt(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("text_run")
    proc = run_cli("train", f"run_dir={run_dir}", "trainer.max_steps=3", "trainer.val_check_interval=3", *TINY_TEXT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run_dir / "checkpoints" / "last.ckpt"


def test_eval_writes_metrics_and_one_record_per_item(text_ckpt, tmp_path):
    out = tmp_path / "res.json"
    proc = run_cli("eval", "task=text", f"checkpoint={text_ckpt}", "limit=3", f"output={out}", "seed=7", *FAST)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "exact_pct" in proc.stdout and "rm eval: text" in proc.stdout
    report = json.loads(out.read_text())
    assert report["n"] == 3 and report["seed"] == 7 and report["test_file"] == str(SHIPPED)
    assert set(report["metrics"]) >= {"exact_pct", "sequence_exact_pct", "nfe_per_example", "remasks_per_example"}
    first = json.loads(SHIPPED.read_text().splitlines()[0])
    pred = report["predictions"][0]
    assert pred["prompt"] == first["prompt"] and pred["reference"] == first["answer"] and pred["id"] == first["id"]
    assert set(pred) >= {"completion", "extracted", "correct", "truncated_prompt"}
    assert report["metrics"]["exact_pct"] == 100 * sum(p["correct"] for p in report["predictions"]) / 3
    assert report["config"]["task"]["name"] == "text" and report["train_config"]["backbone"]["tokenizer"] == {"kind": "char"}
    assert {"torch", "transformers", "datasets"} <= set(report["versions"])


def test_infer_prints_completions_writes_jsonl_and_shows_every_turn(text_ckpt, tmp_path):
    prompts = tmp_path / "p.txt"
    prompts.write_text("Tom has 3 pens. Tom buys 2 more. How many pens does Tom have now?\n\nMia has 5 eggs. Mia loses 1.\n")
    proc = run_cli("infer", "task=text", f"checkpoint={text_ckpt}", f"prompts={prompts}", *FAST)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"{prompts}:1" in proc.stdout and f"{prompts}:3" in proc.stdout
    out = tmp_path / "out.jsonl"
    proc = run_cli("infer", "task=text", f"checkpoint={text_ckpt}", f"prompts={prompts}", f"output={out}",
                   "show_trajectory=true", *FAST)
    assert proc.returncode == 0, proc.stderr[-2000:]
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["line"] for r in rows] == [1, 3] and rows[1]["prompt"] == "Mia has 5 eggs. Mia loses 1."
    assert all(isinstance(r["completion"], str) for r in rows)
    assert "turn 0: 0 re-masked, 0 revealed, 56 masked" in proc.stdout and "turn 1: 0 re-masked, 1 revealed" in proc.stdout


@pytest.mark.parametrize("case", ["empty", "malformed", "too_long", "vocabulary"])
def test_bad_input_is_one_line_exit_2_and_no_output(text_ckpt, tmp_path, case):
    prompts, extra = tmp_path / "p.jsonl", []
    expected = {
        "empty": f"rm infer: error: {prompts}: file holds no prompts",
        "malformed": f"rm infer: error: {prompts}:2: not valid JSON",
        "too_long": f"rm infer: error: {prompts}:1: prompt has 200 tokens, more than the model's prompt context of 144",
        "vocabulary": f"rm infer: error: {text_ckpt}: checkpoint is for another task or vocabulary: tokenizer='char:ascii-v1'",
    }[case]
    prompts.write_text({"empty": "\n\n", "malformed": '{"prompt": "a"}\n{"prompt": \n',
                        "too_long": json.dumps({"prompt": "x" * 200}) + "\n"}.get(case, '{"prompt": "a"}\n'))
    if case == "vocabulary":
        extra = ["backbone=hf_mlm"]  # pins the MiniLM vocabulary: the char-level checkpoint must be refused
    out = tmp_path / "out.jsonl"
    proc = run_cli("infer", "task=text", f"checkpoint={text_ckpt}", f"prompts={prompts}", f"output={out}", *extra, *FAST)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith(expected), proc.stderr[-2000:]
    assert not out.exists()


def test_prepare_regenerates_the_shipped_test_set_byte_for_byte(tmp_path):
    out = tmp_path / "test.jsonl"
    proc = run_cli("prepare", "task=text", f"output={out}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert out.read_bytes() == SHIPPED.read_bytes()
    assert sum(1 for _ in SHIPPED.open()) == 500


def test_native_cache_is_a_datasets_folder_that_training_draws_wrong_tokens_from(text_ckpt, tmp_path):
    import datasets

    cache = tmp_path / "native"
    proc = run_cli("prepare", "task=text", "split=native", f"checkpoint={text_ckpt}", f"output={cache}", "n=12", "k=3")
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = datasets.load_from_disk(str(cache)).with_format("torch")[:]
    meta = json.loads((cache / "rm_native.json").read_text())
    assert len(table["id"]) == 12 and meta["k"] == 3 and meta["tokenizer"] == "char:ascii-v1" and meta["answer_len"] == 56
    gold, wrong = table["input_ids"], table["wrong"]
    assert wrong.shape == (12, 56, 3) and not (wrong == gold[:, 144:, None]).any() and not (wrong == 2).any()

    overrides = [o for o in TINY_TEXT if o not in ("threads=1", "test_after_fit=false")]
    module = RMLightningModule(train_config(*overrides, "corruption=native", f"corruption.cache={cache}"))
    batch = next(iter(module.task.train_stream(32, seed=0)))
    assert batch["wrong_candidates"].shape == (32, 200, 3)
    drawn = module.draw(batch, torch.Generator().manual_seed(0))
    first = drawn["states"][:, 0]  # x(0): WRONG positions show their wrong token
    is_wrong = batch["rule"] == WRONG
    assert is_wrong.any() and (first[is_wrong] != batch["gold"][is_wrong]).all()
    in_candidates = (first.unsqueeze(-1) == batch["wrong_candidates"]).any(-1)
    assert in_candidates[is_wrong].all()  # every wrong token is one of the frozen model's top-k

    with pytest.raises(UserError, match=r"native cache was made for another vocabulary or layout: answer_len=56 \(this run: 40\)"):
        RMLightningModule(train_config(*overrides, "task.answer_len=40", "corruption=native",
                                       f"corruption.cache={cache}")).task.train_stream(4, 0)


def test_eval_benchmark_goes_through_the_benchmark_interface(text_ckpt, tmp_path, monkeypatch):
    """A fake benchmark stands in for rm_cli.benchmarks: its items are decoded, its scorer and
    aggregate make the metrics, and an unknown name is the loader's one-line error."""
    from rm_cli.commands import eval as eval_command

    class Item(types.SimpleNamespace):
        pass

    class Fake:
        def items(self, limit):
            return [Item(id=f"f{i}", prompt=f"Tom has {i} pens. How many pens does Tom have now?", reference=str(i), meta={})
                    for i in range(5)][:limit]

        def score(self, item, completion):
            return {"correct": item.id == "f1", "extracted": completion[:3]}

        def aggregate(self, items, scores):
            return {"accuracy_pct": 100.0 * sum(s["correct"] for s in scores) / len(items)}

    def get_benchmark(name, **options):
        if name != "fake":
            raise UserError(f"unknown benchmark {name!r}; choose one of: fake")
        assert options == {"path": "given.jsonl"}
        return Fake()

    fake_module = types.ModuleType("rm_cli.benchmarks")
    fake_module.get_benchmark = get_benchmark
    monkeypatch.setitem(sys.modules, "rm_cli.benchmarks", fake_module)
    out = tmp_path / "bench.json"
    with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
        cfg = compose("eval", ["task=text", f"checkpoint={text_ckpt}", "benchmark=fake", "limit=3", "test_file=given.jsonl",
                               f"output={out}", *FAST])
        report = eval_command.run(cfg)
        with pytest.raises(UserError, match="unknown benchmark 'nope'; choose one of: fake"):
            eval_command.run(compose("eval", ["task=text", f"checkpoint={text_ckpt}", "benchmark=nope", *FAST]))
    assert report["metrics"]["accuracy_pct"] == pytest.approx(100 / 3) and report["benchmark"] == "fake"
    assert [p["id"] for p in report["predictions"]] == ["f0", "f1", "f2"]
    assert [p["correct"] for p in report["predictions"]] == [False, True, False]
    assert report["predictions"][1]["reference"] == "1" and json.loads(out.read_text())["n"] == 3

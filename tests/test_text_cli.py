"""task=text end to end: `rm train` once through the real CLI, then eval (test file and benchmark),
infer, prepare (splits and the native cache) and every bad input of issue 4.

Only training and one bad input run as subprocesses (each costs seconds of imports); the other
commands run in process through the same Hydra configs, which is what keeps this file fast. A
bad input must be one line: the CLI prints a UserError as `rm <command>: error: <message>`."""

import json
import re
from importlib import import_module
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir

from conftest import ROOT, run_cli
from benchmarks.common import train_config
from rm_cli.config import conf_dir
from rm_cli.errors import UserError
from rm_cli.lightning_module import RMLightningModule
from rm_cli.trajectory import WRONG
from test_hf_backbones import make_bert

SHIPPED = ROOT / "rm_cli" / "data" / "text_arithmetic_test.jsonl"
TINY_TEXT = ["task=text", "backbone=tiny", "backbone.n_layers=1", "backbone.d_model=32", "backbone.n_heads=2",
             "task.train_size=64", "task.val_size=4", "batch_size=8", "sampler=rm_text", "sampler.max_turns=4"]
FAST = ["sampler=rm_text", "sampler.max_turns=4", "batch_size=4"]


def command(name: str, *overrides: str):
    """`rm NAME overrides...` in this process: compose the command's config and run it."""
    with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
        cfg = compose(name, list(overrides))
    return import_module(f"rm_cli.commands.{name}").run(cfg)


def one_line_error(excinfo) -> str:
    message = str(excinfo.value)
    assert "\n" not in message
    return message


@pytest.fixture(scope="module")
def text_ckpt(tmp_path_factory):
    run_dir = tmp_path_factory.mktemp("text_run")
    proc = run_cli("train", f"run_dir={run_dir}", "trainer.max_steps=2", "trainer.val_check_interval=2", "threads=1",
                   "test_after_fit=false", *TINY_TEXT)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return run_dir / "checkpoints" / "last.ckpt"


def test_eval_writes_metrics_and_one_record_per_item(text_ckpt, tmp_path):
    out = tmp_path / "res.json"
    report = command("eval", "task=text", f"checkpoint={text_ckpt}", "limit=3", f"output={out}", "seed=7", *FAST)
    assert json.loads(out.read_text())["predictions"] == report["predictions"]
    assert report["n"] == 3 and report["seed"] == 7 and report["test_file"] == str(SHIPPED)
    assert set(report["metrics"]) >= {"exact_pct", "sequence_exact_pct", "nfe_per_example", "remasks_per_example"}
    first = json.loads(SHIPPED.read_text().splitlines()[0])
    pred = report["predictions"][0]
    assert pred["prompt"] == first["prompt"] and pred["reference"] == first["answer"] and pred["id"] == first["id"]
    assert set(pred) >= {"completion", "extracted", "correct", "truncated_prompt"}
    assert report["metrics"]["exact_pct"] == 100 * sum(p["correct"] for p in report["predictions"]) / 3
    assert report["config"]["task"]["name"] == "text" and report["train_config"]["backbone"]["tokenizer"] == {"kind": "char"}
    assert {"torch", "transformers", "datasets"} <= set(report["versions"])


def test_text_eval_keeps_no_trajectory_its_metrics_never_read(text_ckpt, monkeypatch):
    """Every turn's state of every problem (gigabytes for a long answer region on a large benchmark) is kept
    only for tasks whose metrics read it (Sudoku's replays), not for text."""
    import rm_cli.commands.eval as eval_command

    recorded, decode = [], eval_command.decode_examples
    monkeypatch.setattr(eval_command, "decode_examples",
                        lambda *a, **k: recorded.append(a[4]) or decode(*a, **k))
    report = command("eval", "task=text", f"checkpoint={text_ckpt}", "limit=2", *FAST)
    assert recorded == [False] and report["n"] == 2 and "exact_pct" in report["metrics"]


def test_eval_benchmark_scores_with_the_benchmarks_own_scorer(text_ckpt, tmp_path):
    """benchmark=local on the shipped test file: its items are decoded and scored by rm_cli.benchmarks
    (the reference is the final answer); an unknown name lists the valid ones."""
    report = command("eval", "task=text", f"checkpoint={text_ckpt}", "benchmark=local", f"test_file={SHIPPED}",
                     "limit=3", *FAST)
    first = json.loads(SHIPPED.read_text().splitlines()[0])
    preds = report["predictions"]
    assert report["benchmark"] == "local" and len(preds) == 3 and preds[0]["id"] == first["id"]
    assert preds[0]["reference"] == first["answer"].split("####")[-1].strip()
    assert report["metrics"]["accuracy_pct"] == pytest.approx(100 * sum(p["correct"] for p in preds) / 3)
    with pytest.raises(UserError) as e:
        command("eval", "task=text", f"checkpoint={text_ckpt}", "benchmark=gsm9k", *FAST)
    assert one_line_error(e) == ("unknown benchmark 'gsm9k'; choose one of: "
                                 "arc_challenge, gsm8k, humaneval, local, math500, mbpp, minerva_math, mmlu")
    with pytest.raises(UserError) as e:  # it named path=FILE, which the command line refuses
        command("eval", "task=text", f"checkpoint={text_ckpt}", "benchmark=local", *FAST)
    assert one_line_error(e).startswith("benchmark 'local' needs the JSONL file: test_file=FILE")
    long = tmp_path / "long.jsonl"  # a local file's bad item is named by its file and line, as a test file's is
    long.write_text(json.dumps({"prompt": "a", "answer": "1"}) + "\n\n" + json.dumps({"prompt": "x" * 200, "answer": "2"}) + "\n")
    with pytest.raises(UserError) as e:
        command("eval", "task=text", f"checkpoint={text_ckpt}", "benchmark=local", f"test_file={long}", *FAST)
    assert one_line_error(e).startswith(f"{long}:3: prompt has 200 tokens")


def test_infer_prints_completions_writes_jsonl_and_shows_every_turn(text_ckpt, tmp_path, capsys):
    prompts = tmp_path / ("a_folder_name_long_enough_that_file_and_line_no_longer_fit_in_80_columns" * 2) / "p.txt"
    prompts.parent.mkdir()  # a rule cut a long path to 'p.t…', and its line number with it
    prompts.write_text("Tom has 3 pens. Tom buys 2 more. How many pens does Tom have now?\n\nMia has 5 eggs. Mia loses 1.\n")
    printed = command("infer", "task=text", f"checkpoint={text_ckpt}", f"prompts={prompts}", *FAST)
    stdout = capsys.readouterr().out
    assert len(printed) == 2 and f"{prompts}:1" in stdout and f"{prompts}:3" in stdout
    out = tmp_path / "out.jsonl"
    written = command("infer", "task=text", f"checkpoint={text_ckpt}", f"prompts={prompts}", f"output={out}",
                      "show_trajectory=true", *FAST)
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["line"] for r in rows] == [1, 3] and rows[1]["prompt"] == "Mia has 5 eggs. Mia loses 1."
    assert [r["completion"] for r in rows] == written == printed  # temperature 0: the same completions
    stdout = capsys.readouterr().out
    # rm_text's fit_budget: 56 masks over max_turns=4 reveal 14 a turn (not reveal_per_turn=1)
    assert "turn 0: 0 re-masked, 0 revealed, 56 masked" in stdout and "turn 1: 0 re-masked, 14 revealed" in stdout


@pytest.mark.parametrize("case", ["empty", "malformed", "missing_prompt", "too_long", "vocabulary"])
def test_bad_input_is_one_line_and_writes_no_output(text_ckpt, tmp_path, case):
    prompts, extra = tmp_path / "p.jsonl", []
    expected = {
        "empty": f"{prompts}: file holds no prompts",
        "malformed": f"{prompts}:2: not valid JSON",
        "missing_prompt": f"{prompts}:2: missing or empty \"prompt\" string",
        "too_long": f"{prompts}:1: prompt has 200 tokens, more than the model's prompt context of 144",
        "vocabulary": f"{text_ckpt}: checkpoint is for another task or vocabulary: tokenizer='char:ascii-v1'",
    }[case]
    prompts.write_text({"empty": "\n\n", "malformed": '{"prompt": "a"}\n{"prompt": \n',
                        "missing_prompt": '{"prompt": "a"}\n{"question": "b"}\n',
                        "too_long": json.dumps({"prompt": "x" * 200}) + "\n"}.get(case, '{"prompt": "a"}\n'))
    if case == "vocabulary":
        extra = ["backbone=hf_mlm"]  # pins the MiniLM vocabulary: the char-level checkpoint must be refused
    out = tmp_path / "out.jsonl"
    with pytest.raises(UserError) as e:
        command("infer", "task=text", f"checkpoint={text_ckpt}", f"prompts={prompts}", f"output={out}", *extra, *FAST)
    assert one_line_error(e).startswith(expected)
    assert not out.exists()


@pytest.mark.parametrize("name,overrides,expected", [
    ("eval", ["limit=-1"], "limit must be null or a positive integer, got -1"),  # was: all but the last item
    ("eval", ["limit=abc"], "limit must be null or a positive integer, got 'abc'"),
    ("infer", ["batch_size=0"], "batch_size must be a positive integer, got 0"),
    ("prepare", ["n=0"], "n must be null or a positive integer, got 0"),  # was: the whole split
    ("prepare", ["split=native", "output=DIR"], "DIR: already exists (an earlier cache?); remove it or choose another output"),
    ("infer", ["output=PROMPTS"], "output=PROMPTS is also prompts=: the command would overwrite what it reads"),
    ("eval", ["test_file=PROMPTS", "output=PROMPTS"], "output=PROMPTS is also test_file=: the command would overwrite"),
    ("eval", ["scaling=true", "output=DIR.csv"], "scaling=true needs output=FILE.json"),  # the JSON overwrote the CSV
    ("eval", ["scaling=true", "scaling_budgets=[abc]"], "scaling_budgets must be a list of whole numbers >= 1, got ['abc']"),
    ("eval", ["scaling=true", "scaling_budgets=[2.5]"], "scaling_budgets must be a list of whole numbers >= 1"),  # was cut to 2
    ("eval", ["scaling=true", "scaling_samplers=[]"], "scaling_samplers must be null or a non-empty list"),  # empty files
    ("eval", ["seed=abc"], "seed must be a whole number from 0 to 4294967295, got 'abc'"),  # a TypeError after decoding
    ("infer", ["seed=-1"], "seed must be a whole number from 0 to 4294967295, got -1"),
    ("prepare", ["seed=2.5"], "seed must be null or a whole number from 0 to 4294967295, got 2.5"),
])
def test_bad_counts_and_an_output_that_is_the_input_are_refused_before_any_work(text_ckpt, tmp_path, name, overrides,
                                                                                 expected):
    prompts, folder = tmp_path / "p.jsonl", tmp_path / "cache"
    prompts.write_text(SHIPPED.read_text().splitlines()[0] + "\n")
    folder.mkdir()
    names = {"PROMPTS": str(prompts), "DIR": str(folder)}
    overrides = [o.replace("PROMPTS", names["PROMPTS"]).replace("DIR", names["DIR"]) for o in overrides]
    given = {o.split("=")[0] for o in overrides}
    args = {"eval": [f"checkpoint={text_ckpt}", "sampler=rm_text"], "prepare": [f"checkpoint={text_ckpt}"],
            "infer": [f"checkpoint={text_ckpt}", f"prompts={prompts}", "sampler=rm_text"]}[name]
    if "output" not in given:
        args.append(f"output={tmp_path / 'out.json'}")
    before = prompts.read_text()
    with pytest.raises(UserError) as e:
        command(name, "task=text", *args, *overrides)
    assert one_line_error(e).startswith(expected.replace("PROMPTS", names["PROMPTS"]).replace("DIR", names["DIR"]))
    assert prompts.read_text() == before and not (tmp_path / "out.json").exists()


def test_a_required_option_left_out_is_one_line_exit_2(tmp_path):
    proc = run_cli("infer", "task=text", cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.strip() == "rm infer: error: prompts= is required", proc.stderr[-2000:]


def test_cli_tokenizer_without_a_mask_token_is_one_line_exit_2(text_ckpt, tmp_path):
    """Through the real CLI: the error is raised while Hydra instantiates the task, and still prints as one line."""
    folder = make_bert(tmp_path / "nomask", with_mask=False)
    prompts, out = tmp_path / "p.txt", tmp_path / "out.jsonl"
    prompts.write_text("Tom has 3 pens.\n")
    proc = run_cli("infer", "task=text", "backbone=hf_mlm", f"backbone.path={folder}", f"checkpoint={text_ckpt}",
                   f"prompts={prompts}", f"output={out}", *FAST)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1, proc.stderr[-2000:]
    assert lines[0] == (f"rm infer: error: {folder}: its tokenizer defines no mask token; a mask diffusion model "
                        "needs one (set backbone.tokenizer.mask_token_id)")
    assert not out.exists()


def test_prepare_regenerates_the_shipped_test_set_byte_for_byte(tmp_path, capsys):
    out = tmp_path / "test.jsonl"
    command("prepare", "task=text", f"output={out}")
    assert out.read_bytes() == SHIPPED.read_bytes()
    # its last line is what it cost (what docs/results/text.md quotes for the native cache)
    line = capsys.readouterr().out.splitlines()[-1]
    assert re.fullmatch(rf"wrote {re.escape(str(out))} in \d+\.\d s wall, \d+\.\d s CPU, peak memory [\d,]+ MB", line), line
    status = Path("/proc/self/status")
    if status.is_file():  # Linux: the same high-water mark the kernel reports, in MB
        hwm_kb = next(int(row.split()[1]) for row in status.read_text().splitlines() if row.startswith("VmHWM:"))
        assert abs(int(line.rsplit(" ", 2)[1].replace(",", "")) - hwm_kb * 1024 / 1e6) < 5
    assert sum(1 for _ in SHIPPED.open()) == 500
    with pytest.raises(UserError) as e:
        command("prepare", "task=text", "split=dev", f"output={out}")
    assert one_line_error(e) == "split must be one of 'train', 'val', 'test', 'native', got 'dev'"


def test_native_cache_is_a_datasets_folder_that_training_draws_wrong_tokens_from(text_ckpt, tmp_path):
    import datasets

    cache = tmp_path / "native"
    command("prepare", "task=text", "split=native", f"checkpoint={text_ckpt}", f"output={cache}", "n=12", "k=3")
    table = datasets.load_from_disk(str(cache)).with_format("torch")[:]
    meta = json.loads((cache / "rm_native.json").read_text())
    assert len(table["id"]) == 12 and meta["k"] == 3 and meta["tokenizer"] == "char:ascii-v1" and meta["answer_len"] == 56
    gold, wrong = table["input_ids"], table["wrong"]
    assert wrong.shape == (12, 56, 3) and not (wrong == gold[:, 144:, None]).any() and not (wrong == 2).any()

    module = RMLightningModule(train_config(*TINY_TEXT, "corruption=native", f"corruption.cache={cache}"))
    batch = next(iter(module.task.train_stream(32, seed=0)))
    assert batch["wrong_candidates"].shape == (32, 200, 3)
    drawn = module.draw(batch, torch.Generator().manual_seed(0))
    first = drawn["states"][:, 0]  # x(0): WRONG positions show their wrong token
    is_wrong = batch["rule"] == WRONG
    assert is_wrong.any() and (first[is_wrong] != batch["gold"][is_wrong]).all()
    in_candidates = (first.unsqueeze(-1) == batch["wrong_candidates"]).any(-1)
    assert in_candidates[is_wrong].all()  # every wrong token is one of the frozen model's top-k

    # the cache is the training data: a train_file named beside it must hold its examples
    source = tmp_path / "train.jsonl"
    module.task.write_split("train", source)  # the generated problems the cache was made from
    RMLightningModule(train_config(*TINY_TEXT, "corruption=native", f"corruption.cache={cache}",
                                   f"task.train_file={source}")).task.train_stream(4, 0)
    other = tmp_path / "other.jsonl"
    other.write_text(json.dumps({"prompt": "What is 1 + 1?", "answer": "1 + 1 = 2. #### 2"}) + "\n")
    with pytest.raises(UserError, match=r"holds examples of generated arithmetic \(train\), not of task.train_file="):
        RMLightningModule(train_config(*TINY_TEXT, "corruption=native", f"corruption.cache={cache}",
                                       f"task.train_file={other}")).task.train_stream(4, 0)

    with pytest.raises(UserError, match=r"native cache was made for another vocabulary or layout: answer_len=56 \(this run: 40\)"):
        RMLightningModule(train_config(*TINY_TEXT, "task.answer_len=40", "corruption=native",
                                       f"corruption.cache={cache}")).task.train_stream(4, 0)


def test_native_cache_keeps_the_papers_top_50_unless_k_is_given(text_ckpt, tmp_path):
    """SPEC: where the paper (k = 50) and the released code (k = 8) disagree, the paper's is the default."""
    import datasets

    cache = tmp_path / "native"
    command("prepare", "task=text", "split=native", f"checkpoint={text_ckpt}", f"output={cache}", "n=2")
    assert json.loads((cache / "rm_native.json").read_text())["k"] == 50
    assert datasets.load_from_disk(str(cache)).with_format("torch")[:]["wrong"].shape == (2, 56, 50)


def test_eval_scaling_writes_the_accuracy_vs_decoding_steps_curve(text_ckpt, tmp_path):
    out = tmp_path / "scaling.json"
    report = command("eval", "task=text", f"checkpoint={text_ckpt}", "limit=2", "scaling=true", "scaling_budgets=[2,3]",
                     "scaling_samplers=[rm,vanilla]", f"output={out}", *FAST)
    # rm gets max_turns = budget - 1 (room for the end fill); with fit_budget those turns reveal every
    # mask (56 / 1, 56 / 2 a turn), so no fill pass is needed and it spends one pass under the budget
    assert [(r["sampler"], r["budget"], r["nfe_max"]) for r in report["scaling"]] == [
        ("rm", 2, 1), ("rm", 3, 2), ("vanilla", 2, 2), ("vanilla", 3, 3)]
    assert all("exact_pct" in r for r in report["scaling"])
    assert len(out.with_suffix(".csv").read_text().splitlines()) == 5 and out.with_suffix(".png").stat().st_size > 0


@pytest.mark.skipif(not Path("/proc/self/status").is_file(), reason="VmHWM is Linux's /proc")
def test_prepare_reports_its_own_peak_memory_not_its_parents(tmp_path):
    """getrusage's ru_maxrss carries the parent's peak across fork and exec: `rm prepare` started by a script that held
    800 MB reported at least 800 MB whatever it used itself."""
    import subprocess
    import sys

    parent = ("import resource, subprocess, sys\n"
              "big = bytearray(800_000_000)\n"
              "big[::4096] = b'\\x01' * len(range(0, len(big), 4096))\n"
              "child = 'from rm_cli.commands.prepare import peak_rss_mb; print(peak_rss_mb())'\n"
              "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e6)\n"
              "print(subprocess.run([sys.executable, '-c', child], capture_output=True, text=True, check=True).stdout)\n")
    out = subprocess.run([sys.executable, "-c", parent], capture_output=True, text=True, check=True).stdout.split()
    parent_peak, child_peak = float(out[0]), float(out[1])
    assert parent_peak > 800 and 0 < child_peak < parent_peak - 400, (parent_peak, child_peak)

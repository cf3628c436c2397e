"""The `rm` / `rmdm` entry points as a user runs them: forwarding, Hydra features, bad input."""

import json
import os
import subprocess

import pytest
import torch
from omegaconf import OmegaConf

from conftest import BIN, ROOT, TINY, run_cli
from rm_cli.checkpoint import _check_same_task
from rm_cli.errors import UserError

TEST_FILE = ROOT / "rm_cli" / "data" / "sudoku_revision_test.jsonl"


def _boards(n: int) -> list[dict]:
    return [json.loads(line) for line in TEST_FILE.read_text().splitlines()[:n]]


# ---- forwarding to the system rm ---------------------------------------------------------------

def test_rm_forwards_non_subcommands_to_system_rm(tmp_path):
    victim = tmp_path / "build"
    (victim / "sub").mkdir(parents=True)
    (victim / "sub" / "f.txt").write_text("x")
    proc = run_cli("-rf", str(victim))
    assert proc.returncode == 0 and not victim.exists()
    missing = run_cli(str(tmp_path / "nope"))
    coreutils = subprocess.run(["rm", str(tmp_path / "nope")], executable="/bin/rm", capture_output=True, text=True)
    assert missing.returncode == coreutils.returncode != 0
    assert missing.stderr == coreutils.stderr
    file_named_train = tmp_path / "notes"
    file_named_train.write_text("x")
    assert run_cli("--", str(file_named_train)).returncode == 0 and not file_named_train.exists()


def test_a_mistyped_command_is_refused_and_never_reaches_coreutils(tmp_path):
    """`rm evalu task=sudoku` names no file: coreutils would only remove the later arguments that are files."""
    bystander = tmp_path / "test_file=boards.jsonl"
    bystander.write_text("x")
    for typo, hint in [("evalu", "did you mean `rm eval`?"), ("trian", "did you mean `rm train`?"),
                       ("task=sudoku", "is a config override, not a command")]:
        proc = run_cli(typo, str(bystander))
        assert proc.returncode == 2 and hint in proc.stderr and proc.stderr.count("\n") == 1, proc.stderr
        assert bystander.exists()
    named_like_a_command = tmp_path / "evalu"
    named_like_a_command.write_text("x")  # an existing file is the user's to remove
    assert run_cli(str(named_like_a_command)).returncode == 0 and not named_like_a_command.exists()
    assert run_cli("TRAIN", str(bystander)).returncode == 2 and bystander.exists()
    # a missing file name is coreutils' business: `rm train.log eval.log` still removes eval.log
    log = tmp_path / "eval.log"
    log.write_text("x")
    proc = run_cli("train.log", str(log), cwd=tmp_path)
    assert proc.returncode == 1 and "cannot remove 'train.log'" in proc.stderr and not log.exists()


def test_make_clean_keeps_working_with_the_venv_first_on_path(tmp_path):
    (tmp_path / "build").mkdir()
    (tmp_path / "Makefile").write_text("clean:\n\trm -rf build\n")
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    proc = subprocess.run(["make", "clean"], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "build").exists()


def test_rm_runs_our_subcommands_and_rmdm_never_forwards(tmp_path):
    proc = run_cli("train", "--help")
    assert proc.returncode == 0 and "history" in proc.stdout and "sampler" in proc.stdout
    keep = tmp_path / "keep"
    keep.mkdir()
    proc = run_cli("-rf", str(keep), prog="rmdm")
    assert proc.returncode == 2 and keep.exists() and "usage: rmdm" in proc.stderr
    assert proc.stderr.startswith("rmdm: unknown command '-rf'\n")  # says which word it did not know
    assert run_cli("--help", prog="rmdm").stdout.startswith("usage: rmdm")


# ---- Hydra features ------------------------------------------------------------------------------

def test_cfg_job_prints_composed_config_without_running():
    proc = run_cli("train", "history=off", "backbone.n_layers=2", "--cfg", "job")
    assert proc.returncode == 0, proc.stderr
    assert "name: 'off'" in proc.stdout or "name: off" in proc.stdout
    assert "n_layers: 2" in proc.stdout


def test_unknown_option_fails_with_clear_message():
    proc = run_cli("train", "history=nope")
    assert proc.returncode != 0 and "history/nope" in proc.stderr
    proc = run_cli("train", "no_such_key=1")
    assert proc.returncode != 0 and "no_such_key" in proc.stderr


@pytest.mark.parametrize("args,line", [
    # each was a multi-line Hydra error or traceback, exit 1
    (["trainer=gpu"], "rm train: error: the trainer config cannot run on this machine (No supported gpu backend found!); "
                      "the default trainer runs on the CPU"),
    (["+trainer.max_step=2"], "rm train: error: trainer.max_step is not an option of Lightning's Trainer (a typo?)"),
    (["-m", "history=off,her", "--cfg", "job"], "rm train: error: -m and --cfg cannot be used together; pass one of them"),
])
def test_trainer_and_mode_refusals_are_one_line(tmp_path, args, line):
    if args == ["trainer=gpu"] and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    proc = run_cli("train", f"run_dir={tmp_path / 'r'}", *args, *TINY)
    assert proc.returncode == 2 and proc.stderr.strip().splitlines()[-1] == line, proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr and not (tmp_path / "r").exists()


def test_config_checks_fail_fast_with_one_line(tmp_path):
    proc = run_cli("train", f"run_dir={tmp_path / 'r'}", "objective=mdm", "history=her")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "rm train: error: objective=mdm trains without trajectories, so history must be off (got history=her)"
    ]
    assert not (tmp_path / "r").exists()  # not even Hydra's .hydra/ and train.log
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "notes.txt").write_text("mine")  # a folder with other files keeps them, and Hydra's
    proc = run_cli("train", f"run_dir={tmp_path / 'kept'}", "history.gamma=1.5")  # refused before Hydra writes
    assert proc.returncode == 2 and "history.gamma must be in (0, 1]" in proc.stderr
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["notes.txt"]
    proc = run_cli("train", f"run_dir={tmp_path / 'kept'}", *TINY, "batch_size=5", "trainer.accumulate_grad_batches=2", "trainer.max_steps=2")
    assert proc.returncode == 2 and "must be divisible" in proc.stderr  # refused after Hydra opened train.log: it stays
    assert sorted(p.name for p in (tmp_path / "kept").iterdir()) == ["notes.txt", "train.log"]
    proc = run_cli("train", f"run_dir={tmp_path / 'r2'}", *TINY, "batch_size=5", "trainer.accumulate_grad_batches=2", "trainer.max_steps=2")
    assert proc.returncode == 2 and not (tmp_path / "r2").exists()  # ...and a folder of its own is removed


def test_multirun_sweeps_history_options(tmp_path):
    # -m between overrides: Hydra's parser stopped at "unrecognized arguments: trainer.max_steps=3"
    proc = run_cli("train", "history=off,her", "-m", "trainer.max_steps=3", "trainer.val_check_interval=3",
                   f"hydra.sweep.dir={tmp_path}", *TINY)
    assert proc.returncode == 0, proc.stderr[-2000:]
    summaries = sorted(tmp_path.glob("*/summary.json"))
    assert [json.loads(p.read_text())["history"] for p in summaries] == ["her", "off"]


# ---- train -> eval -> infer, end to end ----------------------------------------------------------

def test_train_eval_infer_end_to_end(tiny_run, tmp_path):
    summary = json.loads((tiny_run / "summary.json").read_text())
    assert summary["steps"] == 12 and summary["history"] == "her"
    assert (tiny_run / "checkpoints" / "last.ckpt").is_file() and (tiny_run / "checkpoints" / "best.ckpt").is_file()
    assert (tiny_run / "logs" / "metrics.csv").is_file() and list((tiny_run / "tb").glob("events.*"))
    assert (tiny_run / ".hydra" / "config.yaml").is_file()
    seen = (tiny_run.parent / f"{tiny_run.name}.output.txt").read_text()
    assert "validation at step 6" in seen and "litlogger" not in seen and "LeafSpec" not in seen  # Lightning's noise
    ckpt = tiny_run / "checkpoints" / "last.ckpt"

    out = tmp_path / "results.json"
    proc = run_cli("eval", f"checkpoint={ckpt}", f"output={out}", "limit=20")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["n"] == 20 and len(report["predictions"]) == 20
    assert {"exact_pct", "valid_pct", "replay_mistake_pct", "conflict_cells_per_board", "changed_correct_per_board"} <= set(report["metrics"])
    assert report["versions"]["torch"] and report["config"]["limit"] == 20 and report["seed"] == 0
    assert "exact_pct" in proc.stdout  # the rich table
    assert "eval: 20/20 (100%)" in proc.stdout  # progress as plain lines: the output is not a terminal

    prompts = tmp_path / "boards.txt"
    prompts.write_text("\n".join(b["board"] for b in _boards(3)) + "\n")
    proc = run_cli("infer", f"checkpoint={ckpt}", f"prompts={prompts}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 3 and all(len(line) == 81 and line.isdigit() for line in lines)
    piped = run_cli("infer", f"checkpoint={ckpt}", "prompts=-", stdin_text=prompts.read_text())  # standard input
    assert piped.returncode == 0 and piped.stdout == proc.stdout, piped.stderr[-2000:]
    bad = run_cli("infer", f"checkpoint={ckpt}", "prompts=-", f"output={tmp_path / 'bad.txt'}",
                  stdin_text=_boards(1)[0]["board"] + "\n" + "12x" + "\n")
    assert bad.returncode == 2 and bad.stderr.startswith("rm infer: error: <stdin>:2: ") and bad.stderr.count("\n") == 1
    assert not (tmp_path / "bad.txt").exists()
    dash = run_cli("infer", f"checkpoint={ckpt}", f"prompts={prompts}", "output=-", cwd=tmp_path)  # not stdout
    _one_line_error(dash, "'-' is not standard output here")
    assert not (tmp_path / "-").exists()

    written = tmp_path / "out.txt"
    proc = run_cli("infer", f"checkpoint={ckpt}", f"prompts={prompts}", f"output={written}", "show_trajectory=true",
                   "sampler.max_turns=2")
    assert proc.returncode == 0
    assert written.read_text().splitlines() == lines[:3] or len(written.read_text().splitlines()) == 3
    assert "turn 0" in proc.stdout and "re-masked" in proc.stdout


def test_resume_auto_continues_from_last_checkpoint(tmp_path):
    run_dir = tmp_path / "run"
    first = run_cli("train", f"run_dir={run_dir}", "trainer.max_steps=4", "trainer.val_check_interval=4", *TINY)
    assert first.returncode == 0, first.stderr[-2000:]
    record = {p.relative_to(run_dir): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()}
    again = run_cli("train", f"run_dir={run_dir}", "trainer.max_steps=8", "trainer.val_check_interval=4", *TINY)
    assert again.returncode == 2 and "resume=auto" in again.stderr
    reseeded = run_cli("train", f"run_dir={run_dir}", "trainer.max_steps=8", "trainer.val_check_interval=4", "resume=auto",
                       "seed=1", *TINY)
    assert reseeded.returncode == 2 and "trained with seed=0, this run asks seed=1" in reseeded.stderr
    # refused commands leave the run as it was: Hydra had rewritten .hydra/config.yaml with their seed, and the
    # refused resume (checked inside Lightning's fit) had added a TensorBoard file and rewritten logs/hparams.yaml
    assert {p.relative_to(run_dir): p.read_bytes() for p in sorted(run_dir.rglob("*")) if p.is_file()} == record
    resumed = run_cli("train", f"run_dir={run_dir}", "trainer.max_steps=8", "trainer.val_check_interval=4", "resume=auto", *TINY)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert "- resume=auto" in (run_dir / ".hydra" / "overrides.yaml").read_text()  # a run that trains records its command
    # not a terminal: plain progress lines, counted from the resumed step, and the validation's metrics
    steps = [line for line in resumed.stdout.splitlines() if line.startswith("train step: ")]
    assert steps[0].startswith("train step: 5/8") and steps[-1].startswith("train step: 8/8 (100%)"), resumed.stdout
    assert "train/loss" in steps[-1] and "validation at step 8: val/exact" in resumed.stdout
    assert json.loads((run_dir / "summary.json").read_text())["steps"] == 8
    assert torch.load(run_dir / "checkpoints" / "last.ckpt", weights_only=True)["global_step"] == 8


# ---- bad input -----------------------------------------------------------------------------------

def _one_line_error(proc, *fragments):
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    lines = [line for line in proc.stderr.strip().splitlines() if "error" in line]
    assert len(lines) == 1, proc.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_bad_board_files_give_one_line_and_no_output(tiny_run, tmp_path):
    ckpt = tiny_run / "checkpoints" / "last.ckpt"
    good = _boards(2)
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps(good[0]) + "\n" + json.dumps({"board": good[1]["board"][:79], "solution": good[1]["solution"]}) + "\n")
    out = tmp_path / "res.json"
    _one_line_error(run_cli("eval", f"checkpoint={ckpt}", f"test_file={bad}", f"output={out}"), f"{bad}:2:", "80" if False else "79 cells")
    assert not out.exists() and not list(tmp_path.glob(".res.json*"))
    chars = tmp_path / "chars.txt"
    chars.write_text(good[0]["board"] + "\n" + good[1]["board"][:40] + "a" + good[1]["board"][41:] + "\n")
    _one_line_error(run_cli("infer", f"checkpoint={ckpt}", f"prompts={chars}", f"output={out}"), f"{chars}:2:", "'a' at cell 41")
    assert not out.exists()
    _one_line_error(run_cli("infer", f"checkpoint={ckpt}", f"prompts={tmp_path / 'missing.txt'}"), "missing.txt", "no such file")


def test_wrong_checkpoints_are_rejected(tiny_run, tmp_path):
    prompts = tmp_path / "p.txt"
    prompts.write_text(_boards(1)[0]["board"] + "\n")
    _one_line_error(run_cli("infer", f"checkpoint={tmp_path / 'none.ckpt'}", f"prompts={prompts}"), "no such checkpoint")
    junk = tmp_path / "junk.ckpt"
    junk.write_bytes(b"not a checkpoint at all")
    _one_line_error(run_cli("infer", f"checkpoint={junk}", f"prompts={prompts}"), "junk.ckpt", "not a readable checkpoint")

    ckpt = torch.load(tiny_run / "checkpoints" / "last.ckpt", weights_only=True)
    other_task = tmp_path / "other_task.ckpt"
    ckpt["hyper_parameters"]["cfg"]["task"]["name"] = "text"
    torch.save(ckpt, other_task)
    _one_line_error(run_cli("infer", f"checkpoint={other_task}", f"prompts={prompts}"),
                    "the checkpoint is a text model, not sudoku; pass task=text")
    with pytest.raises(UserError, match="the checkpoint is an image model, not sudoku; pass task=image"):
        _check_same_task({"name": "image"}, OmegaConf.create({"name": "sudoku"}), other_task)
    ckpt["hyper_parameters"]["cfg"]["task"].update(name="sudoku", mode="solve")
    torch.save(ckpt, other_task)
    _one_line_error(run_cli("infer", f"checkpoint={other_task}", f"prompts={prompts}"),
                    "the checkpoint is a sudoku solve model; pass task.mode=solve")

    ckpt = torch.load(tiny_run / "checkpoints" / "last.ckpt", weights_only=True)
    emb = "model.backbone.embed_tokens.weight"
    ckpt["state_dict"][emb] = torch.zeros(12, ckpt["state_dict"][emb].shape[1])
    other_vocab = tmp_path / "other_vocab.ckpt"
    torch.save(ckpt, other_vocab)
    _one_line_error(run_cli("infer", f"checkpoint={other_vocab}", f"prompts={prompts}"), "do not fit")


def test_unwritable_output_fails_before_decoding(tiny_run, tmp_path):
    ckpt = tiny_run / "checkpoints" / "last.ckpt"
    locked = tmp_path / "locked"
    locked.mkdir()
    _one_line_error(run_cli("eval", f"checkpoint={ckpt}", f"output={locked}"), "is a directory")


# ---- the checkpoint that ships inside the package -------------------------------------------------

def test_shipped_checkpoint_revises_boards_without_training(tmp_path):
    out = tmp_path / "shipped.json"
    proc = run_cli("eval", "task=sudoku", "limit=100", f"output={out}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["checkpoint"] == "shipped" and report["n"] == 100
    assert report["metrics"]["exact_pct"] >= 80.0  # a trained model, not a stub
    assert report["train_config"]["history"]["name"] == "her"

    boards = _boards(5)
    prompts = tmp_path / "boards.jsonl"
    prompts.write_text("\n".join(json.dumps({"board": b["board"]}) for b in boards) + "\n")
    proc = run_cli("infer", "task=sudoku", f"prompts={prompts}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    revised = proc.stdout.strip().splitlines()
    assert sum(r == b["solution"] for r, b in zip(revised, boards)) >= 4


@pytest.mark.parametrize("command,args,line", [
    # each ran: a traceback once a tensor of that size was made (in train after the first stretch of training),
    # or a word taken as true; the other options and groups are covered in tests/test_config_checks.py
    ("train", ["sampler.max_turns=2.5"], "sampler.max_turns must be a whole number, got 2.5"),
    ("infer", ["show_trajectory=no"], "show_trajectory must be true or false, got 'no'"),
    ("eval", ["scaling=no", "output=OUT/s.json"], "scaling must be true or false, got 'no'"),
    ("eval", ["task.mode=nope"], "task.mode='nope' is not one of: revision, solve"),  # was "pass task.mode=revision"
])
def test_options_of_the_wrong_type_are_one_line_before_any_work(tmp_path, command, args, line):
    prompts = tmp_path / "p.txt"
    prompts.write_text(_boards(1)[0]["board"] + "\n")
    extra = {"train": [f"run_dir={tmp_path / 'r'}", *TINY, "trainer.max_steps=2"], "infer": [f"prompts={prompts}"],
             "eval": ["limit=2"]}[command]
    proc = run_cli(command, *extra, *(a.replace("OUT", str(tmp_path)) for a in args))
    assert proc.returncode == 2, proc.stderr[-2000:]
    assert proc.stderr.strip().splitlines()[-1] == f"rm {command}: error: {line}"
    assert not (tmp_path / "r").exists() and not list(tmp_path.glob("s.*"))


def test_a_reader_that_stops_early_ends_the_command_quietly(tmp_path):
    """`rm infer ... | head -1`: the rest of the output met a closed pipe, a BrokenPipeError traceback and exit 1."""
    board = _boards(1)[0]
    prompts = tmp_path / "many.txt"
    prompts.write_text((board["board"] + "\n") * 1000)  # 82 kB of output: more than a pipe holds
    proc = subprocess.Popen([str(BIN / "rm"), "infer", f"prompts={prompts}"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd=tmp_path)
    first = proc.stdout.readline()
    proc.stdout.close()
    err = proc.stderr.read().decode()
    assert proc.wait() == 141 and len(first.strip()) == 81
    assert "Traceback" not in err and "BrokenPipe" not in err


def test_prompts_from_stdin_are_refused_where_prompts_name_other_files(monkeypatch):
    """An image prompt names its scene relative to the prompt file: standard input has no folder to be relative to."""
    import io
    import types

    from rm_cli import stdin_prompts
    from rm_cli.errors import UserError
    from rm_cli.tasks.image.task import ImageTask
    from rm_cli.tasks.sudoku.task import SudokuTask

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"image": "s.png", "instruction": "x"}\n')))
    image = types.SimpleNamespace(name="image", reads_prompts_from_stdin=ImageTask.reads_prompts_from_stdin)
    with pytest.raises(UserError, match=r"^prompts=- \(standard input\) is not for task=image: .*; pass prompts=FILE$"):
        stdin_prompts.prompt_examples(image, "-")
    assert SudokuTask.reads_prompts_from_stdin


def test_unreadable_stdin_is_one_line(monkeypatch):
    """`rm infer prompts=- 0>file` (stdin open for writing only) was a Hydra traceback ending in EBADF."""
    from rm_cli import stdin_prompts
    from rm_cli.errors import UserError
    from rm_cli.tasks.sudoku.task import SudokuTask

    class WriteOnly:
        def isatty(self):
            return False

        class buffer:
            @staticmethod
            def read():
                raise OSError(9, "Bad file descriptor")

    monkeypatch.setattr("sys.stdin", WriteOnly())
    with pytest.raises(UserError, match=r"^cannot read standard input \(OSError: Bad file descriptor\)$"):
        stdin_prompts.prompt_examples(SudokuTask(), "-")

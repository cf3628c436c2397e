"""docs/extending.md runs: its example sampler and task modules are loaded from the page itself (each code
block whose first line is `# file: PATH`), their YAMLs composed by Hydra from a copy of conf/, and then
decoded, trained on one batch and scored, so an example that stops working fails here. And the hand-written
sampler table of docs/method.md names every registered sampler.

The examples are loaded as modules of the real packages (rm_cli.samplers.left_to_right, ...) only for the
test's duration: sys.modules and the package attributes are restored by monkeypatch, the SAMPLERS registry to a
copy taken before the first block runs (also when a block fails, and where a user has already added an example)."""

import contextlib
import importlib
import re
import shutil
import sys
import types
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.utils import instantiate
from omegaconf import OmegaConf

from conftest import Adversary, NoHistoryModel

from rm_cli import scaling
from rm_cli.config import conf_dir, validate_train
from rm_cli.decode import decode_examples
from rm_cli.lightning_module import RMLightningModule, as_container
from rm_cli.samplers import SAMPLERS, build_sampler
from rm_cli.trajectory import KEEP, MASK, WRONG

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "extending.md"
METHOD = ROOT / "docs" / "method.md"
BLOCK = re.compile(r"^```(python|yaml)\n(.*?)^```", re.M | re.S)
MARK = re.compile(r"\A# file: (\S+)\n")

EXAMPLE_FILES = {
    "rm_cli/samplers/left_to_right.py", "conf/sampler/left_to_right.yaml",
    "rm_cli/samplers/low_conf_remask.py", "conf/sampler/low_conf_remask.yaml",
    "rm_cli/tasks/reverse.py", "conf/task/reverse.yaml",
}
EXAMPLE_SAMPLERS = ["left_to_right", "low_conf_remask"]


def doc_files() -> dict[str, str]:
    """{path: text} of the page's blocks marked `# file: PATH` (the marker line included)."""
    files = {}
    for _, body in BLOCK.findall(DOC.read_text()):
        mark = MARK.match(body)
        if mark:
            assert mark.group(1) not in files, f"two blocks of docs/extending.md stand for {mark.group(1)}"
            files[mark.group(1)] = body
    return files


@contextlib.contextmanager
def examples_loaded(tmp_path: Path):
    """The page's modules loaded (their samplers registered) and a conf/ copy holding its YAMLs; yields that conf
    folder. Everything is undone on leaving, a failing block included."""
    conf = tmp_path / "conf"
    shutil.copytree(conf_dir(), conf)
    files = doc_files()
    for path, text in files.items():
        if path.startswith("conf/"):
            (conf / path[len("conf/"):]).write_text(text)
    registry = dict(SAMPLERS)
    try:
        with pytest.MonkeyPatch.context() as mp:
            for path, text in files.items():
                if not path.endswith(".py"):
                    continue
                name = path[: -len(".py")].replace("/", ".")
                parent, leaf = name.rsplit(".", 1)
                source = tmp_path / path
                source.parent.mkdir(parents=True, exist_ok=True)
                source.write_text(text)
                module = types.ModuleType(name)
                module.__file__ = str(source)
                mp.setitem(sys.modules, name, module)  # removed again on leaving
                mp.setattr(importlib.import_module(parent), leaf, module, raising=False)
                exec(compile(text, str(source), "exec"), module.__dict__)
            # scaling reads a sampler's budget keys from conf/sampler/<name>.yaml: the copy's
            mp.setattr(scaling, "sampler_preset", lambda name: conf / "sampler" / f"{name}.yaml")
            yield conf
    finally:
        SAMPLERS.clear()
        SAMPLERS.update(registry)


@pytest.fixture
def examples(tmp_path):
    with examples_loaded(tmp_path) as conf:
        yield conf


def composed(conf: Path, command: str, *overrides: str):
    with initialize_config_dir(config_dir=str(conf), version_base=None):
        return compose(config_name=command, overrides=list(overrides))


M, V = Adversary.mask_id, Adversary.vocab  # the sampler checks' scripted vocabulary: tokens 0..4, mask 5


class ReverseOracle(NoHistoryModel):
    """The reverse task's right answer with certainty: each answer position's gold is the mirrored prompt digit."""

    mask_id = 10

    def __init__(self, length):
        self.length = length

    def logits(self, x, state=None, logits_from=0):
        gold = torch.cat([x[:, : self.length], x[:, : self.length].flip(-1)], dim=1)
        out = torch.full((*x.shape, 11), -20.0).scatter_(-1, gold.unsqueeze(-1), 20.0)
        return out[:, logits_from:]


def test_the_page_marks_its_example_files_and_each_yaml_names_its_block():
    files = doc_files()
    assert set(files) == EXAMPLE_FILES
    for path, text in files.items():
        if path.endswith(".yaml"):
            target = OmegaConf.create(text)["_target_"]
            module, cls = target.rsplit(".", 1)
            source = module.replace(".", "/") + ".py"
            assert source in files and f"class {cls}(" in files[source], (path, target)


def test_the_example_samplers_register_under_their_yaml_names(examples):
    for name in EXAMPLE_SAMPLERS:
        cls = SAMPLERS[name]
        assert cls.name == name and cls.__module__ == f"rm_cli.samplers.{name}"
        assert type(build_sampler(OmegaConf.load(examples / "sampler" / f"{name}.yaml"))) is cls
    assert SAMPLERS["left_to_right"].turns_option == "steps"  # inherited from vanilla
    # a budget applies to both, so scaling=true compares them by default (neither wraps another or is one task's)
    assert set(EXAMPLE_SAMPLERS) <= set(scaling.compared_by_default())


def test_left_to_right_reveals_the_leftmost_mask_first_whatever_the_model_prefers(examples):
    cfg = OmegaConf.load(examples / "sampler" / "left_to_right.yaml")
    cfg.steps = 6
    sampler = build_sampler(cfg)
    x0 = torch.full((2, 6), M)
    x0[0, 0] = 1  # a given: not editable
    res = sampler(Adversary(), x0, x0 == M, record_trajectory=True)
    for row in range(2):
        states = res.trajectory[:, row]
        order = [int(c) for s in range(len(states) - 1) for c in (states[s + 1] != states[s]).nonzero()[:, 0]]
        assert order == sorted(order) and order == (x0[row] == M).nonzero()[:, 0].tolist(), order
    assert res.tokens[0, 0] == 1 and (res.tokens != M).all()


@pytest.mark.parametrize("name", EXAMPLE_SAMPLERS)
def test_the_example_samplers_keep_givens_and_a_budget_of_forward_passes(examples, name):
    g = torch.Generator().manual_seed(1)
    x0 = torch.randint(0, M, (4, 12), generator=g)
    editable = torch.rand(4, 12, generator=g) < 0.6
    x0[editable] = M
    for budget in (1, 2, 5):
        cfg = scaling.with_budget(OmegaConf.load(examples / "sampler" / f"{name}.yaml"), budget)
        cfg.stop_at_fixed_point = False
        res = build_sampler(cfg)(Adversary(budget), x0, editable, record_trajectory=True)
        assert res.nfe.max() <= budget, (name, budget, res.nfe.tolist())
        for state in res.trajectory:
            assert torch.equal(state[~editable], x0[~editable])
        assert (res.tokens != M).all()
    if name == "low_conf_remask":  # the Adversary makes every shown token doubtful: the rule re-masks
        assert int(res.remask_total.sum()) > 0


def test_the_example_yamls_join_their_hydra_groups(examples):
    for sampler in EXAMPLE_SAMPLERS:
        cfg = composed(examples, "eval", "task=reverse", f"sampler={sampler}", "limit=20")
        assert type(build_sampler(cfg.sampler)) is SAMPLERS[sampler]
        assert type(instantiate(cfg.task)).__name__ == "ReverseTask"
    cfg = composed(examples, "eval", "task=sudoku", "task.mode=solve", "sampler=left_to_right", "sampler.steps=64")
    assert build_sampler(cfg.sampler).steps == 64


def test_the_reverse_example_trains_decodes_and_scores(examples, tmp_path):
    cfg = composed(examples, "train", "task=reverse", f"run_dir={tmp_path / 'run'}", "backbone.n_layers=1",
                   "backbone.d_model=32", "backbone.n_heads=2", "batch_size=8")
    validate_train(cfg)
    module = RMLightningModule(as_container(cfg))
    task = module.task
    assert (task.name, task.vocab_size, task.mask_id, task.seq_len) == ("reverse", 11, 10, 12)

    # a training batch: whole global batches, replayable, KEEP wherever nothing may change
    batch = next(iter(task.train_stream(8, seed=0)))
    assert set(batch) == {"gold", "editable", "rule"}
    assert batch["gold"].shape == batch["editable"].shape == batch["rule"].shape == (8, 12)
    assert set(batch["rule"].unique().tolist()) <= {KEEP, WRONG, MASK}
    assert (batch["rule"][~batch["editable"]] == KEEP).all()
    again = next(iter(task.train_stream(8, seed=0)))
    assert all(torch.equal(batch[k], again[k]) for k in batch)
    module.log = lambda *a, **k: None
    with torch.random.fork_rng():  # the draws of later tests in this worker stay as they were
        torch.manual_seed(0)
        loss = module.training_step(batch, 0)
    assert torch.isfinite(loss)
    loss.backward()

    # examples: blanks masked exactly at the editable answer, gold the reversed prompt
    val, test = task.val_examples(), task.test_examples()
    assert (len(val), len(test)) == (64, 200)
    for ex in (val, test):
        assert torch.equal(ex.inputs == task.mask_id, ex.editable)
        assert torch.equal(ex.gold[:, 6:], ex.gold[:, :6].flip(-1))
    split = tmp_path / "reverse_test.txt"
    task.write_split("test", split, n=5)
    prompts = task.prompt_examples(split)
    assert len(prompts) == 5 and prompts.lines == [1, 2, 3, 4, 5]
    assert torch.equal(task.test_examples(split).gold, prompts.gold)

    # decoded by each example sampler and by rm, with a model that knows the answer: everything right
    for name in [*EXAMPLE_SAMPLERS, "rm"]:
        sampler = build_sampler(OmegaConf.load(examples / "sampler" / f"{name}.yaml"))
        result = decode_examples(sampler, ReverseOracle(6), prompts, batch_size=2, record_trajectory=True)
        metrics, predictions = task.evaluate(prompts, result)
        assert metrics["exact_pct"] == 100.0 and metrics["nfe_per_example"] >= 1, (name, metrics)
        lines = split.read_text().split()
        assert predictions == [line[::-1] for line in lines]
        frames = task.render_turns(result.trajectory[: int(result.nfe[0]) + 1, 0])
        assert len(frames) == int(result.nfe[0]) + 1 and "______" in str(frames[0])

    # the untrained model decodes too, and the metrics read what it got wrong
    result = decode_examples(build_sampler(cfg.sampler), module.model, prompts, batch_size=5)
    assert 0.0 <= task.metrics(prompts, result)["exact_pct"] <= 100.0
    assert task.format_output(prompts.inputs[0]) == "______"


def test_the_examples_leave_no_trace(tmp_path, monkeypatch):
    """Loaded, then undone: the registry, sys.modules, the packages and scaling as before, also after a block that
    raises once the samplers of the blocks before it registered (they were left in the registry)."""
    registry, modules = dict(SAMPLERS), dict(sys.modules)
    names = [path[: -len(".py")].replace("/", ".") for path in EXAMPLE_FILES if path.endswith(".py")]
    with examples_loaded(tmp_path / "ok"):
        assert set(EXAMPLE_SAMPLERS) <= set(SAMPLERS) and all(name in sys.modules for name in names)
    failing = {**doc_files(), "rm_cli/samplers/zz_failing.py": "raise RuntimeError('a later block failed')\n"}
    monkeypatch.setattr(sys.modules[__name__], "doc_files", lambda: failing)
    with pytest.raises(RuntimeError, match="a later block failed"):
        with examples_loaded(tmp_path / "failing"):
            pass
    assert SAMPLERS == registry
    assert all(sys.modules.get(name) is modules.get(name) for name in names)
    assert getattr(sys.modules["rm_cli.samplers"], "left_to_right", None) is getattr(modules["rm_cli.samplers"],
                                                                                      "left_to_right", None)
    assert scaling.sampler_preset("vanilla") == conf_dir() / "sampler" / "vanilla.yaml"


def method_table_samplers() -> set[str]:
    """The first column of docs/method.md's sampler table (`| sampler | module | rule |`)."""
    text = METHOD.read_text()
    start = text.index("| sampler | module | rule |")
    rows = []
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        rows.append(line)
    names = set()
    for row in rows:
        cell = re.fullmatch(r"`(\w+)`", row.split("|")[1].strip())
        assert cell, f"docs/method.md's sampler table: a row whose first cell is not a `name`: {row[:60]}"
        names.add(cell.group(1))
    return names


def test_every_registered_sampler_is_in_the_method_pages_table():
    listed = method_table_samplers()
    missing = sorted(set(SAMPLERS) - listed)
    assert not missing, f"docs/method.md's sampler table lacks {missing}"
    unknown = sorted(listed - set(SAMPLERS))
    assert not unknown, f"docs/method.md's sampler table names samplers that are not registered: {unknown}"

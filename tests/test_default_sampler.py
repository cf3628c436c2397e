"""Which sampler decodes when the command line names none (rm_cli/default_sampler.py)."""

from omegaconf import OmegaConf

from rm_cli import default_sampler
from rm_cli.tasks.image.task import ImageTask
from rm_cli.tasks.sudoku import SudokuTask
from rm_cli.tasks.text.task import TextTask


def test_only_sampler_equals_chooses_the_sampler_and_edits_are_told_apart():
    assert default_sampler.chooses_sampler(["task.mode=solve", "sampler=vanilla"])
    assert not default_sampler.chooses_sampler(["sampler.max_turns=4"]) and default_sampler.edits_sampler(["sampler.max_turns=4"])
    assert not default_sampler.chooses_sampler(["+sampler.extra=1"]) and default_sampler.edits_sampler(["+sampler.extra=1"])
    assert not default_sampler.chooses_sampler(["task.mode=solve", "scaling_samplers=[rm,vanilla]", "samplers=3"])
    assert not default_sampler.edits_sampler(["task.mode=solve", "scaling_samplers=[rm,vanilla]", "samplers=3"])


def test_solving_text_and_image_name_their_preset_per_objective_and_revision_keeps_the_default():
    solve = SudokuTask(mode="solve")
    assert default_sampler.preset_for(solve, "rm", []) == "rm_solve"
    assert default_sampler.preset_for(solve, "mdm", ["seed=1"]) == "vanilla"
    assert default_sampler.preset_for(TextTask, "rm", []) == "rm_text"
    assert default_sampler.preset_for(TextTask, "mdm", []) == "vanilla_text"
    assert default_sampler.preset_for(ImageTask(), "rm", []) == "rm_edit"
    assert default_sampler.preset_for(ImageTask(), "mdm", []) == "rm_edit"
    assert default_sampler.preset_for(SudokuTask(mode="revision"), "rm", []) is None
    assert default_sampler.preset_for(solve, "rm", ["sampler=rm"]) is None
    assert default_sampler.preset_for(solve, "rm", None) is None  # composed in code: command line unknown


def test_apply_records_the_preset_in_a_copy_of_the_config():
    cfg = OmegaConf.create({"sampler": {"_target_": "rm_cli.samplers.rm.RMSampler", "max_turns": 32}, "seed": 0})
    applied, name = default_sampler.apply(cfg, SudokuTask(mode="solve"), "rm", [])
    assert name == "rm_solve" and applied.sampler.reveal_per_turn == 1 and applied.sampler.max_turns == 31
    assert cfg.sampler.max_turns == 32 and "reveal_per_turn" not in cfg.sampler  # the caller's config is untouched
    kept, none = default_sampler.apply(cfg, SudokuTask(mode="solve"), "rm", ["sampler=rm"])
    assert kept is cfg and none is None


def test_edits_without_sampler_equals_edit_the_tasks_preset():
    """`sampler.max_turns=8` in solve mode is rm_solve with 8 turns: it was conf's one-shot rm (about 0 % exact)."""
    cfg = OmegaConf.create({"sampler": {"_target_": "rm_cli.samplers.rm.RMSampler", "max_turns": 8, "remask_cap": 2,
                                        "extra": 1, "fill_at_end": True}})  # as Hydra composed conf's rm with the edits
    overrides = ["sampler.max_turns=8", "sampler.remask_cap=2", "+sampler.extra=1", "~sampler.fit_budget", "seed=3"]
    applied, name = default_sampler.apply(cfg, SudokuTask(mode="solve"), "rm", overrides)
    assert name == "rm_solve" and applied.sampler.reveal_per_turn == 1  # the preset's own keys stay
    assert applied.sampler.max_turns == 8 and applied.sampler.remask_cap == 2 and applied.sampler.extra == 1
    assert "fit_budget" not in applied.sampler


def composed(*overrides):
    """conf's eval config as `rm eval OVERRIDES` composes it (after the CLI's rewrite), and the command line that
    the command sees (as the user wrote it)."""
    from hydra import compose, initialize_config_dir

    from rm_cli.config import conf_dir

    loosened = default_sampler.loosen("eval", list(overrides))
    with initialize_config_dir(config_dir=str(conf_dir()), version_base=None):
        cfg = compose(config_name="eval", overrides=loosened)
    return cfg, default_sampler.as_written(loosened)


def test_loosen_lets_hydra_take_keys_only_the_tasks_preset_has():
    args = ["task.mode=solve", "sampler.fit_budget=false", "sampler.max_turns=8", "+sampler.extra=1", "-c", "job"]
    assert default_sampler.loosen("eval", args) == ["task.mode=solve", "++sampler.fit_budget=false",
                                                    "sampler.max_turns=8", "+sampler.extra=1", "-c", "job"]
    chosen = ["sampler=vanilla", "sampler.fit_budget=false"]  # sampler= picks the preset: Hydra checks its keys
    assert default_sampler.loosen("eval", chosen) == chosen
    assert default_sampler.loosen("export", ["sampler.fit_budget=false"]) == ["sampler.fit_budget=false"]  # no sampler
    assert default_sampler.as_written(["++sampler.fit_budget=false", "seed=1"]) == ["sampler.fit_budget=false", "seed=1"]


def test_sampler_key_edits_without_sampler_equals_reach_every_key_of_the_preset_that_decodes():
    """docs/sudoku_solving.md: `sampler.KEY=` without `sampler=` edits the task's default preset. Hydra composed conf's
    rm first and refused every key rm.yaml lacks ("Could not override 'sampler.fit_budget'")."""
    import pytest

    from rm_cli.errors import UserError

    cfg, line = composed("task=sudoku", "task.mode=solve", "sampler.fit_budget=false", "sampler.max_turns=20")
    applied, name = default_sampler.apply(cfg, SudokuTask(mode="solve"), "rm", line)
    assert name == "rm_solve" and applied.sampler.fit_budget is False and applied.sampler.max_turns == 20
    cfg, line = composed("task=sudoku", "task.mode=solve", "sampler.steps=8")
    applied, name = default_sampler.apply(cfg, SudokuTask(mode="solve"), "mdm", line)  # objective=mdm: vanilla
    assert name == "vanilla" and applied.sampler.steps == 8
    cfg, line = composed("task=image", "sampler.remask_steps=4")
    applied, name = default_sampler.apply(cfg, ImageTask(), "rm", line)
    assert name == "rm_edit" and applied.sampler.remask_steps == 4 and applied.sampler.reveal_steps == 8
    # a key the preset that decodes lacks: one line naming the preset and its keys
    cfg, line = composed("task=sudoku", "task.mode=solve", "sampler.steps=8")
    with pytest.raises(UserError) as e:
        default_sampler.apply(cfg, SudokuTask(mode="solve"), "rm", line)
    assert str(e.value).startswith("sampler.steps=8: sampler preset rm_solve (the default here for objective=rm) "
                                   "has no key 'steps'; its keys: max_turns, ") and "\n" not in str(e.value)
    cfg, line = composed("task=sudoku", "sampler.fit_budget=false")  # revision mode: conf's default rm decodes
    with pytest.raises(UserError, match=r"^sampler.fit_budget=false: sampler preset rm \(conf's default\) has no key "
                                        r"'fit_budget'; its keys: max_turns, .*\+sampler.fit_budget=false adds it"):
        default_sampler.apply(cfg, SudokuTask(mode="revision"), "rm", line)
    cfg, line = composed("task=sudoku", "+sampler.fit_budget=false")  # written with +: added, as before
    assert default_sampler.apply(cfg, SudokuTask(mode="revision"), "rm", line)[0].sampler.fit_budget is False


def test_the_command_line_edits_the_solve_preset_and_refuses_a_key_it_lacks(tmp_path):
    import json

    from conftest import run_cli

    out = tmp_path / "solve.json"
    proc = run_cli("eval", "task=sudoku", "task.mode=solve", "limit=2", "sampler.fit_budget=false",
                   "sampler.max_turns=20", f"output={out}")
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads(out.read_text())
    assert report["sampler_preset"] == "rm_solve"
    assert report["config"]["sampler"]["fit_budget"] is False and report["config"]["sampler"]["max_turns"] == 20
    bad = tmp_path / "bad.json"
    proc = run_cli("eval", "task=sudoku", "task.mode=solve", "limit=2", "sampler.steps=8", f"output={bad}")
    assert proc.returncode == 2 and not bad.exists()
    assert proc.stderr.startswith("rm eval: error: sampler.steps=8: sampler preset rm_solve ") \
        and proc.stderr.count("\n") == 1, proc.stderr

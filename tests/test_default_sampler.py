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

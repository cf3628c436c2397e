"""Which sampler decodes when the command line names none (rm_cli/default_sampler.py)."""

from omegaconf import OmegaConf

from rm_cli import default_sampler
from rm_cli.tasks.image.task import ImageTask
from rm_cli.tasks.sudoku import SudokuTask
from rm_cli.tasks.text.task import TextTask


def test_an_override_that_chooses_or_edits_the_sampler_counts_as_naming_it():
    assert default_sampler.names_sampler(["task.mode=solve", "sampler=vanilla"])
    assert default_sampler.names_sampler(["sampler.max_turns=4"])
    assert default_sampler.names_sampler(["+sampler.extra=1"])
    assert not default_sampler.names_sampler(["task.mode=solve", "scaling_samplers=[rm,vanilla]", "samplers=3"])


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

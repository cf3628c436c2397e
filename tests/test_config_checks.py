"""Option checks that run before any work (rm_cli/config.py): types against the constructors' annotations, yes/no
flags, fixed choices; through the CLI in tests/test_cli.py, every group and kind here."""

import pytest
from omegaconf import OmegaConf

from rm_cli.config import check_option_types, conf_dir, sampler_preset, validate_io, validate_train
from rm_cli.errors import UserError
from rm_cli.samplers import build_sampler

from benchmarks.common import train_config


@pytest.mark.parametrize("preset,key,value,line", [
    ("rm_solve", "max_turns", 1.5, "sampler.max_turns must be a whole number, got 1.5"),
    ("vanilla", "steps", True, "sampler.steps must be a whole number, got True"),  # ran one step
    ("rm_edit", "reveal_steps", 1.5, "sampler.reveal_steps must be a whole number, got 1.5"),
    ("best_of", "views", 2.5, "sampler.views must be a whole number, got 2.5"),
    ("rm", "max_turns", "abc", "sampler.max_turns must be a whole number, got 'abc'"),
    ("rm", "fill_at_end", "off", "sampler.fill_at_end must be true or false, got 'off'"),
    ("rm", "remask_cap", 1.5, "sampler.remask_cap must be a whole number or null, got 1.5"),
    ("rm", "temperature", "hot", "sampler.temperature must be a number, got 'hot'"),
    ("remdm", "schedule", 3, "sampler.schedule must be a string, got 3"),
])
def test_a_sampler_option_of_the_wrong_type_is_refused_when_built(preset, key, value, line):
    cfg = OmegaConf.load(sampler_preset(preset))
    cfg[key] = value
    with pytest.raises(UserError) as e:
        build_sampler(cfg)
    assert str(e.value) == line


def test_every_preset_passes_and_ints_count_as_numbers():
    for preset in sorted(p.stem for p in (conf_dir() / "sampler").glob("*.yaml")):
        build_sampler(OmegaConf.load(sampler_preset(preset)))
    cfg = OmegaConf.load(sampler_preset("rm"))
    cfg.temperature = 1  # a whole number where a float goes is a number
    build_sampler(cfg)


@pytest.mark.parametrize("task,key,value,line", [
    ("text", "truncate_prompt", "no", "task.truncate_prompt must be true or false, got 'no'"),
    ("sudoku", "singles_only", "yes", "task.singles_only must be true or false, got 'yes'"),  # SudokuSolveTask's option
    ("sudoku", "val_size", 2.5, "task.val_size must be a whole number, got 2.5"),
    ("image", "instructions", "no", "task.instructions must be true or false or null, got 'no'"),
    ("sudoku", "keep_rate", "x", "task.keep_rate must be a number, got 'x'"),
])
def test_a_task_option_of_the_wrong_type_is_refused(task, key, value, line):
    cfg = OmegaConf.load(conf_dir() / "task" / f"{task}.yaml")
    check_option_types(cfg, "task")  # the defaults pass (interpolations are the config's own wiring: skipped)
    cfg[key] = value
    with pytest.raises(UserError) as e:
        check_option_types(cfg, "task")
    assert str(e.value) == line


def test_train_checks_backbone_types_and_its_flags():
    for override, line in (("backbone.n_layers=1.5", "backbone.n_layers must be a whole number, got 1.5"),
                           ("test_after_fit=no", "test_after_fit must be true or false, got 'no'")):
        with pytest.raises(UserError) as e:
            validate_train(OmegaConf.create(train_config(override)))
        assert str(e.value) == line


def test_eval_and_infer_check_their_flags_and_the_tasks_types():
    base = {"batch_size": 8, "seed": 0, "task": OmegaConf.load(conf_dir() / "task" / "text.yaml")}
    for extra, line in (({"show_trajectory": "no"}, "show_trajectory must be true or false, got 'no'"),
                        ({"task": {**base["task"], "truncate_prompt": "no"}}, "task.truncate_prompt must be true or false, got 'no'")):
        with pytest.raises(UserError) as e:
            validate_io(OmegaConf.create({**base, **extra}))
        assert str(e.value) == line

import pytest

from rm_cli.config import conf_dir
from rm_cli.errors import UserError
from rm_cli.override_check import check_overrides, hydra_overrides


def check(*args):
    check_overrides(str(conf_dir()), "train", list(args))


def test_flags_and_their_values_are_not_overrides():
    assert hydra_overrides(["-m", "history=off,her", "--cfg", "job", "seed=1", "--help"]) == ["history=off,her", "seed=1"]


def test_good_overrides_and_sweeps_pass():
    check("history=off,hr,hr_decay,her", "seed=0,1,2", "backbone.n_layers=2", "--cfg", "job")


@pytest.mark.parametrize("args,message", [
    (["history=nope"], "Could not find 'history/nope'; Available options in 'history': "
     + ", ".join(sorted(f.stem for f in (conf_dir() / "history").glob("*.yaml")))),
    (["-m", "history=off,nope"], "Could not find 'history/nope'"),
    (["no_such_key=1"], "Could not override 'no_such_key'"),
    (["backbone.n_layers=[1"], "no viable alternative"),
    (["+foo=1"], "+foo: rm train has no option 'foo' (`rm train --help` lists them)"),  # it was silently accepted
])
def test_bad_overrides_become_one_line(args, message):
    with pytest.raises(UserError) as e:
        check(*args)
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("args,message", [
    # checked only by the task, backbone or history once built: the sweep trained its first point, then failed
    (["-m", "task.mode=solve,bad"], "task.mode='bad' is not one of: revision, solve (sweep point task.mode=bad)"),
    (["-m", "backbone.attention=full,peer"], "backbone.attention='peer' is not one of: full, peers"),
    (["-m", "history.kind=recurrence,windw"], "history.kind='windw' is not one of: recurrence, window"),
    # declared by the task classes (Task.option_choices), not by name in config.py
    (["-m", "task=sudoku", "task.mode=solve", "task.level=hard,hardest"], "task.level='hardest' is not one of: easy, medium, hard"),
    (["-m", "task=text", "task.wrong_rate_sampling=fixed,uniformly"],
     "task.wrong_rate_sampling='uniformly' is not one of: fixed, uniform"),
    (["-m", "task=image", "task.canvas=source,blank"], "task.canvas='blank' is not one of: source, masked"),
])
def test_a_sweep_value_that_only_the_built_model_would_refuse_stops_the_sweep(args, message):
    with pytest.raises(UserError) as e:
        check(*args)
    assert message in str(e.value)


def test_a_sweep_value_the_sampler_refuses_stops_the_sweep():
    with pytest.raises(UserError) as e:
        check("-m", "sampler=rm", "sampler.max_turns=8,0")
    assert str(e.value) == "sampler.max_turns must be >= 1, got 0 (sweep point sampler=rm sampler.max_turns=0)"

"""The refusals of block_size and temperature name the samplers that take them, read from the registry: they
had "rm and vanilla" written in, which a newly registered sampler with the flag made wrong."""

import pytest

from rm_cli.errors import UserError
from rm_cli.samplers import SAMPLERS, Sampler


class Plain(Sampler):
    """Neither flag, and no name=: not registered."""


class BlocksAndSamples(Sampler):
    """Both flags; the test registers it (monkeypatch takes it out of the global registry again)."""

    reveals_by_block = True
    samples_tokens = True


def test_block_and_temperature_refusals_name_every_registered_sampler_with_the_flag(monkeypatch):
    monkeypatch.setitem(SAMPLERS, "throwaway_order", BlocksAndSamples)
    for flag, option, what in (("reveals_by_block", {"block_size": 4}, "decode by block"),
                               ("samples_tokens", {"temperature": 1.0}, "sample")):
        names = sorted(name for name, cls in SAMPLERS.items() if getattr(cls, flag))
        assert "throwaway_order" in names and {"rm", "vanilla"} <= set(names)
        with pytest.raises(UserError) as refused:
            Plain(**option)
        assert f"{', '.join(names[:-1])} and {names[-1]} {what})" in str(refused.value)

"""Decoding strategies. Every module in this package is imported, which registers its sampler:
adding a sampler is one module here plus one YAML in conf/sampler/."""

import importlib
import pkgutil

from rm_cli.samplers.base import SAMPLERS, SampleResult, Sampler, build_sampler, get_sampler

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = ["SAMPLERS", "SampleResult", "Sampler", "build_sampler", "get_sampler"]

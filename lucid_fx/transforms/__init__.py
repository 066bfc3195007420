"""Transforms: modules to pure functions, and whole-model compiled programs."""

from lucid_fx.transforms._compile import CompiledFunction, CompiledModule, compile
from lucid_fx.transforms._functionalize import functionalize, stack_params

__all__ = [
    "CompiledFunction",
    "CompiledModule",
    "compile",
    "functionalize",
    "stack_params",
]

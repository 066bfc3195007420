"""Hashable descriptions of Python-side state, used as compile cache keys.

A compiled program bakes in what it read while tracing: module types, configs
(each LeakyReLU's slope), train/eval mode, parameter names and shapes. When any
of these changes, the signature changes and the next call retraces.
"""

from __future__ import annotations

import weakref
from collections.abc import Hashable
from typing import Any

from lucid_fx.nn import Module

_REGISTRIES = ("_parameters", "_modules")


def _static(value: Any) -> Hashable:
    try:
        hash(value)
    except TypeError:
        return ("unhashable", type(value).__name__, id(value))
    return value


class Key:
    """A deep tuple used as a cache key, hashed once instead of at every call."""

    __slots__ = ("_hash", "value")

    def __init__(self, value: Hashable) -> None:
        self.value = value
        self._hash = hash(value)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        return self is other or (
            isinstance(other, Key)
            and self._hash == other._hash
            and self.value == other.value
        )


_CACHE: weakref.WeakKeyDictionary[Module, tuple[int, Any, tuple[Any, ...]]] = (
    weakref.WeakKeyDictionary()
)


def module_structure(module: Module) -> tuple[Key, tuple[Any, ...]]:
    """``(signature, parameters)`` of a module tree, cached until any Module
    attribute is assigned (``Module.structure_version`` changes)."""
    cached = _CACHE.get(module)
    if cached is not None and cached[0] == Module.structure_version:
        return cached[1], cached[2]
    signature, parameters = Key(module_signature(module)), tuple(module.parameters())
    _CACHE[module] = (Module.structure_version, signature, parameters)
    return signature, parameters


def module_signature(module: Module) -> tuple[Hashable, ...]:
    """Types, plain attributes, modes and parameter shapes of a module tree."""
    entries = []
    for prefix, m in module.named_modules():
        attrs = tuple(
            (k, _static(v)) for k, v in vars(m).items() if k not in _REGISTRIES
        )
        params = tuple(
            (name, None if p is None else (p.shape, p.dtype))
            for name, p in m._parameters.items()
        )
        entries.append((prefix, type(m), attrs, params))
    return tuple(entries)

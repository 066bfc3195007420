"""Cache keys for compiled programs: what a program bakes in, and bounded caches.

A compiled program bakes in what it read while tracing: module types, configs
(each LeakyReLU's slope), train/eval mode, parameter names and shapes. When any
of these changes, the signature changes and the next call retraces.

There is no global counter: a module tree's *fingerprint* is the change count
of each of its modules (``Module.changed``, bumped by every assignment,
``del``, registration and ``train()``/``eval()``). Any such change (a new
slope, a replaced sub-module or Parameter) moves a count, so the next call
recomputes the signature; building or changing unrelated modules changes
nothing here.
"""

from __future__ import annotations

import collections
import operator
import warnings
from collections.abc import Callable, Hashable
from typing import Any

from lucid_fx.nn import Module

_REGISTRIES = ("_parameters", "_modules", "_buffers")
_BOOKKEEPING = ("_non_persistent", "_mutations", "_containers")


def _frozen(value: Any) -> Hashable:
    """A list, tuple, dict or set config as a hashable snapshot of its contents
    (recursively), so that an in-place edit (``self.slopes[0] = 0.3``) is a
    new signature; anything else unhashable (an array) by identity."""
    kind = type(value)
    if kind is list or kind is tuple:
        return (kind.__name__, tuple(_frozen(v) for v in value))
    if kind is dict:
        return ("dict", tuple((k, _frozen(v)) for k, v in value.items()))
    if kind is set:
        return ("set", frozenset(_frozen(v) for v in value))
    if hasattr(value, "shape"):  # a Tensor or array: == would compare values
        return ("array", id(value))
    try:
        hash(value)
    except TypeError:
        return ("unhashable", kind.__name__, id(value))
    return value


def _static(value: Any) -> Hashable:
    try:
        hash(value)
    except TypeError:
        return _frozen(value)
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


def module_dicts(module: Module) -> list[dict[str, Any]]:
    """The attribute dicts of every module in the tree (not the modules: a
    cache holding them does not keep the modules alive)."""
    return [m.__dict__ for m in module.modules()]


def fingerprint(dicts: list[dict[str, Any]]) -> list[Any]:
    """Every module's change count (:meth:`lucid_fx.nn.Module.changed`): an
    assignment anywhere in the tree (a new sub-module, Parameter or buffer, a
    config, the mode) moves the count of the module that holds it. A list,
    dict or set config can also change in place, which no count sees: the
    contents of those (the names a Module keeps in ``_containers``) are part
    of the fingerprint. Compare two with :func:`same`."""
    counts: list[Any] = list(map(_MUTATIONS, dicts))
    if any(map(_CONTAINERS, dicts)):  # rare: skip the loop when none has one
        for d in dicts:
            for name in d.get("_containers", ()):
                counts.append(_frozen(d.get(name)))
    return counts


_MUTATIONS = operator.methodcaller("get", "_mutations", 0)
_CONTAINERS = operator.methodcaller("get", "_containers", ())


def same(a: list[int], b: list[int]) -> bool:
    """Whether two fingerprints are equal (no module changed in between)."""
    return a == b


def module_structure(module: Module) -> tuple[Key, tuple[Any, ...], tuple[Any, ...]]:
    """``(signature, parameters, buffer slots)`` of a module tree.

    A buffer slot is ``(registry dict, name)``: a step may rebind the buffer
    (``self.running_mean = new``) or assign its ``.data``; either way the
    compiled step writes the new value back to the Tensor in that slot.
    """
    slots = []
    for _, m in module.named_modules():
        slots.extend(
            (m._buffers, name) for name, b in m._buffers.items() if b is not None
        )
    return Key(module_signature(module)), tuple(module.parameters()), tuple(slots)


def module_signature(module: Module) -> tuple[Hashable, ...]:
    """Types, plain attributes, modes, parameter and buffer shapes of a tree."""
    entries = []
    for prefix, m in module.named_modules():
        attrs = tuple(
            (k, _static(v))
            for k, v in vars(m).items()
            if k not in _REGISTRIES and k not in _BOOKKEEPING
        )
        arrays = tuple(
            (name, None if p is None else (p.shape, p.dtype))
            for registry in (m._parameters, m._buffers)
            for name, p in registry.items()
        )
        entries.append((prefix, type(m), attrs, arrays))
    return tuple(entries)


_MSG_RECOMPILES = (
    "lucid_fx.compile: {name} has been compiled {count} times (shapes, dtypes, "
    "static arguments or module configs keep changing). Each new signature "
    "costs a trace and an XLA compile. Pad or bucket inputs to a few shapes "
    "(see docs/transforms.rst, Shapes), or pass changing Python values as "
    "traced numbers rather than static arguments. Only the {size} most recent "
    "programs are kept."
)


# Programs kept per compiled function or module, and compiles before a warning.
MAX_PROGRAMS = 32
WARN_AFTER = 8


class ProgramCache:
    """A bounded LRU of compiled programs for one compiled function.

    Holds at most ``maxsize`` entries (default ``MAX_PROGRAMS``, 32; the least
    recently used is dropped) and warns once when more than ``warn_after``
    (default ``WARN_AFTER``, 8) programs were built for it.
    """

    def __init__(
        self, name: str, maxsize: int | None = None, warn_after: int | None = None
    ) -> None:
        self.name = name
        self.maxsize = MAX_PROGRAMS if maxsize is None else maxsize
        self.warn_after = WARN_AFTER if warn_after is None else warn_after
        self.compiles = 0
        self._entries: collections.OrderedDict[Hashable, Any] = (
            collections.OrderedDict()
        )

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        entries = self._entries
        value = entries.get(key)
        if value is not None:
            if len(entries) > 1:
                entries.move_to_end(key)
            return value
        value = entries[key] = build()
        self.compiles += 1
        if len(entries) > self.maxsize:
            entries.popitem(last=False)
        if self.compiles == self.warn_after + 1:
            warnings.warn(
                _MSG_RECOMPILES.format(
                    name=self.name, count=self.compiles, size=self.maxsize
                ),
                RuntimeWarning,
                stacklevel=4,
            )
        return value

    def clear(self) -> None:
        self._entries.clear()

"""The fused-backward program cache: one compiled backward per recurring wiring.

A graph's *wiring* (its plan: which node feeds which, by position) is counted
each time ``backward`` sees it. The first ``FUSE_AFTER - 1`` sights run node by
node, one pre-compiled call per VJP, so a graph that never comes back (a chain
whose length depends on the data, a new model) never waits for an XLA compile.
From the ``FUSE_AFTER``-th sight on, the whole walk runs as one compiled
program. Both caches are bounded LRUs: ``MAX_SIGHTS`` counted wirings and
``MAX_PROGRAMS`` compiled programs (each program also holds JAX's compiled
executables for the argument shapes it met).
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

import jax

FUSE_AFTER = 3
MAX_PROGRAMS = 256
MAX_SIGHTS = 4096

_lock = threading.Lock()
_sights: OrderedDict[Hashable, int] = OrderedDict()


@functools.lru_cache(maxsize=MAX_PROGRAMS)
def _program(plan: Hashable) -> Callable:
    """One jitted backward per wiring, called with arrays only (a static
    keyword argument would cost jit's dispatch ~8 us per call)."""
    from lucid_fx._tensor import _tape  # the tape imports this module

    def fused(args: tuple, seed: jax.Array, old: tuple) -> tuple:
        return _tape.walk(plan, _tape.fused_calls(plan, args), seed, old)

    return jax.jit(fused)


def program(plan: Hashable) -> Callable | None:
    """The fused program for ``plan``, or None while it has been seen fewer
    than ``FUSE_AFTER`` times (counting this sight).

    Examples:
      >>> from lucid_fx._tensor import _fused
      >>> plan = object()  # a wiring never seen before
      >>> [_fused.program(plan) is None for _ in range(_fused.FUSE_AFTER)]
      [True, True, False]
    """
    count = _sights.get(plan, 0)
    if count >= FUSE_AFTER:  # fused already: recency lives in _program's LRU
        return _program(plan)
    with _lock:
        count = _sights.pop(plan, 0) + 1
        _sights[plan] = count  # most recent last
        while len(_sights) > MAX_SIGHTS:
            _sights.popitem(last=False)
    return _program(plan) if count >= FUSE_AFTER else None


def clear() -> None:
    """Forget every counted wiring and compiled backward program.

    Examples:
      >>> from lucid_fx._tensor import _fused
      >>> _fused.clear()
      >>> _fused._program.cache_info().currsize
      0
    """
    with _lock:
        _sights.clear()
    _program.cache_clear()

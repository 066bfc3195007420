"""The fused-backward program cache: one compiled backward per recurring wiring.

A graph's *wiring* (its plan: which node feeds which, by position) is counted
each time ``backward`` sees it. The first ``FUSE_AFTER - 1`` sights run node by
node, one pre-compiled call per VJP, so a graph that never comes back (a chain
whose length depends on the data, a new model) never waits for an XLA compile.
From the ``FUSE_AFTER``-th sight on, the whole walk runs as one compiled
program. With ``BACKGROUND`` (the default) that program is compiled in a
background thread, with the arguments of the sight that triggered it, and the
walk goes on node by node until it is ready; so no sight ever waits for XLA
(a program evicted from the LRU and needed again is compiled again the same
way).
Both caches are bounded LRUs: ``MAX_SIGHTS`` counted wirings and
``MAX_PROGRAMS`` compiled programs (each program also holds JAX's compiled
executables for the argument shapes it met). A wiring whose fused program
fails to compile stays node by node. The wiring last found ready is also
kept with its program (one entry): a backward in a loop meets it again, and
one comparison then stands for the count, the LRU lookup and its check.
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
BACKGROUND = True

_lock = threading.Lock()
_sights: OrderedDict[Hashable, int] = OrderedDict()
# Wirings whose program is compiling in the background (or failed to: their
# event is never set, so they stay node by node).
_compiling: dict[Hashable, threading.Event] = {}
_FAILED = threading.Event()  # never set
# (wiring, program) of the last fused program ``program`` returned ready.
_last: tuple[Hashable, Callable] | None = None


@functools.lru_cache(maxsize=MAX_PROGRAMS)
def _program(plan: Hashable) -> Callable:
    """One jitted backward per wiring, called with arrays only (a static
    keyword argument would cost jit's dispatch ~8 us per call)."""
    from lucid_fx._tensor import _tape  # the tape imports this module

    def fused(args: tuple, seed: jax.Array, old: tuple) -> tuple:
        calls, values = _tape.fused_calls(plan, args)
        return _tape.walk(plan, calls, seed, old), values

    return jax.jit(fused)


def program(
    plan: Hashable,
    arguments: Callable[[], tuple] | None = None,
    build: Callable[[Hashable], Callable] = _program,
) -> Callable | None:
    """The fused program for ``plan``, or None to walk node by node: while the
    wiring has been seen fewer than ``FUSE_AFTER`` times (counting this sight),
    and while its program compiles in the background.

    ``arguments`` returns this sight's arguments of the program; given, and
    with ``BACKGROUND`` on, the ``FUSE_AFTER``-th sight compiles the program
    in a thread with them instead of returning it. ``build`` makes (and
    caches) the program for a key: a wiring's fused backward by default, the
    interpreter of an op set for ``_interp``.

    Examples:
      >>> from lucid_fx._tensor import _fused
      >>> plan = object()  # a wiring never seen before
      >>> [_fused.program(plan) is None for _ in range(_fused.FUSE_AFTER)]
      [True, True, False]
    """
    global _last
    last = _last
    if last is not None and build is _program and last[0] == plan:
        return last[1]  # the same wiring as the last ready one: still ready
    count = _sights.get(plan, 0)
    if count >= FUSE_AFTER:  # fused already: recency lives in _program's LRU
        pending = _compiling.get(plan) if _compiling else None
        if pending is not None and not pending.is_set():
            return None
        misses = build.cache_info().misses  # type: ignore[attr-defined]
        fused = build(plan)
        if build.cache_info().misses == misses:  # type: ignore[attr-defined]
            if build is _program:
                _last = (plan, fused)
            return fused
        # Evicted from the LRU since, and rebuilt: not compiled any more, so
        # compile it again in the background rather than in this call.
    else:
        with _lock:
            count = _sights.pop(plan, 0) + 1
            _sights[plan] = count  # most recent last
            while len(_sights) > MAX_SIGHTS:
                _sights.popitem(last=False)
        if count < FUSE_AFTER:
            return None
        fused = build(plan)
    if not BACKGROUND or arguments is None:
        return fused
    done = threading.Event()
    _compiling[plan] = done
    # Not a daemon: a compile still running when Python exits is waited for
    # (a daemon thread inside XLA at shutdown aborts the process, seen in CI).
    thread = threading.Thread(
        target=_compile, args=(plan, fused, arguments(), done), daemon=False
    )
    thread.start()
    return None


def failed(plan: Hashable) -> None:
    """Record that ``plan``'s program cannot be built (found while compiling
    it in the caller, with ``BACKGROUND`` off): it stays node by node."""
    global _last
    _compiling[plan] = _FAILED
    _last = None


def fused(plan: Hashable) -> bool:
    """Whether ``plan`` has been seen ``FUSE_AFTER`` times: its own program is
    compiling or ready, so nothing else need be compiled for it."""
    return _sights.get(plan, 0) >= FUSE_AFTER


def _compile(
    plan: Hashable, fused: Callable, arguments: tuple, done: threading.Event
) -> None:
    """Compile (by running it once, result unused) ``plan``'s program."""
    try:
        jax.block_until_ready(fused(*arguments))
    except Exception:  # noqa: BLE001  (stay node by node; the walk still works)
        _compiling[plan] = _FAILED
    else:
        _compiling.pop(plan, None)
    done.set()


def wait(timeout: float | None = None) -> bool:
    """Wait for the background compiles in flight; True if all finished.

    Examples:
      >>> from lucid_fx._tensor import _fused
      >>> _fused.wait(timeout=60.0)
      True
    """
    for event in list(_compiling.values()):
        if event is not _FAILED and not event.wait(timeout):
            return False
    return True


def clear() -> None:
    """Forget every counted wiring and op set, every compiled backward program
    and every interpreter of an op set (``_interp``).

    Examples:
      >>> from lucid_fx._tensor import _fused, _interp
      >>> _fused.clear()
      >>> _fused._program.cache_info().currsize, _interp._program.cache_info().currsize
      (0, 0)
    """
    from lucid_fx._tensor import _interp  # it imports this module

    global _last
    with _lock:
        _sights.clear()
        _compiling.clear()
        _last = None
    _program.cache_clear()
    _interp._program.cache_clear()

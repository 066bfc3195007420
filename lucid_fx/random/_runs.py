"""Runs of precomputed random draws, and the background compiles of their programs.

Each draw splits the generator's key (:mod:`lucid_fx.random._generator`) as
:func:`~lucid_fx.random.next_key` does. One compiled call costs ~7 us of
dispatch, so a small eager draw repeated from the chained state (the same spec
twice in a row, nothing else touching the generator in between) computes a
*run*: the next ``n`` samples of that spec and the ``n + 1`` chain states in
one call (:func:`draw`). While the run is live the generator's key is
implicitly the chain state after the last issued sample; reading the key (or
drawing another spec) makes that state explicit (one small compiled call, or
none once every sample is issued: the run holds its last state apart, so the
next run of a spec drawn on starts without one) and drops the run, and setting
the key drops it. The values are exactly those of one split and one draw at a
time. The generator calls this module through the hooks it installs at import
(:func:`lucid_fx.random._generator.set_run_hooks`).

A run's program takes ~1-2 s to compile, too long to wait for on a spec that
may not recur. With ``BACKGROUND`` (the default) the second draw in a row of a
spec starts compiling it in a thread and is itself a single draw, as are the
draws of that spec until the compile is done; the next draw in a row after it
starts a run. :func:`wait` waits for the compiles in flight. At most
``MAX_COMPILING`` specs compile at once, one thread each (a spec past that
tries again at its next draw in a row), and an LRU of ``MAX_SPECS`` specs
records which compiled; a spec whose program failed to compile stays on single
draws.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import jax

from lucid_fx._tensor._pending import at_top_level
from lucid_fx.random import _generator
from lucid_fx.random._generator import current_raw, held, lock, put_raw

# At most one live run, of at most RUN_LENGTH samples and RUN_BYTES in all:
# the unissued samples held are bounded by both (big samples get no run).
# The generator's lock guards the run and _last with the key: two threads
# drawing never get the same sample, and every state change sees a consistent
# (key, run) pair.
RUN_LENGTH = 32
RUN_BYTES = 64 * 1024


class _Run:
    """Samples of one spec computed ahead, each handed out once (a user may
    donate or delete it). ``states[i]`` is the raw key after ``i`` draws;
    ``last`` is ``states[-1]`` as its own array, the key once every sample
    is issued (no dispatch to read it)."""

    __slots__ = ("spec", "samples", "states", "last")

    def __init__(
        self,
        spec: Hashable,
        samples: list[jax.Array],
        states: jax.Array,
        last: jax.Array,
    ):
        self.spec = spec
        self.samples = samples[::-1]  # pop() hands out the next one
        self.states = states
        self.last = last

    def issued(self) -> int:
        return self.states.shape[0] - 1 - len(self.samples)


# Run programs compile in background threads (False: at the draw that needs
# them). A spec maps to whether its program compiled; evicting one only costs
# a compile that hits jax.jit's cache if it comes back. One compile at a time:
# on two cores, four at once slowed the foreground compiles of new specs' first
# draws so much that drawing six new shapes twice each took as long as with
# synchronous run compiles (~20 s on a loaded machine); one at a time, ~9 s.
BACKGROUND = True
MAX_SPECS = 256
MAX_COMPILING = 1
_compiled: OrderedDict[Hashable, bool] = OrderedDict()
_compiling: dict[Hashable, threading.Event] = {}

_run: _Run | None = None
# The spec of the previous draw while nothing else has touched the generator
# since: the same spec again starts a run (a spec drawn once compiles no run).
_last: Hashable = None


@jax.jit
def _row(states: jax.Array, i: jax.Array) -> jax.Array:
    return jax.lax.dynamic_index_in_dim(states, i, keepdims=False)


def _settle() -> None:
    """Make the live run's implicit key explicit and drop the run (its
    unissued samples are discarded). The caller holds ``lock``."""
    global _run, _last
    run, _run, _last = _run, None, None
    if run is None:
        return
    if not run.samples:  # all issued (the common case): no dispatch
        put_raw(run.last)
    elif at_top_level():
        put_raw(_row(run.states, run.issued()))
    else:
        with jax.ensure_compile_time_eval():  # concrete, even inside a trace
            put_raw(_row(run.states, run.issued()))


def _drop() -> None:
    """Forget the run before the key is replaced. The caller holds ``lock``."""
    global _run, _last
    _run = _last = None


_generator.set_run_hooks(_settle, _drop)


def take(spec: Hashable) -> jax.Array | None:
    """The live run's next sample if the run is of ``spec`` (eagerly only).

    No dispatch: the fast path of :func:`draw`. ``None`` means call ``draw``.
    """
    run = _run
    if run is None or run.spec != spec or not at_top_level() or held():
        return None
    with lock:
        if run is _run and run.samples:
            return run.samples.pop()
    return None


def draw(
    spec: Hashable,
    one: Callable[[jax.Array, Any], tuple[jax.Array, jax.Array]],
    run: Callable[[jax.Array, Any, int], tuple[list[jax.Array], jax.Array, jax.Array]],
    sample_bytes: int,
    compile: Callable[[jax.ShapeDtypeStruct, Any, int], None],
) -> jax.Array:
    """The next sample of ``spec``, split from the global key as ``next_key``.

    ``one(raw, spec)`` returns the raw key and the sample of one split and
    draw; ``run(raw, spec, n)`` the next ``n`` samples (``n`` arrays), the
    ``(n + 1, 2)`` raw chain states from ``raw`` on and the last of them as
    its own array, exactly as ``n`` calls of ``one``. ``spec`` must tell
    apart everything that changes a sample (kind, shape, bounds, default
    device, x64). A run starts when ``spec`` is drawn again from the chained
    key, eagerly, and ``n = min(RUN_LENGTH, RUN_BYTES // sample_bytes)`` is at
    least 2, once ``run``'s program for ``spec`` is compiled: ``compile(like,
    spec, n)`` compiles it in any thread, by calling ``run`` once on a dummy
    raw key shaped as ``like`` (``like.sharding`` is None for an uncommitted
    key) and blocking on the result.
    """
    global _run, _last
    with lock:
        if held():  # this thread's own generator (a compiled step tracing)
            raw, sample = one(current_raw(), spec)
            put_raw(raw)
            return sample
        sample = take(spec)
        if sample is not None:
            return sample
        again = _last == spec or (_run is not None and _run.spec == spec)
        n = min(RUN_LENGTH, RUN_BYTES // max(1, sample_bytes))
        top = at_top_level()
        _settle()
        if again and n >= 2 and top and _compiled_for(spec, compile, n):
            _run = _Run(spec, *run(current_raw(), spec, n))
            return _run.samples.pop()
        raw, sample = one(current_raw(), spec)
        put_raw(raw)
        _last = spec if top else None
        return sample


def _compiled_for(
    spec: Hashable, compile: Callable[[jax.ShapeDtypeStruct, Any, int], None], n: int
) -> bool:
    """Whether ``spec``'s run program is compiled; if unknown, start compiling
    it in a thread (with ``BACKGROUND``). The caller holds ``lock``."""
    if not BACKGROUND:
        return True
    ok = _compiled.get(spec)
    if ok is not None:
        _compiled.move_to_end(spec)
        return ok
    if spec in _compiling or len(_compiling) >= MAX_COMPILING:
        return False
    raw = current_raw()
    sharding = raw.sharding if raw.committed else None
    like = jax.ShapeDtypeStruct(raw.shape, raw.dtype, sharding=sharding)
    done = _compiling[spec] = threading.Event()
    # Not a daemon, as _fused's compiles: a daemon thread still inside XLA at
    # exit aborts the process; exit waits for the compile instead.
    thread = threading.Thread(
        target=_compile, args=(spec, compile, like, n, done), daemon=False
    )
    thread.start()
    return False


def _compile(
    spec: Hashable,
    compile: Callable[[jax.ShapeDtypeStruct, Any, int], None],
    like: jax.ShapeDtypeStruct,
    n: int,
    done: threading.Event,
) -> None:
    """A compile thread: record whether ``spec``'s program compiled."""
    ok = False
    try:
        compile(like, spec, n)
        ok = True
    except Exception:  # noqa: BLE001  (the spec stays on single draws)
        pass
    finally:
        with lock:
            _compiled[spec] = ok
            while len(_compiled) > MAX_SPECS:
                _compiled.popitem(last=False)
            _compiling.pop(spec, None)
        done.set()


def wait(timeout: float | None = None) -> bool:
    """Wait for the run programs compiling in the background; True if all
    finished (compiled or failed) within ``timeout`` seconds in all.

    Examples:
      >>> from lucid_fx.random import _runs
      >>> _runs.wait(timeout=60.0)
      True
    """
    deadline = None if timeout is None else time.monotonic() + timeout
    with lock:
        events = list(_compiling.values())
    for event in events:
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        if not event.wait(left):
            return False
    return True

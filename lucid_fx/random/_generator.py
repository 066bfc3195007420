"""The global PRNG key behind ``lucid_fx.random``, and its getters and setters.

The key is held as a typed key, as its raw ``uint32`` data, or both, and split
by each draw (:func:`next_key`). Small draws repeated in a row are computed
ahead in runs (:mod:`lucid_fx.random._runs`); while a run is live the key is
implicit in it. That module installs two hooks here (:func:`set_run_hooks`):
every getter settles the run into an explicit key first, and every setter
drops it.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import jax
import numpy as np

_DEFAULT_SEED = 0
# The generator's key, held as a typed key ("key"), as its raw uint32 data
# ("raw"), or both; the missing form is made on demand and kept until the next
# change. Eager draws pass the raw data: jit dispatches uint32 arrays on its
# C++ fast path, while a typed key argument or result costs ~15 us in Python.
_state: dict[str, jax.Array | None] = {}

# Guards the key and the run that may hold it implicitly (lucid_fx.random._runs
# takes it too): two threads drawing never get the same sample, and every state
# change sees a consistent (key, run) pair.
lock = threading.RLock()

# A thread's own state while it holds one (``holding``: a compiled step's
# traced key while the step traces), so no other thread ever reads a tracer.
_local = threading.local()


def _no_run() -> None:
    """The hooks before :func:`set_run_hooks`: there is no run to settle."""


_settle: Callable[[], None] = _no_run
_drop: Callable[[], None] = _no_run


def set_run_hooks(settle: Callable[[], None], drop: Callable[[], None]) -> None:
    """Install the run bookkeeping's hooks (``lucid_fx.random._runs`` does, at
    import). ``settle()`` makes a live run's implicit key explicit (with
    :func:`put_raw`) and drops the run before the key is read; ``drop()``
    forgets the run before the key is replaced. Both are called holding
    ``lock``."""
    global _settle, _drop
    _settle, _drop = settle, drop


def _settled() -> dict[str, jax.Array | None]:
    """The state this thread reads: its own while it holds one, else the
    global one with a live run settled into it. The caller holds ``lock``."""
    state = _here()
    if state is _state:
        _settle()
    return state


def _dropped() -> dict[str, jax.Array | None]:
    """The state this thread replaces: its own while it holds one, else the
    global one with a live run dropped. The caller holds ``lock``."""
    state = _here()
    if state is _state:
        _drop()
    return state


@contextlib.contextmanager
def holding(key: jax.Array) -> Iterator[None]:
    """Within the block, this thread's draws and state hooks use a generator
    of its own, holding ``key`` (a typed key, or raw key data; a tracer while
    a compiled step traces); other threads keep the global one, which the
    block never changes. Nested blocks restore the outer one.

    Examples:
      >>> import jax
      >>> from lucid_fx.random import get_rng_state_data, next_key, seed
      >>> from lucid_fx.random._generator import holding
      >>> seed(5)
      >>> outside = get_rng_state_data()
      >>> with holding(jax.random.key_data(jax.random.key(7))):
      ...     inside = next_key()
      >>> get_rng_state_data() is outside
      True
      >>> bool((jax.random.key_data(inside)
      ...       == jax.random.key_data(jax.random.split(jax.random.key(7))[1])).all())
      True
    """
    outer = getattr(_local, "state", None)
    typed = jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key)
    _local.state = {"key": key, "raw": None} if typed else {"key": None, "raw": key}
    try:
        yield
    finally:
        _local.state = outer


def put_raw(raw: jax.Array) -> None:
    """Make ``raw`` the key's data (this thread's own while it holds one)
    without dropping a run: for the run bookkeeping, which keeps its run
    consistent itself. The caller holds ``lock``."""
    _here().update(key=None, raw=raw)


def _here() -> dict[str, jax.Array | None]:
    state = getattr(_local, "state", None)
    return _state if state is None else state


def held() -> bool:
    """Whether this thread draws from a generator of its own (``holding``):
    the global one's runs are then not used."""
    return getattr(_local, "state", None) is not None


def seed(seed: int) -> None:  # noqa: A001 - lucid's name for it
    """Reset the global generator so later initialisations repeat exactly.

    Args:
      seed: an integer in ``[0, 2**64)``, as PyTorch's ``manual_seed``
        takes (keyword ``seed``, as lucid's ``seed(seed)``).

    Raises:
      TypeError: if ``seed`` is not an integer.
      ValueError: if ``seed`` is negative or not below ``2**64``.

    Examples:
      >>> import lucid_fx
      >>> lucid_fx.random.seed(0)
      >>> a = lucid_fx.nn.Linear(2, 2).weight.tolist()
      >>> lucid_fx.random.seed(seed=0)
      >>> a == lucid_fx.nn.Linear(2, 2).weight.tolist()
      True
    """
    n = seed
    if isinstance(n, bool | np.bool_) or not isinstance(n, int | np.integer):
        raise TypeError(f"seed: seed must be an int, got {type(n).__name__} {n!r}.")
    n = int(n)  # NumPy ints too, as lucid's seed (np.random.seed) takes them
    if not 0 <= n < 2**64:
        raise ValueError(f"seed: seed must be in [0, 2**64), got {n!r}.")
    n = n - 2**64 if n >= 2**63 else n  # the same 64 bits, as JAX takes them
    with lock, jax.ensure_compile_time_eval():  # concrete, even inside a trace
        _dropped().update(key=jax.random.key(n), raw=None)


def next_key() -> jax.Array:
    """A fresh PRNG key from the global generator (advances it).

    Examples:
      >>> import jax
      >>> from lucid_fx.random import next_key, seed
      >>> seed(3)
      >>> k1 = next_key()
      >>> seed(3)
      >>> bool((jax.random.key_data(k1) == jax.random.key_data(next_key())).all())
      True
    """
    with lock:
        state = _settled()
        new, key = jax.random.split(_key(state))
        state.update(key=new, raw=None)
    return key


@jax.jit
def _split_data(raw: jax.Array) -> tuple[jax.Array, jax.Array]:
    new, key = jax.random.split(jax.random.wrap_key_data(raw))
    return jax.random.key_data(new), jax.random.key_data(key)


def next_key_data() -> jax.Array:
    """:func:`next_key` as raw ``uint32`` key data (one compiled call).

    The same split and the same sequence as :func:`next_key`, for code that
    passes the key to a jitted function (``jax.random.wrap_key_data`` inside):
    a typed key argument is dispatched in Python, raw data on jit's fast path.

    Examples:
      >>> import jax
      >>> from lucid_fx.random import next_key, next_key_data, seed
      >>> seed(4)
      >>> a = next_key_data()
      >>> seed(4)
      >>> bool((a == jax.random.key_data(next_key())).all())
      True
    """
    with lock:
        state = _settled()
        new, key = _split_data(_raw(state))
        state.update(key=None, raw=new)
    return key


def get_rng_state() -> jax.Array:
    """The global generator's current key (a typed JAX PRNG key).

    With :func:`set_rng_state` this is the hook that makes randomness explicit
    state: ``lucid_fx.compile`` threads the key through a compiled step so each
    call draws fresh values, as ``torch.get_rng_state`` / ``set_rng_state``.

    Examples:
      >>> import jax
      >>> from lucid_fx.random import get_rng_state, next_key, seed, set_rng_state
      >>> seed(1)
      >>> saved = get_rng_state()
      >>> a = next_key()
      >>> set_rng_state(saved)
      >>> bool((jax.random.key_data(a) == jax.random.key_data(next_key())).all())
      True
    """
    with lock:
        return _key(_settled())


def _key(state: dict[str, jax.Array | None]) -> jax.Array:
    """The typed key, made from the raw data if need be. Holds no run."""
    key = state.get("key")
    if key is None:
        if state.get("raw") is None:
            seed(_DEFAULT_SEED)
            return _key(state)
        # A concrete key stays concrete even while some function is traced.
        with jax.ensure_compile_time_eval():
            key = state["key"] = jax.random.wrap_key_data(state["raw"])
    return key


def set_rng_state(key: jax.Array) -> None:
    """Make ``key`` (from :func:`get_rng_state`) the global generator's key.

    Raises:
      TypeError: if ``key`` is not a typed PRNG key array of shape ``()``.

    Examples:
      >>> import jax
      >>> from lucid_fx.random import set_rng_state, next_key
      >>> set_rng_state(jax.random.key(7))
      >>> next_key().shape
      ()
    """
    dtype = getattr(key, "dtype", None)
    if (
        dtype is None
        or not jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key)
        or getattr(key, "shape", None) != ()
    ):
        raise TypeError(
            f"set_rng_state: expected a typed PRNG key of shape () as returned "
            f"by get_rng_state(), got {type(key).__name__}."
        )
    with lock:
        _dropped().update(key=key, raw=None)


def get_rng_state_data() -> jax.Array:
    """The global key's raw data: ``jax.random.key_data(get_rng_state())``.

    With :func:`set_rng_state_data` this is the fast form of the state hooks
    for code that threads the key through a jitted call: a ``uint32`` array
    argument stays on jit's C++ dispatch path, a typed key array does not.
    Made once per key and cached.

    Examples:
      >>> import jax
      >>> from lucid_fx.random import get_rng_state, get_rng_state_data, seed
      >>> seed(0)
      >>> raw = get_rng_state_data()
      >>> raw.dtype, bool((raw == jax.random.key_data(get_rng_state())).all())
      (dtype('uint32'), True)
    """
    with lock:
        return _raw(_settled())


def current_raw() -> jax.Array:
    """The key's raw data (this thread's own while it holds one), made from
    the typed key if need be. No hook runs: the caller holds ``lock`` and has
    settled any run (the run bookkeeping does)."""
    return _raw(_here())


def _raw(state: dict[str, jax.Array | None]) -> jax.Array:
    raw = state.get("raw")
    if raw is None:
        with jax.ensure_compile_time_eval():
            raw = state["raw"] = jax.random.key_data(_key(state))
    return raw


def set_rng_state_data(raw: jax.Array) -> None:
    """Make the key whose raw data is ``raw`` (from :func:`get_rng_state_data`
    or a program's result) the global key. Not validated: the library's own
    fast path; users should prefer :func:`set_rng_state`.

    Examples:
      >>> import jax
      >>> from lucid_fx.random import get_rng_state_data, next_key, seed
      >>> from lucid_fx.random import set_rng_state_data
      >>> seed(2)
      >>> saved = get_rng_state_data()
      >>> a = jax.random.key_data(next_key())
      >>> set_rng_state_data(saved)
      >>> bool((a == jax.random.key_data(next_key())).all())
      True
    """
    with lock:
        _dropped().update(key=None, raw=raw)

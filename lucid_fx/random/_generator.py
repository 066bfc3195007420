"""The global PRNG key behind ``lucid_fx.random``."""

from __future__ import annotations

import jax

_DEFAULT_SEED = 0
_state: dict[str, jax.Array] = {}


def seed(n: int) -> None:
    """Reset the global generator so later initialisations repeat exactly.

    Args:
      n: a non-negative integer seed.

    Raises:
      TypeError: if ``n`` is not an integer.
      ValueError: if ``n`` is negative.

    Examples:
      >>> import lucid_fx
      >>> lucid_fx.random.seed(0)
      >>> a = lucid_fx.nn.Linear(2, 2).weight.tolist()
      >>> lucid_fx.random.seed(0)
      >>> a == lucid_fx.nn.Linear(2, 2).weight.tolist()
      True
    """
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"seed: n must be an int, got {type(n).__name__} {n!r}.")
    if n < 0:
        raise ValueError(f"seed: n must be >= 0, got {n!r}.")
    _state["key"] = jax.random.key(n)


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
    if "key" not in _state:
        seed(_DEFAULT_SEED)
    _state["key"], key = jax.random.split(_state["key"])
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
    if "key" not in _state:
        seed(_DEFAULT_SEED)
    return _state["key"]


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
    _state["key"] = key

"""Reproducible randomness: ``seed(n)``, random Tensors, and the generator state.

The one global generator is a JAX PRNG key that each draw splits, as
``torch.manual_seed`` does for PyTorch's default generator. Pure code should pass
keys explicitly instead. ``get_rng_state``/``set_rng_state`` expose the key so
compiled steps can thread it as state. A small draw repeated in a row is
computed ahead in runs of up to 32 (64 KiB) in one compiled call, with the same
values, once that call has compiled in the background (see
``docs/ops/random.rst``, "Cost").
"""

from lucid_fx.random._generator import (
    get_rng_state,
    get_rng_state_data,
    next_key,
    next_key_data,
    seed,
    set_rng_state,
    set_rng_state_data,
)
from lucid_fx.random._sampling import rand, randint, randn

__all__ = [
    "get_rng_state",
    "get_rng_state_data",
    "next_key",
    "next_key_data",
    "rand",
    "randint",
    "randn",
    "seed",
    "set_rng_state",
    "set_rng_state_data",
]

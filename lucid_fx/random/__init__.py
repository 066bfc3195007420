"""Reproducible randomness: ``seed(n)``, ``next_key()`` and the generator state.

The one global generator is a JAX PRNG key that each draw splits, as
``torch.manual_seed`` does for PyTorch's default generator. Pure code should pass
keys explicitly instead. ``get_rng_state``/``set_rng_state`` expose the key so
compiled steps can thread it as state.
"""

from lucid_fx.random._generator import get_rng_state, next_key, seed, set_rng_state

__all__ = ["get_rng_state", "next_key", "seed", "set_rng_state"]

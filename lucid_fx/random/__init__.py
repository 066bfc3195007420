"""Reproducible randomness for initialisation: ``seed(n)`` and ``next_key()``.

The one global generator is a JAX PRNG key that each draw splits, as
``torch.manual_seed`` does for PyTorch's default generator. Pure code should pass
keys explicitly instead.
"""

from lucid_fx.random._generator import next_key, seed

__all__ = ["next_key", "seed"]

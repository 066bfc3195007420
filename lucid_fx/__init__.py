"""lucid_fx: lucid's ``nn`` API and an exact LeakyReLU stack, compiled by XLA."""

from lucid_fx import functional, layers

__version__ = "0.1.0"

__all__ = ["__version__", "functional", "layers"]

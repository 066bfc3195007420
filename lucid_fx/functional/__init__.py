"""The pure functional core: JAX arrays in, JAX arrays out."""

from lucid_fx.functional._leaky_relu import leaky_relu

__all__ = ["leaky_relu"]

"""Quickstart: the spec's first two LeakyReLU examples through the functional API.

Run: python examples/quickstart.py
"""

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx.functional import leaky_relu
from lucid_fx.layers import LeakyReLU


def shortest(a: jax.Array) -> str:
    """Values in their shortest round-trip form for their dtype, as lucid prints."""
    rows = np.asarray(a).reshape(-1, a.shape[-1])
    return "[" + ", ".join("[" + ", ".join(str(v) for v in r) + "]" for r in rows) + "]"


def show(title: str, x: jax.Array, negative_slope: float) -> None:
    act = LeakyReLU(negative_slope)
    y = act(x)
    grad = jax.grad(lambda v: leaky_relu(v, negative_slope).sum())(x)
    print(title)
    print(f"  {act}")
    print(f"  input:    {shortest(x)}")
    print(f"  output:   {shortest(y)}")
    print(f"  gradient: {shortest(grad)}")


def main() -> None:
    example_1 = jnp.array([[-1.0, 2.0, -0.5, 3.0]])
    example_2 = jnp.array([[-2.0, 0.0, 1.5, -3.0]])
    show("Spec example 1 (default slope 0.01):", example_1, 0.01)
    show("Spec example 2 (slope 0.1):", example_2, 0.1)
    print("Note: the gradient at x == 0 is negative_slope (0.1), as the spec's math")
    print("says and lucid and PyTorch compute; the spec's printed 0.0 is a typo.")


if __name__ == "__main__":
    main()

"""The born-dead sweep of examples/born_dead.py against an independent numpy
Monte Carlo, and LeakyReLU nets never born dead."""

import pathlib
import sys

import jax.numpy as jnp
import numpy as np
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1] / "examples"))
import born_dead  # noqa: E402


def numpy_born_dead(width, depth, networks, seed):
    """Fraction of He-normal, zero-bias ReLU MLPs constant on [-1, 1].

    With zero biases the last hidden layer is |x| * g(sign x), so the net is
    constant on [-1, 1] exactly when it is all zero at x = 1 and at x = -1.
    Plain float64 numpy, its own random draws.
    """
    rng = np.random.default_rng(seed)
    h = np.array([1.0, -1.0])[None, :, None]  # (networks, 2 inputs, fan_in)
    h = np.broadcast_to(h, (networks, 2, 1))
    fan_in = 1
    for _ in range(depth):
        w = rng.normal(size=(networks, fan_in, width)) * np.sqrt(2.0 / fan_in)
        h = np.maximum(h @ w, 0.0)
        fan_in = width
    return float((h == 0).all(axis=(1, 2)).mean())


@pytest.mark.parametrize(("width", "depth"), [(2, 10), (5, 20)])
def test_relu_born_dead_matches_numpy_monte_carlo(width, depth):
    networks = 4000
    params = born_dead.draw_mlps(
        np.random.default_rng(0), networks, width, depth, "he_normal_zero_bias"
    )
    counts = born_dead.born_dead_counts(
        params, jnp.array([0.0]), jnp.linspace(-1.0, 1.0, 3)
    )
    ours = float(counts[0, depth - 1]) / networks
    ref = numpy_born_dead(width, depth, 20000, seed=1)
    se = np.sqrt(ours * (1 - ours) / networks + ref * (1 - ref) / 20000)
    assert 0.0 < ref < 1.0
    assert abs(ours - ref) <= 4 * se, (ours, ref, se)
    # the single-input formula bounds the interval event from above
    assert ref <= born_dead.single_input_estimate(width, depth) + 4 * se


@pytest.mark.parametrize("init", born_dead.INITS)
def test_leaky_relu_is_never_born_dead(init):
    params = born_dead.draw_mlps(np.random.default_rng(2), 2000, 2, 30, init)
    slopes = jnp.array([0.0, 0.01, 0.1, 0.3])
    counts = np.asarray(
        born_dead.born_dead_counts(params, slopes, jnp.linspace(-1.0, 1.0, 17))
    )
    assert counts[0, -1] > 1000  # ReLU nets of width 2 and depth 30 mostly die
    assert (counts[1:] == 0).all()


def test_born_dead_relu_nets_collapse_to_the_mean():
    # A born-dead ReLU net has zero gradient in every weight but the output
    # bias, so Adam can only move it to the target's mean: MSE -> Var(y).
    params = born_dead.draw_mlps(
        np.random.default_rng(3), 64, 2, 10, "he_normal_zero_bias"
    )
    h = np.array([[1.0], [-1.0]])[None]  # numpy forward at x = +1 and -1
    h = np.maximum(h @ params["w_in"].transpose(0, 2, 1), 0)
    for layer in range(9):
        h = np.maximum(h @ params["w_hidden"][:, layer].transpose(0, 2, 1), 0)
    dead = (h == 0).all(axis=(1, 2))
    assert 10 < dead.sum() < 64
    x = jnp.linspace(-1.0, 1.0, 64)
    y = jnp.abs(x)
    _, final, history = born_dead.train_collapse(
        params, jnp.array([0.0]), x, y, steps=500, learning_rate=1e-2
    )
    var = float(np.var(np.abs(np.linspace(-1.0, 1.0, 64))))
    final = np.asarray(final[0])
    np.testing.assert_allclose(final[dead], var, rtol=1e-3)
    # the per-step history ends where the final error is, one step earlier
    assert history.shape == (500, 1, 64)
    np.testing.assert_allclose(np.asarray(history[-1, 0])[dead], var, rtol=1e-3)

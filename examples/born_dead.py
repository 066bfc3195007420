"""Born-dead and collapsing deep narrow MLPs, thousands at once.

The setting of Lu, Shin, Su & Karniadakis, "Dying ReLU and Initialization:
Theory and Numerical Examples" (Commun. Comput. Phys. 28(5), 2020; arXiv
1903.06733) and Lu, Su & Karniadakis, "Collapse of Deep and Narrow Neural Nets"
(arXiv 1808.04947): MLPs with a 1-D input, ``depth`` hidden layers of ``width``
units (each a Linear followed by the activation) and one output Linear.

- :func:`born_dead_counts` draws ``networks`` random MLPs per activation slope
  and counts, at every depth ``1..max_depth``, those whose last hidden layer is
  constant over a grid on [-1, 1]. The depth-L network is the first L hidden
  layers of the depth-``max_depth`` one (same draws), so one pass measures all
  depths; each depth's count is a fair sample of depth-L networks, the counts
  of different depths are correlated.
- :func:`collapse_fractions` trains ``seeds`` MLPs per slope on ``|x|`` with
  Adam and counts those that end at the constant mean of the target.

Both are one jitted program per call, vmapped over networks and slopes (the
slope is a traced :class:`lucid_fx.layers.LeakyReLU` config, 0.0 is ReLU);
training is a ``lax.scan`` over steps. ``examples/dying_relu.py`` runs them.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lucid_fx.layers import LeakyReLU

INITS = ("he_normal_zero_bias", "pytorch_default")


# ------------------------------------------------------------------ init
def draw_mlps(
    rng: np.random.Generator, networks: int, width: int, depth: int, init: str
) -> dict[str, np.ndarray]:
    """``networks`` MLPs ``1 -> width (x depth) -> 1``, stacked on axis 0.

    ``he_normal_zero_bias``: W ~ N(0, 2 / fan_in), b = 0 (the papers' setting).
    ``pytorch_default``: W, b ~ U(-1/sqrt(fan_in), 1/sqrt(fan_in)), what
    ``torch.nn.Linear`` (and ``lucid_fx.nn.Linear``) draw by default.
    Hidden layers 2..depth are stacked on axis 1. Drawn with numpy's
    generator (float32), which is far faster than threefry on a CPU.
    """
    shapes = dict(
        w_in=((networks, width, 1), 1),
        b_in=((networks, width), 1),
        w_hidden=((networks, depth - 1, width, width), width),
        b_hidden=((networks, depth - 1, width), width),
        w_out=((networks, 1, width), width),
        b_out=((networks, 1), width),
    )
    out = {}
    for name, (shape, fan_in) in shapes.items():
        if init == "he_normal_zero_bias":
            if name.startswith("b"):
                out[name] = np.zeros(shape, np.float32)
            else:
                std = np.float32(np.sqrt(2.0 / fan_in))
                out[name] = rng.standard_normal(shape, np.float32) * std
        elif init == "pytorch_default":
            bound = 1.0 / np.sqrt(fan_in)
            out[name] = rng.uniform(-bound, bound, shape).astype(np.float32)
        else:
            raise ValueError(f"draw_mlps: init must be one of {INITS}, got {init!r}")
    return out


def _derivative(act: LeakyReLU, z: jax.Array) -> jax.Array:
    """act'(z) elementwise, from the library's own gradient of the activation."""
    return jax.grad(lambda v: act(v).sum())(z)


@jax.default_matmul_precision("highest")  # float32 products on a GPU too
def _layers(params: dict, act: LeakyReLU, x: jax.Array):
    """Scan the hidden layers of one MLP on the 1-D batch ``x``.

    Returns the last hidden activations ``(len(x), width)`` and, per hidden
    layer, whether its derivative in x is exactly zero at every point of ``x``.
    The derivative is carried forward (t <- act'(z) * (W t)) and rescaled to a
    max-norm of 1 at each point, so deep LeakyReLU products (slope**depth) do
    not underflow to a false zero; a zero stays zero.
    """

    def dead(t):
        return (t == 0).all()

    def rescale(t):
        scale = jnp.abs(t).max(axis=-1, keepdims=True)
        return jnp.where(scale > 0, t / jnp.where(scale > 0, scale, 1.0), 0.0)

    z = x[:, None] * params["w_in"][:, 0] + params["b_in"]
    h, t = act(z), rescale(_derivative(act, z) * params["w_in"][:, 0])

    def body(carry, wb):
        h, t = carry
        z = h @ wb[0].T + wb[1]
        t = rescale(_derivative(act, z) * (t @ wb[0].T))
        return (act(z), t), dead(t)

    (h, _), flags = jax.lax.scan(body, (h, t), (params["w_hidden"], params["b_hidden"]))
    return h, jnp.concatenate([dead(t)[None], flags])


def forward(params: dict, act: LeakyReLU, x: jax.Array) -> jax.Array:
    """The output of one MLP for a 1-D batch ``x``, shape ``(len(x),)``."""
    h, _ = _layers(params, act, x)
    return (h @ params["w_out"].T + params["b_out"])[:, 0]


# ------------------------------------------------------------- born dead
@jax.jit
def born_dead_counts(params: dict, slopes: jax.Array, grid: jax.Array) -> jax.Array:
    """``counts[s, L-1]``: how many of the stacked MLPs, with slope
    ``slopes[s]`` and cut after hidden layer L, are constant on ``grid``:
    the derivative in x of every last-hidden unit is exactly zero at every
    grid point (L = 1..depth).

    The same weight draws serve every slope (common random numbers), and the
    depth-L net is the first L hidden layers of the deepest one.
    """

    def per_slope(slope):
        act = LeakyReLU(slope)
        flags = jax.vmap(lambda p: _layers(p, act, grid)[1])(params)
        return flags.sum(axis=0)

    return jax.vmap(per_slope)(slopes)


def single_input_estimate(width: int, depth: int) -> float:
    r"""P(a depth-L ReLU net is zero at one input x != 0), zero biases.

    .. math:: p(N, L) = 1 - (1 - 2^{-N})^L

    Given a nonzero input vector u, the N entries of W u are independent and
    symmetric without an atom at 0 for any symmetric continuous weight law, so
    all N units are off with probability :math:`2^{-N}`, independently of the
    layers before. Being constant on [-1, 1] needs both x > 0 and x < 0 dead,
    so this is an upper bound for the interval event; the two sides die
    together more often as depth aligns them.

    This is our own bound, not an equation of Lu et al.: we could not read
    their text (see docs/guides/dying_relu.rst).
    """
    return float(1.0 - (1.0 - 2.0**-width) ** depth)


# -------------------------------------------------------------- collapse
def _mse(params, act, x, y):
    return jnp.mean((forward(params, act, x) - y) ** 2)


@functools.partial(jax.jit, static_argnames=("steps", "learning_rate"))
def train_collapse(
    params: dict,
    slopes: jax.Array,
    x: jax.Array,
    y: jax.Array,
    *,
    steps: int,
    learning_rate: float,
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Train the stacked MLPs once per slope with full-batch Adam on (x, y).

    ``params`` holds ``seeds`` networks (from :func:`draw_mlps`); every slope
    starts from the same ones. All ``len(slopes) * seeds`` models train in one
    vmapped step, ``lax.scan``-ed over ``steps``. Returns the mean squared
    errors ``(initial, final)``, each of shape ``(len(slopes), seeds)``, and
    every step's error before its update, ``(steps, len(slopes), seeds)``.
    """
    n_slopes, seeds = slopes.shape[0], params["w_in"].shape[0]
    params = jax.tree.map(lambda p: jnp.broadcast_to(p, (n_slopes, *p.shape)), params)
    acts = LeakyReLU(jnp.broadcast_to(slopes[:, None], (n_slopes, seeds)))
    opt = optax.adam(learning_rate)
    loss_grad = jax.value_and_grad(_mse)

    def one_step(p, s, act):
        loss, grads = loss_grad(p, act, x, y)
        # optax's Adam mixes its int32 step count with floats (bias correction)
        with jax.numpy_dtype_promotion("standard"):
            updates, s = opt.update(grads, s, p)
        return optax.apply_updates(p, updates), s, loss

    batched = jax.vmap(jax.vmap(one_step))
    losses = jax.vmap(jax.vmap(_mse, (0, 0, None, None)), (0, 0, None, None))

    def body(carry, _):
        p, s, loss = batched(*carry, acts)
        return (p, s), loss

    state = jax.vmap(jax.vmap(opt.init))(params)
    initial = losses(params, acts, x, y)
    (params, _), history = jax.lax.scan(body, (params, state), None, length=steps)
    return initial, losses(params, acts, x, y), history

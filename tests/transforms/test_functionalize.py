"""functionalize and stack_params: pure views of modules, batches, ensembles."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lucid_fx
import lucid_fx.nn as nn
from lucid_fx import Tensor
from lucid_fx.layers import LeakyReLU
from tests import reference

RNG = np.random.default_rng(0)
X = RNG.normal(size=(6, 3)).astype(np.float32)
# Outputs are float32 sums of a few O(1) products: an entry that cancels to
# ~1e-4 carries an absolute rounding error of ~1e-7, which no relative
# tolerance alone allows (seen: 5.5e-9 off at -1.26e-4 under pytest-xdist).
ATOL = 1e-6


def _model(slope=0.125):
    return nn.Sequential(nn.Linear(3, 5), nn.LeakyReLU(slope), nn.Linear(5, 2))


def _reference_forward(params, x, slope=0.125):
    h = reference.linear(x, params["0.weight"], params["0.bias"])
    h = reference.leaky_relu(h, slope)
    return reference.linear(h, params["2.weight"], params["2.bias"])


def test_params_keyed_like_state_dict_and_apply_matches_module():
    model = _model()
    apply, params = lucid_fx.functionalize(model)
    assert list(params) == list(model.state_dict())
    out = jax.jit(apply)(params, X)
    np.testing.assert_allclose(out, model(Tensor(X)).numpy(), rtol=1e-6, atol=ATOL)
    np.testing.assert_allclose(out, _reference_forward(params, X), rtol=1e-5, atol=ATOL)


def test_grad_scan_and_optax_then_write_back():
    model = _model()
    apply, params = lucid_fx.functionalize(model)
    y = jnp.asarray(RNG.normal(size=(6, 2)), jnp.float32)
    opt = optax.sgd(0.1)

    def loss(p):
        return ((apply(p, X) - y) ** 2).mean()

    def step(carry, _):
        p, s = carry
        g = jax.grad(loss)(p)
        u, s = opt.update(g, s, p)
        return (optax.apply_updates(p, u), s), loss(p)

    (trained, _), losses = jax.lax.scan(step, (params, opt.init(params)), None, 25)
    assert losses[-1] < losses[0]
    model.load_state_dict(trained)
    np.testing.assert_allclose(
        model(Tensor(X)).numpy(), apply(trained, X), rtol=1e-6, atol=ATOL
    )


def test_per_example_vmap_equals_batched_call():
    apply, params = lucid_fx.functionalize(_model())
    per_example = jax.vmap(apply, in_axes=(None, 0))(params, X)
    np.testing.assert_allclose(per_example, apply(params, X), rtol=1e-6, atol=ATOL)


def test_ensemble_of_k_models_in_one_program():
    models = [_model() for _ in range(4)]
    apply, _ = lucid_fx.functionalize(models[0])
    all_params = [lucid_fx.functionalize(m)[1] for m in models]
    stacked = lucid_fx.stack_params(all_params)
    together = jax.jit(jax.vmap(apply, in_axes=(0, None)))(stacked, X)
    for k, p in enumerate(all_params):
        np.testing.assert_allclose(
            together[k], _reference_forward(p, X), rtol=1e-5, atol=ATOL
        )


def test_slope_sweep_through_vmapped_configs():
    slopes = jnp.array([0.0, 0.1, 0.3], jnp.float32)
    x = jnp.asarray(X[:, :2])
    out = jax.jit(jax.vmap(lambda cfg: cfg(x)))(LeakyReLU(slopes))
    for i, s in enumerate(np.asarray(slopes)):
        np.testing.assert_allclose(out[i], reference.leaky_relu(X[:, :2], s), rtol=1e-6)


def test_apply_does_not_change_the_module():
    model = _model()
    apply, params = lucid_fx.functionalize(model)
    before = model.state_dict()
    zeros = jax.tree.map(jnp.zeros_like, params)
    np.testing.assert_array_equal(apply(zeros, X), np.zeros((6, 2)))
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k].numpy())


class TestErrors:
    def test_functionalize_needs_a_module(self):
        with pytest.raises(TypeError, match="functionalize: expected an nn.Module"):
            lucid_fx.functionalize(lambda x: x)

    def test_missing_and_extra_params(self):
        apply, params = lucid_fx.functionalize(_model())
        bad = dict(params)
        del bad["0.bias"]
        bad["3.weight"] = jnp.ones(1)
        with pytest.raises(KeyError, match=r"missing \['0.bias'\], unexpected"):
            apply(bad, X)

    def test_misshapen_params(self):
        apply, params = lucid_fx.functionalize(_model())
        bad = dict(params, **{"0.weight": jnp.ones((5, 4))})
        with pytest.raises(ValueError, match="'0.weight': got shape"):
            jax.jit(apply)(bad, X)

    def test_stack_params_checks_keys_and_shapes(self):
        a = lucid_fx.functionalize(_model())[1]
        b = lucid_fx.functionalize(nn.Sequential(nn.Linear(3, 4)))[1]
        with pytest.raises(ValueError, match="share one architecture"):
            lucid_fx.stack_params([a, b])
        c = dict(a, **{"0.bias": jnp.ones(7)})
        with pytest.raises(ValueError, match="'0.bias'"):
            lucid_fx.stack_params([a, c])
        with pytest.raises(ValueError, match="empty"):
            lucid_fx.stack_params([])

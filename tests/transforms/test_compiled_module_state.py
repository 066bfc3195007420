"""A compiled forward cannot carry randomness or buffer updates: it says so and
runs those modules eagerly (a compiled training step carries both)."""

import numpy as np
import pytest

import lucid_fx
import lucid_fx.nn as nn
from lucid_fx import Tensor, random


def test_compiled_dropout_forward_falls_back_to_fresh_masks_with_a_warning():
    model = nn.Dropout(0.5)
    run = lucid_fx.compile(model)
    x = Tensor(np.ones(256, np.float32))
    random.seed(3)
    with pytest.warns(RuntimeWarning, match="draws random numbers"):
        first = run(x).numpy()
    second = run(x).numpy()
    assert not np.array_equal(first, second)
    random.seed(3)
    np.testing.assert_array_equal(first, model(x).numpy())
    np.testing.assert_array_equal(second, model(x).numpy())
    random.next_key()  # the global key holds no tracer


def test_compiled_batchnorm_forward_updates_running_stats_eagerly_in_training():
    model = nn.BatchNorm1d(3)
    run = lucid_fx.compile(model)
    x = Tensor(np.arange(12, dtype=np.float32).reshape(4, 3))
    with pytest.warns(RuntimeWarning, match="has buffers"):
        run(x)
    np.testing.assert_allclose(
        model.running_mean.numpy(), 0.1 * x.numpy().mean(0), rtol=1e-6
    )
    model.eval()
    np.testing.assert_allclose(run(x).numpy(), model(x).numpy(), rtol=1e-6)


@pytest.mark.parametrize("tensors", [True, False], ids=["Tensor", "array"])
def test_compiled_eval_forward_reads_the_current_running_stats(tensors):
    # Buffers are arguments of the compiled forward, not constants baked in
    # at its trace: every way of changing them is seen by the next call.
    import jax.numpy as jnp

    random.seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4)).eval()
    run = lucid_fx.compile(model)
    x = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    arg = Tensor(x) if tensors else jnp.asarray(x)

    def check():
        got = run(arg)
        got = got.numpy() if tensors else np.asarray(got)
        want = model(Tensor(x)).numpy()
        # the reference from the formula, float64
        bn = model[1]
        h = x.astype(np.float64) @ model[0].weight.numpy().T + model[0].bias.numpy()
        mean, var = bn.running_mean.numpy(), bn.running_var.numpy()
        formula = (h - mean) / np.sqrt(
            var + bn.eps
        ) * bn.weight.numpy() + bn.bias.numpy()
        np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got, formula, rtol=1e-4, atol=1e-5)

    check()
    state = dict(model.state_dict())
    state["1.running_mean"] = np.full(4, 3.0, np.float32)
    state["1.running_var"] = np.full(4, 4.0, np.float32)
    model.load_state_dict(state)
    check()
    model.train()
    model(Tensor(x))  # an eager training batch moves the statistics
    model.eval()
    check()
    model[1].running_var.data = jnp.full(4, 0.25)
    check()

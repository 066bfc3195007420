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

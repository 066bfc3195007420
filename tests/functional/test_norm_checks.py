"""batch_norm and instance_norm check their arguments alike (one shared
helper) and name themselves in every message."""

import re

import jax.numpy as jnp
import numpy as np
import pytest

from lucid_fx.functional import batch_norm, instance_norm

X = jnp.arange(8.0).reshape(2, 2, 2)
STATS = (jnp.array([1.0, 2.0]), jnp.array([4.0, 0.25]))


@pytest.mark.parametrize("fn", [batch_norm, instance_norm], ids=lambda f: f.__name__)
@pytest.mark.parametrize(
    "kwargs,error,message",
    [
        ({"training": 1}, TypeError, "{api}: training must be True or False"),
        ({"momentum": -0.5}, ValueError, "{api}: momentum must be finite and >= 0"),
        ({"eps": "small"}, TypeError, "{api}: eps must be a real number"),
        (
            {"weight": jnp.ones(3)},
            ValueError,
            "{api}: weight must have shape (2,) for input of shape (2, 2, 2)",
        ),
    ],
)
def test_bad_arguments_name_the_function(fn, kwargs, error, message):
    expected = re.escape(message.format(api=fn.__name__))
    with pytest.raises(error, match=expected):
        fn(X, *STATS, **kwargs)


@pytest.mark.parametrize("fn", [batch_norm, instance_norm], ids=lambda f: f.__name__)
def test_eval_normalizes_with_the_running_statistics(fn):
    mean, var = STATS
    want = (np.asarray(X) - mean[:, None]) / np.sqrt(var[:, None] + 1e-5)
    got = fn(X, mean, var, training=False)
    np.testing.assert_allclose(got, want, rtol=1e-6)

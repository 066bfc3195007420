"""Dropout: masks, scaling, gradients, channel structure, eval, seeding."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl.testing import parameterized

import lucid_fx.functional as core
import lucid_fx.nn as nn
import lucid_fx.nn.functional as F
from lucid_fx import Tensor, random

ALPHA_PRIME = -1.0507009873554805 * 1.6732632423543772


class PureDropoutTest(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(("quarter", 0.25), ("half", 0.5), ("most", 0.9))
    def test_kept_elements_are_scaled_and_mask_fraction_matches_p(self, p):
        x = jnp.arange(1.0, 4001.0)
        y = self.variant(lambda v, k: core.dropout(v, k, p))(x, jax.random.key(0))
        kept = np.asarray(y) != 0
        np.testing.assert_allclose(
            np.asarray(y)[kept], np.asarray(x)[kept] / (1 - p), rtol=1e-6
        )
        assert abs(kept.mean() - (1 - p)) < 0.03

    @chex.variants(with_jit=True, without_jit=True)
    def test_gradient_is_mask_over_keep_probability(self):
        x = jnp.linspace(1.0, 2.0, 64)
        key = jax.random.key(3)
        y = self.variant(lambda v: core.dropout(v, key, 0.5))(x)
        g = self.variant(jax.grad(lambda v: core.dropout(v, key, 0.5).sum()))(x)
        np.testing.assert_array_equal(np.asarray(g), (np.asarray(y) != 0) * 2.0)

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(("1d", 1), ("2d", 2), ("3d", 3))
    def test_channel_dropout_zeroes_whole_channels(self, n):
        fn = getattr(core, f"dropout{n}d")
        x = jnp.ones((4, 16) + (3,) * n)
        y = np.asarray(self.variant(lambda v: fn(v, jax.random.key(5)))(x))
        flat = y.reshape(4, 16, -1)
        assert set(np.unique(flat)) <= {0.0, 2.0}
        np.testing.assert_array_equal(flat.min(-1), flat.max(-1))
        assert 0 < (flat[..., 0] == 0).sum() < 64

    @chex.variants(with_jit=True, without_jit=True)
    def test_alpha_dropout_formula(self):
        p = 0.3
        x = jax.random.normal(jax.random.key(0), (2000,))
        y = np.asarray(
            self.variant(lambda v: core.alpha_dropout(v, jax.random.key(9), p))(x)
        )
        a = ((1 - p) * (1 + p * ALPHA_PRIME**2)) ** -0.5
        b = -a * ALPHA_PRIME * p
        kept = np.isclose(y, a * np.asarray(x, np.float64) + b, atol=1e-5)
        dropped_value = a * ALPHA_PRIME + b
        np.testing.assert_allclose(y[~kept], dropped_value, rtol=1e-5)
        assert abs((~kept).mean() - p) < 0.04


def test_p_one_gives_zeros_and_training_false_is_identity():
    x = jnp.ones(5)
    assert float(core.dropout(x, jax.random.key(0), 1.0).sum()) == 0.0
    assert core.dropout(x, jax.random.key(0), 0.5, training=False) is x


def test_tensor_dropout_gradient_and_fresh_masks_each_call():
    random.seed(0)
    x = Tensor(np.ones(256, np.float32), requires_grad=True)
    y = F.dropout(x, 0.5)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), (y.numpy() != 0) * 2.0)
    assert not np.array_equal(y.numpy(), F.dropout(x, 0.5).numpy())


def test_seed_reproduces_masks():
    x = Tensor(np.ones(128, np.float32))
    random.seed(7)
    first = [
        F.dropout(x).numpy(),
        F.dropout2d(Tensor(np.ones((2, 8, 3, 3), np.float32))).numpy(),
    ]
    random.seed(7)
    again = [
        F.dropout(x).numpy(),
        F.dropout2d(Tensor(np.ones((2, 8, 3, 3), np.float32))).numpy(),
    ]
    for a, b in zip(first, again, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize(
    "cls,ndim",
    [
        (nn.Dropout, 2),
        (nn.Dropout1d, 3),
        (nn.Dropout2d, 4),
        (nn.Dropout3d, 5),
        (nn.AlphaDropout, 2),
    ],
)
def test_module_eval_is_identity_and_train_drops(cls, ndim):
    m = cls(0.5)
    x = Tensor(np.ones((4, 8) + (2,) * (ndim - 2), np.float32))
    m.eval()
    assert m(x) is x
    m.train()
    assert not np.array_equal(m(x).numpy(), x.numpy())
    assert m.state_dict() == {} and m.configs() == {"p": 0.5}


def test_module_matches_torch_statistics():
    import torch

    x = np.random.default_rng(0).normal(size=(200_000,))
    ours = nn.AlphaDropout(0.2)(Tensor(x.astype(np.float32))).numpy()
    theirs = torch.nn.AlphaDropout(0.2)(torch.tensor(x)).numpy()
    assert abs(ours.mean() - theirs.mean()) < 0.01
    assert abs(ours.std() - theirs.std()) < 0.01


@pytest.mark.parametrize(
    "call,error,phrase",
    [
        (lambda: F.dropout(Tensor([1.0]), 1.5), ValueError, "dropout: p must be in"),
        (lambda: nn.Dropout2d(-0.1), ValueError, "Dropout2d: p"),
        (lambda: F.dropout(Tensor([1.0]), "a"), TypeError, "p must be a real number"),
        (lambda: F.dropout2d(Tensor([1.0]), 0.5), ValueError, "dropout2d: input"),
        (lambda: F.dropout(Tensor([1.0]), 0.5, training=1), TypeError, "training"),
    ],
)
def test_bad_arguments(call, error, phrase):
    with pytest.raises(error, match=phrase):
        call()

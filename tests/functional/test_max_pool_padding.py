"""Max pooling never chooses its padding: a window of padding and -inf outputs
-inf and sends its gradient to its first element inside the input, as PyTorch
(the oracle here). JAX's own chooser sent it to the padding, where it was lost.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import lucid_fx.functional as core
import lucid_fx.nn.functional as F
from lucid_fx import Tensor

CASES = [
    # (n, spatial size, kernel, stride, padding)
    (1, (5,), 3, 2, 1),
    (1, (4,), 2, 1, 1),
    (2, (3, 4), 2, 1, 1),
    (2, (5, 5), 3, (2, 1), (1, 0)),
    (3, (3, 4, 3), 2, 1, 1),
    (3, (4, 3, 5), (3, 2, 3), (2, 1, 2), (1, 1, 0)),
]


def _input(n, size, seed):
    """Mostly -inf, so that many windows hold only padding and -inf."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2) + size).astype(np.float32)
    return np.where(rng.random(x.shape) < 0.8, -np.inf, x).astype(np.float32)


def _torch(n, x, cot, kernel, stride, padding):
    t = torch.tensor(x, requires_grad=True)
    y = getattr(TF, f"max_pool{n}d")(t, kernel, stride, padding)
    (y * torch.tensor(cot)).sum().backward()
    return y.detach().numpy(), t.grad.numpy()


def _cotangent(shape, seed):
    return np.random.default_rng(seed + 1).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("n,size,kernel,stride,padding", CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_eager_gradient_skips_padding_as_torch(n, size, kernel, stride, padding, seed):
    x = _input(n, size, seed)
    want_y = getattr(TF, f"max_pool{n}d")(torch.tensor(x), kernel, stride, padding)
    cot = _cotangent(tuple(want_y.shape), seed)
    want_y, want_dx = _torch(n, x, cot, kernel, stride, padding)
    xt = Tensor(x, requires_grad=True)
    y = getattr(F, f"max_pool{n}d")(xt, kernel, stride, padding)
    (y * Tensor(cot)).sum().backward()
    np.testing.assert_array_equal(y.numpy(), want_y)
    np.testing.assert_allclose(xt.grad.numpy(), want_dx, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("n,size,kernel,stride,padding", CASES)
@pytest.mark.parametrize("transform", [lambda f: f, jax.jit], ids=["eager", "jit"])
def test_pure_gradient_skips_padding_as_torch(
    n, size, kernel, stride, padding, transform
):
    x = _input(n, size, 2)
    pool = getattr(core, f"max_pool{n}d")
    y = pool(jnp.asarray(x), kernel, stride, padding)
    cot = _cotangent(y.shape, 2)
    want_y, want_dx = _torch(n, x, cot, kernel, stride, padding)

    def loss(v):
        return (pool(v, kernel, stride, padding) * cot).sum()

    np.testing.assert_array_equal(np.asarray(y), want_y)
    got = transform(jax.grad(loss))(jnp.asarray(x))
    np.testing.assert_allclose(np.asarray(got), want_dx, rtol=1e-6, atol=1e-6)


def test_window_of_padding_and_minus_inf_by_hand():
    # Windows [pad, -inf] and [1, pad]: output [-inf, 1]; the first window's
    # gradient goes to x[0] (the only element inside), not to the padding.
    x = Tensor([[[-np.inf, 1.0]]], requires_grad=True)
    y = F.max_pool1d(x, 2, 1, 1)
    y.sum().backward()
    assert y.tolist() == [[[-np.inf, 1.0, 1.0]]]
    assert x.grad.tolist() == [[[1.0, 2.0]]]

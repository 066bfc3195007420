"""``linalg.solve``'s right-hand sides by shape, as PyTorch reads them: ``b`` is
a batch of vectors when it is 1-D or ``b.shape == a.shape[:-1]``, else a batch
of matrices whose columns are solved for (lucid's page says only "matrix or
vector"). JAX, like NumPy 2, reads only a 1-D ``b`` as a vector."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import lucid_fx
from lucid_fx import Tensor

NAN = float("nan")

# (a's shape, b's shape): solvable in PyTorch.
SHAPES = [
    ((4, 3, 3), (4, 3)),  # one vector per matrix
    ((3, 3, 3), (3, 3)),  # as a.shape[:-1]: vectors, not one 3 x 3 matrix
    ((2, 4, 3, 3), (2, 4, 3)),
    ((1, 3, 3), (1, 3)),
    ((3, 3), (3,)),
    ((4, 3, 3), (3,)),  # one vector for every matrix
    ((3, 3), (3, 3)),
    ((4, 3, 3), (3, 2)),
    ((4, 3, 3), (4, 3, 2)),
    ((4, 3, 3), (3, 3)),  # not a.shape[:-1]: one matrix for every matrix
    ((2, 4, 3, 3), (4, 3, 1)),
]
# ... and ones PyTorch refuses.
MISALIGNED = [
    ((2, 4, 3, 3), (4, 3)),
    ((1, 3, 3), (4, 3)),
    ((4, 3, 3), (1, 3)),
    ((3, 3), (4, 3)),
    ((2, 1, 3, 3), (4, 3)),
]


def _operands(sa, sb, seed=0):
    rng = np.random.default_rng(seed)
    a = (rng.normal(size=sa) + 3 * np.eye(sa[-1])).astype(np.float32)
    return a, rng.normal(size=sb).astype(np.float32)


def _torch_solve(a, b):
    ta = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    tb = torch.tensor(b, dtype=torch.float64, requires_grad=True)
    x = torch.linalg.solve(ta, tb)
    (x * torch.arange(x.numel(), dtype=x.dtype).reshape(x.shape).cos()).sum().backward()
    return x.detach().numpy(), ta.grad.numpy(), tb.grad.numpy()


def _our_solve(a, b):
    ta, tb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    x = lucid_fx.linalg.solve(ta, tb)
    weights = Tensor(
        np.cos(np.arange(int(np.prod(x.shape)))).reshape(x.shape).astype(np.float32)
    )
    (x * weights).sum().backward()
    return x.numpy(), ta.grad.numpy(), tb.grad.numpy()


@pytest.mark.parametrize("sa,sb", SHAPES, ids=str)
def test_solve_reads_b_as_torch_and_matches_its_float64_values_and_grads(sa, sb):
    a, b = _operands(sa, sb)
    for what, ours, theirs in zip(
        ("x", "grad a", "grad b"), _our_solve(a, b), _torch_solve(a, b)
    ):
        assert ours.shape == theirs.shape, what
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5, err_msg=what)


@pytest.mark.parametrize("sa,sb", SHAPES, ids=str)
def test_traced_solve_reads_b_as_the_eager_one(sa, sb):
    a, b = _operands(sa, sb)
    x = jax.jit(lucid_fx.linalg.solve)(jnp.asarray(a), jnp.asarray(b))
    expected = torch.linalg.solve(
        torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
    )
    assert x.shape == tuple(expected.shape)
    np.testing.assert_allclose(np.asarray(x), expected.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("sa,sb", MISALIGNED, ids=str)
def test_solve_refuses_what_torch_refuses(sa, sb):
    a, b = _operands(sa, sb)
    with pytest.raises(RuntimeError):
        torch.linalg.solve(torch.tensor(a), torch.tensor(b))
    with pytest.raises(ValueError, match=r"linalg.solve: .*not aligned"):
        lucid_fx.linalg.solve(Tensor(a), Tensor(b))


def test_nan_matrix_poisons_only_its_own_vector_and_gradients_as_torch():
    # The NaN guard's core for a batch of vectors is 1 (one vector per matrix).
    a, b = _operands((4, 3, 3), (4, 3), seed=1)
    a[2, 1, 0] = NAN
    ours, theirs = _our_solve(a, b), _torch_solve(a, b)
    for what, o, t in zip(("x", "grad a", "grad b"), ours, theirs):
        assert o.shape == t.shape, what
        np.testing.assert_array_equal(np.isnan(o), np.isnan(t), what)
        assert np.isnan(o[2]).all() and not np.isnan(o[[0, 1, 3]]).any(), what
        keep = [0, 1, 3]
        np.testing.assert_allclose(o[keep], t[keep], rtol=1e-4, atol=1e-5, err_msg=what)

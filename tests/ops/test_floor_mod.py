"""``//`` and ``%`` (floor_divide, remainder) against PyTorch."""

import numpy as np
import pytest
import torch

import lucid_fx
from lucid_fx import Tensor

A = np.array([7.0, -7.0, 5.5, -5.5, 0.0, 3.0], np.float32)
B = np.array([2.0, 2.0, -1.5, -1.5, 3.0, 0.75], np.float32)


def test_floor_divide_and_remainder_values_as_pytorch():
    ta, tb = torch.from_numpy(A), torch.from_numpy(B)
    a, b = Tensor(A), Tensor(B)
    np.testing.assert_array_equal((a // b).numpy(), (ta // tb).numpy())
    np.testing.assert_allclose((a % b).numpy(), (ta % tb).numpy(), rtol=1e-6)
    np.testing.assert_array_equal((7.0 // b).numpy(), (7.0 // tb).numpy())
    np.testing.assert_allclose((7.0 % b).numpy(), (7.0 % tb).numpy(), rtol=1e-6)
    ints = np.array([7, -7, 8, -9], np.int32)
    for d in (3, -3):
        np.testing.assert_array_equal(
            (Tensor(ints) // d).numpy(), (torch.from_numpy(ints) // d).numpy()
        )
        np.testing.assert_array_equal(
            (Tensor(ints) % d).numpy(), (torch.from_numpy(ints) % d).numpy()
        )


def test_remainder_gradient_as_pytorch():
    ta = torch.tensor(A, requires_grad=True)
    tb = torch.tensor(B, requires_grad=True)
    w = np.arange(1.0, 7.0, dtype=np.float32)
    ((ta % tb) * torch.from_numpy(w)).sum().backward()
    a = Tensor(A, requires_grad=True)
    b = Tensor(B, requires_grad=True)
    ((a % b) * Tensor(w)).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-6)


def test_floor_divide_has_no_gradient():
    a = Tensor(A, requires_grad=True)
    y = lucid_fx.floor_divide(a, 2.0)
    assert not y.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()
    t = torch.tensor(A, requires_grad=True)
    with pytest.raises(RuntimeError):  # PyTorch raises at backward too
        torch.floor_divide(t, 2.0).sum().backward()


def test_inplace_floor_divide_and_remainder():
    t = Tensor([7.0, -7.0])
    alias = t
    t //= 2
    assert alias.tolist() == [3.0, -4.0] and t._version == 1
    t %= 3
    assert alias.tolist() == [0.0, 2.0] and t._version == 2

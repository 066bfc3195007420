"""Indexing with tensors, 0-d shape ops, the requires_grad flag, op caches
keyed by type, and error messages that name the API; PyTorch is the oracle."""

import warnings

import jax
import numpy as np
import pytest
import torch

import lucid_fx
import lucid_fx.nn.functional as F
from lucid_fx import Tensor

DATA = np.arange(6.0, dtype=np.float32)


def _i(v):
    return Tensor(np.array(v, np.int32))


# ------------------------------------- static arguments keyed by type (bug 2)
def test_a_rejected_float_kernel_size_does_not_poison_the_int_one():
    x = Tensor(np.arange(36.0, dtype=np.float32).reshape(1, 1, 6, 6))
    want = torch.nn.functional.avg_pool2d(torch.from_numpy(x.numpy()), 3, 3)
    with pytest.raises(TypeError, match="kernel_size must be an int"):
        F.avg_pool2d(x, 3.0, 3)
    np.testing.assert_array_equal(F.avg_pool2d(x, 3, 3).numpy(), want.numpy())


def test_an_accepted_int_kernel_size_does_not_let_the_float_one_through():
    x = Tensor(np.arange(25.0, dtype=np.float32).reshape(1, 1, 5, 5))
    want = torch.nn.functional.avg_pool2d(torch.from_numpy(x.numpy()), 5, 5)
    np.testing.assert_array_equal(F.avg_pool2d(x, 5, 5).numpy(), want.numpy())
    with pytest.raises(TypeError, match="kernel_size must be an int"):
        F.avg_pool2d(x, 5.0, 5)


def test_clamp_with_int_bounds_does_not_let_float_bounds_through():
    # PyTorch refuses float bounds on an int tensor in place, in either order.
    t = Tensor(np.array([0, 5], np.int32))
    t.clamp_(1, 2)
    assert t.tolist() == torch.tensor([0, 5]).clamp_(1, 2).tolist()
    with pytest.raises(RuntimeError):
        torch.tensor([0, 5], dtype=torch.int32).clamp_(1.0, 2.0)
    u = Tensor(np.array([0, 5], np.int32))
    # Users' promotion (the tests run strict, which refuses int with float).
    with jax.numpy_dtype_promotion("standard"):
        with pytest.raises(TypeError, match="clamp_: the result has dtype float32"):
            u.clamp_(1.0, 2.0)
    assert u.tolist() == [0, 5]


def test_clamp_with_float_bounds_refused_does_not_refuse_int_bounds():
    u = Tensor(np.array([0, 7], np.int32))
    with jax.numpy_dtype_promotion("standard"):
        with pytest.raises(TypeError, match="clamp_: the result has dtype float32"):
            u.clamp_(3.0, 4.0)
    u.clamp_(3, 4)
    assert u.tolist() == torch.tensor([0, 7]).clamp_(3, 4).tolist()


def test_clip_bounds_of_either_zero_sign_are_kept_apart():
    x = np.array([-1.0, 1.0], np.float32)
    for bound in (0.0, -0.0, 0.0):
        want = torch.clamp(torch.from_numpy(x), max=bound).numpy()
        got = lucid_fx.clip(Tensor(x), None, bound).numpy()
        assert np.array_equal(np.signbit(got), np.signbit(want)), bound
        np.testing.assert_array_equal(got, want)


def test_static_keys_tell_types_apart_inside_tuples():
    from lucid_fx._tensor._ops import static_key

    assert static_key({"k": (2, 2)}) != static_key({"k": (2.0, 2)})
    assert static_key({"k": True}) != static_key({"k": 1})
    assert static_key({"k": 0.0}) != static_key({"k": -0.0})
    assert static_key({"k": (1, (2,))}) == static_key({"k": (1, (2,))})


# ------------------------------------------------ tensor indices (bug 7)
@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (lambda x: x[: _i(2)], lambda t: t[: torch.tensor(2)]),
        (lambda x: x[_i(1) : _i(5) : _i(2)], lambda t: t[1:5:2]),
        (lambda x: x[torch.tensor(1) : torch.tensor(4)], lambda t: t[1:4]),
        (lambda x: x[torch.tensor([0, 2])], lambda t: t[torch.tensor([0, 2])]),
        (
            lambda x: x[torch.tensor([True, False] * 3)],
            lambda t: t[torch.tensor([True, False] * 3)],
        ),
        (lambda x: x[[_i(0), _i(2)]], lambda t: t[torch.tensor([0, 2])]),
        (lambda x: x[[torch.tensor(5), torch.tensor(1)]], lambda t: t[[5, 1]]),
        (lambda x: x[[]], lambda t: t[[]]),
    ],
)
def test_tensor_and_pytorch_indices_as_pytorch(ours, theirs):
    # A list of tensors is an index array, as in NumPy and PyTorch's announced
    # behaviour (PyTorch 2.13 still reads it as a tuple, with a warning).
    got = ours(Tensor(DATA))
    want = theirs(torch.from_numpy(DATA))
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_assignment_through_tensor_indices_as_pytorch():
    t, tt = Tensor(DATA.copy()), torch.from_numpy(DATA.copy())
    t[torch.tensor([0, 2])] = 9.0
    tt[torch.tensor([0, 2])] = 9.0
    t[: _i(1)] = 5.0
    tt[: torch.tensor(1)] = 5.0
    np.testing.assert_array_equal(t.numpy(), tt.numpy())


def test_a_float_slice_bound_raises_naming_the_api():
    with pytest.raises(TypeError, match=r"^getitem: a slice bound must be an int"):
        Tensor(DATA)[: Tensor(1.5)]


# --------------------------------------------------- 0-d tensors (bug 8)
def test_squeeze_and_swapaxes_of_a_0d_tensor_as_pytorch():
    for axis in (0, -1):
        want = torch.tensor(2.0).squeeze(axis)
        got = Tensor(2.0).squeeze(axis)
        assert got.shape == tuple(want.shape) and got.item() == want.item()
    want = torch.transpose(torch.tensor(2.0), 0, -1)
    got = lucid_fx.swapaxes(Tensor(2.0), axis1=0, axis2=-1)
    assert got.shape == tuple(want.shape) and got.item() == want.item()


def test_axis_range_message_of_a_0d_tensor():
    with pytest.raises(IndexError):  # PyTorch: "expected to be in range of [-1, 0]"
        torch.tensor(2.0).sum(1)
    with pytest.raises(ValueError, match=r"Pass an axis in \[-1, 0\]\."):
        lucid_fx.sum(Tensor(2.0), axis=1)
    with pytest.raises(ValueError, match=r"Pass an axis in \[-2, 1\]\."):
        lucid_fx.sum(Tensor([[1.0]]), axis=2)


# ----------------------------------------------- requires_grad flag (bug 9)
def test_turning_off_a_non_leafs_flag_raises_as_pytorch():
    x = torch.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf variables"):
        (x * 2).requires_grad = False
    a = Tensor([1.0, 2.0], requires_grad=True)
    y = a * 2.0
    with pytest.raises(RuntimeError, match=r"^Tensor.requires_grad: only a leaf"):
        y.requires_grad = False
    assert y.requires_grad and not y.is_leaf
    y.requires_grad = True  # allowed, as in PyTorch
    y.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])
    a.requires_grad = False  # a leaf's flag can be turned off
    assert not a.requires_grad


# --------------------------------------------- messages and __pos__ (bug 10)
@pytest.mark.parametrize(
    ("do", "kind", "pattern"),
    [
        (lambda: Tensor(DATA)[1.0], TypeError, r"^getitem: an index must be an int"),
        (lambda: Tensor(2.0)[0], IndexError, r"^getitem: too many indices .* 0 dim"),
        (lambda: Tensor([[1.0]])[0, 0, 0], IndexError, r"^getitem: too many ind"),
        (lambda: -Tensor(np.array([True])), TypeError, r"^neg: a bool tensor"),
        (lambda: +Tensor(np.array([True])), TypeError, r"^__pos__: a bool tensor"),
    ],
)
def test_errors_name_the_api(do, kind, pattern):
    with pytest.raises(kind, match=pattern):
        do()


def test_assignment_into_a_0d_tensor_by_index_raises_and_leaves_it():
    t = Tensor(2.0)
    with pytest.raises(IndexError, match=r"^__setitem__: too many indices"):
        t[0] = 1.0
    assert t.item() == 2.0 and t._version == 0


def test_unary_plus_is_the_tensor_itself_as_pytorch():
    tt = torch.tensor([1.0, -2.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert torch.equal(+tt, tt)
    t = Tensor([1.0, -2.0], requires_grad=True)
    y = +t
    assert y.tolist() == (+tt).tolist()
    (y * 3.0).sum().backward()
    np.testing.assert_array_equal(t.grad.numpy(), [3.0, 3.0])

"""lucid 0.13's documented signatures, as a lucid user writes them (found by
an API-coverage probe against the pages in ../shared/seed/lucid-0.13)."""

import typing

import numpy as np
import pytest
import torch

import lucid_fx as lucid

BINARY = ["add", "sub", "mul", "div", "maximum", "minimum", "matmul", "dot", "inner"]
UNARY = ["exp", "cube", "sqrt", "abs", "tanh", "sin", "square", "reciprocal"]


@pytest.mark.parametrize("name", BINARY)
@pytest.mark.parametrize("how", ["b=", "a= b="])
def test_binary_ops_take_their_operands_by_name_as_lucid_documents(name, how):
    # lucid: add(a: Tensor, b: Tensor). By name, the op records as by position.
    op = getattr(lucid, name)
    x = lucid.Tensor([1.0, 2.0], requires_grad=True)
    y = lucid.Tensor([3.0, 5.0])
    out = op(x, b=y) if how == "b=" else op(a=x, b=y)
    expected = op(x, y)
    np.testing.assert_array_equal(out.numpy(), expected.numpy())
    assert out.requires_grad
    out.sum().backward()
    by_name = x.grad.numpy()
    x.grad = None
    expected.sum().backward()
    np.testing.assert_array_equal(by_name, x.grad.numpy())


@pytest.mark.parametrize("name", UNARY)
def test_unary_ops_take_a_by_name_and_still_record(name):
    op = getattr(lucid, name)
    x = lucid.Tensor([0.5, 2.0], requires_grad=True)
    out = op(a=x)
    assert isinstance(out, lucid.Tensor) and out.requires_grad
    np.testing.assert_array_equal(out.numpy(), op(x).numpy())


def test_an_operand_given_twice_or_missing_is_a_clear_error():
    x = lucid.Tensor([1.0])
    with pytest.raises(TypeError, match="add: got multiple values for argument 'a'"):
        lucid.add(x, a=x)
    with pytest.raises(TypeError, match="add: missing argument 'a'"):
        lucid.add(b=x)


def test_backward_takes_lucids_keep_grad_positionally():
    # lucid: backward(keep_grad: bool = False).
    x = lucid.Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    (y * y).sum().backward(True)
    np.testing.assert_array_equal(y.grad.numpy(), [4.0, 8.0])  # kept
    np.testing.assert_array_equal(x.grad.numpy(), [8.0, 16.0])


def test_zero_grad_keeps_the_grad_of_a_keep_grad_tensor_as_lucid_documents():
    # lucid: "zero_grad() -> None: Resets the gradient to None if keep_grad
    # is False."
    a = lucid.Tensor([1.0], requires_grad=True)
    b = lucid.Tensor([1.0], requires_grad=True, keep_grad=True)
    (a * b * 3.0).sum().backward()
    a.zero_grad()
    b.zero_grad()
    assert a.grad is None
    np.testing.assert_array_equal(b.grad.numpy(), [3.0])


def test_tensor_third_positional_argument_is_dtype():
    # lucid: tensor(data, requires_grad=False, dtype=np.float32).
    t = lucid.tensor([1, 2], False, np.int32)
    assert t.dtype == np.int32 and not t.requires_grad
    assert lucid.tensor([1.0], keep_grad=True).keep_grad


def test_seed_takes_its_lucid_keyword_and_pytorchs_64_bit_range():
    lucid.random.seed(seed=5)
    first = lucid.random.randn(3).tolist()
    lucid.random.seed(5)
    assert lucid.random.randn(3).tolist() == first
    torch.manual_seed(2**64 - 1)  # PyTorch's range: accepted by both
    lucid.random.seed(2**64 - 1)
    with pytest.raises(ValueError, match=r"seed: seed must be in \[0, 2\*\*64\)"):
        lucid.random.seed(2**64)


def test_lucid_types_names_its_aliases():
    from lucid_fx.types import (
        _ArrayLike,
        _ArrayOrScalar,
        _NumPyArray,
        _Scalar,
        _ShapeLike,
    )

    assert lucid.types._ShapeLike is _ShapeLike
    assert isinstance(3.5, _Scalar) and isinstance(np.ones(2), _NumPyArray)
    assert typing.get_args(_ShapeLike) == (list[int], tuple[int, ...])
    assert isinstance([1, 2], _ArrayLike)
    assert set(typing.get_args(_ArrayOrScalar)) == {
        int,
        float,
        list[_Scalar],
        np.ndarray,
    }

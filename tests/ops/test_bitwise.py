"""``& | ^ ~`` on bool and integer tensors against PyTorch; floats raise."""

from __future__ import annotations

import operator

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from lucid_fx import Tensor
from lucid_fx._tensor import _math

BINARY = {"&": operator.and_, "|": operator.or_, "^": operator.xor}
DTYPES = (np.bool_, np.int8, np.uint8, np.int16, np.int32)


def _torch(x):
    return torch.from_numpy(np.array(x))


@settings(deadline=None, max_examples=40)
@given(
    symbol=st.sampled_from(sorted(BINARY)),
    dtype=st.sampled_from(DTYPES),
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=3),
    data=st.data(),
)
def test_binary_operators_match_torch(symbol, dtype, shapes, data):
    a, b = (
        data.draw(hnp.arrays(dtype, s, elements=hnp.from_dtype(np.dtype(dtype))))
        for s in shapes.input_shapes
    )
    fn = BINARY[symbol]
    out = fn(Tensor(a), Tensor(b))
    ref = fn(_torch(a), _torch(b)).numpy()
    assert out.dtype == ref.dtype
    np.testing.assert_array_equal(np.asarray(out.data), ref)
    assert not out.requires_grad


@settings(deadline=None, max_examples=15)
@given(
    dtype=st.sampled_from(DTYPES),
    a=st.data(),
)
def test_invert_matches_torch(dtype, a):
    x = a.draw(hnp.arrays(dtype, (4,), elements=hnp.from_dtype(np.dtype(dtype))))
    out = ~Tensor(x)
    np.testing.assert_array_equal(np.asarray(out.data), (~_torch(x)).numpy())
    assert out.dtype == x.dtype


@pytest.mark.parametrize("symbol", sorted(BINARY))
@pytest.mark.parametrize("scalar", [True, False, 6, -1])
def test_python_scalars_on_either_side(symbol, scalar):
    fn = BINARY[symbol]
    x = np.array([12, 10, -1], np.int32)
    for ours, theirs in (
        (fn(Tensor(x), scalar), fn(_torch(x), scalar)),
        (fn(scalar, Tensor(x)), fn(scalar, _torch(x))),
    ):
        assert ours.dtype == np.int32  # the tensor's dtype, as torch
        np.testing.assert_array_equal(np.asarray(ours.data), theirs.numpy())


def test_bool_tensor_with_python_bool_stays_bool():
    p = Tensor([True, False])
    assert (p & True).dtype == np.bool_
    assert (False | p).dtype == np.bool_
    assert (p ^ True).tolist() == [False, True]


def test_bool_and_int_promote_to_the_int_dtype():
    p, i = np.array([True, False]), np.array([3, 5], np.int16)
    with jax.numpy_dtype_promotion("standard"):  # the suite runs strict
        out = Tensor(p) & Tensor(i)
    ref = _torch(p) & _torch(i)
    assert str(ref.dtype) == f"torch.{out.dtype}"
    np.testing.assert_array_equal(np.asarray(out.data), ref.numpy())


@pytest.mark.parametrize("other", [[True, False], np.array([True, False])])
def test_lists_and_numpy_arrays_as_operands(other):
    p = Tensor([True, True])
    assert (p & other).tolist() == [True, False]
    assert (other | Tensor([False, False])).tolist() == [True, False]


@pytest.mark.parametrize("symbol", sorted(BINARY))
@pytest.mark.parametrize(
    "a,b,dtypes",
    [
        (Tensor([1.0]), Tensor([1.0]), "float32 and float32"),
        (Tensor(np.array([1], np.int32)), 1.5, "int32 and Python float"),
        (Tensor([1.0]), Tensor([True]), "float32 and bool"),
        (Tensor([1.0], dtype=jnp.bfloat16), 1, "bfloat16 and Python int"),
    ],
)
def test_floating_operands_raise_naming_operator_and_dtypes(symbol, a, b, dtypes):
    with pytest.raises(TypeError, match=rf"\(the \{symbol} operator\).*{dtypes}"):
        BINARY[symbol](a, b)


def test_invert_of_float_raises_naming_the_operator():
    with pytest.raises(TypeError, match=r"bitwise_not \(the ~ operator\).*float16"):
        ~Tensor([1.0], dtype=jnp.float16)


def test_float_tensor_that_requires_grad_raises_the_same():
    with pytest.raises(TypeError, match=r"the & operator"):
        Tensor([1.0], requires_grad=True) & Tensor([True])


def test_non_numeric_operand_raises_naming_its_type():
    with pytest.raises(TypeError, match=r"Tensor.__or__: unsupported operand.*str"):
        Tensor([True]) | "a"


def test_shapes_that_do_not_broadcast_raise():
    with pytest.raises(ValueError, match=r"bitwise_xor: .*\(2,\) and \(3,\)"):
        Tensor([True, False]) ^ Tensor([True, False, True])


@pytest.mark.parametrize("transform", [lambda f: f, jax.jit], ids=["eager", "jit"])
def test_pure_functions_on_arrays(transform):
    a = jnp.array([12, 10, -1], jnp.int32)
    got = transform(lambda v: (_math.bitwise_and(v, 6), _math.bitwise_not(v)))(a)
    np.testing.assert_array_equal(got[0], np.array([12, 10, -1]) & 6)
    np.testing.assert_array_equal(got[1], ~np.array([12, 10, -1], np.int32))


@pytest.mark.parametrize("op", ["__iand__", "__ior__", "__ixor__"])
def test_augmented_bitwise_assignment_is_in_place_as_pytorch(op):
    a, b = np.array([5, 3, 0], np.int32), np.array([6, 1, 7], np.int32)
    ours = alias = Tensor(a)
    ours = getattr(ours, op)(Tensor(b))
    theirs = torch.tensor(a)
    getattr(theirs, op)(torch.tensor(b))
    assert ours is alias and ours._version == 1
    np.testing.assert_array_equal(alias.numpy(), theirs.numpy())

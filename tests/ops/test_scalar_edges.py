"""Python numbers at the edges of their types, against PyTorch (or the exact
integer math where PyTorch wraps around): ints beyond int32, numbers that do
not fit an integer tensor, integer division by 0, the sign of a zero floor
quotient, and ``var`` with ``correction >= N``."""

import operator
import warnings

import jax.numpy as jnp
import numpy as np
import pytest
import torch

import lucid_fx
from lucid_fx import Tensor

INT32 = np.array([1, 2**31 - 1, -(2**31), 0], np.int32)
WIDE = (2**31, 2**40, -(2**31) - 1, -(2**40))


# ------------------------------------------------- ints beyond int32 (bug 1)
@pytest.mark.parametrize("value", WIDE)
@pytest.mark.parametrize(
    "op", [operator.add, operator.sub, operator.mul, lucid_fx.maximum]
)
def test_float_tensor_with_an_int_beyond_int32_converts_it_as_pytorch(op, value):
    data = np.array([1.0, -3.0, 2.5], np.float32)
    torch_op = torch.maximum if op is lucid_fx.maximum else op
    want = torch_op(torch.from_numpy(data), torch.tensor(float(value)))
    got = op(Tensor(data), value)
    assert got.dtype == jnp.float32
    np.testing.assert_array_equal(got.numpy(), want.numpy())


def test_float16_tensor_plus_a_wide_int_overflows_to_inf_as_pytorch():
    data = np.array([1.0], np.float16)
    want = (torch.from_numpy(data) + 2**31).numpy()
    got = Tensor(data) + 2**31
    assert got.dtype == jnp.float16
    np.testing.assert_array_equal(got.numpy(), want)


def test_gradient_through_a_wide_int_scalar():
    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * 2**40).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0**40, 2.0**40])


@pytest.mark.parametrize("value", WIDE)
@pytest.mark.parametrize(
    "op",
    [operator.lt, operator.le, operator.gt, operator.ge, operator.eq, operator.ne],
)
def test_integer_comparison_with_a_wide_int_is_exact(op, value):
    # PyTorch wraps the int to int32 first (int32 < 2**31 is all False there);
    # the exact answer is Python's own integer comparison.
    want = [op(int(v), value) for v in INT32]
    want_reflected = [op(value, int(v)) for v in INT32]
    assert (op(Tensor(INT32), value)).tolist() == want
    assert (op(value, Tensor(INT32))).tolist() == want_reflected


@pytest.mark.parametrize(
    ("dtype", "value"),
    [(np.int8, 300), (np.int8, -300), (np.uint8, 256), (np.uint8, -1)],
)
def test_small_integer_comparison_outside_the_dtype_is_exact(dtype, value):
    data = np.array([0, 1, 100], dtype)
    for name in ("lt", "le", "gt", "ge", "eq", "ne"):
        got = getattr(lucid_fx._tensor._math, name)(Tensor(data), value)
        want = [getattr(operator, name)(int(v), value) for v in data]
        assert got.tolist() == want, name


@pytest.mark.parametrize("op", [operator.add, operator.mul, lucid_fx.maximum])
def test_integer_tensor_with_a_wide_int_raises_naming_the_op(op):
    name = {operator.add: "add", operator.mul: "mul"}.get(op, "maximum")
    with pytest.raises(ValueError, match=rf"^{name}: the Python int 2147483648"):
        op(Tensor(INT32), 2**31)


def test_inplace_add_of_a_wide_int_raises_and_leaves_the_tensor():
    t = Tensor(np.array([1, 2], np.int32))
    with pytest.raises(ValueError, match=r"^add_: the Python int 2147483648"):
        t.add_(2**31)
    assert t.tolist() == [1, 2] and t._version == 0
    f = Tensor([1.0]).add_(2**31)  # a float tensor takes it, as PyTorch
    assert f.tolist() == [2.0**31]


# ------------------------------------ numbers into integer tensors (bug 4)
BAD_FILLS = [
    (np.int32, float("nan")),
    (np.int32, float("inf")),
    (np.int32, float("-inf")),
    (np.int32, 2**40),
    (np.int32, 2147483647.5),
    (np.int32, -2147483648.5),
    (np.int8, 300),
    (np.int8, 1e10),
    (np.uint8, 256),
    (np.uint8, -1.0),
    (np.int8, 127.9),
]


@pytest.mark.parametrize(("dtype", "value"), BAD_FILLS)
def test_overflowing_fill_raises_as_pytorch_and_leaves_the_tensor(dtype, value):
    with pytest.raises(RuntimeError, match="without overflow"):
        torch.from_numpy(np.array([1, 2], dtype)).fill_(value)
    t = Tensor(np.array([1, 2], dtype))
    with pytest.raises(ValueError, match=r"^fill_: the value .* without overflow"):
        t.fill_(value)
    assert t.tolist() == [1, 2] and t._version == 0


@pytest.mark.parametrize(("dtype", "value"), BAD_FILLS)
def test_overflowing_item_assignment_raises_and_leaves_the_tensor(dtype, value):
    tt = torch.from_numpy(np.array([1, 2], dtype))
    with pytest.raises(RuntimeError, match="without overflow"):
        tt[0] = value
    t = Tensor(np.array([1, 2], dtype))
    with pytest.raises(ValueError, match=r"^__setitem__: the value .*overflow"):
        t[0] = value
    assert t.tolist() == [1, 2] and t._version == 0


@pytest.mark.parametrize(
    ("dtype", "value"),
    [(np.int32, -2.7), (np.int32, 2147483647), (np.uint8, -1), (np.int8, -128.0)],
)
def test_fitting_numbers_are_stored_as_pytorch_stores_them(dtype, value):
    want = torch.from_numpy(np.array([1, 2], dtype)).fill_(value).tolist()
    assert Tensor(np.array([1, 2], dtype)).fill_(value).tolist() == want
    t = Tensor(np.array([1, 2], dtype))
    t[0] = value
    tt = torch.from_numpy(np.array([1, 2], dtype))
    tt[0] = value
    assert t.tolist() == tt.tolist()


def test_nan_fill_of_a_bool_tensor_is_true_as_pytorch():
    want = torch.tensor([False]).fill_(float("nan")).tolist()
    assert Tensor(np.array([False])).fill_(float("nan")).tolist() == want


# ------------------------------------------------ integer // and % 0 (bug 5)
@pytest.mark.parametrize("op", [operator.floordiv, operator.mod])
@pytest.mark.parametrize("zero", [0, False, np.int32(0)])
@pytest.mark.parametrize("dtype", [np.int32, np.int8, np.uint8, np.bool_])
def test_integer_division_by_a_number_zero_raises_as_pytorch(op, zero, dtype):
    data = np.array([5, 0, 1], dtype)
    if dtype is not np.bool_:  # PyTorch has no bool // and %
        with pytest.raises(RuntimeError, match="ZeroDivisionError"):
            op(torch.from_numpy(data), zero)
    name = "floor_divide" if op is operator.floordiv else "remainder"
    with pytest.raises(ZeroDivisionError, match=rf"^{name}: integer division by"):
        op(Tensor(data), zero)


def test_inplace_integer_division_by_zero_raises_and_leaves_the_tensor():
    t = Tensor(np.array([5, -5], np.int32))
    with pytest.raises(ZeroDivisionError, match="floor_divide"):
        t //= 0
    with pytest.raises(ZeroDivisionError, match="remainder"):
        t %= 0
    assert t.tolist() == [5, -5] and t._version == 0


def test_float_division_by_a_number_zero_is_ieee_as_pytorch():
    data = np.array([5.0, -5.0, 0.0, -0.0], np.float32)
    for zero in (0.0, -0.0, 0):
        want = (torch.from_numpy(data) // zero).numpy()
        assert _same((Tensor(data) // zero).numpy(), want).all(), zero
        want = (torch.from_numpy(data) % zero).numpy()
        assert _same((Tensor(data) % zero).numpy(), want).all(), zero


# ------------------------------------------- float floor division (bug 6)
SPECIAL = [0.0, -0.0, 1.0, -1.0, 3.0, -3.0, 0.5, -0.5, 7.0, -7.0, 2.5, -2.5]
SPECIAL += [np.inf, -np.inf, np.nan, 1e-30, -1e-30, 1e30, 0.1, 0.3, 5.0]


def _same(got, want):
    """Equal values with the same sign bit, NaN where the other is NaN."""
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    nan = np.isnan(got) & np.isnan(want)
    return nan | ((got == want) & (np.signbit(got) == np.signbit(want)))


@pytest.mark.parametrize(
    ("dtype", "torch_dtype"),
    [
        (jnp.float32, torch.float32),
        (jnp.float16, torch.float16),
        (jnp.bfloat16, torch.bfloat16),
    ],
)
def test_float_floor_divide_matches_pytorch_in_value_and_sign(dtype, torch_dtype):
    a, b = (v.ravel() for v in np.meshgrid(SPECIAL, SPECIAL))
    ta = torch.tensor(a, dtype=torch_dtype)
    tb = torch.tensor(b, dtype=torch_dtype)
    want = (ta // tb).float().numpy()
    a, b = a.astype(np.float32), b.astype(np.float32)
    got = Tensor(a).astype(dtype) // Tensor(b).astype(dtype)
    assert got.dtype == dtype
    ok = _same(np.asarray(got.astype(jnp.float32).numpy()), want)
    assert ok.all(), list(zip(a[~ok], b[~ok], want[~ok], strict=True))


@pytest.mark.parametrize(
    ("a", "b"), [(-1.0, -3.0), (1.0, 3.0), (-0.0, 3.0), (0.0, -3.0), (-1.0, np.inf)]
)
def test_zero_floor_quotient_has_pytorchs_sign(a, b):
    want = (torch.tensor([a]) // b).numpy()
    got = (Tensor([a]) // b).numpy()
    assert _same(got, want).all()


def test_random_float_floor_divide_matches_pytorch():
    rng = np.random.default_rng(0)
    a = (rng.standard_normal(4000) * 100).astype(np.float32)
    b = (rng.standard_normal(4000) * 10).astype(np.float32)
    want = (torch.from_numpy(a) // torch.from_numpy(b)).numpy()
    assert _same((Tensor(a) // Tensor(b)).numpy(), want).all()
    want_scalar = (torch.from_numpy(a) // -0.7).numpy()
    assert _same((Tensor(a) // -0.7).numpy(), want_scalar).all()


# ------------------------------------------------ var, correction >= N (bug 3)
@pytest.mark.parametrize("correction", [3, 4, 7])
@pytest.mark.parametrize(
    "data", [[1.0, 2.0, 4.0], [2.0, 2.0, 2.0], [1.0, 2.0, 3.0]], ids=str
)
def test_var_with_correction_at_least_n_as_pytorch(data, correction):
    with warnings.catch_warnings():  # "degrees of freedom is <= 0"
        warnings.simplefilter("ignore")
        want = torch.var(torch.tensor(data), correction=correction)
    x = Tensor(data, requires_grad=True)
    y = lucid_fx.var(x, correction=correction)
    assert _same(y.numpy(), want.numpy()).all()
    y.backward()
    # d/dx_i sum (x - mean)^2 / 0 = 2 (x_i - mean) / 0: +-inf by the sign of
    # x_i - mean, NaN at the mean (PyTorch gives the upstream sign everywhere;
    # docs/ops/reductions.rst).
    centered = np.asarray(data) - np.mean(data)
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = 2.0 * centered / 0.0
    assert _same(x.grad.numpy(), expected).all(), x.grad


def test_var_along_an_axis_with_correction_equal_to_its_length():
    data = np.array([[1.0, 2.0], [3.0, 3.0]], np.float32)
    with warnings.catch_warnings():  # "degrees of freedom is <= 0"
        warnings.simplefilter("ignore")
        want = torch.var(torch.from_numpy(data), dim=1, correction=2).numpy()
    got = lucid_fx.var(Tensor(data), axis=1, correction=2).numpy()
    assert _same(got, want).all()


# ------------------------------------------- found in review (each failed)


@pytest.mark.parametrize(
    "index", [[0, 2], np.array([True, False, True])], ids=["list", "mask"]
)
def test_a_wide_int_written_through_an_index_array_into_a_float_tensor(index):
    # The index array is an integer operand of __setitem__'s program, but
    # the result is the float tensor's: PyTorch stores the value.
    ours, theirs = Tensor([1.0, 2.0, 3.0]), torch.tensor([1.0, 2.0, 3.0])
    ours[index] = 2**40
    theirs[torch.as_tensor(index)] = 2**40
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize(
    "value", [np.int64(2**40), np.uint64(2**63), np.int64(-(2**35))]
)
def test_a_wide_numpy_int_is_not_wrapped_into_int32(value):
    ours = (Tensor([1.0, 2.0]) + value).numpy()
    # (torch defers a uint64 scalar to NumPy: its Python int is the number)
    np.testing.assert_array_equal(ours, (torch.tensor([1.0, 2.0]) + int(value)).numpy())
    np.testing.assert_array_equal(lucid_fx.add(Tensor([1.0, 2.0]), value).numpy(), ours)
    with pytest.raises(ValueError, match="add: the Python int"):
        Tensor(np.array([1], np.int32)) + value


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16])
def test_16_bit_floor_divide_equals_pytorch_on_random_pairs(dtype):
    # PyTorch rounds every step of div_floor_floating to the 16-bit type.
    rng = np.random.default_rng(3)
    a = torch.tensor(rng.normal(size=4000) * 100).to(dtype)
    b = torch.tensor(rng.normal(size=4000)).to(dtype)
    ours = lucid_fx.floor_divide(Tensor(a), Tensor(b))
    np.testing.assert_array_equal(ours.float().numpy(), (a // b).float().numpy())


def test_the_pure_floor_divide_has_a_zero_gradient_also_at_a_zero_divisor():
    import jax

    a, b = jnp.array([7.0, -7.0, 0.0, 3.0]), jnp.array([2.0, 0.0, 0.0, -3.0])
    np.testing.assert_array_equal(
        jax.grad(lambda x: lucid_fx.floor_divide(x, b).sum())(a), np.zeros(4)
    )
    np.testing.assert_array_equal(
        jax.grad(lambda y: lucid_fx.floor_divide(a, y).sum())(b), np.zeros(4)
    )

"""Hypothesis: the eager Tensor layer agrees with the pure core bit for bit."""

import hypothesis.extra.numpy as hnp
import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import lucid_fx.nn.functional as F
from lucid_fx import Tensor
from lucid_fx.functional import leaky_relu

DTYPES = {"float16": np.float16, "bfloat16": ml_dtypes.bfloat16, "float32": np.float32}
SPECIAL = st.sampled_from([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5])


@st.composite
def cases(draw):
    name = draw(st.sampled_from(sorted(DTYPES)))
    shape = draw(hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
    values = st.one_of(st.floats(-1e4, 1e4, width=32), SPECIAL)
    x = draw(hnp.arrays(np.float32, shape, elements=values)).astype(DTYPES[name])
    w = draw(hnp.arrays(np.float32, shape, elements=values)).astype(DTYPES[name])
    slope = draw(st.sampled_from([0.0, 0.01, 0.25, -0.5, 1.5]))
    return x, w, slope


def _bits(a):
    a = np.asarray(a)
    return a.view(np.uint16 if a.dtype.itemsize == 2 else np.uint32)


@settings(deadline=None, max_examples=40)
@given(cases())
def test_eager_forward_and_gradients_equal_the_pure_core(case):
    x, w, slope = case
    xt, wt = Tensor(x, requires_grad=True), Tensor(w, requires_grad=True)
    out = F.leaky_relu(xt, slope) * wt
    out.backward(np.ones(x.shape, x.dtype))

    def pure(a, b):
        return leaky_relu(a, slope) * b

    expected, vjp = jax.vjp(pure, jnp.asarray(x), jnp.asarray(w))
    dx, dw = vjp(jnp.ones(x.shape, x.dtype))
    for got, want in ((out.data, expected), (xt.grad.data, dx), (wt.grad.data, dw)):
        assert got.dtype == want.dtype and got.shape == want.shape
        np.testing.assert_array_equal(_bits(got), _bits(want))


INT_DTYPES = [np.int8, np.int16, np.int32, np.uint8, np.uint16, np.uint32]


@settings(deadline=None, max_examples=60)
@given(
    st.sampled_from(INT_DTYPES),
    st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=4),
)
def test_integer_data_is_exact_or_raises_overflow(dtype, values):
    info = np.iinfo(dtype)
    fits = all(info.min <= v <= info.max for v in values)
    try:
        t = Tensor(values, dtype=dtype)
    except OverflowError as err:
        assert not fits and str(np.dtype(dtype)) in str(err)
    else:
        assert fits and t.tolist() == values and t.dtype == dtype


INPLACE_OPS = {
    "iadd": (lambda t, o: t.__iadd__(o), np.add),
    "isub": (lambda t, o: t.__isub__(o), np.subtract),
    "imul": (lambda t, o: t.__imul__(o), np.multiply),
    "add_": (lambda t, o: t.add_(o), np.add),
    "mul_": (lambda t, o: t.mul_(o), np.multiply),
}


@settings(deadline=None, max_examples=30)
@given(
    hnp.arrays(np.float32, (2, 3), elements=st.floats(-100, 100, width=32)),
    st.lists(
        st.tuples(
            st.sampled_from(sorted(INPLACE_OPS)),
            st.one_of(
                st.floats(-4, 4, width=32),
                hnp.arrays(np.float32, (3,), elements=st.floats(-4, 4, width=32)),
            ),
        ),
        min_size=1,
        max_size=5,
    ),
)
def test_in_place_sequences_match_numpy_float32_and_every_alias(x, steps):
    t = Tensor(x)
    alias = t
    expected = x.copy()
    for name, other in steps:
        ours, ref = INPLACE_OPS[name]
        ours(t, other if isinstance(other, float) else Tensor(other))
        expected = ref(expected, np.float32(other)).astype(np.float32)
    assert t is alias and alias._version == len(steps)
    # XLA on CPU flushes subnormals to zero (NumPy keeps them): allow that.
    np.testing.assert_allclose(alias.numpy(), expected, rtol=0, atol=1e-35)

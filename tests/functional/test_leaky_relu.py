"""Unit tests of lucid_fx.functional.leaky_relu, eager and under jit."""

import chex
import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest
from absl.testing import absltest, parameterized

from lucid_fx.functional import leaky_relu
from tests import reference

FLOAT_DTYPES = (
    ("float16", jnp.float16),
    ("bfloat16", jnp.bfloat16),
    ("float32", jnp.float32),
)
X = np.array([-3.0, -1.5, -0.25, 0.0, 0.5, 2.0, 7.0])


class ForwardTest(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(
        ("default", 0.01),
        ("quarter", 0.25),
        ("zero", 0.0),
        ("negative", -0.5),
        ("above_one", 2.0),
        ("int_slope", 3),
    )
    def test_matches_reference(self, slope):
        out = self.variant(lambda x: leaky_relu(x, slope))(jnp.asarray(X, jnp.float32))
        np.testing.assert_allclose(out, reference.leaky_relu(X, slope), rtol=1e-6)

    @chex.variants(with_jit=True, without_jit=True)
    def test_default_slope_is_one_hundredth(self):
        out = self.variant(leaky_relu)(jnp.asarray(X, jnp.float32))
        np.testing.assert_allclose(out, reference.leaky_relu(X, 0.01), rtol=1e-6)

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(*FLOAT_DTYPES)
    def test_dtype_kept(self, dtype):
        x = jnp.asarray(X, dtype)
        out = self.variant(lambda v: leaky_relu(v, 0.1))(x)
        grad = self.variant(jax.grad(lambda v: leaky_relu(v, 0.1).sum()))(x)
        self.assertEqual(out.dtype, dtype)
        self.assertEqual(grad.dtype, dtype)

    @chex.variants(with_jit=True, without_jit=True)
    def test_float64_kept_with_x64(self):
        with jax.enable_x64(True):
            x = jnp.asarray(X, jnp.float64)
            out = self.variant(lambda v: leaky_relu(v, 0.1))(x)
            self.assertEqual(out.dtype, jnp.float64)
            np.testing.assert_array_equal(out, reference.leaky_relu(X, 0.1))

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(("int", np.int32), ("bool", np.bool_))
    def test_integer_and_bool_inputs_become_default_float(self, dtype):
        x = np.array([-2, 0, 3]).astype(dtype)
        out = self.variant(lambda v: leaky_relu(v, 0.5))(x)
        self.assertEqual(out.dtype, jnp.float32)
        np.testing.assert_array_equal(out, reference.leaky_relu(x, 0.5))

    @chex.variants(with_jit=True, without_jit=True)
    def test_negative_zero_keeps_sign(self):
        out = self.variant(lambda v: leaky_relu(v, 0.5))(jnp.array([-0.0, 0.0]))
        np.testing.assert_array_equal(np.signbit(out), [True, False])

    @chex.variants(with_jit=True, without_jit=True)
    def test_negative_zero_slope_is_normalised(self):
        # An unnormalised -0.0 slope would give -2.0 * -0.0 = +0.0; stored as 0.0
        # it gives -2.0 * 0.0 = -0.0, the same as an explicit 0.0 slope.
        x = jnp.array([-2.0])
        neg = self.variant(lambda v: leaky_relu(v, -0.0))(x)
        pos = self.variant(lambda v: leaky_relu(v, 0.0))(x)
        np.testing.assert_array_equal(np.signbit(neg), [True])
        np.testing.assert_array_equal(np.signbit(pos), [True])

    @chex.variants(with_jit=True, without_jit=True)
    def test_extreme_values(self):
        x = jnp.array([jnp.nan, jnp.inf, -jnp.inf], jnp.float32)
        out = self.variant(lambda v: leaky_relu(v, 0.5))(x)
        np.testing.assert_array_equal(out, [np.nan, np.inf, -np.inf * 0.5])
        out0 = self.variant(lambda v: leaky_relu(v, 0.0))(x)
        np.testing.assert_array_equal(out0, [np.nan, np.inf, np.nan])

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(("empty", (0, 3)), ("scalar", ()))
    def test_empty_and_zero_d(self, shape):
        x = jnp.full(shape, -2.0)
        out = self.variant(lambda v: leaky_relu(v, 0.5))(x)
        grad = self.variant(jax.grad(lambda v: leaky_relu(v, 0.5).sum()))(x)
        self.assertEqual(out.shape, shape)
        np.testing.assert_array_equal(out, np.full(shape, -1.0))
        np.testing.assert_array_equal(grad, np.full(shape, 0.5))


class GradientTest(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(
        ("positive", 0.25), ("zero", 0.0), ("negative", -0.5), ("above_one", 2.0)
    )
    def test_matches_reference(self, slope):
        grad = self.variant(jax.grad(lambda v: leaky_relu(v, slope).sum()))(
            jnp.asarray(X, jnp.float32)
        )
        np.testing.assert_array_equal(grad, reference.leaky_relu_grad(X, slope))

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(("python", 0.25), ("array", np.float32(0.25)))
    def test_grad_at_zero_is_negative_slope(self, slope):
        grad = self.variant(jax.grad(lambda v: leaky_relu(v, slope)))(0.0)
        self.assertEqual(float(grad), 0.25)

    @chex.variants(with_jit=True, without_jit=True)
    def test_differs_from_jax_nn_at_zero_on_purpose(self):
        ours = self.variant(jax.grad(lambda v: leaky_relu(v, 0.25)))(0.0)
        theirs = self.variant(jax.grad(lambda v: jax.nn.leaky_relu(v, 0.25)))(0.0)
        self.assertEqual((float(ours), float(theirs)), (0.25, 1.0))

    @chex.variants(with_jit=True, without_jit=True)
    def test_nan_input_gets_negative_slope_gradient(self):
        grad = self.variant(jax.grad(lambda v: leaky_relu(v, 0.25)))(jnp.nan)
        self.assertEqual(float(grad), 0.25)

    @chex.variants(with_jit=True, without_jit=True)
    def test_gradient_scales_cotangent(self):
        g = jnp.asarray(np.linspace(-2, 2, X.size), jnp.float32)
        _, vjp = jax.vjp(lambda v: leaky_relu(v, 0.5), jnp.asarray(X, jnp.float32))
        (dx,) = self.variant(vjp)(g)
        np.testing.assert_allclose(
            dx, np.asarray(g) * reference.leaky_relu_grad(X, 0.5)
        )


class ArraySlopeTest(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    def test_scalar_array_slope_cotangent(self):
        x = jnp.asarray(X, jnp.float32)
        dslope = self.variant(jax.grad(lambda a: leaky_relu(x, a).sum()))(
            jnp.float32(0.25)
        )
        self.assertAlmostEqual(float(dslope), reference.leaky_relu_slope_grad(X))

    @chex.variants(with_jit=True, without_jit=True)
    def test_per_channel_slopes(self):
        x = np.arange(-6.0, 6.0).reshape(4, 3)
        slopes = np.array([0.0, 0.25, 0.5])
        fn = self.variant(jax.grad(lambda v, a: leaky_relu(v, a).sum(), argnums=(0, 1)))
        dx, da = fn(jnp.asarray(x, jnp.float32), jnp.asarray(slopes, jnp.float32))
        out = leaky_relu(jnp.asarray(x, jnp.float32), jnp.asarray(slopes, jnp.float32))
        np.testing.assert_array_equal(out, reference.leaky_relu(x, slopes))
        np.testing.assert_array_equal(dx, reference.leaky_relu_grad(x, slopes))
        expected = [reference.leaky_relu_slope_grad(x[:, j]) for j in range(3)]
        np.testing.assert_array_equal(da, expected)
        self.assertEqual(da.shape, (3,))

    @chex.variants(with_jit=True, without_jit=True)
    def test_keepdims_slope_cotangent_shape(self):
        x = jnp.asarray(np.arange(-6.0, 6.0).reshape(3, 4), jnp.float32)
        slopes = jnp.full((3, 1), 0.5, jnp.float32)
        da = self.variant(jax.grad(lambda a: leaky_relu(x, a).sum()))(slopes)
        expected = [[reference.leaky_relu_slope_grad(row)] for row in np.asarray(x)]
        np.testing.assert_array_equal(da, expected)

    @chex.variants(with_jit=True, without_jit=True)
    def test_negative_array_slope_gradient(self):
        x = jnp.asarray(X, jnp.float32)
        grad = self.variant(jax.grad(lambda v: leaky_relu(v, jnp.float32(-0.5)).sum()))(
            x
        )
        np.testing.assert_array_equal(grad, reference.leaky_relu_grad(X, -0.5))

    def test_new_slope_values_do_not_retrace(self):
        @jax.jit
        @chex.assert_max_traces(n=1)
        def f(x, a):
            return leaky_relu(x, a)

        x = jnp.asarray(X, jnp.float32)
        for a in (0.1, 0.2, 0.3):
            out = f(x, jnp.float32(a))
            np.testing.assert_allclose(out, reference.leaky_relu(X, a), rtol=1e-6)
        chex.clear_trace_counter()

    def test_vmap_over_slopes_x_and_both(self):
        xs = jnp.asarray(np.stack([X, -X]), jnp.float32)
        slopes = jnp.array([0.25, 0.5], jnp.float32)
        both = jax.vmap(leaky_relu)(xs, slopes)
        over_slope = jax.vmap(leaky_relu, in_axes=(None, 0))(xs[0], slopes)
        over_x = jax.vmap(leaky_relu, in_axes=(0, None))(xs, 0.25)
        for i in range(2):
            np.testing.assert_array_equal(
                both[i], reference.leaky_relu(np.asarray(xs[i]), slopes[i])
            )
            np.testing.assert_array_equal(
                over_slope[i], reference.leaky_relu(X, slopes[i])
            )
            np.testing.assert_array_equal(
                over_x[i], reference.leaky_relu(np.asarray(xs[i]), 0.25)
            )


class ValidationTest(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(
        ("str", "0.1", TypeError, "got str '0.1'"),
        ("bool", True, TypeError, "got bool True"),
        ("complex", 1j, TypeError, "got complex"),
        ("none", None, TypeError, "got NoneType"),
        ("nan", float("nan"), ValueError, "must be finite"),
        ("inf", float("inf"), ValueError, "must be finite"),
        ("complex_array", np.array([1j]), TypeError, "complex"),
        ("bool_array", np.array([True]), TypeError, "bool"),
        ("nan_array", np.array([np.nan]), ValueError, "must be finite"),
    )
    def test_bad_slope(self, slope, error, phrase):
        fn = self.variant(lambda x: leaky_relu(x, slope))
        with pytest.raises(error, match="negative_slope") as info:
            fn(jnp.ones(3))
        self.assertIn(phrase, str(info.value))

    @chex.variants(with_jit=True, without_jit=True)
    def test_slope_shape_must_broadcast_to_input(self):
        fn = self.variant(lambda x: leaky_relu(x, jnp.ones((2, 3))))
        with pytest.raises(ValueError, match=r"negative_slope of shape \(2, 3\)"):
            fn(jnp.ones(3))

    @chex.variants(with_jit=True, without_jit=True)
    def test_complex_input_raises(self):
        fn = self.variant(leaky_relu)
        with pytest.raises(TypeError, match="defined for real inputs"):
            fn(jnp.ones(3, jnp.complex64))

    def test_non_numeric_input_raises(self):
        with pytest.raises(TypeError, match="leaky_relu: x must be a real"):
            leaky_relu("abc")
        with pytest.raises(TypeError, match="leaky_relu: x must be a real"):
            leaky_relu([object()])


class ForwardModeTest(absltest.TestCase):
    def test_jvp_and_jacfwd_give_the_custom_vjp_error(self):
        f = lambda v: leaky_relu(v, 0.5)  # noqa: E731
        with pytest.raises(TypeError, match="can't apply forward-mode autodiff"):
            jax.jacfwd(f)(jnp.ones(3))
        with pytest.raises(TypeError, match="can't apply forward-mode autodiff"):
            jax.jvp(f, (jnp.ones(3),), (jnp.ones(3),))

    def test_second_derivatives_through_reverse_mode(self):
        # d2/dx2 sum(y**2) = 2 * (dy/dx)**2 on the diagonal: 2 * 0.25 or 2 * 1.
        loss = lambda v: (leaky_relu(v, 0.5) ** 2).sum()  # noqa: E731
        x = jnp.asarray(X, jnp.float32)
        expected = np.diag(2.0 * reference.leaky_relu_grad(X, 0.5) ** 2)
        np.testing.assert_array_equal(jax.jacrev(jax.jacrev(loss))(x), expected)
        # hessian is forward over reverse: it differentiates the bwd rule, so works
        np.testing.assert_array_equal(jax.hessian(loss)(x), expected)


class PlatformBehaviourTest(absltest.TestCase):
    """XLA:CPU flushes float32-range subnormals to zero (FTZ/DAZ)."""

    def test_xla_cpu_flushes_subnormal_inputs_to_zero(self):
        cpu = jax.devices("cpu")[0]
        tiny = np.float32(np.finfo(np.float32).smallest_subnormal)
        with jax.default_device(cpu):
            out = leaky_relu(jnp.array([tiny, -tiny]), 0.5)
            grad = jax.grad(lambda v: leaky_relu(v, 0.5))(jnp.float32(tiny))
            bf = jnp.asarray(np.array([tiny], ml_dtypes.bfloat16))
            out_bf = leaky_relu(bf, 0.5)
        np.testing.assert_array_equal(out, [0.0, 0.0])
        self.assertEqual(float(grad), 0.5)  # a flushed positive counts as 0
        np.testing.assert_array_equal(out_bf, [0.0])


if __name__ == "__main__":
    absltest.main()


class TestLinearize:
    """jax.linearize fails at the call with the forward-mode message."""

    def test_linearize_raises_at_the_call(self):
        import jax
        import jax.numpy as jnp
        import pytest

        from lucid_fx.functional import leaky_relu

        x = jnp.array([-1.0, 2.0])
        with pytest.raises(TypeError, match="forward-mode autodiff"):
            jax.linearize(leaky_relu, x)
        with pytest.raises(TypeError, match="forward-mode autodiff"):
            jax.linearize(lambda v: leaky_relu(v, jnp.array(0.3)), x)

    def test_linearize_of_the_gradient_still_works(self):
        import jax
        import jax.numpy as jnp
        import numpy as np

        from lucid_fx.functional import leaky_relu

        x = jnp.array([-1.0, 2.0])
        grad = jax.grad(lambda v: leaky_relu(v, 0.25).sum())
        value, f_jvp = jax.linearize(grad, x)
        np.testing.assert_allclose(value, [0.25, 1.0])
        np.testing.assert_allclose(f_jvp(jnp.ones(2)), [0.0, 0.0])  # piecewise linear


@pytest.mark.parametrize(
    "dtype,slope",
    [(jnp.float32, 1e300), (jnp.float32, -4e38), (jnp.bfloat16, 1e39)],
)
def test_slope_that_overflows_the_compute_dtype_is_refused(dtype, slope):
    with pytest.raises(ValueError, match="negative_slope=.* overflows float32"):
        leaky_relu(jnp.ones(3, dtype), slope)


def test_largest_finite_slope_is_accepted():
    big = float(jnp.finfo(jnp.float32).max)
    out = leaky_relu(jnp.array([-1.0, 2.0], jnp.float32), big)
    assert out.tolist() == [-big, 2.0]

"""Tensor: construction, printing, autograd semantics and errors."""

import chex
import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

from lucid_fx import Tensor, lift, no_grad
from lucid_fx.functional import leaky_relu
from lucid_fx.nn import functional as F
from tests import reference


class TestConstruction:
    def test_python_floats_become_float32(self):
        assert Tensor([1.0, 2.0]).dtype == jnp.float32
        assert Tensor(1.5).dtype == jnp.float32

    def test_sources_and_dtype(self):
        assert Tensor([1, 2]).dtype == jnp.float32  # Python numbers: lucid's float32
        assert Tensor(np.array([1, 2], np.int32)).dtype == jnp.int32
        assert Tensor(np.arange(3, dtype=np.float16)).dtype == jnp.float16
        assert Tensor(jnp.ones(2, jnp.bfloat16)).dtype == jnp.bfloat16
        assert Tensor([1, 2], dtype=jnp.float32).tolist() == [1.0, 2.0]
        assert Tensor(Tensor([3.0])).tolist() == [3.0]

    def test_accessors(self):
        t = Tensor([[1.0, 2.0, 3.0]])
        assert (t.shape, t.ndim, t.size) == ((1, 3), 2, 3)
        assert Tensor([[4.0]]).item() == 4.0
        np.testing.assert_array_equal(t.numpy(), [[1.0, 2.0, 3.0]])
        assert t.is_leaf and not t.requires_grad and t.grad is None

    def test_ragged_lists_raise(self):
        with pytest.raises(ValueError, match="Tensor: data must be rectangular"):
            Tensor([[1.0, 2.0], [3.0]])

    @pytest.mark.parametrize("data", ["abc", [object()], None, ["a", "b"]])
    def test_non_numeric_data_raises(self, data):
        with pytest.raises(TypeError, match="Tensor: data must be numbers"):
            Tensor(data)

    def test_requires_grad_on_integer_data_raises(self):
        with pytest.raises(TypeError, match="requires_grad=True with dtype int32"):
            Tensor(np.array([1, 2], np.int32), requires_grad=True)

    def test_iteration_truth_and_number_conversions(self):
        t = Tensor([[1.0, 2.0], [3.0, 4.0]])
        rows = list(t)
        assert len(rows) == 2 and rows[1].tolist() == [3.0, 4.0]
        assert float(Tensor([2.5])) == 2.5 and int(Tensor(3.0)) == 3
        assert bool(Tensor([1.0])) and not bool(Tensor(0.0))
        with pytest.raises(ValueError, match="ambiguous"):
            bool(t)
        with pytest.raises(TypeError, match="0-d"):
            list(Tensor(1.0))

    def test_item_on_many_elements_raises(self):
        with pytest.raises(ValueError, match=r"shape \(2,\)"):
            Tensor([1.0, 2.0]).item()


class TestRepr:
    def test_spec_formats(self):
        x = Tensor([[-1.0, 2.0, -0.5, 3.0]], requires_grad=True)
        y = F.leaky_relu(x)
        assert repr(y) == "Tensor([[-0.01, 2.0, -0.005, 3.0]], grad=None)"
        y.backward()
        assert repr(x.grad) == "Tensor([[0.01, 1.0, 0.01, 1.0]])"
        assert (
            repr(x) == "Tensor([[-1.0, 2.0, -0.5, 3.0]], grad=[[0.01, 1.0, 0.01, 1.0]])"
        )

    def test_non_float_dtypes_are_named(self):
        assert repr(Tensor(np.array([1, 2], np.int32))) == "Tensor([1, 2], dtype=int32)"
        assert repr(Tensor([True, False])) == "Tensor([True, False], dtype=bool)"

    def test_shortest_round_trip_per_dtype(self):
        assert repr(Tensor(np.array([0.1], ml_dtypes.bfloat16))) == "Tensor([0.1])"
        assert repr(Tensor(np.array([0.1], np.float16))) == "Tensor([0.1])"
        assert repr(Tensor([1 / 3])) == "Tensor([0.33333334])"

    def test_an_empty_tensor_shows_its_shape(self):
        assert repr(Tensor(np.zeros((0, 3), np.float32))) == "Tensor([], shape=(0, 3))"
        assert repr(Tensor(np.zeros(0, np.float32))) == "Tensor([])"

    def test_large_tensors_are_summarised(self):
        text = repr(Tensor(np.zeros((100, 100), np.float32)))
        assert "..." in text and len(text) < 2000


def _grad_check(fn, inputs, expected_out, expected_grads):
    """Values and every input gradient against hand-derived float64 numbers."""
    tensors = [Tensor(np.asarray(v, np.float32), requires_grad=True) for v in inputs]
    out = fn(*tensors)
    np.testing.assert_allclose(out.numpy(), expected_out, rtol=1e-6, atol=1e-6)
    out.backward()
    for t, g in zip(tensors, expected_grads, strict=True):
        assert t.grad.shape == t.shape
        np.testing.assert_allclose(t.grad.numpy(), g, rtol=1e-6, atol=1e-6)


A = np.array([[1.0, -2.0, 3.0], [0.5, 4.0, -1.0]])
B = np.array([2.0, -1.0, 0.25])
M = np.array([[1.0, 2.0], [-1.0, 0.5], [3.0, 1.0]])
ONES = np.ones_like(A)

OPS = {
    # name: (fn, inputs, expected output, expected grads), grads seeded with ones
    "add_broadcast": (lambda a, b: a + b, (A, B), A + B, (ONES, np.full(3, 2.0))),
    "sub": (lambda a, b: a - b, (A, B), A - B, (ONES, np.full(3, -2.0))),
    "mul": (lambda a, b: a * b, (A, B), A * B, (ONES * B, A.sum(0))),
    "div": (lambda a, b: a / b, (A, B), A / B, (ONES / B, -(A / B**2).sum(0))),
    "pow": (lambda a: a**2.0, (A,), A**2, (2 * A,)),
    "neg": (lambda a: -a, (A,), -A, (-ONES,)),
    "matmul": (
        lambda a, m: a @ m,
        (A, M),
        A @ M,
        (np.ones((2, 2)) @ M.T, A.T @ np.ones((2, 2))),
    ),
    "exp": (lambda a: a.exp(), (A,), np.exp(A), (np.exp(A),)),
    "log": (lambda b: (b * b).log(), (B,), np.log(B * B), (2 / B,)),
    "maximum": (
        lambda a, b: a.maximum(b),
        (A, B),
        np.maximum(A, B),
        ((A > B) * 1.0, (B > A).sum(0) * 1.0),
    ),
    "sum_axis": (lambda a: a.sum(axis=0), (A,), A.sum(0), (ONES,)),
    "mean": (lambda a: a.mean(), (A,), A.mean(), (ONES / A.size,)),
    "reshape": (
        lambda a: a.reshape(3, 2) * M,
        (A,),
        A.reshape(3, 2) * M,
        (M.reshape(2, 3),),
    ),
    "T": (lambda a: a.T, (A,), A.T, (ONES,)),
    "mT": (lambda a: a.mT * M, (A,), A.T * M, (M.T,)),
    "getitem": (
        lambda a: a[1, 1:],
        (A,),
        A[1, 1:],
        (np.array([[0, 0, 0], [0, 1.0, 1.0]]),),
    ),
    "fancy_index": (
        lambda a: a[:, [0, 0, 2]],
        (A,),
        A[:, [0, 0, 2]],
        (np.array([[2.0, 0, 1], [2.0, 0, 1]]),),
    ),
    "leaky_relu": (
        lambda a: F.leaky_relu(a, 0.25),
        (A,),
        reference.leaky_relu(A, 0.25),
        (reference.leaky_relu_grad(A, 0.25),),
    ),
    "reused_input": (lambda a: a * a + a, (B,), B * B + B, (2 * B + 1,)),
}


@pytest.mark.parametrize("name", sorted(OPS))
def test_op_values_and_gradients(name):
    _grad_check(*OPS[name])


class TestAutograd:
    def test_scalar_output_seeds_one_and_non_scalar_seeds_ones(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        (x * 3.0).backward()
        np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])

    def test_gradients_accumulate_until_cleared(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        (x * x).sum().backward()
        (x * x).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [4.0, 8.0])
        x.zero_grad()
        assert x.grad is None
        (x * 1.0).sum().backward()
        x.grad = None
        assert x.grad is None

    def test_explicit_gradient(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        (x * 2.0).backward(Tensor([0.5, -1.0]))
        np.testing.assert_array_equal(x.grad.numpy(), [1.0, -2.0])

    def test_backward_without_grad_raises(self):
        with pytest.raises(RuntimeError, match="does not require grad"):
            Tensor([1.0]).backward()

    def test_wrong_gradient_shape_and_dtype(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        y = x * 2.0
        with pytest.raises(ValueError, match=r"gradient has shape \(3,\)"):
            y.backward(np.ones(3, np.float32))
        with pytest.raises(TypeError, match="gradient must be floating"):
            y.backward(np.ones(2, np.int32))
        assert x.grad is None

    def test_backward_twice_needs_retain_graph(self):
        x = Tensor([1.0], requires_grad=True)
        y = (x * x).sum()
        y.backward(retain_graph=True)
        y.backward()
        np.testing.assert_array_equal(x.grad.numpy(), [4.0])
        with pytest.raises(RuntimeError, match="retain_graph=True"):
            y.backward()

    def test_no_grad_context_and_decorator(self):
        x = Tensor([1.0], requires_grad=True)
        with no_grad():
            assert not (x * 2.0).requires_grad

        @no_grad()
        def double(t):
            return t * 2.0

        assert not double(x).requires_grad
        assert (x * 2.0).requires_grad

    def test_no_grad_decorator_is_reentrant_and_thread_safe(self):
        # One decorated function called recursively, from several threads at
        # once, and after an error: grad mode is back on each time (PyTorch's
        # decorator also enters a fresh manager per call).
        import concurrent.futures
        import time

        x = Tensor([1.0], requires_grad=True)

        @no_grad()
        def depth(n):
            if n == 2:
                raise ValueError("inside")
            return depth(n - 1) if n else (x * 2.0).requires_grad

        assert depth(1) is False
        with pytest.raises(ValueError, match="inside"):
            depth(4)
        assert (x * 2.0).requires_grad

        @no_grad()
        def slow(_):
            time.sleep(0.01)
            return (x * 2.0).requires_grad

        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            assert not any(pool.map(slow, range(8)))
            assert all(pool.map(lambda _: (x * 2.0).requires_grad, range(8)))
        manager = no_grad()
        with manager:
            with manager:
                pass
            assert not (x * 2.0).requires_grad
        assert (x * 2.0).requires_grad

    def test_detach_and_leaf(self):
        x = Tensor([1.0], requires_grad=True)
        y = x * 2.0
        assert x.is_leaf and not y.is_leaf
        d = y.detach()
        assert d.is_leaf and not d.requires_grad

    def test_comparisons_have_no_grad(self):
        x = Tensor([1.0, -1.0], requires_grad=True)
        mask = x > 0.0
        assert not mask.requires_grad
        assert mask.tolist() == [True, False]

    def test_grad_assignment_checks_shape(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(ValueError, match="Tensor.grad"):
            x.grad = np.ones(3)
        assert x.grad is None

    def test_matmul_shape_mismatch_names_both_shapes(self):
        a, b = Tensor(np.ones((2, 3), np.float32)), Tensor(np.ones((4, 2), np.float32))
        with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 2\)"):
            a @ b

    def test_broadcast_mismatch_names_both_shapes(self):
        with pytest.raises(ValueError, match=r"\(2,\) and \(3,\)"):
            Tensor([1.0, 2.0]) + Tensor([1.0, 2.0, 3.0])


def test_tensor_grad_equals_jax_grad_of_pure_core():
    x = np.array([-3.0, -0.5, 0.0, 0.5, 2.0], np.float32)
    t = Tensor(x, requires_grad=True)
    (F.leaky_relu(t, 0.125) * t).sum().backward()
    pure = jax.grad(lambda v: (leaky_relu(v, 0.125) * v).sum())(jnp.asarray(x))
    np.testing.assert_array_equal(t.grad.numpy(), pure)


def test_lifted_op_traces_once_per_shape():
    @chex.assert_max_traces(n=1)
    def scaled(x):
        return x * 3.0

    op = lift(scaled)
    for value in (1.0, 2.0, 5.0):
        x = Tensor([value, -value], requires_grad=True)
        op(x).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    chex.clear_trace_counter()


class TestFusedBackward:
    """backward() runs the whole pass as one program per graph wiring."""

    @staticmethod
    def _diamond(x, w):
        # x feeds two branches that meet again (cotangents must be summed);
        # w does not require grad, so its branch gets no cotangent.
        y = F.leaky_relu(x * w, 0.25)
        return ((y * y) + y * x).sum()

    def test_matches_hand_derived_gradient_and_accumulates(self):
        xv = np.array([-2.0, -0.5, 0.5, 3.0])
        wv = np.array([1.5, -1.0, 2.0, 0.5])
        x = Tensor(xv.astype(np.float32), requires_grad=True)
        w = Tensor(wv.astype(np.float32))
        self._diamond(x, w).backward()
        # float64 by hand: y = lrelu(x w); loss = y^2 + y x
        u = xv * wv
        y = np.where(u > 0, u, 0.25 * u)
        dy_du = np.where(u > 0, 1.0, 0.25)
        want = (2 * y + xv) * dy_du * wv + y
        np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-6)
        self._diamond(x, w).backward()  # accumulates inside the same program
        np.testing.assert_allclose(x.grad.numpy(), 2 * want, rtol=1e-6)
        assert w.grad is None

    def test_same_wiring_reuses_one_program(self):
        from lucid_fx._tensor import _fused, _tape

        x = Tensor([1.0, -2.0, 3.0, -4.0], requires_grad=True)
        w = Tensor([0.5, 0.5, -1.0, 2.0])
        for _ in range(_fused.FUSE_AFTER):  # until the wiring is fused
            self._diamond(x, w).backward()
        _fused.wait()
        programs = _tape._program.cache_info().currsize
        for _ in range(3):
            self._diamond(x, w).backward()
        assert _tape._program.cache_info().currsize == programs

    @pytest.mark.parametrize("limit", ["MAX_FUSED_NODES", "MAX_FUSED_GRAD_BYTES"])
    def test_past_a_fused_limit_runs_node_by_node(self, monkeypatch, limit):
        from lucid_fx._tensor import _tape

        x = Tensor([1.0, -2.0, 3.0, -4.0], requires_grad=True)
        w = Tensor([0.5, 0.5, -1.0, 2.0])
        (x * w).sum().backward()
        fused = x.grad.numpy()
        monkeypatch.setattr(_tape, limit, 0)
        info = _tape._program.cache_info()
        x.grad = None
        (x * w).sum().backward()
        after = _tape._program.cache_info()
        assert after.hits + after.misses == info.hits + info.misses  # not called
        np.testing.assert_allclose(x.grad.numpy(), fused, rtol=1e-6)

    def test_freed_graph_raises_before_any_grad_changes(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        a = Tensor([3.0, 4.0], requires_grad=True)
        shared = x * x
        shared.sum().backward()
        before = x.grad.numpy().copy()
        with pytest.raises(RuntimeError, match="retain_graph=True"):
            (shared * a).sum().backward()
        np.testing.assert_array_equal(x.grad.numpy(), before)
        assert a.grad is None

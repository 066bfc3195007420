"""Named conventions of the op surface: no-gradient ops, ties, errors, aliases."""

from __future__ import annotations

import math

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from absl.testing import parameterized

import lucid_fx
from lucid_fx import Tensor
from lucid_fx.functional import _linalg


class PureFunctionsTest(chex.TestCase):
    """On plain arrays the ops are pure JAX functions, under jit or not."""

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(
        ("exp", lucid_fx.exp, torch.exp),
        ("sqrt", lucid_fx.sqrt, torch.sqrt),
        ("tanh", lucid_fx.tanh, torch.tanh),
        ("cube", lucid_fx.cube, lambda t: t**3),
        ("abs", lucid_fx.abs, torch.abs),
    )
    def test_unary_value_and_grad_on_arrays(self, op, reference):
        x = np.array([0.0, 0.5, 2.0], np.float32)
        value, grad = self.variant(jax.value_and_grad(lambda v: op(v).sum()))(x)
        t = torch.tensor(x.astype(np.float64), requires_grad=True)
        reference(t).sum().backward()
        np.testing.assert_allclose(value, reference(t).sum().item(), rtol=1e-6)
        # tanh' = 1 - y**2 reads the float32 output: at x = 2 one unit of y
        # is 1.6e-6 of the gradient (XLA:GPU's tanh is that unit off there).
        gpu = jax.default_backend() != "cpu"
        rtol = 4e-6 if op is lucid_fx.tanh and gpu else 1e-6
        np.testing.assert_allclose(grad, t.grad.numpy(), rtol=rtol)

    @chex.variants(with_jit=True, without_jit=True)
    def test_power_gradient_at_zero_base_is_torchs(self):
        a, b = jnp.zeros(3), jnp.array([0.0, 1.0, 2.0])
        ga, gb = self.variant(
            jax.grad(lambda a, b: lucid_fx.power(a, b).sum(), (0, 1))
        )(a, b)
        # d/da = b * a**(b-1): 0 at b == 0 (by convention), 1 at b == 1, 0 at b == 2
        np.testing.assert_array_equal(ga, [0.0, 1.0, 0.0])
        np.testing.assert_array_equal(gb, [0.0, 0.0, 0.0])

    @chex.variants(with_jit=True, without_jit=True)
    def test_norm_gradient_at_zero_vector_is_zero(self):
        grad = self.variant(jax.grad(_linalg.norm))(jnp.zeros(3))
        np.testing.assert_array_equal(grad, np.zeros(3))

    @chex.variants(with_jit=True, without_jit=True)
    def test_max_ties_split_evenly_as_amax(self):
        x = jnp.array([1.0, 3.0, 3.0, 3.0])
        grad = self.variant(jax.grad(lambda v: lucid_fx.max(v)))(x)
        np.testing.assert_allclose(grad, [0.0, 1 / 3, 1 / 3, 1 / 3], rtol=1e-6)

    def test_vmap_of_an_op(self):
        x = jnp.arange(6.0).reshape(2, 3)
        out = jax.vmap(lambda r: lucid_fx.linalg.norm(r, ord=1))(x)
        np.testing.assert_array_equal(out, [3.0, 12.0])


def test_det_gradient_of_singular_2x2_is_the_cofactor_matrix():
    # d det(A) / dA = adj(A)^T, finite for singular A. Hand-derived for
    # [[a, b], [c, d]]: [[d, -c], [-b, a]]. PyTorch 2.13 returns zeros here (its
    # LU-based rule), which contradicts the math; we follow the math.
    a = Tensor([[1.0, 2.0], [2.0, 4.0]], requires_grad=True)
    lucid_fx.linalg.det(a).backward()
    np.testing.assert_allclose(a.grad.data, [[4.0, -2.0], [-2.0, 1.0]], rtol=1e-5)


@pytest.mark.parametrize(
    "call",
    [
        lambda x: lucid_fx.sign(x),
        lambda x: lucid_fx.argmax(x),
        lambda x: x.argmin(dim=0),
        lambda x: x > 0.0,
        lambda x: lucid_fx.linalg.eig(lucid_fx.stack([x, x]))[1],
    ],
    ids=["sign", "argmax", "argmin", "gt", "eig_vectors"],
)
def test_ops_without_gradient_return_tensors_that_do_not_require_grad(call):
    x = Tensor([1.0, -2.0], requires_grad=True)
    out = call(x)
    assert isinstance(out, Tensor) and not out.requires_grad


def test_argmax_first_index_wins_ties_and_is_integer():
    x = Tensor([[1.0, 5.0, 5.0], [7.0, 0.0, 7.0]])
    assert lucid_fx.argmax(x, axis=1).tolist() == [1, 0]
    assert lucid_fx.argmax(x, dim=1, keepdim=True).shape == (2, 1)
    assert jnp.issubdtype(lucid_fx.argmax(x).dtype, jnp.integer)


def test_dim_and_keepdim_are_aliases_of_axis_and_keepdims():
    x = Tensor(np.arange(6.0, dtype=np.float32).reshape(2, 3))
    for name in ("sum", "mean", "var", "max", "min"):
        op = getattr(lucid_fx, name)
        a = op(x, axis=1, keepdims=True)
        b = op(x, dim=1, keepdim=True)
        assert (
            a.tolist() == b.tolist() == getattr(x, name)(dim=1, keepdim=True).tolist()
        )


def test_variadic_ops_differentiate_every_operand():
    a, b, c = (Tensor([float(i)], requires_grad=True) for i in range(3))
    out = lucid_fx.concatenate([a, b, c]) * Tensor([1.0, 2.0, 3.0])
    out.sum().backward()
    assert [t.grad.tolist() for t in (a, b, c)] == [[1.0], [2.0], [3.0]]


def test_generators_make_leaves_with_lucids_defaults():
    z = lucid_fx.zeros((2, 3), requires_grad=True)
    assert z.is_leaf and z.requires_grad and z.dtype == jnp.float32
    assert lucid_fx.eye(3, 4, k=-1).tolist()[1] == [1.0, 0.0, 0.0, 0.0]
    like = lucid_fx.ones_like(Tensor([[1, 2]], dtype=jnp.int32))
    assert like.dtype == jnp.int32 and like.tolist() == [[1, 1]]


def test_random_draws_repeat_after_seed_and_differ_without():
    lucid_fx.random.seed(7)
    a = lucid_fx.random.randn(4, requires_grad=True)
    b = lucid_fx.random.randn(4)
    lucid_fx.random.seed(7)
    assert lucid_fx.random.randn(4).tolist() == a.tolist() != b.tolist()
    assert a.requires_grad and a.is_leaf
    ints = lucid_fx.random.randint(3, size=1000)
    assert set(ints.tolist()) == {0, 1, 2}
    u = lucid_fx.random.rand(1000)
    assert 0.0 <= u.min().item() and u.max().item() < 1.0


def test_tensor_dtype_methods():
    x = Tensor([1.5, -2.5])
    assert x.float().dtype == jnp.float32 and x.half().dtype == jnp.float16
    assert x.int().tolist() == [1, -2] and jnp.issubdtype(x.long().dtype, jnp.integer)
    assert x.type() == "float32" and x.type(jnp.int32).dtype == jnp.int32
    assert x.astype("float16").dtype == jnp.float16


def test_transpose_method_takes_lucid_axes_or_torch_pair():
    x = lucid_fx.zeros((2, 3, 4))
    assert x.transpose().shape == (4, 3, 2)
    assert x.transpose([1, 2, 0]).shape == (3, 4, 2)
    assert x.transpose(0, 2).shape == (4, 3, 2)
    assert lucid_fx.zeros((2, 3)).transpose(0, 1).shape == (3, 2)


def test_clip_gradient_is_one_on_the_closed_interval():
    x = Tensor([-1.0, 0.0, 1.0, 2.0, 3.0], requires_grad=True)
    lucid_fx.clip(x, 0.0, 2.0).sum().backward()
    assert x.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]


def test_eig_is_complex_when_eigenvalues_are():
    w, v = lucid_fx.linalg.eig(Tensor([[0.0, -1.0], [1.0, 0.0]]))
    assert jnp.iscomplexobj(w.data) and jnp.iscomplexobj(v.data)
    np.testing.assert_allclose(sorted(np.asarray(w.data).imag), [-1.0, 1.0], atol=1e-6)


T = Tensor
ERRORS = [
    (lambda: lucid_fx.add(T([1.0, 2.0]), T([1.0, 2.0, 3.0])),
     ValueError, r"add: operands of shapes \(2,\) and \(3,\)"),
    (lambda: lucid_fx.exp("x"), TypeError, r"exp: a must be"),
    (lambda: lucid_fx.sum(T([1.0]), axis="0"), TypeError, r"sum: axis must be"),
    (lambda: lucid_fx.sum(T([1.0]), axis=0, dim=0), TypeError, r"sum: got both"),
    (lambda: lucid_fx.mean(T([1.0]), axis=3), ValueError, r"mean: axis 3 is out"),
    (lambda: lucid_fx.clip(T([1.0]), 2.0, 1.0), ValueError, r"clip: min_value"),
    (lambda: lucid_fx.clip(T([1.0]), "0", 1.0), TypeError, r"clip: min_value"),
    (lambda: lucid_fx.matmul(T([[1.0, 2.0]]), T([[1.0, 2.0]])),
     ValueError, r"matmul: shapes \(1, 2\) and \(1, 2\)"),
    (lambda: lucid_fx.dot(T([1.0, 2.0]), T([1.0])), ValueError, r"dot: shapes"),
    (lambda: lucid_fx.inner(T([1.0, 2.0]), T([1.0])), ValueError, "inner:"),
    (lambda: lucid_fx.reshape(T([1.0, 2.0]), (3,)), ValueError, r"reshape: cannot"),
    (lambda: lucid_fx.reshape(T([1.0, 2.0]), "2"), TypeError, r"reshape: shape"),
    (lambda: lucid_fx.squeeze(T([[1.0, 2.0]]), 1), ValueError, r"squeeze: axis 1"),
    (lambda: lucid_fx.unsqueeze(T([1.0])), TypeError, r"unsqueeze: axis"),
    (lambda: lucid_fx.stack(T([1.0])), TypeError, r"stack: expects a non-empty"),
    (lambda: lucid_fx.stack([]), TypeError, r"stack: expects a non-empty"),
    (lambda: lucid_fx.stack([T([1.0]), T([1.0, 2.0])]), ValueError, "stack:"),
    (lambda: lucid_fx.stack([T([1.0]), T([2.0])], 0.0), TypeError, r"stack: axis"),
    (lambda: lucid_fx.stack([T([1.0]), T([2.0])], False), TypeError, r"stack: axis"),
    (lambda: lucid_fx.stack([T([1.0]), T([2.0])], 2), ValueError, r"stack: axis 2"),
    (lambda: lucid_fx.sum(T([1.0]), 0.0), TypeError, r"sum: axis"),
    (lambda: lucid_fx.concatenate([T([[1.0]]), T([[1.0, 2.0]])], axis=0),
     ValueError, r"concatenate: shapes must match in every axis but 0"),
    (lambda: lucid_fx.pad(T([1.0]), ((1, 1), (1, 1))), ValueError, r"pad:"),
    (lambda: lucid_fx.pad(T([1.0]), (1.5,)), TypeError, r"pad: pad_width must be"),
    (lambda: lucid_fx.tile(T([1.0]), (2, -1)), ValueError, r"tile: reps must be"),
    (lambda: lucid_fx.outer(T([1.0]), "a"), TypeError, r"outer: got a str"),
    (
        lambda: lucid_fx.nn.functional.huber_loss(T([1.0]), T([0.0]), delta=-1.0),
        ValueError,
        r"huber_loss: delta must be > 0, got -1.0",
    ),
    (lambda: lucid_fx.stack([T([1.0]), "a"]), TypeError, r"stack: got a str"),
    (lambda: T(np.zeros((3, 0), np.float32)).max(axis=1), ValueError, r"max: cannot"),
    (lambda: lucid_fx.argmin(T(np.zeros(0, np.float32))), ValueError, "argmin: "),
    (lambda: lucid_fx.random.randint(0, 2**40, (3,)), ValueError, r"randint: bounds"),
    (lambda: T([1.0]).tile(-1), ValueError, r"tile: reps must be >= 0"),
    (lambda: lucid_fx.sum(T([[1.0]]), axis=(0, 0)), ValueError, r"sum: axis \(0, 0\)"),
    (lambda: lucid_fx.mean(T([[1.0]]), axis=(1, -1)), ValueError, r"mean: axis"),
    (lambda: lucid_fx.var(T([[1.0]]), axis=(0, -2)), ValueError, r"var: axis"),
    (lambda: lucid_fx.linalg.norm(T([[1.0]]), axis=4), ValueError, r"norm: axis 4"),
    (lambda: lucid_fx.linalg.norm(T([[1.0]]), axis=(0, 0)), ValueError, r"norm: "),
    (lambda: lucid_fx.repeat(T([1.0]), 1.5), TypeError, r"repeat: repeats"),
    (lambda: lucid_fx.transpose(T([[1.0]]), [0, 0]), ValueError, r"transpose:"),
    (lambda: lucid_fx.trace(T(1.0)), ValueError, r"trace: needs"),
    (lambda: lucid_fx.zeros((2, -1)), ValueError, r"zeros: shape"),
    (lambda: lucid_fx.argmax(T([[1.0]]), axis=(0, 1)), TypeError, r"argmax: axis"),
    (lambda: T([[1.0]]).argmin(dim=(0, 1)), TypeError, r"argmin: axis"),
    (lambda: lucid_fx.diag(T(np.zeros((2, 2, 2), np.float32))), ValueError, "diag:"),
    (lambda: lucid_fx.var(T([1.0]), correction=0.5), TypeError, r"var: correction"),
    (lambda: lucid_fx.linalg.inv(T([[1.0, 2.0]])), ValueError, r"linalg.inv:"),
    (lambda: lucid_fx.linalg.det(T([1.0])), ValueError, r"linalg.det:"),
    (lambda: lucid_fx.linalg.solve(T(np.eye(2, dtype=np.float32)), T([1.0])),
     ValueError, r"linalg.solve:"),
    (lambda: lucid_fx.linalg.norm(T([1.0]), ord=0.5), ValueError, r"linalg.norm"),
    (lambda: lucid_fx.linalg.matrix_power(T(np.eye(2, dtype=np.float32)), 1.5),
     TypeError, r"linalg.matrix_power: n"),
    (lambda: lucid_fx.random.randn(2, "3"), TypeError, r"randn: the shape"),
    (lambda: lucid_fx.random.rand(-1), ValueError, r"rand: sizes"),
    (lambda: lucid_fx.random.randint(5, 2), ValueError, r"randint: high"),
    (lambda: lucid_fx.random.randint(0, 2, 3, requires_grad=True), TypeError,
     r"randint: integer tensors"),
    (lambda: lucid_fx.random.randn(2, requires_grad="yes"), TypeError,
     r"randn: requires_grad must be True or False"),
    (lambda: lucid_fx.random.rand(2, keep_grad=1), TypeError,
     r"rand: keep_grad must be True or False"),
    (lambda: lucid_fx.random.randint(0, 10, (2,), keep_grad=3), TypeError,
     r"randint: keep_grad must be True or False"),
    (lambda: lucid_fx.random.randint(0, 10, None), TypeError, r"randint: size must"),
    (lambda: lucid_fx.random.randint(0, 10, 2.0), TypeError, r"randint: size must"),
]  # fmt: skip


@pytest.mark.parametrize("call,error,match", ERRORS, ids=[e[2][:30] for e in ERRORS])
def test_bad_arguments_raise_errors_naming_the_op(call, error, match):
    key = jax.random.key_data(lucid_fx.random.get_rng_state())
    with pytest.raises(error, match=match):
        call()
    # and the global generator is as it was (no draw was consumed)
    after = jax.random.key_data(lucid_fx.random.get_rng_state())
    np.testing.assert_array_equal(after, key)


def test_log_and_sqrt_at_zero_match_torch():
    x = Tensor([0.0], requires_grad=True)
    y = lucid_fx.log(x)
    y.backward(Tensor([1.0]))
    assert y.item() == -math.inf and x.grad.item() == math.inf
    x = Tensor([0.0], requires_grad=True)
    lucid_fx.sqrt(x).backward(Tensor([1.0]))
    assert x.grad.item() == math.inf


@pytest.mark.parametrize("op", ["stack", "concatenate"])
def test_joining_takes_pytorch_dim_keyword(op):
    import torch

    a = np.arange(4, dtype=np.float32).reshape(2, 2)
    b = a + 10
    theirs = getattr(torch, "cat" if op == "concatenate" else op)
    expected = theirs([torch.from_numpy(a), torch.from_numpy(b)], dim=1).numpy()
    ours = getattr(lucid_fx, op)
    np.testing.assert_array_equal(ours([T(a), T(b)], dim=1).numpy(), expected)
    np.testing.assert_array_equal(ours([T(a), T(b)], axis=1).numpy(), expected)
    np.testing.assert_array_equal(
        ours([T(a), T(b)]).numpy(), ours([T(a), T(b)], 0).numpy()
    )
    with pytest.raises(TypeError, match=f"{op}: .*both"):
        ours([T(a), T(b)], axis=0, dim=1)


@pytest.mark.parametrize(
    "width",
    [1, (2,), (1, 2), ((1, 2),), ((1, 0), (2, 1)), [[0, 1], [2, 0]]],
    ids=["int", "(n,)", "pair", "(pair,)", "pairs", "list"],
)
def test_pad_takes_numpys_width_forms(width):
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    x = Tensor(a, requires_grad=True)
    y = lucid_fx.pad(x, width)
    np.testing.assert_array_equal(y.numpy(), np.pad(a, width))
    np.testing.assert_array_equal(
        lucid_fx.pad(Tensor(a), np.asarray(width)).numpy(), np.pad(a, width)
    )
    y.sum().backward()  # the padding carries no gradient
    np.testing.assert_array_equal(x.grad.numpy(), np.ones_like(a))


@pytest.mark.parametrize("op", ["sum", "mean", "var", "max", "min", "argmax"])
@pytest.mark.parametrize("axis", [0, -1])
def test_axis_0_of_a_0d_tensor_is_the_tensor_as_pytorch(op, axis):
    theirs = {"max": torch.amax, "min": torch.amin, "var": torch.var}.get(
        op, getattr(torch, op)
    )
    extra = {"correction": 0} if op == "var" else {}
    t = torch.tensor(2.5, dtype=torch.float64)
    for keep in (False, True):
        out = getattr(lucid_fx, op)(Tensor(2.5), axis=axis, keepdims=keep)
        expected = theirs(t, dim=axis, keepdim=keep, **extra)
        assert out.shape == tuple(expected.shape)
        assert out.item() == expected.item()


def test_det_of_an_empty_matrix_is_one_with_an_empty_gradient_as_pytorch():
    for shape in [(0, 0), (2, 0, 0)]:
        a = Tensor(np.zeros(shape, np.float32), requires_grad=True)
        ta = torch.zeros(shape, requires_grad=True)
        d, td = lucid_fx.linalg.det(a), torch.linalg.det(ta)
        np.testing.assert_array_equal(d.numpy(), td.detach().numpy())
        d.sum().backward()
        # An empty gradient of the input's shape: PyTorch 2.13's (2.11 left
        # ta.grad unset), compared with the shape itself, not torch's.
        assert a.grad.shape == shape
        assert a.grad.dtype == np.float32


def test_seed_takes_numpy_ints_as_lucid():
    lucid_fx.random.seed(np.int64(7))
    first = lucid_fx.random.randn(3).tolist()
    lucid_fx.random.seed(7)
    assert lucid_fx.random.randn(3).tolist() == first
    with pytest.raises(TypeError, match="seed: seed must be an int"):
        lucid_fx.random.seed(np.True_)


def test_a_value_that_does_not_broadcast_to_the_selection_names_setitem():
    t = Tensor(np.zeros((2, 3), np.float32))
    with pytest.raises(ValueError, match=r"__setitem__: a value of shape \(2,\)"):
        t[0] = Tensor([1.0, 2.0])
    assert t.tolist() == [[0.0] * 3] * 2 and t._version == 0


def test_norm_of_a_complex_array_is_real_as_numpy():
    a = jnp.array([3 + 4j, 0j], jnp.complex64)
    out = _linalg.norm(a)
    assert out.dtype == np.float32
    assert float(out) == float(np.linalg.norm(np.asarray(a)))

"""In-place ops change the Tensor itself; setters validate; autograd as PyTorch."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import lucid_fx
from lucid_fx import Tensor

X = np.array([[0.5, -1.25, 2.0], [3.0, -0.75, 1.5]], np.float32)
Y = np.array([[2.0, 0.5, -1.0], [1.5, 4.0, -2.5]], np.float32)

INPLACE = {
    "__iadd__": lambda t, o: t.__iadd__(o),
    "__isub__": lambda t, o: t.__isub__(o),
    "__imul__": lambda t, o: t.__imul__(o),
    "__itruediv__": lambda t, o: t.__itruediv__(o),
    "add_": lambda t, o: t.add_(o),
    "sub_": lambda t, o: t.sub_(o),
    "mul_": lambda t, o: t.mul_(o),
    "div_": lambda t, o: t.div_(o),
}


class TestInPlaceIsInPlace:
    @pytest.mark.parametrize("name", INPLACE)
    @pytest.mark.parametrize("other", ["tensor", "number", "row"])
    def test_every_reference_sees_the_change(self, name, other):
        operand = {"tensor": Y, "number": 1.5, "row": Y[0]}[other]
        t = Tensor(X)
        alias = t
        out = INPLACE[name](t, Tensor(operand) if other != "number" else operand)
        expected = INPLACE[name](torch.tensor(X), torch.tensor(operand))
        assert out is t and alias._version == 1
        np.testing.assert_allclose(alias.numpy(), expected.numpy(), rtol=1e-6)

    def test_augmented_assignment_keeps_identity(self):
        t = Tensor(X)
        before = id(t)
        t += 1.0
        t -= Tensor(Y)
        t *= 2.0
        t /= 4.0
        assert id(t) == before and t._version == 4
        np.testing.assert_allclose(t.numpy(), ((X + 1.0 - Y) * 2.0) / 4.0, rtol=1e-6)

    def test_fill_copy_zero_clamp(self):
        t = Tensor(X)
        assert t.clamp_(-1.0, 1.0) is t
        np.testing.assert_array_equal(t.numpy(), torch.tensor(X).clamp_(-1, 1).numpy())
        t.fill_(2.5)
        assert t.tolist() == [[2.5] * 3] * 2
        t.copy_(np.array([1, 2, 3], np.int32))  # broadcast and cast, as PyTorch
        assert t.tolist() == [[1.0, 2.0, 3.0]] * 2 and t.dtype == jnp.float32
        t.zero_()
        assert t.tolist() == [[0.0] * 3] * 2 and t._version == 4

    def test_clamp_with_one_bound(self):
        t = Tensor([-2.0, 0.5, 3.0])
        assert t.clamp_(max=1.0).tolist() == [-2.0, 0.5, 1.0]
        assert t.clamp_(min=0.0).tolist() == [0.0, 0.5, 1.0]
        with pytest.raises(ValueError, match="clamp_"):
            t.clamp_()

    def test_dtype_rules_as_pytorch(self):
        i = Tensor(np.array([1, 2], np.int32))
        i += 3
        assert i.dtype == jnp.int32 and i.tolist() == [4, 5]
        with pytest.raises(RuntimeError, match="can't be cast"):
            i += 1.5
        with pytest.raises(RuntimeError, match="can't be cast"):
            i /= 2
        with pytest.raises(RuntimeError):
            torch.tensor([1, 2]).__itruediv__(2)
        h = Tensor(np.ones(2, np.float16))
        h += Tensor([1.0, 2.0])  # float32 into float16: allowed, stays float16
        assert h.dtype == jnp.float16 and h.tolist() == [2.0, 3.0]

    def test_shape_never_changes(self):
        t = Tensor([1.0, 2.0])
        with pytest.raises(ValueError, match=r"broadcast to the tensor's shape \(2,\)"):
            t += Tensor(np.ones((3, 2), np.float32))
        assert t.tolist() == [1.0, 2.0] and t._version == 0


class TestAutogradRules:
    def test_leaf_that_requires_grad_raises_outside_no_grad(self):
        p = Tensor([1.0, 2.0], requires_grad=True)
        for op in (lambda: p.__iadd__(1.0), p.zero_, lambda: p.fill_(1.0)):
            with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
                op()
        with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
            torch.ones(2, requires_grad=True).add_(1.0)
        assert p.tolist() == [1.0, 2.0] and p._version == 0

    def test_no_grad_update_of_a_leaf(self):
        p = Tensor([1.0, 2.0], requires_grad=True)
        with lucid_fx.no_grad():
            p -= 0.5 * Tensor([2.0, 4.0])
        assert p.tolist() == [0.0, 0.0] and p.is_leaf and p.requires_grad

    def test_non_leaf_in_place_gradients_match_pytorch(self):
        def run(lib, w):
            h = w * 2.0
            h += w
            h *= w
            h.sub_(1.0)
            h /= 2.0
            h.clamp_(-5.0, 5.0)
            (h * h).sum().backward()
            return w.grad

        ours = run(None, Tensor(X[0], requires_grad=True))
        ref = run(None, torch.tensor(X[0], requires_grad=True))
        np.testing.assert_allclose(ours.numpy(), ref.numpy(), rtol=1e-5)

    def test_in_place_with_an_operand_that_requires_grad(self):
        w = Tensor([1.0, 2.0], requires_grad=True)
        acc = Tensor([0.0, 0.0])
        acc += w * w
        assert acc.requires_grad and not acc.is_leaf
        acc.sum().backward()
        assert w.grad.tolist() == [2.0, 4.0]


class TestSetItem:
    @pytest.mark.parametrize(
        "index",
        [
            0,
            (1, 2),
            slice(0, 1),
            (slice(None), 1),
            np.array([1, 0]),
            np.array([True, False]),
            (Ellipsis, np.array([0, 2])),
        ],
        ids=["int", "pair", "slice", "column", "int-array", "bool-array", "ellipsis"],
    )
    def test_matches_pytorch(self, index):
        t, ref = Tensor(X), torch.tensor(X)
        t[index] = 9.0
        ref[torch.as_tensor(index) if isinstance(index, np.ndarray) else index] = 9.0
        np.testing.assert_array_equal(t.numpy(), ref.numpy())
        assert t._version == 1

    def test_tensor_value_broadcasts_and_carries_grad(self):
        w = Tensor([1.0, 2.0, 3.0], requires_grad=True)
        h = w * 1.0
        h[Tensor(np.array([0, 2], np.int32))] = w[1] * 10.0
        h.sum().backward()
        assert h.tolist() == [20.0, 2.0, 20.0]
        assert w.grad.tolist() == [0.0, 21.0, 0.0]

    def test_leaf_rule_applies(self):
        p = Tensor([1.0], requires_grad=True)
        with pytest.raises(RuntimeError, match="__setitem__"):
            p[0] = 2.0
        with lucid_fx.no_grad():
            p[0] = 2.0
        assert p.tolist() == [2.0]


class TestSetters:
    def test_data_setter_unwraps_lucids_idiom(self):
        p = Tensor([1.0, 2.0], requires_grad=True)
        p.grad = np.array([2.0, 2.0], np.float32)
        p.data -= 0.5 * p.grad
        assert type(p.data).__name__ == "ArrayImpl" and p.tolist() == [0.0, 1.0]
        (p * 3.0).sum().backward()  # the next forward works (it crashed before)

    @pytest.mark.parametrize(
        "value,error,phrase",
        [
            ([1.0, 2.0], TypeError, "got list"),
            ("ab", TypeError, "got str"),
            (3.0, TypeError, "got float"),
            (np.ones(3, np.float32), ValueError, r"shape \(2,\), got shape \(3,\)"),
            (np.array([1, 2], np.int32), TypeError, "floating data"),
            (jnp.ones((2, 1)), ValueError, "shape"),
        ],
    )
    def test_data_setter_rejects_with_a_clear_error(self, value, error, phrase):
        p = Tensor([1.0, 2.0])
        with pytest.raises(error, match=phrase):
            p.data = value
        assert p.tolist() == [1.0, 2.0]

    def test_data_setter_takes_numpy_and_other_float_widths(self):
        p = Tensor([1.0, 2.0])
        p.data = np.array([3.0, 4.0])  # float64 NumPy into float32: no warning
        assert p.dtype == jnp.float32 and p.tolist() == [3.0, 4.0]
        p.data = jnp.array([1.0, 2.0], jnp.bfloat16)  # Module.to(dtype) does this
        assert p.dtype == jnp.bfloat16

    def test_set_data_replaces_without_checks(self):
        p = Tensor([1.0, 2.0])
        p.set_data(jnp.array([5.0, 6.0]))
        assert p.tolist() == [5.0, 6.0] and p._version == 0

    @pytest.mark.parametrize("value", ["yes", 1, None])
    def test_requires_grad_setter(self, value):
        t = Tensor([1.0])
        with pytest.raises(TypeError, match="requires_grad: expected True or False"):
            t.requires_grad = value
        t.requires_grad = True
        assert t.requires_grad
        with pytest.raises(TypeError, match="only floating"):
            Tensor(np.array([1], np.int32)).requires_grad = True

    @pytest.mark.parametrize(
        "value,error",
        [([1.0, 2.0], TypeError), ("g", TypeError), (np.array([1, 2]), TypeError)],
    )
    def test_grad_setter(self, value, error):
        t = Tensor([1.0, 2.0], requires_grad=True)
        with pytest.raises(error, match="Tensor.grad"):
            t.grad = value
        t.grad = Tensor([0.5, 0.5])
        assert t.grad.tolist() == [0.5, 0.5]


def _fit(lib, steps, init):
    """PyTorch's 'Learning PyTorch with examples' polynomial fit, manual SGD."""
    x = lib.linspace(-np.pi, np.pi, 2000) if lib is torch else Tensor(_X_FIT)
    y = lib.sin(x) if lib is torch else Tensor(np.sin(_X_FIT))
    ctor = torch.tensor if lib is torch else Tensor
    a, b, c, d = (ctor(np.float32(v), requires_grad=True) for v in init)
    lr = 1e-6
    no_grad = torch.no_grad if lib is torch else lucid_fx.no_grad
    for _ in range(steps):
        y_pred = a + b * x + c * x**2 + d * x**3
        loss = ((y_pred - y) ** 2).sum()
        loss.backward()
        with no_grad():
            for p in (a, b, c, d):
                p -= lr * p.grad
                p.grad = None
    return loss.item(), [p.item() for p in (a, b, c, d)]


_X_FIT = np.linspace(-np.pi, np.pi, 2000, dtype=np.float32)


def test_manual_sgd_reaches_pytorchs_loss():
    init = np.random.default_rng(0).standard_normal(4)
    ours, ours_coef = _fit(None, 300, init)
    ref, ref_coef = _fit(torch, 300, init)
    first, _ = _fit(torch, 1, init)
    assert ref < first / 10  # the fit really trains
    np.testing.assert_allclose(ours, ref, rtol=1e-3)
    np.testing.assert_allclose(ours_coef, ref_coef, rtol=1e-3, atol=1e-5)


@pytest.mark.parametrize(
    "data, bounds",
    [(np.array([1, 2], np.int32), (0.5, 1.5)), (np.array([True, False]), (0, 1))],
)
def test_an_inplace_result_the_tensor_cannot_hold_raises_and_keeps_the_tensor(
    data, bounds
):
    t = Tensor(data)
    held = t.data
    # JAX's standard promotion (the suite runs strict, which refuses earlier)
    with jax.numpy_dtype_promotion("standard"):
        with pytest.raises(TypeError, match="clamp_: the result has dtype"):
            t.clamp_(*bounds)
    np.testing.assert_array_equal(t.numpy(), data)  # readable, unchanged
    np.testing.assert_array_equal(np.asarray(held), data)
    assert t._version == 0

"""nn.functional against float64 references, on Tensors and on plain arrays."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import lucid_fx.nn as nn
import lucid_fx.nn.functional as F
from lucid_fx import Tensor

LOGITS = np.array([[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0]])
LABELS = np.array([1, 2])


def _softmax(z):
    e = np.exp(z - z.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def test_cross_entropy_with_indices():
    x = Tensor(LOGITS.astype(np.float32), requires_grad=True)
    loss = F.cross_entropy(x, Tensor(LABELS))
    expected = -np.log(_softmax(LOGITS)[[0, 1], LABELS]).mean()
    np.testing.assert_allclose(loss.item(), expected, rtol=1e-6)
    loss.backward()
    grad = (_softmax(LOGITS) - np.eye(3)[LABELS]) / 2
    np.testing.assert_allclose(x.grad.numpy(), grad, rtol=1e-5, atol=1e-7)


def test_cross_entropy_with_probabilities_and_reductions():
    probs = np.array([[0.2, 0.8, 0.0], [0.0, 0.5, 0.5]])
    per = -(probs * np.log(_softmax(LOGITS))).sum(-1)
    x = Tensor(LOGITS.astype(np.float32))
    t = Tensor(probs.astype(np.float32))
    np.testing.assert_allclose(
        F.cross_entropy(x, t, reduction="none").numpy(), per, rtol=1e-6
    )
    np.testing.assert_allclose(
        F.cross_entropy(x, t, reduction="sum").item(), per.sum(), rtol=1e-6
    )


def test_mse_loss_value_and_grad():
    a, b = np.array([1.0, -2.0, 0.5]), np.array([0.0, 1.0, 0.5])
    x = Tensor(a.astype(np.float32), requires_grad=True)
    loss = F.mse_loss(x, Tensor(b.astype(np.float32)))
    np.testing.assert_allclose(loss.item(), ((a - b) ** 2).mean(), rtol=1e-6)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * (a - b) / 3, rtol=1e-6)


def test_functions_on_arrays_are_pure():
    f = jax.jit(lambda z, y: F.cross_entropy(F.leaky_relu(z, 0.5), y))
    out = f(jnp.asarray(LOGITS, jnp.float32), jnp.asarray(LABELS))
    assert isinstance(out, jax.Array)
    expected = -np.log(
        _softmax(np.where(LOGITS > 0, LOGITS, 0.5 * LOGITS))[[0, 1], LABELS]
    )
    np.testing.assert_allclose(out, expected.mean(), rtol=1e-6)


def test_learnable_slope_tensor_gets_a_gradient():
    x = Tensor([-2.0, 3.0, -1.0])
    slope = Tensor([0.25], requires_grad=True)
    F.leaky_relu(x, slope).sum().backward()
    np.testing.assert_array_equal(slope.grad.numpy(), [-3.0])


@pytest.mark.parametrize(
    "call,phrase",
    [
        (lambda: F.mse_loss(Tensor([1.0]), Tensor([1.0, 2.0])), "target shape"),
        (
            lambda: F.cross_entropy(
                Tensor(np.ones((2, 3), np.float32)),
                Tensor(np.array([1, 2, 0], np.int32)),
            ),
            "class-index",
        ),
        (
            lambda: F.mse_loss(Tensor([1.0]), Tensor([1.0]), reduction="avg"),
            "reduction",
        ),
        (lambda: F.leaky_relu(Tensor([1.0]), float("nan")), "negative_slope"),
        # PyTorch raises too: a (dilated) kernel wider than the padded input.
        (
            lambda: F.conv2d(
                Tensor(np.ones((1, 1, 2, 2), np.float32)),
                Tensor(np.ones((1, 1, 2, 2), np.float32)),
                dilation=2,
            ),
            "conv2d: the kernel .* spans more than the padded input",
        ),
        (
            lambda: F.conv1d(
                Tensor(np.ones((1, 1, 2), np.float32)),
                Tensor(np.ones((1, 1, 3), np.float32)),
            ),
            "conv1d: the kernel",
        ),
        (
            lambda: F.unfold(Tensor(np.ones((1, 1, 2, 2), np.float32)), 3),
            "unfold: the kernel",
        ),
    ],
)
def test_bad_arguments(call, phrase):
    with pytest.raises(ValueError, match=phrase):
        call()


def test_softmax_arguments_are_checked_with_the_op_named():
    x = Tensor([[1.0, 2.0]])
    with pytest.raises(TypeError, match=r"softmax: pass the axis .*dim=-1"):
        F.softmax(x)
    with pytest.raises(TypeError, match="log_softmax: got both dim=1 and axis=1"):
        F.log_softmax(x, 1, axis=1)
    with pytest.raises(ValueError, match="softmax: axis 2 is out of range"):
        F.softmax(x, dim=2)
    with pytest.raises(TypeError, match="Softmax: dim must be an int"):
        nn.Softmax("1")


def test_softmax_of_large_logits_stays_finite_and_sums_to_one():
    x = Tensor([[1000.0, 0.0, -1000.0]], requires_grad=True)
    y = F.softmax(x, dim=1)
    np.testing.assert_allclose(y.numpy(), [[1.0, 0.0, 0.0]], atol=1e-30)
    assert np.isfinite(F.log_softmax(x, dim=1).numpy()).all()
    (y * Tensor([[1.0, 2.0, 3.0]])).sum().backward()
    assert np.isfinite(x.grad.numpy()).all()


def test_conv_of_an_integer_image_promotes_to_the_weights_dtype():
    # As nn.Linear: the weights were cast to uint8 (truncated) before.
    import lucid_fx

    lucid_fx.random.seed(0)
    conv = lucid_fx.nn.Conv2d(1, 2, 3)
    image = np.random.default_rng(0).integers(0, 255, (1, 1, 5, 5)).astype(np.uint8)
    out = conv(lucid_fx.Tensor(image))
    weight, bias = (torch.tensor(np.asarray(p.data)) for p in conv.parameters())
    expected = torch.nn.functional.conv2d(
        torch.from_numpy(image.astype(np.float32)), weight, bias
    )
    assert out.dtype == np.float32
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-5, atol=1e-4)


def test_conv_bias_of_the_wrong_shape_names_the_op():
    import lucid_fx

    x = lucid_fx.Tensor(np.ones((1, 3, 5, 5), np.float32))
    w = lucid_fx.Tensor(np.ones((4, 3, 3, 3), np.float32))
    with pytest.raises(ValueError, match=r"conv2d: bias must have shape \(4,\)"):
        lucid_fx.nn.functional.conv2d(
            x, w, bias=lucid_fx.Tensor(np.ones(3, np.float32))
        )

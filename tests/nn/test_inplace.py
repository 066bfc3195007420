"""In-place leaky_relu: donated buffers, rebinding, and autograd safety."""

import numpy as np
import pytest

import lucid_fx.nn as nn
import lucid_fx.nn.functional as F
from lucid_fx import Tensor, no_grad
from tests import reference

X = np.array([[-2.0, -0.5, 0.0, 1.5]], np.float32)


def test_inplace_rebinds_the_same_tensor_and_donates_its_buffer():
    t = Tensor(X.copy())
    pointer = t.data.unsafe_buffer_pointer()  # nobody else holds the buffer
    out = F.leaky_relu_(t, 0.25)
    assert out is t and t._version == 1
    assert t.data.unsafe_buffer_pointer() == pointer  # XLA wrote into it
    np.testing.assert_array_equal(t.numpy(), reference.leaky_relu(X, 0.25))


def test_buffer_held_elsewhere_is_not_deleted():
    t = Tensor(X.copy())
    view = t.detach()
    held = t.data
    pointer = held.unsafe_buffer_pointer()
    F.leaky_relu_(t, 0.25)
    assert t.data.unsafe_buffer_pointer() != pointer  # not donated: a new buffer
    np.testing.assert_array_equal(view.numpy(), X)
    np.testing.assert_array_equal(np.asarray(held), X)
    np.testing.assert_array_equal(t.numpy(), reference.leaky_relu(X, 0.25))


def test_inplace_module_gives_the_same_gradients_as_out_of_place():
    layer = nn.Linear(4, 3)
    grads = []
    for inplace in (False, True):
        layer.zero_grad()
        x = Tensor(X, requires_grad=True)
        h = nn.LeakyReLU(0.25, inplace=inplace)(layer(x))
        (h * h).sum().backward()
        grads.append((x.grad.numpy(), layer.weight.grad.numpy()))
    for a, b in zip(*grads, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-6)


def test_saved_values_survive_inplace_change_of_an_input():
    # y = x * w saves x; changing x in place afterwards must not change dw
    # (eager ops save their own copies, so the gradient is of what was computed).
    w = Tensor([2.0, 2.0, 2.0, 2.0], requires_grad=True)
    x = Tensor(X[0].copy())
    y = x * w
    F.leaky_relu_(x, 0.25)
    y.sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), X[0])


def test_leaf_that_requires_grad_raises_and_is_unchanged():
    t = Tensor(X.copy(), requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf tensor that requires grad"):
        F.leaky_relu_(t)
    np.testing.assert_array_equal(t.numpy(), X)
    assert t._version == 0
    with no_grad():
        F.leaky_relu_(t, 0.5)
    np.testing.assert_array_equal(t.numpy(), reference.leaky_relu(X, 0.5))


def test_inplace_needs_a_tensor_and_a_valid_slope():
    with pytest.raises(TypeError, match="expects a Tensor"):
        F.leaky_relu_(np.ones(3))
    t = Tensor(X.copy())
    with pytest.raises(ValueError, match="negative_slope"):
        F.leaky_relu_(t, float("inf"))
    with pytest.raises(TypeError, match="inplace"):
        nn.LeakyReLU(0.1, inplace="yes")


def test_repr_shows_inplace_like_pytorch():
    assert repr(nn.LeakyReLU(0.1, inplace=True)) == (
        "LeakyReLU(negative_slope=0.1, inplace=True)"
    )

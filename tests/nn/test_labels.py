"""Bad class labels are never silent (issue 13): concrete -> ValueError naming the
label and the class count, also as an input of a compiled step; traced inside a
program -> counted as ignored, never NaN; ignore_index skips."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import lucid_fx.functional as core
import lucid_fx.nn as nn
import lucid_fx.nn.functional as F
from lucid_fx import Tensor
from tests.helpers import train_step

LOGITS = np.array([[1.0, 2.0, 0.5], [-1.0, 0.0, 3.0], [0.0, 0.0, 0.0]], np.float32)


@pytest.mark.parametrize("fn", [F.cross_entropy, F.nll_loss])
@pytest.mark.parametrize("bad", [-1, 3])
def test_out_of_range_label_raises_naming_label_and_classes(fn, bad):
    target = Tensor(np.array([0, bad, 1]))
    with pytest.raises(ValueError, match=rf"class index {bad} .* 3 classes"):
        fn(Tensor(LOGITS), target)


@pytest.mark.parametrize("fn", [core.cross_entropy, core.nll_loss])
def test_pure_functions_check_concrete_labels(fn):
    with pytest.raises(ValueError, match="class index 7"):
        fn(jnp.asarray(LOGITS), jnp.array([0, 7, 1]))


def test_fractional_float_label_raises():
    with pytest.raises(ValueError, match="whole numbers, got 1.5"):
        F.cross_entropy(Tensor(LOGITS), Tensor(np.array([0.0, 1.5, 2.0], np.float32)))


def test_float_labels_equal_integer_labels():
    as_int = F.cross_entropy(Tensor(LOGITS), Tensor(np.array([0, 2, 1])))
    as_float = F.cross_entropy(
        Tensor(LOGITS), Tensor(np.array([0.0, 2.0, 1.0], np.float32))
    )
    assert as_int.item() == as_float.item()


def test_default_ignore_index_skips_the_sample():
    x = Tensor(LOGITS, requires_grad=True)
    loss = F.cross_entropy(x, Tensor(np.array([2, -100, 0])))
    z = LOGITS.astype(np.float64)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    np.testing.assert_allclose(loss.item(), -(logp[0, 2] + logp[2, 0]) / 2, rtol=1e-6)
    loss.backward()
    np.testing.assert_array_equal(x.grad.numpy()[1], 0.0)


def test_traced_bad_labels_count_as_ignored_and_never_nan():
    """Inside jit a label cannot raise: an invalid one adds no loss and no
    gradient (as ignore_index does), so a model never turns NaN."""
    logits = jnp.asarray(LOGITS)
    traced = jax.jit(core.cross_entropy)
    bad = traced(logits, jnp.array([0, 3, -1]))
    z = LOGITS.astype(np.float64)
    logp = z - np.log(np.exp(z).sum(1, keepdims=True))
    np.testing.assert_allclose(float(bad), -logp[0, 0], rtol=1e-6)
    grad = jax.jit(jax.grad(core.cross_entropy))(logits, jnp.array([0, 3, -1]))
    np.testing.assert_array_equal(np.asarray(grad)[1:], 0.0)
    fractional = traced(logits, jnp.array([0.0, 1.5, 2.0], jnp.float32))
    np.testing.assert_allclose(
        float(fractional), -(logp[0, 0] + logp[2, 2]) / 2, rtol=1e-6
    )


def test_a_jitted_loss_keeps_jits_fast_path():
    """No in-program check (checkify's debug_check disables the fast path)."""
    jaxpr = jax.make_jaxpr(core.cross_entropy)(
        jnp.asarray(LOGITS), jnp.array([0, 1, 2])
    )
    assert "check" not in str(jaxpr)


def test_loss_module_rejects_bad_label_before_anything_runs():
    with pytest.raises(ValueError, match="class index 5"):
        nn.CrossEntropyLoss()(Tensor(LOGITS), Tensor(np.array([5, 0, 0])))


@pytest.mark.parametrize(
    "call,error,phrase",
    [
        (lambda: F.cross_entropy(Tensor(LOGITS), Tensor([0, 1])), ValueError, "shape"),
        (
            lambda: F.nll_loss(
                Tensor(LOGITS), Tensor(np.array([0, 1, 2])), Tensor([1.0])
            ),
            ValueError,
            "weight",
        ),
        (lambda: F.cross_entropy(Tensor(LOGITS[0]), Tensor([0])), ValueError, "input"),
        (
            lambda: F.cross_entropy(Tensor(LOGITS), Tensor([0, 1, 2]), reduction="avg"),
            ValueError,
            "reduction",
        ),
        (
            lambda: F.cross_entropy(
                Tensor(LOGITS), Tensor([0, 1, 2]), ignore_index=1.5
            ),
            TypeError,
            "ignore_index",
        ),
        (
            lambda: F.huber_loss(Tensor([1.0]), Tensor([1.0]), delta=-1.0),
            ValueError,
            "delta",
        ),
        (lambda: F.elu(Tensor([1.0]), alpha="a"), TypeError, "alpha"),
        (lambda: F.gelu(Tensor([1.0]), approximate="erf"), ValueError, "approximate"),
    ],
)
def test_bad_arguments_name_the_api(call, error, phrase):
    with pytest.raises(error, match=phrase):
        call()


@pytest.mark.parametrize("bad", [-1, 3])
def test_compiled_step_checks_its_label_input_before_running(bad):
    import lucid_fx
    from lucid_fx import optim, random

    random.seed(0)
    model = nn.Sequential(nn.Linear(3, 3))
    opt = optim.Adam(model.parameters(), lr=0.1)

    step = lucid_fx.compile(train_step)
    x = Tensor(LOGITS)
    step(model, opt, x, Tensor(np.array([0, 1, 2])))
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    state = [np.asarray(a).copy() for a in jax.tree.leaves(opt.state)]
    labels = Tensor(np.array([0, bad, 1]))
    for _ in range(2):  # a batch that failed its check is checked again
        with pytest.raises(ValueError, match=rf"class index {bad} .* 3 classes"):
            step(model, opt, x, labels)
    # Nothing ran: parameters and optimizer state are the old ones, readable.
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    for a, b in zip(jax.tree.leaves(opt.state), state, strict=True):
        np.testing.assert_array_equal(np.asarray(a), b)
    # The first call of a new program is checked too (traced before it runs).
    fresh = lucid_fx.compile(lambda m, v, t: F.nll_loss(m(v), t))
    with pytest.raises(ValueError, match=rf"class index {bad}"):
        fresh(model, x, Tensor(np.array([bad, 0, 1])))
    assert np.isfinite(step(model, opt, x, Tensor(np.array([2, 1, 0]))).item())


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_a_batch_of_only_ignored_labels_has_a_nan_loss_and_zero_gradient(name):
    # PyTorch: 0/0 = NaN for the mean, but a zero gradient, so a padding-only
    # batch never puts NaN into a model.
    data = np.array([[0.5, -1.0, 2.0], [0.0, 1.0, -0.5]], np.float32)
    x = Tensor(data, requires_grad=True)
    loss = getattr(F, name)(x, Tensor(np.array([-100, -100], np.int32)))
    tx = torch.tensor(data, requires_grad=True)
    expected = getattr(torch.nn.functional, name)(tx, torch.tensor([-100, -100]))
    loss.backward()
    expected.backward()
    assert np.isnan(loss.item()) and np.isnan(expected.item())
    np.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_an_ignored_row_with_a_masked_class_0_adds_nothing_as_torch(name, reduction):
    # The ignored row's class 0 is -inf (a masked class): it must add 0, not
    # -0 * -inf = NaN, to the loss, and no gradient.
    data = np.array([[-np.inf, 0.5, 2.0], [0.5, -1.0, -0.25]], np.float32)
    if name == "nll_loss":
        data[1] = np.log(np.array([0.2, 0.3, 0.5], np.float32))
    target = np.array([-100, 1])
    x = Tensor(data, requires_grad=True)
    loss = getattr(F, name)(x, Tensor(target), reduction=reduction)
    tx = torch.tensor(data, requires_grad=True)
    expected = getattr(torch.nn.functional, name)(
        tx, torch.tensor(target), reduction=reduction
    )
    np.testing.assert_allclose(loss.numpy(), expected.detach().numpy(), rtol=1e-6)
    loss.sum().backward()
    expected.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-6)

"""One table: every nn function and module against PyTorch (float64 oracle).

Each row runs the same computation in PyTorch float64 and in lucid_fx float32 on
Tensors, and compares the output and the gradient of every floating input and
every parameter (float32 tolerance). Modules get PyTorch's parameters through
``load_state_dict``, so the check covers the key names too.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import lucid_fx.nn as nn
import lucid_fx.nn.functional as F
from lucid_fx import Tensor

RNG = np.random.default_rng(0)
RTOL, ATOL = 2e-4, 2e-5


def rand(*shape, low=-2.0, high=2.0):
    return RNG.uniform(low, high, shape)


def labels(n, classes, *extra):
    return RNG.integers(0, classes, (n, *extra))


def _to_torch(a, diff):
    t = torch.tensor(a, dtype=torch.float64 if a.dtype.kind == "f" else torch.int64)
    return t.requires_grad_(diff and a.dtype.kind == "f")


def _to_ours(a, diff):
    if a.dtype.kind == "f":
        return Tensor(a.astype(np.float32), requires_grad=diff)
    return Tensor(a.astype(np.int32))


def _scalar(out, grad_seed):
    return (out * grad_seed).sum()


def _compare(ours, ref, what):
    np.testing.assert_allclose(
        np.asarray(ours, np.float64), ref, rtol=RTOL, atol=ATOL, err_msg=what
    )


def check_function(ours, theirs, arrays, diff=None):
    """Values and every floating input's gradient, ours vs PyTorch."""
    diff = diff or [True] * len(arrays)
    t_in = [_to_torch(a, d) for a, d in zip(arrays, diff, strict=True)]
    o_in = [_to_ours(a, d) for a, d in zip(arrays, diff, strict=True)]
    t_out, o_out = theirs(*t_in), ours(*o_in)
    _compare(o_out.numpy(), t_out.detach().numpy(), "value")
    seed = rand(*t_out.shape)
    _scalar(t_out, torch.tensor(seed)).backward()
    _scalar(o_out, Tensor(seed.astype(np.float32))).backward()
    for i, (t, o) in enumerate(zip(t_in, o_in, strict=True)):
        if t.requires_grad:
            assert o.grad is not None, f"input {i} got no gradient"
            _compare(o.grad.numpy(), t.grad.numpy(), f"grad of input {i}")


def check_module(ours, theirs, arrays, train=True):
    """Values, input gradients and parameter gradients of a module pair."""
    theirs = theirs.double().train(train)
    state = {k: v.detach().numpy() for k, v in theirs.state_dict().items()}
    ours.load_state_dict(state)
    ours.train(train)
    t_in = [_to_torch(a, True) for a in arrays]
    o_in = [_to_ours(a, True) for a in arrays]
    t_out, o_out = theirs(*t_in), ours(*o_in)
    _compare(o_out.numpy(), t_out.detach().numpy(), "value")
    seed = rand(*t_out.shape)
    _scalar(t_out, torch.tensor(seed)).backward()
    _scalar(o_out, Tensor(seed.astype(np.float32))).backward()
    for i, (t, o) in enumerate(zip(t_in, o_in, strict=True)):
        if t.requires_grad:
            _compare(o.grad.numpy(), t.grad.numpy(), f"grad of input {i}")
    ours_params = dict(ours.named_parameters())
    for name, p in theirs.named_parameters():
        _compare(ours_params[name].grad.numpy(), p.grad.numpy(), f"grad of {name}")
    ours_buffers = dict(ours.named_buffers())
    for name, b in theirs.named_buffers():
        if b.dtype.is_floating_point:
            _compare(ours_buffers[name].numpy(), b.numpy(), f"buffer {name}")
    return ours, theirs


# With kinks: exact 0 included so the convention at the kink is compared too.
KINKED = np.array([-2.0, -0.5, 0.0, 0.5, 3.0])
# PyTorch's elu_backward tests x <= 0: NaN takes the linear branch.
NONFINITE = np.array([np.nan, -1.0, 0.0, -0.0, 1.0, -np.inf, np.inf])
PROBS = RNG.uniform(0.05, 0.95, (4, 3))
BINARY = RNG.integers(0, 2, (4, 3)).astype(np.float64)

FUNCTIONS = {
    "relu": (F.relu, TF.relu, [KINKED]),
    "leaky_relu": (
        lambda x: F.leaky_relu(x, 0.25),
        lambda x: TF.leaky_relu(x, 0.25),
        [KINKED],
    ),
    "elu": (lambda x: F.elu(x, 0.5), lambda x: TF.elu(x, 0.5), [KINKED]),
    "selu": (F.selu, TF.selu, [KINKED]),
    "elu_nonfinite": (lambda x: F.elu(x, 0.5), lambda x: TF.elu(x, 0.5), [NONFINITE]),
    "selu_nonfinite": (F.selu, TF.selu, [NONFINITE]),
    "gelu_tanh": (F.gelu, lambda x: TF.gelu(x, approximate="tanh"), [KINKED]),
    "gelu_none": (lambda x: F.gelu(x, approximate="none"), TF.gelu, [KINKED]),
    "sigmoid": (F.sigmoid, torch.sigmoid, [KINKED]),
    "tanh": (F.tanh, torch.tanh, [KINKED]),
    "softmax_dim0": (
        lambda x: F.softmax(x, dim=0),
        lambda x: TF.softmax(x, dim=0),
        [rand(4, 3) * 10],
    ),
    "softmax_last": (
        lambda x: F.softmax(x, axis=-1),
        lambda x: TF.softmax(x, dim=-1),
        [rand(2, 4, 3) * 10],
    ),
    "log_softmax": (
        lambda x: F.log_softmax(x, dim=1),
        lambda x: TF.log_softmax(x, dim=1),
        [rand(4, 3) * 10],
    ),
    "mse_loss": (F.mse_loss, TF.mse_loss, [rand(4, 3), rand(4, 3)]),
    "mse_loss_none": (
        lambda x, t: F.mse_loss(x, t, reduction=None),
        lambda x, t: TF.mse_loss(x, t, reduction="none"),
        [rand(4, 3), rand(4, 3)],
    ),
    "huber_loss": (
        lambda x, t: F.huber_loss(x, t, delta=0.75, reduction="sum"),
        lambda x, t: TF.huber_loss(x, t, delta=0.75, reduction="sum"),
        [rand(4, 3), rand(4, 3)],
    ),
    "binary_cross_entropy": (
        F.binary_cross_entropy,
        TF.binary_cross_entropy,
        [PROBS, RNG.uniform(0, 1, (4, 3))],
    ),
    "binary_cross_entropy_weight": (
        lambda x, t, w: F.binary_cross_entropy(x, t, w, reduction="sum"),
        lambda x, t, w: TF.binary_cross_entropy(x, t, w, reduction="sum"),
        [PROBS, BINARY, RNG.uniform(0.5, 2, (3,))],
        [True, False, False],
    ),
    "bce_with_logits": (
        lambda x, t, w, pw: F.binary_cross_entropy_with_logits(x, t, w, pos_weight=pw),
        lambda x, t, w, pw: TF.binary_cross_entropy_with_logits(x, t, w, pos_weight=pw),
        [rand(4, 3), BINARY, RNG.uniform(0.5, 2, (3,)), RNG.uniform(0.5, 2, (3,))],
        [True, True, False, False],
    ),
    "nll_loss_weighted_ignore": (
        lambda x, t, w: F.nll_loss(x, t, w, ignore_index=1),
        lambda x, t, w: TF.nll_loss(x, t, w, ignore_index=1),
        [rand(6, 4), np.array([0, 1, 2, 3, 1, 2]), RNG.uniform(0.5, 2, (4,))],
        [True, False, False],
    ),
    "cross_entropy": (F.cross_entropy, TF.cross_entropy, [rand(5, 4), labels(5, 4)]),
    "cross_entropy_float_labels": (
        F.cross_entropy,
        TF.cross_entropy,
        [rand(5, 4), labels(5, 4)],
        [True, False],
    ),
    "cross_entropy_spatial_weight_sum": (
        lambda x, t, w: F.cross_entropy(x, t, w, reduction="sum"),
        lambda x, t, w: TF.cross_entropy(x, t, w, reduction="sum"),
        [rand(2, 3, 4, 2), labels(2, 3, 4, 2), RNG.uniform(0.5, 2, (3,))],
        [True, False, False],
    ),
    "cross_entropy_ignore_index": (
        F.cross_entropy,
        TF.cross_entropy,
        [rand(3, 4), np.array([2, -100, 0])],
    ),
    "cross_entropy_probabilities": (
        lambda x, t: F.cross_entropy(x, t, reduction="none"),
        lambda x, t: TF.cross_entropy(x, t, reduction="none"),
        [rand(3, 4), RNG.dirichlet(np.ones(4), 3)],
    ),
    "linear": (F.linear, TF.linear, [rand(3, 4), rand(2, 4), rand(2)]),
    "bilinear": (
        F.bilinear,
        TF.bilinear,
        [rand(3, 2), rand(3, 4), rand(5, 2, 4), rand(5)],
    ),
    "conv1d_stride_pad_dilation": (
        lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=2, dilation=2),
        lambda x, w, b: TF.conv1d(x, w, b, stride=2, padding=2, dilation=2),
        [rand(2, 3, 9), rand(4, 3, 3), rand(4)],
    ),
    "conv1d_unbatched": (
        lambda x, w: F.conv1d(x, w, padding=1),
        lambda x, w: TF.conv1d(x, w, padding=1),
        [rand(2, 5), rand(3, 2, 2)],
    ),
    "conv2d_groups_same": (
        lambda x, w: F.conv2d(x, w, padding="same", groups=2),
        lambda x, w: TF.conv2d(x, w, padding="same", groups=2),
        [rand(2, 4, 5, 6), rand(6, 2, 3, 3)],
    ),
    "conv2d_tuple_padding_valid": (
        lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=(1, 0)),
        lambda x, w, b: TF.conv2d(x, w, b, stride=(2, 1), padding=(1, 0)),
        [rand(1, 2, 7, 6), rand(3, 2, 3, 2), rand(3)],
    ),
    "conv2d_valid": (
        lambda x, w: F.conv2d(x, w, padding="valid"),
        lambda x, w: TF.conv2d(x, w, padding="valid"),
        [rand(1, 2, 4, 4), rand(3, 2, 3, 3)],
    ),
    "conv3d": (
        lambda x, w, b: F.conv3d(x, w, b, padding=1),
        lambda x, w, b: TF.conv3d(x, w, b, padding=1),
        [rand(1, 2, 3, 4, 3), rand(2, 2, 2, 2, 2), rand(2)],
    ),
    "unfold": (
        lambda x: F.unfold(x, (2, 3), stride=(1, 2), padding=1, dilation=(2, 1)),
        lambda x: TF.unfold(x, (2, 3), dilation=(2, 1), padding=1, stride=(1, 2)),
        [rand(2, 3, 5, 6)],
    ),
    "avg_pool1d": (
        lambda x: F.avg_pool1d(x, 3, 2, 1),
        lambda x: TF.avg_pool1d(x, 3, 2, 1),
        [rand(2, 3, 8)],
    ),
    "avg_pool2d": (
        lambda x: F.avg_pool2d(x, 2, 1),
        lambda x: TF.avg_pool2d(x, 2, 1),
        [rand(2, 3, 4, 5)],
    ),
    "avg_pool3d": (
        lambda x: F.avg_pool3d(x, 2, 2),
        lambda x: TF.avg_pool3d(x, 2, 2),
        [rand(1, 2, 4, 4, 5)],
    ),
    "max_pool1d": (
        lambda x: F.max_pool1d(x, 2, 2),
        lambda x: TF.max_pool1d(x, 2, 2),
        [rand(2, 3, 8)],
    ),
    "max_pool2d_padding": (
        lambda x: F.max_pool2d(x, 3, 2, 1),
        lambda x: TF.max_pool2d(x, 3, 2, 1),
        [rand(2, 3, 7, 6)],
    ),
    "max_pool3d": (
        lambda x: F.max_pool3d(x, 2, 1),
        lambda x: TF.max_pool3d(x, 2, 1),
        [rand(1, 2, 3, 4, 3)],
    ),
    "batch_norm_training": (
        lambda x, m, v, w, b: F.batch_norm(x, m, v, w, b, True, 0.1, 1e-5),
        lambda x, m, v, w, b: TF.batch_norm(x, m, v, w, b, True, 0.1, 1e-5),
        [rand(4, 3, 5), rand(3), RNG.uniform(0.5, 2, (3,)), rand(3), rand(3)],
        [True, False, False, True, True],
    ),
    "batch_norm_eval": (
        lambda x, m, v, w, b: F.batch_norm(x, m, v, w, b, training=False),
        lambda x, m, v, w, b: TF.batch_norm(x, m, v, w, b, training=False),
        [rand(4, 3, 2, 2), rand(3), RNG.uniform(0.5, 2, (3,)), rand(3), rand(3)],
        [True, False, False, True, True],
    ),
    "layer_norm": (
        lambda x, w, b: F.layer_norm(x, (3, 4), w, b),
        lambda x, w, b: TF.layer_norm(x, (3, 4), w, b),
        [rand(2, 3, 4), rand(3, 4), rand(3, 4)],
    ),
    "instance_norm": (
        lambda x, w, b: F.instance_norm(x, None, None, w, b),
        lambda x, w, b: TF.instance_norm(x, None, None, w, b),
        [rand(2, 3, 5, 4), rand(3), rand(3)],
    ),
}


def _float_labels(case):
    ours, theirs, arrays, *diff = case
    if case is FUNCTIONS["cross_entropy_float_labels"]:
        # lucid users pass class indices as floats: same loss as integers.
        return (
            lambda x, t: ours(x, Tensor(t.numpy().astype(np.float32))),
            theirs,
            arrays,
            *diff,
        )
    return case


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_function_matches_torch(name):
    ours, theirs, arrays, *diff = _float_labels(FUNCTIONS[name])
    check_function(ours, theirs, arrays, *diff)


MODULES = {
    "ReLU": (nn.ReLU, torch.nn.ReLU, [[KINKED]]),
    "LeakyReLU": (
        lambda: nn.LeakyReLU(0.2),
        lambda: torch.nn.LeakyReLU(0.2),
        [[KINKED]],
    ),
    "ELU": (lambda: nn.ELU(0.5), lambda: torch.nn.ELU(0.5), [[KINKED]]),
    "SELU": (nn.SELU, torch.nn.SELU, [[KINKED]]),
    "ELU_nonfinite": (nn.ELU, torch.nn.ELU, [[NONFINITE]]),
    "SELU_nonfinite": (nn.SELU, torch.nn.SELU, [[NONFINITE]]),
    "GELU": (nn.GELU, lambda: torch.nn.GELU("tanh"), [[KINKED]]),
    "Sigmoid": (nn.Sigmoid, torch.nn.Sigmoid, [[KINKED]]),
    "Tanh": (nn.Tanh, torch.nn.Tanh, [[KINKED]]),
    "Softmax": (lambda: nn.Softmax(1), lambda: torch.nn.Softmax(1), [[rand(4, 3)]]),
    "LogSoftmax": (
        lambda: nn.LogSoftmax(dim=-1),
        lambda: torch.nn.LogSoftmax(dim=-1),
        [[rand(4, 3)]],
    ),
    "Identity": (nn.Identity, torch.nn.Identity, [[KINKED]]),
    "MSELoss": (nn.MSELoss, torch.nn.MSELoss, [[rand(3), rand(3)]]),
    "HuberLoss": (
        lambda: nn.HuberLoss(delta=0.5),
        lambda: torch.nn.HuberLoss(delta=0.5),
        [[rand(3), rand(3)]],
    ),
    "BCELoss": (nn.BCELoss, torch.nn.BCELoss, [[PROBS, BINARY]]),
    "BCEWithLogitsLoss": (
        nn.BCEWithLogitsLoss,
        torch.nn.BCEWithLogitsLoss,
        [[rand(4, 3), BINARY]],
    ),
    "Linear": (lambda: nn.Linear(4, 3), lambda: torch.nn.Linear(4, 3), [[rand(2, 4)]]),
    "Bilinear": (
        lambda: nn.Bilinear(2, 3, 4),
        lambda: torch.nn.Bilinear(2, 3, 4),
        [[rand(5, 2), rand(5, 3)]],
    ),
    "Conv1D": (
        lambda: nn.Conv1D(2, 3, 3, stride=2),
        lambda: torch.nn.Conv1d(2, 3, 3, stride=2),
        [[rand(2, 2, 9)]],
    ),
    "Conv2D": (
        lambda: nn.Conv2D(1, 4, 4, 2, 1),
        lambda: torch.nn.Conv2d(1, 4, 4, 2, 1),
        [[rand(2, 1, 8, 8)]],
    ),
    "Conv2d_groups_nobias": (
        lambda: nn.Conv2d(4, 2, 3, padding="same", groups=2, bias=False),
        lambda: torch.nn.Conv2d(4, 2, 3, padding="same", groups=2, bias=False),
        [[rand(1, 4, 5, 5)]],
    ),
    "Conv3D": (
        lambda: nn.Conv3D(2, 2, (1, 2, 2), dilation=(1, 2, 1)),
        lambda: torch.nn.Conv3d(2, 2, (1, 2, 2), dilation=(1, 2, 1)),
        [[rand(1, 2, 3, 5, 4)]],
    ),
    "Flatten": (nn.Flatten, torch.nn.Flatten, [[rand(2, 3, 4)]]),
    "Flatten_range": (
        lambda: nn.Flatten(0, -2),
        lambda: torch.nn.Flatten(0, -2),
        [[rand(2, 3, 4)]],
    ),
    "AvgPool2d": (
        lambda: nn.AvgPool2d(2),
        lambda: torch.nn.AvgPool2d(2),
        [[rand(2, 3, 4, 6)]],
    ),
    "MaxPool1d": (
        lambda: nn.MaxPool1d(3, 1, 1),
        lambda: torch.nn.MaxPool1d(3, 1, 1),
        [[rand(2, 3, 6)]],
    ),
    "MaxPool3d": (
        lambda: nn.MaxPool3d(2),
        lambda: torch.nn.MaxPool3d(2),
        [[rand(1, 1, 4, 4, 4)]],
    ),
    "AvgPool1d": (
        lambda: nn.AvgPool1d(2),
        lambda: torch.nn.AvgPool1d(2),
        [[rand(1, 2, 6)]],
    ),
    "AvgPool3d": (
        lambda: nn.AvgPool3d(2),
        lambda: torch.nn.AvgPool3d(2),
        [[rand(1, 1, 4, 4, 2)]],
    ),
    "MaxPool2d": (
        lambda: nn.MaxPool2d(2),
        lambda: torch.nn.MaxPool2d(2),
        [[rand(1, 2, 4, 4)]],
    ),
    "BatchNorm1d": (
        lambda: nn.BatchNorm1d(3),
        lambda: torch.nn.BatchNorm1d(3),
        [[rand(5, 3)]],
    ),
    "BatchNorm2d": (
        lambda: nn.BatchNorm2d(3, momentum=0.3),
        lambda: torch.nn.BatchNorm2d(3, momentum=0.3),
        [[rand(4, 3, 2, 5)]],
    ),
    "BatchNorm2d_cumulative": (
        lambda: nn.BatchNorm2d(2, momentum=None),
        lambda: torch.nn.BatchNorm2d(2, momentum=None),
        [[rand(4, 2, 3, 3)]],
    ),
    "BatchNorm3d": (
        lambda: nn.BatchNorm3d(2),
        lambda: torch.nn.BatchNorm3d(2),
        [[rand(2, 2, 2, 3, 2)]],
    ),
    "LayerNorm": (
        lambda: nn.LayerNorm([4, 5]),
        lambda: torch.nn.LayerNorm([4, 5]),
        [[rand(3, 4, 5)]],
    ),
    "InstanceNorm2d_affine": (
        lambda: nn.InstanceNorm2d(3, affine=True),
        lambda: torch.nn.InstanceNorm2d(3, affine=True),
        [[rand(2, 3, 4, 4)]],
    ),
    "InstanceNorm1d_tracked": (
        lambda: nn.InstanceNorm1d(2, track_running_stats=True),
        lambda: torch.nn.InstanceNorm1d(2, track_running_stats=True),
        [[rand(3, 2, 6)]],
    ),
}
CLASS_LOSSES = {
    "NLLLoss": (nn.NLLLoss, torch.nn.NLLLoss),
    "CrossEntropyLoss": (nn.CrossEntropyLoss, torch.nn.CrossEntropyLoss),
}


@pytest.mark.parametrize("name", sorted(MODULES))
def test_module_matches_torch(name):
    ours, theirs, (arrays,) = MODULES[name]
    check_module(ours(), theirs(), arrays)


@pytest.mark.parametrize("name", sorted(CLASS_LOSSES))
def test_class_loss_module_matches_torch(name):
    ours_cls, theirs_cls = CLASS_LOSSES[name]
    w = RNG.uniform(0.5, 2, (4,))
    ours = ours_cls(weight=w.astype(np.float32), reduction="sum")
    theirs = theirs_cls(weight=torch.tensor(w), reduction="sum")
    check_function(
        lambda x, t: ours(x, t),
        lambda x, t: theirs(x, t),
        [rand(5, 4), labels(5, 4)],
    )
    assert list(ours.state_dict()) == list(theirs.state_dict()) == ["weight"]


@pytest.mark.parametrize(
    "name", ["BatchNorm2d", "BatchNorm1d", "InstanceNorm1d_tracked"]
)
def test_norm_module_in_eval_uses_running_stats_as_torch(name):
    ours, theirs, (arrays,) = MODULES[name]
    ours, theirs = ours(), theirs()
    check_module(ours, theirs, arrays)  # one training step moves the stats
    assert int(ours.num_batches_tracked.item()) == int(theirs.num_batches_tracked)
    check_module(ours, theirs, [rand(*arrays[0].shape)], train=False)


def test_pytorch_batchnorm_checkpoint_loads_with_its_key_names():
    theirs = torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3), torch.nn.BatchNorm2d(2))
    theirs(torch.randn(4, 1, 5, 5))
    ours = nn.Sequential(nn.Conv2D(1, 2, 3), nn.BatchNorm2d(2))
    state = {k: v.numpy() for k, v in theirs.state_dict().items()}
    assert list(ours.state_dict()) == list(state)
    ours.load_state_dict(state)
    assert ours[1].num_batches_tracked.item() == 1
    _compare(ours[1].running_var.numpy(), state["1.running_var"], "running_var")


@pytest.mark.parametrize("kernel, stride", [(2, 2), (3, 1), (2, 1)])
def test_max_pool_gradient_goes_to_the_nan_it_outputs_as_torch(kernel, stride):
    # A window holding one NaN outputs NaN; its gradient goes to that NaN (JAX's
    # own rule, >=, never picks a NaN). Windows of -inf: the first, as torch.
    x = np.float32([[[np.nan, 1.0, 3.0, np.nan, 0.5, 2.0, -np.inf, -np.inf, 4.0]]])
    seed = np.float32(np.random.default_rng(kernel + stride).normal(size=9))
    lx = Tensor(x, requires_grad=True)
    out = F.max_pool1d(lx, kernel, stride)
    tx = torch.tensor(x, requires_grad=True)
    expected = TF.max_pool1d(tx, kernel, stride)
    np.testing.assert_array_equal(out.numpy(), expected.detach().numpy())
    cot = seed[: out.shape[-1]]
    (out * Tensor(cot)).sum().backward()
    (expected * torch.from_numpy(cot)).sum().backward()
    np.testing.assert_array_equal(lx.grad.numpy(), tx.grad.numpy())


def test_max_pool_keeps_forward_mode_derivatives():
    import jax
    import jax.numpy as jnp

    from lucid_fx.functional import max_pool2d

    x = jnp.asarray(np.random.default_rng(0).normal(size=(1, 2, 4, 4)), jnp.float32)
    dx = jnp.asarray(np.random.default_rng(1).normal(size=x.shape), jnp.float32)
    _, fwd = jax.jvp(lambda v: max_pool2d(v, 2, 2), (x,), (dx,))
    _, vjp = jax.vjp(lambda v: max_pool2d(v, 2, 2), x)
    (rev,) = vjp(jnp.ones((1, 2, 2, 2), jnp.float32))
    # Each output's tangent is its chosen input's: the positions the gradient
    # marks; tangent and gradient agree on the choice.
    assert np.allclose(np.asarray(fwd).sum(), float((rev * dx).sum()), rtol=1e-5)


@pytest.mark.parametrize("spatial", [(1,), (1, 1)])
def test_instance_norm_of_one_spatial_element_raises_as_torch_and_changes_nothing(
    spatial,
):
    # Its variance is 0 (output all 0) and the running variance would be
    # pulled toward 0: PyTorch raises, and so do we, before any update.
    x = np.arange(4.0, dtype=np.float32).reshape((2, 2, *spatial))
    cls = (nn.InstanceNorm1d, nn.InstanceNorm2d)[len(spatial) - 1]
    tcls = (torch.nn.InstanceNorm1d, torch.nn.InstanceNorm2d)[len(spatial) - 1]
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        tcls(2, track_running_stats=True)(torch.from_numpy(x))
    m = cls(2, track_running_stats=True)
    before = {k: np.asarray(v.numpy()).copy() for k, v in m.state_dict().items()}
    with pytest.raises(ValueError, match=r"instance_norm: .*more than 1 spatial"):
        m(Tensor(x))
    for k, v in m.state_dict().items():
        np.testing.assert_array_equal(np.asarray(v.numpy()), before[k])
    with pytest.raises(ValueError, match="more than 1 spatial element"):
        F.instance_norm(Tensor(x))
    m.eval()  # running statistics: one element is fine, as in PyTorch
    assert m(Tensor(x)).shape == x.shape

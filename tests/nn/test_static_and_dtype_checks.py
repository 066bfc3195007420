"""Bad static arguments and non-floating normalization inputs raise a clear
``TypeError`` at every call, before any lifted op (and its compile cache) or
running statistic is touched. PyTorch, the oracle, rejects them all."""

import re
import sys

import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import lucid_fx.functional as core
import lucid_fx.nn as nn
import lucid_fx.nn.functional as F
from lucid_fx import Tensor

INT_INPUTS = {
    "int32": np.array([[0, 10], [4, 30]], np.int32),
    "int64": np.array([[0, 10], [4, 30]], np.int64),
    "bool": np.array([[True, False], [False, True]]),
}


def _buffers(module):
    return {k: np.asarray(v.numpy()).copy() for k, v in module.state_dict().items()}


def _same(before, after):
    assert before.keys() == after.keys()
    for key in before:
        np.testing.assert_array_equal(before[key], after[key], err_msg=key)


# ---------------------------------------------------------- normalization dtype
@pytest.mark.parametrize("dtype", list(INT_INPUTS))
@pytest.mark.parametrize(
    "make,shape,torch_make",
    [
        (lambda: nn.BatchNorm1d(2), (2, 2), lambda: torch.nn.BatchNorm1d(2)),
        (lambda: nn.BatchNorm2d(2), (2, 2, 1, 1), lambda: torch.nn.BatchNorm2d(2)),
        (lambda: nn.BatchNorm3d(2), (2, 2, 1, 1, 1), lambda: torch.nn.BatchNorm3d(2)),
        (
            lambda: nn.InstanceNorm1d(2, track_running_stats=True, affine=True),
            (1, 2, 2),
            lambda: torch.nn.InstanceNorm1d(2, track_running_stats=True),
        ),
        (lambda: nn.LayerNorm(2), (2, 2), lambda: torch.nn.LayerNorm(2)),
    ],
    ids=["BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "InstanceNorm1d", "LayerNorm"],
)
def test_norm_module_rejects_integer_input_and_keeps_state(
    make, shape, torch_make, dtype
):
    x = np.resize(INT_INPUTS[dtype], shape)
    with pytest.raises((RuntimeError, TypeError, NotImplementedError)):
        torch_make()(torch.tensor(x))
    module = make()
    before = _buffers(module)
    name = type(module).__name__
    with pytest.raises(TypeError, match=rf"^{name}: input must be a floating"):
        module(Tensor(x))
    _same(before, _buffers(module))
    assert all(p.grad is None for p in module.parameters())


@pytest.mark.parametrize("dtype", list(INT_INPUTS))
@pytest.mark.parametrize("api", ["batch_norm", "instance_norm"])
def test_functional_norm_rejects_integer_input_and_keeps_running_stats(api, dtype):
    x = INT_INPUTS[dtype][:, :, None].repeat(2, axis=2)  # (2, 2, 2)
    rm, rv = Tensor([0.5, -1.0]), Tensor([2.0, 3.0])
    with pytest.raises((RuntimeError, TypeError, NotImplementedError)):
        getattr(TF, api)(
            torch.tensor(x), torch.zeros(2), torch.ones(2), None, None, True
        )
    with pytest.raises(TypeError, match=rf"^{api}: input must be a floating"):
        getattr(F, api)(Tensor(x), rm, rv, training=True)
    assert rm.tolist() == [0.5, -1.0] and rv.tolist() == [2.0, 3.0]
    with pytest.raises(TypeError, match=rf"^{api}: input must be a floating"):
        getattr(core, api)(jnp.asarray(x), None, None)


@pytest.mark.parametrize("dtype", list(INT_INPUTS))
def test_layer_norm_rejects_integer_input(dtype):
    x = INT_INPUTS[dtype]
    with pytest.raises((RuntimeError, TypeError, NotImplementedError)):
        TF.layer_norm(torch.tensor(x), (2,))
    for fn, arg in ((F.layer_norm, Tensor(x)), (core.layer_norm, jnp.asarray(x))):
        with pytest.raises(TypeError, match=r"^layer_norm: input must be a floating"):
            fn(arg, (2,))


def test_float_input_still_normalizes_as_torch():
    x = np.array([[0.0, 10.0], [4.0, 30.0]], np.float32)
    module, reference = nn.BatchNorm1d(2), torch.nn.BatchNorm1d(2)
    np.testing.assert_allclose(
        module(Tensor(x)).numpy(), reference(torch.tensor(x)).detach().numpy(), 1e-6
    )
    np.testing.assert_allclose(
        module.running_var.numpy(), reference.running_var.numpy(), 1e-6
    )


# ---------------------------------------------------- layer_norm normalized_shape
X24 = np.arange(8.0, dtype=np.float32).reshape(2, 4)


@pytest.mark.parametrize("shape", [4, np.int64(4), (4,), [4], (np.int32(4),)])
def test_layer_norm_takes_ints_and_numpy_integers(shape):
    # torch.nn.LayerNorm takes any integer; its functional form only ints.
    want = TF.layer_norm(torch.tensor(X24), (4,)).numpy()
    got = F.layer_norm(Tensor(X24), shape)
    np.testing.assert_allclose(got.numpy(), want, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(
        nn.LayerNorm(shape)(Tensor(X24)).numpy(), want, rtol=1e-6, atol=1e-6
    )


@pytest.mark.parametrize("shape", [4.0, (4.0,), (True,), True, "4"])
def test_layer_norm_rejects_float_and_bool_shapes(shape):
    F.layer_norm(Tensor(X24), (4,))  # a valid call first: no cache reuse
    message = re.escape("normalized_shape must be an int or a tuple of ints")
    with pytest.raises(TypeError, match="^layer_norm: " + message):
        F.layer_norm(Tensor(X24), shape)
    with pytest.raises(TypeError, match="^layer_norm: " + message):
        core.layer_norm(jnp.asarray(X24), shape)
    with pytest.raises(TypeError, match="^LayerNorm: " + message):
        nn.LayerNorm(shape)


# ------------------------------------------------------ pooling and unfold sizes
POOL_X = {1: (1, 1, 6), 2: (1, 1, 4, 4), 3: (1, 1, 4, 4, 4)}


@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize(
    "kwargs,name,shown",
    [
        ({"kernel_size": 2.0}, "kernel_size", "float 2.0"),
        ({"kernel_size": (2.0,)}, "kernel_size", "float 2.0"),
        ({"stride": True}, "stride", "bool True"),
        ({"stride": 1.0}, "stride", "float 1.0"),
        ({"padding": 1.0}, "padding", "float 1.0"),
        ({"padding": False}, "padding", "bool False"),
    ],
)
def test_pool_rejects_float_and_bool_sizes_at_every_call(kind, n, kwargs, name, shown):
    api = f"{kind}_pool{n}d"
    x = np.arange(float(np.prod(POOL_X[n])), dtype=np.float32).reshape(POOL_X[n])
    valid = {"kernel_size": 2, "stride": 1, "padding": 1}
    bad = {**valid, **kwargs}
    if isinstance(bad["kernel_size"], tuple):
        bad["kernel_size"] *= n
    with pytest.raises(TypeError):  # the oracle
        getattr(TF, api)(torch.tensor(x), **bad)
    fn = getattr(F, api)
    want = getattr(TF, api)(torch.tensor(x), **valid).numpy()
    for _ in range(2):  # before and after the equal valid call is compiled
        with pytest.raises(
            TypeError, match=re.escape(f"{api}: {name} must be an int, got {shown}")
        ):
            fn(Tensor(x), **bad)
        np.testing.assert_allclose(fn(Tensor(x), **valid).numpy(), want, rtol=1e-6)


@pytest.mark.parametrize(
    "kwargs,name",
    [
        ({"filter_size": 2.0}, "filter_size"),
        ({"filter_size": (2, 2.0)}, "filter_size"),
        ({"stride": True}, "stride"),
        ({"padding": 1.0}, "padding"),
        ({"dilation": True}, "dilation"),
    ],
)
def test_unfold_rejects_float_and_bool_sizes_at_every_call(kwargs, name):
    x = np.arange(16.0, dtype=np.float32).reshape(1, 1, 4, 4)
    valid = {"filter_size": 2, "stride": 1, "padding": 1, "dilation": 1}
    bad = {**valid, **kwargs}
    torch_bad = {
        ("kernel_size" if k == "filter_size" else k): v for k, v in bad.items()
    }
    with pytest.raises(TypeError):  # the oracle
        TF.unfold(torch.tensor(x), **torch_bad)
    want = TF.unfold(torch.tensor(x), 2, 1, 1, 1).numpy()
    for _ in range(2):
        with pytest.raises(
            TypeError, match=re.escape(f"unfold: {name} must be an int")
        ):
            F.unfold(Tensor(x), **bad)
        np.testing.assert_allclose(F.unfold(Tensor(x), **valid).numpy(), want)


# ---------------------------------------------------------------- softmax dim
@pytest.mark.parametrize("api", ["softmax", "log_softmax"])
@pytest.mark.parametrize("dim", [1.0, True, np.float32(1.0), "1"])
def test_softmax_rejects_non_int_dim_at_every_call(api, dim):
    x = np.arange(8.0, dtype=np.float32).reshape(2, 4)
    with pytest.raises(TypeError):  # the oracle
        getattr(TF, api)(torch.tensor(x), dim=dim)
    want = getattr(TF, api)(torch.tensor(x), dim=1).numpy()
    fn = getattr(F, api)
    for _ in range(2):
        np.testing.assert_allclose(fn(Tensor(x), dim=1).numpy(), want, rtol=1e-6)
        with pytest.raises(TypeError, match=rf"^{api}: dim must be an int, got"):
            fn(Tensor(x), dim=dim)
        with pytest.raises(TypeError, match=rf"^{api}: dim must be an int, got"):
            fn(Tensor(x), axis=dim)


@pytest.mark.parametrize("dim", [np.int64(1), -1, 0])
def test_softmax_takes_ints_and_numpy_integers_as_torch(dim):
    x = np.arange(8.0, dtype=np.float32).reshape(2, 4)
    want = TF.softmax(torch.tensor(x), dim=int(dim)).numpy()
    np.testing.assert_allclose(F.softmax(Tensor(x), dim=dim).numpy(), want, rtol=1e-6)


# ------------------------------------- checked before the lifted op is reached
def _static_values_seen(monkeypatch, api):
    """Wrap ``api``'s lifted op; return the list its keyword values go into."""
    module = sys.modules["lucid_fx.nn.functional"]
    seen = []

    def spy_on(op):
        def spy(*args, **kwargs):
            flags = ("ceil_mode", "count_include_pad")
            seen.extend(v for k, v in kwargs.items() if k not in flags)
            return op(*args, **kwargs)

        return spy

    if api in ("unfold", "softmax", "log_softmax"):
        attr = f"_{api}_op"
        monkeypatch.setattr(module, attr, spy_on(getattr(module, attr)))
        return seen
    cell = _op_cell(getattr(module, api))
    monkeypatch.setattr(cell, "cell_contents", spy_on(cell.cell_contents))
    return seen


def _op_cell(fn):
    """The closure cell holding a pooling function's lifted op."""
    fn = getattr(fn, "__wrapped__", fn)  # under lucid's keyword renames
    cells = dict(zip(fn.__code__.co_freevars, fn.__closure__ or (), strict=True))
    return cells["op"] if "op" in cells else _op_cell(cells["call"].cell_contents)


def _plain_ints(value):
    items = value if isinstance(value, tuple) else (value,)
    return all(type(v) is int for v in items)


@pytest.mark.parametrize(
    "api,args,bad,good",
    [
        ("max_pool2d", (), {"kernel_size": 2.0}, {"kernel_size": np.int64(2)}),
        ("avg_pool1d", (), {"stride": True}, {"stride": [np.int32(1)]}),
        ("max_pool3d", (), {"padding": (0.0,) * 3}, {"padding": 0}),
        ("unfold", (2,), {"padding": 1.0}, {"padding": np.int64(1)}),
        ("softmax", (), {"dim": 1.0}, {"dim": np.int64(1)}),
        ("log_softmax", (), {"dim": True}, {"dim": 1}),
    ],
)
def test_only_checked_plain_ints_reach_the_lifted_op(monkeypatch, api, args, bad, good):
    seen = _static_values_seen(monkeypatch, api)
    n = int(api[-2]) if api[-2].isdigit() else 2
    x = Tensor(np.ones((1, 1) + (4,) * n, np.float32))
    with pytest.raises(TypeError, match=f"^{api}: "):
        getattr(F, api)(x, *args, **bad)
    getattr(F, api)(x, *args, **good)
    assert seen and all(_plain_ints(v) for v in seen), seen


def test_spy_is_removed_after_each_test():
    assert _op_cell(F.max_pool2d).cell_contents.__name__ != "spy"

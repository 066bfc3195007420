"""PyTorch's pooling options ``ceil_mode`` (max and average) and
``count_include_pad`` (average), functional and modules, against PyTorch:
output sizes (the last window must start inside the input or the left
padding), values, divisors and gradients."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as TF

import lucid_fx.functional as core
import lucid_fx.nn as nn
import lucid_fx.nn.functional as F
from lucid_fx import Tensor

# (spatial size, kernel, stride, padding) per axis; chosen so that ceil_mode
# adds a window, adds none, or would add one past the input (then dropped).
AXES = [
    (5, 3, 2, 1),
    (6, 3, 2, 1),
    (6, 2, 3, 0),
    (7, 3, 3, 1),
    (4, 2, 2, 1),
    (1, 2, 2, 0),
]
CASES = (
    [(1, (a,)) for a in AXES]
    + [(2, (AXES[0], AXES[2])), (2, (AXES[1], AXES[3])), (2, (AXES[4], AXES[5]))]
    # PyTorch's avg_pool3d also wants each unpadded size >= the kernel.
    + [(3, (AXES[0], AXES[3], AXES[4])), (3, (AXES[1], AXES[2], AXES[4]))]
)


def _split(axes):
    size, kernel, stride, padding = (tuple(v) for v in zip(*axes, strict=True))
    return size, kernel, stride, padding


def _input(size, seed, minus_inf):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, 2) + size).astype(np.float32)
    if minus_inf:
        x = np.where(rng.random(x.shape) < 0.7, -np.inf, x).astype(np.float32)
    return x


def _torch(fn, x, cot, **kw):
    t = torch.tensor(x, requires_grad=True)
    y = fn(t, **kw)
    (y * torch.tensor(cot)).sum().backward()
    return y.detach().numpy(), t.grad.numpy()


def _options(kind):
    if kind == "max":
        return [{"ceil_mode": c} for c in (False, True)]
    return [
        {"ceil_mode": c, "count_include_pad": i}
        for c, i in itertools.product((False, True), repeat=2)
    ]


def _check(kind, n, axes, seed, minus_inf, lucid_call):
    size, kernel, stride, padding = _split(axes)
    x = _input(size, seed, minus_inf)
    for options in _options(kind):
        kw = dict(kernel_size=kernel, stride=stride, padding=padding, **options)
        fn = getattr(TF, f"{kind}_pool{n}d")
        try:
            shape = fn(torch.tensor(x), **kw).shape
        except RuntimeError as error:  # no window fits: both reject it
            assert "output size" in str(error)
            with pytest.raises(ValueError, match="larger than the padded input"):
                lucid_call(x, np.zeros(0, np.float32), kw)
            continue
        cot = np.random.default_rng(seed + 7).standard_normal(shape).astype(np.float32)
        want_y, want_dx = _torch(fn, x, cot, **kw)
        got_y, got_dx = lucid_call(x, cot, kw)
        assert got_y.shape == want_y.shape, (options, got_y.shape, want_y.shape)
        np.testing.assert_allclose(
            got_y, want_y, rtol=1e-6, atol=1e-6, err_msg=str(options)
        )
        np.testing.assert_allclose(
            got_dx, want_dx, rtol=1e-6, atol=1e-6, err_msg=str(options)
        )


def _functional(kind, n):
    def call(x, cot, kw):
        xt = Tensor(x, requires_grad=True)
        y = getattr(F, f"{kind}_pool{n}d")(xt, **kw)
        (y * Tensor(cot)).sum().backward()
        return y.numpy(), xt.grad.numpy()

    return call


@pytest.mark.parametrize("n,axes", CASES)
@pytest.mark.parametrize(
    "kind,minus_inf", [("max", False), ("max", True), ("avg", False)]
)
def test_functional_options_match_torch(kind, minus_inf, n, axes):
    _check(kind, n, axes, 0, minus_inf, _functional(kind, n))


@pytest.mark.parametrize("n,axes", CASES[::2])
@pytest.mark.parametrize("kind", ["max", "avg"])
@pytest.mark.parametrize("transform", [lambda f: f, jax.jit], ids=["eager", "jit"])
def test_pure_options_match_torch_under_grad(kind, n, axes, transform):
    pool = getattr(core, f"{kind}_pool{n}d")

    def call(x, cot, kw):
        def loss(v):
            return (pool(v, **kw) * cot).sum()

        return np.asarray(pool(jnp.asarray(x), **kw)), np.asarray(
            transform(jax.grad(loss))(jnp.asarray(x))
        )

    _check(kind, n, axes, 1, kind == "max", call)


@pytest.mark.parametrize("n,axes", CASES[1::3])
@pytest.mark.parametrize("kind", ["Max", "Avg"])
def test_modules_take_the_options_as_torch(kind, n, axes):
    lucid_cls = getattr(nn, f"{kind}Pool{n}d")
    torch_cls = getattr(torch.nn, f"{kind}Pool{n}d")

    def call(x, cot, kw):
        module = lucid_cls(**kw)
        xt = Tensor(x, requires_grad=True)
        y = module(xt)
        (y * Tensor(cot)).sum().backward()
        return y.numpy(), xt.grad.numpy()

    _check(kind.lower(), n, axes, 2, False, call)
    _, kernel, stride, padding = _split(axes)
    for options in _options(kind.lower()):
        module = lucid_cls(kernel, stride, padding, **options)
        shown = ", ".join(f"{k}={v}" for k, v in options.items())
        assert repr(module).endswith(shown + ")")
        torch_cls(kernel, stride, padding, **options)  # the same options exist


def test_ceil_mode_by_hand():
    # Length 6, kernel 3, stride 2, padding 1: windows start at -1, 1, 3 and,
    # rounding up, 5 (inside the input); it covers x[5] and the padding.
    x = Tensor(np.arange(6.0, dtype=np.float32).reshape(1, 1, 6))
    got = F.avg_pool1d(x, 3, 2, 1, ceil_mode=True)  # last: (5 + 0) / 2
    np.testing.assert_allclose(got.numpy(), [[[1 / 3, 2.0, 4.0, 2.5]]], rtol=1e-7)
    got = F.avg_pool1d(x, 3, 2, 1, ceil_mode=True, count_include_pad=False)
    np.testing.assert_allclose(got.numpy(), [[[0.5, 2.0, 4.0, 5.0]]])
    assert F.max_pool1d(x, 3, 2, 1, ceil_mode=True).tolist() == [[[1.0, 3.0, 5.0, 5.0]]]
    # Length 4, kernel 2, stride 2, padding 1: a window at 3 would start in
    # the right padding, so ceil_mode adds none (3 windows either way).
    x4 = Tensor(np.arange(4.0, dtype=np.float32).reshape(1, 1, 4))
    assert F.max_pool1d(x4, 2, 2, 1, ceil_mode=True).shape == (1, 1, 3)


@pytest.mark.parametrize("name", ["ceil_mode", "count_include_pad"])
@pytest.mark.parametrize("value", [1, "yes", None])
def test_bad_flags_raise_before_the_op(name, value):
    x = Tensor(np.ones((1, 1, 4), np.float32))
    match = f"avg_pool1d: {name} must be True or False"
    F.avg_pool1d(x, 2, 2)  # a valid call compiled first
    for _ in range(2):
        with pytest.raises(TypeError, match=match):
            F.avg_pool1d(x, 2, 2, **{name: value})
    with pytest.raises(TypeError, match=f"AvgPool1d: {name} must be True or False"):
        nn.AvgPool1d(2, **{name: value})


def test_max_pool_has_no_count_include_pad_and_options_are_keywords():
    x = Tensor(np.ones((1, 1, 4), np.float32))
    with pytest.raises(TypeError, match="count_include_pad"):
        F.max_pool1d(x, 2, 2, count_include_pad=True)
    with pytest.raises(TypeError):
        F.avg_pool1d(x, 2, 2, 0, True)  # PyTorch's positional ceil_mode
    with pytest.raises(TypeError):
        nn.MaxPool1d(2, 2, 0, 1)  # PyTorch's positional dilation

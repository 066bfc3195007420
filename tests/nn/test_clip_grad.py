"""nn.utils.clip_grad_norm_ / clip_grad_value_ against torch.nn.utils."""

import math

import jax.numpy as jnp
import numpy as np
import pytest
import torch

import lucid_fx
import lucid_fx.nn as nn
import lucid_fx.nn.functional as F
from lucid_fx import Tensor, optim

SHAPES = [(3, 4), (4,), (2, 2, 2)]


def _pair(seed, scale):
    rng = np.random.default_rng(seed)
    grads = [(rng.normal(size=s) * scale).astype(np.float32) for s in SHAPES]
    ours = [nn.Parameter(np.zeros(s, np.float32)) for s in SHAPES]
    theirs = [torch.nn.Parameter(torch.zeros(s)) for s in SHAPES]
    for p, q, g in zip(ours, theirs, grads, strict=True):
        p.grad = Tensor(g)
        q.grad = torch.from_numpy(g.copy())
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.5, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 1e6])
def test_clip_grad_norm_matches_pytorch(norm_type, max_norm):
    ours, theirs = _pair(0, 3.0)
    held = ours[0].grad  # every reference sees the in-place change
    total = nn.utils.clip_grad_norm_(ours, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-6)
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6, atol=1e-7)
    assert held is ours[0].grad


def test_clip_grad_norm_skips_missing_grads_and_takes_one_tensor():
    ours, theirs = _pair(1, 1.0)
    ours[1].grad = None
    theirs[1].grad = None
    total = nn.utils.clip_grad_norm_(iter(ours), 0.1)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 0.1)
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-6)
    assert ours[1].grad is None
    one = nn.utils.clip_grad_norm_(ours[0], 0.1)
    assert one.item() <= 0.1 + 1e-6
    assert nn.utils.clip_grad_norm_([], 1.0).item() == 0.0


def test_clip_grad_norm_error_if_nonfinite():
    ours, _ = _pair(2, 1.0)
    ours[0].grad = Tensor(np.full((3, 4), np.nan, np.float32))
    before = ours[1].grad.numpy().copy()
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm"):
        nn.utils.clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    np.testing.assert_array_equal(ours[1].grad.numpy(), before)  # left as it was
    assert math.isnan(nn.utils.clip_grad_norm_(ours, 1.0).item())  # as torch


def test_clip_grad_value_matches_pytorch():
    ours, theirs = _pair(3, 2.0)
    assert nn.utils.clip_grad_value_(ours, 0.75) is None
    torch.nn.utils.clip_grad_value_(theirs, 0.75)
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_array_equal(p.grad.numpy(), q.grad.numpy())


def test_bad_arguments_name_the_function():
    with pytest.raises(TypeError, match=r"clip_grad_norm_: parameters\[0\]"):
        nn.utils.clip_grad_norm_([np.zeros(2)], 1.0)
    with pytest.raises(TypeError, match="clip_grad_value_: clip_value must be"):
        nn.utils.clip_grad_value_([], "1")


def test_clipping_inside_a_compiled_step_equals_eager():
    def step(model, opt, x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        norm = nn.utils.clip_grad_norm_(model.parameters(), 0.05)
        opt.step()
        return loss, norm

    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(8, 4)).astype(np.float32))
    y = Tensor(rng.integers(0, 3, 8).astype(np.int32))
    runs = []
    for compiled in (False, True):
        lucid_fx.random.seed(0)
        model = nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.1), nn.Linear(8, 3))
        opt = optim.SGD(model.parameters(), lr=0.5)
        run = lucid_fx.compile(step) if compiled else step
        norms = [run(model, opt, x, y)[1].item() for _ in range(3)]
        runs.append((norms, [p.numpy() for p in model.parameters()]))
    np.testing.assert_allclose(runs[1][0], runs[0][0], rtol=1e-5)
    for a, b in zip(runs[1][1], runs[0][1], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def _assert_same(ours, theirs):
    for p, q in zip(ours, theirs, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("foreach", [None, True, False])
def test_foreach_is_accepted_and_changes_nothing(foreach):
    ours, theirs = _pair(4, 2.0)
    total = nn.utils.clip_grad_norm_(ours, 0.5, 2.0, False, foreach)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 0.5, 2.0, False, foreach)
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-6)
    _assert_same(ours, theirs)
    ours, theirs = _pair(5, 2.0)
    nn.utils.clip_grad_value_(ours, 0.3, foreach=foreach)
    torch.nn.utils.clip_grad_value_(theirs, 0.3, foreach=foreach)
    _assert_same(ours, theirs)


def test_foreach_must_be_none_or_a_bool():
    ours, _ = _pair(4, 2.0)
    with pytest.raises(TypeError, match="clip_grad_norm_: foreach must be None"):
        nn.utils.clip_grad_norm_(ours, 0.5, foreach="yes")
    with pytest.raises(TypeError, match="clip_grad_value_: foreach must be None"):
        nn.utils.clip_grad_value_(ours, 0.5, foreach=1)


@pytest.mark.parametrize("spelling", ["inf", "INF"])
def test_norm_type_inf_string_matches_pytorch(spelling):
    ours, theirs = _pair(6, 3.0)
    total = nn.utils.clip_grad_norm_(ours, 0.5, spelling)
    expected = torch.nn.utils.clip_grad_norm_(theirs, 0.5, spelling)
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-6)
    _assert_same(ours, theirs)
    ours, _ = _pair(6, 3.0)
    same = nn.utils.clip_grad_norm_(ours, 0.5, norm_type=math.inf)
    assert same.item() == total.item()


@pytest.mark.parametrize("bad", ["abc", "2", ""])
def test_norm_type_other_strings_name_the_function(bad):
    ours, _ = _pair(6, 3.0)
    with pytest.raises(ValueError, match="clip_grad_norm_: norm_type as a string"):
        nn.utils.clip_grad_norm_(ours, 0.5, bad)


SCALARS = [
    lambda v: Tensor(v),
    np.float32,
    np.float64,
    lambda v: np.asarray(v, np.float32),
    lambda v: jnp.asarray(v, jnp.float32),
]


@pytest.mark.parametrize("make", SCALARS)
def test_scalar_tensor_bounds_match_pytorch(make):
    ours, theirs = _pair(7, 2.0)
    total = nn.utils.clip_grad_norm_(ours, make(0.5))
    expected = torch.nn.utils.clip_grad_norm_(theirs, torch.tensor(0.5))
    np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-6)
    _assert_same(ours, theirs)
    ours, theirs = _pair(8, 2.0)
    nn.utils.clip_grad_value_(ours, make(0.25))
    torch.nn.utils.clip_grad_value_(theirs, torch.tensor(0.25))
    _assert_same(ours, theirs)


def test_integer_scalar_tensor_bound_matches_pytorch():
    ours, theirs = _pair(9, 2.0)
    nn.utils.clip_grad_value_(ours, Tensor(np.int32(1)))
    torch.nn.utils.clip_grad_value_(theirs, torch.tensor(1))
    _assert_same(ours, theirs)


def test_non_scalar_tensor_bounds_name_the_function():
    ours, _ = _pair(7, 2.0)
    with pytest.raises(ValueError, match=r"clip_grad_norm_: max_norm .* shape \(2,\)"):
        nn.utils.clip_grad_norm_(ours, Tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match=r"clip_grad_value_: clip_value .* \(1,\)"):
        nn.utils.clip_grad_value_(ours, np.array([0.5]))
    with pytest.raises(TypeError, match="clip_grad_value_: clip_value must be a real"):
        nn.utils.clip_grad_value_(ours, Tensor(True))


def test_scalar_tensor_max_norm_argument_of_a_compiled_step():
    def step(params, bound):
        return nn.utils.clip_grad_norm_(params, bound)

    compiled = lucid_fx.compile(step)
    for bound in (0.5, 2.0):
        ours, theirs = _pair(10, 2.0)
        total = compiled(ours, Tensor(bound))
        expected = torch.nn.utils.clip_grad_norm_(theirs, torch.tensor(bound))
        np.testing.assert_allclose(total.item(), expected.item(), rtol=1e-6)
        _assert_same(ours, theirs)

"""float16 and bfloat16 normalization and average pooling accumulate in float32.

PyTorch computes 16-bit batch, layer and instance norm statistics and average
pool window sums in float32 and rounds the result once. In 16 bits the squared
deviations overflow float16 once ``|x - mean| > 256`` (outputs 0, running
variance inf) and a window of 16 values of 5000 sums to inf.

The oracle is PyTorch float32 autograd on the 16-bit-rounded data, parameters
and output seed. Ours runs on 16-bit Tensors and, computing in float32 and
rounding once, must agree to half a unit in the last place of the 16-bit dtype
(plus float32 round-off relative to the largest reference value, since
normalization gradients cancel); rounding every step in 16 bits, as before,
does not. Outputs and input gradients keep the 16-bit dtype, parameter
gradients the parameters' dtype (float32).

The ``[-300, 300]`` repros overflow float16 only (bfloat16 has float32's
range), so those run in float16; the random cases, offset from zero, also
cover bfloat16's precision.
"""

from __future__ import annotations

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from absl.testing import parameterized

import lucid_fx.functional as core
import lucid_fx.nn as nn
import lucid_fx.nn.functional as F
from lucid_fx import Tensor

DTYPES = ("float16", "bfloat16")
# half an ulp, relative: 11 and 8 significant bits
TOL = {"float16": 2.0**-11, "bfloat16": 2.0**-8}
RNG = np.random.default_rng(16)


def rounded(a, dtype: str) -> np.ndarray:
    """``a`` rounded to the 16-bit ``dtype``, held exactly in float64."""
    return np.asarray(jnp.asarray(a, jnp.float32).astype(dtype).astype(jnp.float32))


def large(*shape, dtype: str, loc: float = 4000.0, scale: float = 400.0):
    return rounded(RNG.normal(loc, scale, shape), dtype)


def seed_like(shape, dtype: str) -> np.ndarray:
    return rounded(RNG.uniform(-1.0, 1.0, shape), dtype)


def assert_close(ours, ref, dtype: str, what: str) -> None:
    ours = np.asarray(jnp.asarray(ours).astype(jnp.float32), np.float64)
    ref = np.asarray(ref, np.float64)
    # float32 round-off, relative to the largest value (a gradient that is 0
    # in exact math is round-off in torch)
    atol = 1e-5 * max(float(np.abs(ref).max()), 1e-4)
    np.testing.assert_allclose(ours, ref, rtol=TOL[dtype], atol=atol, err_msg=what)


def torch_leaf(a) -> torch.Tensor:
    return torch.tensor(np.asarray(a), dtype=torch.float32, requires_grad=True)


def check_tensors(ours_fn, torch_fn, arrays, dtype: str, params=()) -> None:
    """Output and every gradient of ``ours_fn(*Tensors)`` (16-bit inputs,
    float32 ``params``) against ``torch_fn`` in float32."""
    t_in = [torch_leaf(a) for a in (*arrays, *params)]
    o_in = [Tensor(a, dtype=dtype, requires_grad=True) for a in arrays]
    o_in += [Tensor(a, dtype="float32", requires_grad=True) for a in params]
    t_out, o_out = torch_fn(*t_in), ours_fn(*o_in)
    assert o_out.dtype == jnp.dtype(dtype)
    assert_close(o_out.numpy(), t_out.detach().numpy(), dtype, "value")
    seed = seed_like(t_out.shape, dtype)
    (t_out * torch.tensor(seed)).sum().backward()
    (o_out * Tensor(seed, dtype=dtype)).sum().backward()
    for i, (t, o) in enumerate(zip(t_in, o_in, strict=True)):
        assert o.grad is not None, f"input {i} got no gradient"
        assert o.grad.dtype == o.dtype, f"grad {i} dtype {o.grad.dtype}"
        assert_close(o.grad.numpy(), t.grad.numpy(), dtype, f"grad of input {i}")


def load_torch_state(ours, theirs, dtype: str) -> None:
    """PyTorch's float32 state into ours, weight and bias rounded to ``dtype``
    in both (so that both see the same values)."""
    rng = np.random.default_rng(3)
    with torch.no_grad():
        for name, p in theirs.named_parameters():
            p.copy_(torch.tensor(rounded(rng.uniform(0.5, 2.0, p.shape), dtype)))
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})


def check_module(ours, theirs, x, dtype: str, train: bool = True) -> None:
    """Output, input gradient and weight/bias gradients of a float32 module on
    a 16-bit input against the PyTorch module in float32; in training also
    the running statistics (float32 buffers)."""
    ours.train(train)
    theirs.train(train)
    t_x, o_x = torch_leaf(x), Tensor(x, dtype=dtype, requires_grad=True)
    t_out, o_out = theirs(t_x), ours(o_x)
    assert o_out.dtype == jnp.dtype(dtype)
    assert_close(o_out.numpy(), t_out.detach().numpy(), dtype, "value")
    seed = seed_like(t_out.shape, dtype)
    (t_out * torch.tensor(seed)).sum().backward()
    (o_out * Tensor(seed, dtype=dtype)).sum().backward()
    assert o_x.grad.dtype == jnp.dtype(dtype)
    assert_close(o_x.grad.numpy(), t_x.grad.numpy(), dtype, "grad of input")
    for name, t_p in theirs.named_parameters():
        o_p = getattr(ours, name)
        assert o_p.grad.dtype == jnp.float32, name
        assert_close(o_p.grad.numpy(), t_p.grad.numpy(), dtype, f"grad of {name}")
    for name, t_b in theirs.named_buffers():
        o_b = getattr(ours, name)
        if t_b.is_floating_point():
            assert o_b.dtype == jnp.float32, name
        np.testing.assert_allclose(
            o_b.numpy(), t_b.numpy(), rtol=2e-6, atol=1e-6, err_msg=name
        )


# --------------------------------------------------------------- the repros
def test_layer_norm_of_minus_and_plus_300_is_minus_and_plus_one(dtype="float16"):
    out = nn.LayerNorm(2)(Tensor([[-300.0, 300.0]], dtype=dtype))
    assert out.dtype == jnp.dtype(dtype)
    assert out.tolist() == [[-1.0, 1.0]]


@pytest.mark.parametrize("dtype", DTYPES)
def test_batch_norm_of_minus_and_plus_300_keeps_a_finite_running_var(dtype):
    bn = nn.BatchNorm1d(1)
    out = bn(Tensor([[-300.0], [300.0]], dtype=dtype))
    assert out.dtype == jnp.dtype(dtype)
    assert out.tolist() == [[-1.0], [1.0]]
    assert bn.running_mean.tolist() == [0.0]
    assert bn.running_var.dtype == jnp.float32
    # 0.9 * 1 + 0.1 * 180000 (unbiased), as PyTorch: 18000.9
    np.testing.assert_allclose(bn.running_var.numpy(), [18000.9], rtol=1e-7)


def test_instance_norm_of_minus_and_plus_300_is_minus_and_plus_one(dtype="float16"):
    out = F.instance_norm(Tensor([[[-300.0, 300.0]]], dtype=dtype))
    assert out.dtype == jnp.dtype(dtype)
    assert out.tolist() == [[[-1.0, 1.0]]]


@pytest.mark.parametrize("dtype", DTYPES)
def test_avg_pool_of_a_window_of_5000s_is_5000_rounded(dtype):
    out = F.avg_pool2d(Tensor(np.full((1, 1, 4, 4), 5000.0), dtype=dtype), 4, 4)
    assert out.dtype == jnp.dtype(dtype)
    # bfloat16 holds 5000 as 4992 (8 significant bits), as PyTorch gives.
    assert out.tolist() == [[[[5000.0 if dtype == "float16" else 4992.0]]]]


@pytest.mark.parametrize("dtype", DTYPES)
def test_repros_match_torch_in_16_bit_with_gradients(dtype):
    x = np.array([[-300.0, 300.0]])
    check_tensors(
        lambda v: F.layer_norm(v, (2,)), lambda v: TF.layer_norm(v, (2,)), [x], dtype
    )
    check_tensors(
        lambda v: F.batch_norm(v, None, None),
        lambda v: TF.batch_norm(v, None, None, training=True),
        [x.T],
        dtype,
    )
    check_tensors(F.instance_norm, TF.instance_norm, [x[None]], dtype)
    pool = np.full((1, 1, 4, 4), 5000.0)
    check_tensors(
        lambda v: F.avg_pool2d(v, 4, 4), lambda v: TF.avg_pool2d(v, 4, 4), [pool], dtype
    )


def test_half_module_keeps_16_bit_running_statistics_rounded_once(dtype="float16"):
    """With float16 buffers (``.half()``) the update is computed in float32
    and rounded once, as PyTorch's: 18000.9 -> 18000; a float16 batch
    variance of 180000 would be inf."""
    bn = nn.BatchNorm1d(1).to(dtype=dtype)
    theirs = torch.nn.BatchNorm1d(1).to(getattr(torch, dtype))
    out = bn(Tensor([[-300.0], [300.0]], dtype=dtype))
    theirs(torch.tensor([[-300.0], [300.0]], dtype=getattr(torch, dtype)))
    assert out.tolist() == [[-1.0], [1.0]]
    assert bn.running_var.dtype == jnp.dtype(dtype)
    want = theirs.running_var.float().numpy()
    assert bn.running_var.astype("float32").numpy().tolist() == want.tolist()


# ------------------------------------------------ random, large-scale inputs
BATCH_NORMS = {
    "BatchNorm1d_NC": (nn.BatchNorm1d, torch.nn.BatchNorm1d, (16, 3)),
    "BatchNorm1d_NCL": (nn.BatchNorm1d, torch.nn.BatchNorm1d, (4, 3, 5)),
    "BatchNorm2d": (nn.BatchNorm2d, torch.nn.BatchNorm2d, (3, 2, 4, 5)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(BATCH_NORMS))
def test_batch_norm_module_in_training_matches_torch(name, dtype):
    ours_cls, torch_cls, shape = BATCH_NORMS[name]
    ours, theirs = ours_cls(shape[1]), torch_cls(shape[1])
    load_torch_state(ours, theirs, dtype)
    check_module(ours, theirs, large(*shape, dtype=dtype), dtype, train=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(BATCH_NORMS))
def test_batch_norm_module_in_eval_matches_torch(name, dtype):
    """Running statistics past float16's range (variance 160000) are used in
    float32, not rounded to the input's dtype."""
    ours_cls, torch_cls, shape = BATCH_NORMS[name]
    ours, theirs = ours_cls(shape[1]), torch_cls(shape[1])
    with torch.no_grad():
        theirs.running_mean.fill_(4000.0)
        theirs.running_var.fill_(160000.0)
    load_torch_state(ours, theirs, dtype)
    check_module(ours, theirs, large(*shape, dtype=dtype), dtype, train=False)


@pytest.mark.parametrize("dtype", DTYPES)
def test_layer_norm_module_matches_torch(dtype):
    ours, theirs = nn.LayerNorm((3, 4)), torch.nn.LayerNorm((3, 4))
    load_torch_state(ours, theirs, dtype)
    check_module(ours, theirs, large(5, 3, 4, dtype=dtype), dtype)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [1, 2])
def test_instance_norm_module_matches_torch(n, dtype):
    kwargs = {"affine": True, "track_running_stats": True}
    ours = getattr(nn, f"InstanceNorm{n}d")(3, **kwargs)
    theirs = getattr(torch.nn, f"InstanceNorm{n}d")(3, **kwargs)
    load_torch_state(ours, theirs, dtype)
    x = large(2, 3, *(6,) * n, dtype=dtype)
    check_module(ours, theirs, x, dtype)


@pytest.mark.parametrize("dtype", DTYPES)
def test_functional_norms_with_affine_match_torch(dtype):
    x, w, b = large(4, 3, 5, dtype=dtype), RNG.uniform(0.5, 2, 3), RNG.normal(0, 1, 3)
    check_tensors(
        lambda v, w, b: F.batch_norm(v, None, None, w, b),
        lambda v, w, b: TF.batch_norm(v, None, None, w, b, training=True),
        [x],
        dtype,
        params=[w, b],
    )
    check_tensors(
        lambda v, w, b: F.instance_norm(v, None, None, w, b),
        lambda v, w, b: TF.instance_norm(v, None, None, w, b),
        [x],
        dtype,
        params=[w, b],
    )
    w, b = RNG.uniform(0.5, 2, 5), RNG.normal(0, 1, 5)
    check_tensors(
        lambda v, w, b: F.layer_norm(v, (5,), w, b),
        lambda v, w, b: TF.layer_norm(v, (5,), w, b),
        [x],
        dtype,
        params=[w, b],
    )


POOLS = {
    "avg_pool1d": ((2, 3, 11), dict(kernel_size=5, stride=2, padding=2)),
    "avg_pool2d": ((2, 2, 7, 8), dict(kernel_size=4, stride=1, padding=1)),
    "avg_pool3d": ((1, 2, 4, 5, 4), dict(kernel_size=3, stride=1, padding=1)),
}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", sorted(POOLS))
def test_avg_pool_of_large_values_matches_torch(name, dtype):
    """Values near 20000: a float16 window sum of 4 or more overflows."""
    shape, kw = POOLS[name]
    x = large(*shape, dtype=dtype, loc=20000.0)
    ours, theirs = getattr(F, name), getattr(TF, name)
    check_tensors(lambda v: ours(v, **kw), lambda v: theirs(v, **kw), [x], dtype)


# ------------------------------------------------- the pure core, jit or not
class PureCoreTest(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(("float16", "float16"), ("bfloat16", "bfloat16"))
    def test_pure_norms_keep_dtype_and_match_torch(self, dtype):
        x = jnp.asarray(large(4, 2, 6, dtype=dtype), dtype)
        seed = jnp.asarray(seed_like(x.shape, dtype), dtype)
        fns = {
            "batch_norm": lambda v: core.batch_norm(v, None, None),
            "layer_norm": lambda v: core.layer_norm(v, 6),
            "instance_norm": core.instance_norm,
        }
        t_fns = {
            "batch_norm": lambda v: TF.batch_norm(v, None, None, training=True),
            "layer_norm": lambda v: TF.layer_norm(v, (6,)),
            "instance_norm": TF.instance_norm,
        }
        for name, fn in fns.items():
            y, vjp = jax.vjp(self.variant(fn), x)
            (g,) = vjp(seed)
            assert y.dtype == g.dtype == jnp.dtype(dtype), name
            t_x = torch_leaf(np.asarray(x.astype(jnp.float32)))
            t_y = t_fns[name](t_x)
            (t_y * torch.tensor(np.asarray(seed.astype(jnp.float32)))).sum().backward()
            assert_close(y, t_y.detach().numpy(), dtype, f"{name} value")
            assert_close(g, t_x.grad.numpy(), dtype, f"{name} grad")

    @chex.variants(with_jit=True, without_jit=True)
    @parameterized.named_parameters(("float16", "float16"), ("bfloat16", "bfloat16"))
    def test_pure_batch_norm_stats_of_16_bit_input_are_finite(self, dtype):
        x = jnp.array([[-300.0], [300.0]], dtype)
        stats = self.variant(core.batch_norm_stats)(x, jnp.zeros(1), jnp.ones(1))
        assert stats.dtype == jnp.float32
        np.testing.assert_allclose(stats, [[0.0], [18000.9]], rtol=1e-7)

"""Broadcasting binary ops over random shapes: values and both gradients vs
PyTorch in float64 (each new shape compiles, so the example count is small)."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import lucid_fx
from lucid_fx import Tensor

OPS = {
    "add": (lucid_fx.add, torch.add),
    "sub": (lucid_fx.sub, torch.sub),
    "mul": (lucid_fx.mul, torch.mul),
    "maximum": (lucid_fx.maximum, torch.maximum),
    "minimum": (lucid_fx.minimum, torch.minimum),
}


@settings(deadline=None, max_examples=25)
@given(
    name=st.sampled_from(sorted(OPS)),
    shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=3, max_side=3),
    seed=st.integers(0, 2**16),
)
def test_broadcast_gradients_sum_over_broadcast_axes(name, shapes, seed):
    ours, theirs = OPS[name]
    rng = np.random.default_rng(seed)
    # Small integers make ties (maximum/minimum) frequent and sums exact.
    a, b = (rng.integers(-2, 3, s).astype(np.float32) for s in shapes.input_shapes)
    ta, tb = (torch.tensor(v, dtype=torch.float64, requires_grad=True) for v in (a, b))
    xa, xb = Tensor(a, requires_grad=True), Tensor(b, requires_grad=True)
    out, ref = ours(xa, xb), theirs(ta, tb)
    np.testing.assert_array_equal(np.asarray(out.data), ref.detach().numpy())
    cot = rng.integers(1, 4, ref.shape).astype(np.float32)
    (out * Tensor(cot)).sum().backward()
    ref.backward(torch.tensor(cot, dtype=torch.float64))
    np.testing.assert_array_equal(np.asarray(xa.grad.data), ta.grad.numpy())
    np.testing.assert_array_equal(np.asarray(xb.grad.data), tb.grad.numpy())

"""Every op's value and every input gradient against PyTorch in float64.

One checker runs the table in ``cases.py``: inputs are rounded to float32 (the
dtype lucid_fx computes in), PyTorch computes in float64 from the same rounded
values, and the backward pass uses a random positive cotangent so a gradient
that is right only for ones would fail.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lucid_fx import Tensor
from tests.ops.cases import CASES


def _check(ours, theirs, rtol, atol, what):
    np.testing.assert_allclose(
        np.asarray(ours, np.float64),
        theirs.detach().numpy(),
        rtol=rtol,
        atol=atol,
        equal_nan=True,
        err_msg=what,
    )


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_values_and_gradients_match_torch(case):
    rounded = [np.asarray(x, np.float32) for x in case.inputs]
    xs = [Tensor(x, requires_grad=case.requires_grad(i)) for i, x in enumerate(rounded)]
    ts = [
        torch.tensor(x.astype(np.float64), requires_grad=case.requires_grad(i))
        for i, x in enumerate(rounded)
    ]
    out, ref = case.ours(*xs), case.theirs(*ts)
    assert isinstance(out, Tensor), type(out)
    assert out.shape == tuple(ref.shape), (out.shape, tuple(ref.shape))
    _check(out.data, ref, case.rtol, case.atol, "value")

    cotangent = np.random.default_rng(1).uniform(0.5, 1.5, out.shape)
    (out * Tensor(cotangent.astype(np.float32))).sum().backward()
    ref.backward(torch.tensor(cotangent))
    for i, (x, t) in enumerate(zip(xs, ts, strict=True)):
        if case.requires_grad(i):
            assert x.grad is not None, f"input {i} got no gradient"
            _check(x.grad.data, t.grad, case.rtol, case.atol, f"grad of input {i}")

"""Random graphs (shared inputs, leaves that do not require grad, held
intermediates): every backward tier gives PyTorch's float64 gradients.

Each graph runs five times: node by node on the first sights, then through
the interpreter of its op set or the wiring's fused program once compiled,
so one drawn graph checks the plan every tier reads.
"""

import numpy as np
import pytest
import torch

import lucid_fx
from lucid_fx._tensor import _fused

BINARY = [lambda a, b: a * b, lambda a, b: a + b, lambda a, b: a - b]
UNARY = [lambda a, m: m.exp(a * 0.1), lambda a, m: m.tanh(a)]


def _graph(rng):
    """A random DAG: (leaf values, which leaves require grad, op specs)."""
    leaves = int(rng.integers(1, 4))
    specs = []
    for k in range(int(rng.integers(1, 9))):
        arity = "unary" if rng.random() < 0.3 else "binary"
        picks = rng.integers(0, leaves + k, size=2)
        kind = int(rng.integers(0, len(UNARY if arity == "unary" else BINARY)))
        specs.append((arity, kind, *map(int, picks)))
    requires = [True] + [bool(rng.random() < 0.8) for _ in range(leaves - 1)]
    values = [rng.normal(size=3).astype(np.float32) for _ in range(leaves)]
    return values, requires, specs


def _run(specs, module, leaves):
    xs = list(leaves)
    for arity, kind, i, j in specs:
        if arity == "unary":
            xs.append(UNARY[kind](xs[i], module))
        else:
            xs.append(BINARY[kind](xs[i], xs[j]))
    return xs


@pytest.mark.parametrize("seed", range(6))
def test_every_tier_gives_pytorchs_gradients_on_random_graphs(seed):
    rng = np.random.default_rng(seed)
    for _ in range(6):
        values, requires, specs = _graph(rng)
        hold = bool(rng.random() < 0.5)
        ref = [
            torch.tensor(v, dtype=torch.float64, requires_grad=r)
            for v, r in zip(values, requires, strict=True)
        ]
        ref_out = _run(specs, torch, ref)
        ours = [
            lucid_fx.Tensor(v, requires_grad=r)
            for v, r in zip(values, requires, strict=True)
        ]
        if not ref_out[-1].requires_grad:  # built from constants only
            with pytest.raises(RuntimeError, match="does not require grad"):
                _run(specs, lucid_fx, ours)[-1].sum().backward()
            continue
        ref_out[-1].sum().backward()
        for sight in range(_fused.FUSE_AFTER + 2):
            for t in ours:
                t.grad = None
            out = _run(specs, lucid_fx, ours)
            kept = out[len(values) :] if hold else None  # held past backward
            out[-1].sum().backward()
            assert _fused.wait(timeout=120)
            for t, r in zip(ours, ref, strict=True):
                if r.grad is None:
                    assert t.grad is None, (specs, sight)
                else:
                    np.testing.assert_allclose(
                        t.grad.numpy(),
                        r.grad.numpy(),
                        rtol=1e-4,
                        atol=1e-5,
                        err_msg=f"{specs} sight {sight}",
                    )
            for mine, theirs in zip(kept or (), ref_out[len(values) :]):
                np.testing.assert_allclose(
                    mine.numpy(), theirs.detach().numpy(), rtol=1e-4, atol=1e-5
                )

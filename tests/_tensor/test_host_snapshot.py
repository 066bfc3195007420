"""Host data is read when the call is made, never later.

On the CPU, JAX copies NumPy memory to a device buffer asynchronously (or
aliases it), so a source changed right after the call could still reach the
array (jax-ml/jax#37830). Each entry point that takes host data must read it at
the call, as ``torch.tensor`` does. Seen in CI: a PyTorch model trained on after
its ``state_dict()`` was loaded moved ours one step ahead.

The window is made wide on purpose: a large matmul keeps XLA's CPU executor busy
when the entry point is called, so a lazy copy runs after the source changed.
Measured on 4d9f87d (before the snapshot), 20 trials each on a 2-core host: the
constructors (``Tensor``, ``tensor``, ``Parameter``) failed every trial,
``load_state_dict``, ``.data =``, ``.grad =`` and ``copy_`` about half of them;
ops given a NumPy operand, ``+=``, ``__setitem__`` and the optimizer's
``load_state_dict`` rarely or never (JAX mostly copies a jitted call's NumPy
argument during the call). Those stay as the contract: nothing guarantees it.
"""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import lucid_fx
import lucid_fx.nn.functional as F
from lucid_fx import Tensor, nn, optim

N = 40
BUSY = 1500  # a BUSY x BUSY matmul: XLA's CPU executor is busy meanwhile


def _leaf():
    return Tensor(np.ones(N, np.float32), requires_grad=True)


def _set_data(src):
    t = Tensor(np.ones(N, np.float32))
    t.data = src
    return t.data


def _set_grad(src):
    t = _leaf()
    t.grad = src
    return t.grad.data


def _inplace(src):
    t = Tensor(np.ones(N, np.float32))
    t += src
    return t.data - 1.0


def _setitem(src):
    t = Tensor(np.ones(N, np.float32))
    t[:] = src
    return t.data


def _copy(src):
    t = Tensor(np.ones(N, np.float16))
    t.copy_(src)  # cast on the way: float32 into float16
    return t.data


def _load_module(src):
    m = nn.Linear(N, 1)
    m.load_state_dict({"weight": src.reshape(1, N), "bias": np.zeros(1, np.float32)})
    return m.weight.data.reshape(N)


def _load_module_torch(src):
    m = nn.Linear(N, 1)
    weight = torch.from_numpy(src).reshape(1, N)  # shares src's memory
    m.load_state_dict({"weight": weight, "bias": torch.zeros(1)})
    return m.weight.data.reshape(N)


def _load_optimizer(src):
    p = nn.Parameter(np.ones(N, np.float32))
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    group = dict(opt.state_dict()["param_groups"][0])
    opt.load_state_dict(
        {"state": {0: {"momentum_buffer": src}}, "param_groups": [group]}
    )
    return opt.state_dict()["state"][0]["momentum_buffer"]


def _same(s):
    return s


# (name, what is built from the source, what it must hold: a function of the
# source's values at the call, in float64)
CASES = [
    ("Tensor", lambda s: Tensor(s).data, _same),
    ("lucid_fx.tensor", lambda s: lucid_fx.tensor(s).data, _same),
    ("Tensor(torch)", lambda s: Tensor(torch.from_numpy(s)).data, _same),
    ("Parameter", lambda s: nn.Parameter(s).data, _same),
    ("Tensor.data=", _set_data, _same),
    ("Tensor.grad=", _set_grad, _same),
    ("t * ndarray (recorded)", lambda s: (_leaf() * s).data, _same),
    (
        "t * ndarray (no grad)",
        lambda s: (Tensor(np.ones(N, np.float32)) * s).data,
        _same,
    ),
    (
        "t + torch",
        lambda s: (Tensor(np.zeros(N, np.float32)) + torch.from_numpy(s)).data,
        _same,
    ),
    (
        "lucid_fx.maximum",
        lambda s: lucid_fx.maximum(-_leaf(), s).data,
        lambda s: np.maximum(-1.0, s),
    ),
    ("lucid_fx.stack", lambda s: lucid_fx.stack([_leaf(), s]).data[1], _same),
    (
        "F.mse_loss",
        lambda s: F.mse_loss(_leaf(), s, reduction="none").data,
        lambda s: (1.0 - s) ** 2,
    ),
    ("+=", _inplace, _same),
    ("__setitem__", _setitem, _same),
    ("copy_", _copy, _same),
    ("Module.load_state_dict", _load_module, _same),
    ("Module.load_state_dict(torch)", _load_module_torch, _same),
    ("Optimizer.load_state_dict", _load_optimizer, _same),
]


@pytest.fixture(scope="module")
def busy():
    big = jnp.ones((BUSY, BUSY), jnp.float32)
    jax.block_until_ready(big @ big)  # compiled: later calls only queue
    return lambda: big @ big


@pytest.mark.parametrize("name,make,want", CASES, ids=[c[0] for c in CASES])
def test_a_source_changed_after_the_call_does_not_reach_the_result(
    busy, name, make, want
):
    for trial in range(3):
        src = np.full(N, -(trial + 1.0), np.float32)
        expected = want(src.astype(np.float64))
        busy()  # queued: the executor runs it while make(src) returns
        got = make(src)
        src[:] = 1000.0  # the caller reuses its buffer at once
        np.testing.assert_allclose(
            np.asarray(got, np.float64), expected, err_msg=f"{name}, trial {trial}"
        )

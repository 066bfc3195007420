"""Byte-level snapshots of library objects, to prove a failed call changed nothing."""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Any

import jax
import numpy as np

from lucid_fx import Tensor, nn, optim
from lucid_fx.layers import LeakyReLU


def _array(value: Any) -> tuple:
    host = np.asarray(value)
    return (host.dtype.str, host.shape, host.tobytes())


def fingerprint(obj: Any) -> Any:
    """A comparable value capturing every byte and flag that matters."""
    if isinstance(obj, Tensor):
        grad = None if obj.grad is None else _array(obj.grad.data)
        return ("tensor", _array(obj.data), grad, obj.requires_grad, obj._version)
    if isinstance(obj, nn.Module):
        params = {k: fingerprint(p) for k, p in obj.named_parameters()}
        modes = tuple(m.training for m in obj.modules())
        ids = tuple(id(p) for p in obj.parameters())
        return ("module", type(obj), params, obj.configs(), modes, ids, repr(obj))
    if isinstance(obj, optim.Optimizer):
        leaves = jax.tree.leaves(obj.state)
        params = tuple(fingerprint(p) for p in obj.params)
        return ("optimizer", obj.lr, tuple(_array(v) for v in leaves), params)
    if isinstance(obj, LeakyReLU):
        return ("config", dataclasses.astuple(obj))
    if isinstance(obj, dict):
        return {k: fingerprint(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return tuple(fingerprint(v) for v in obj)
    if isinstance(obj, jax.Array | np.ndarray):
        return _array(obj)
    if isinstance(obj, pathlib.Path):
        return obj.read_bytes() if obj.is_file() else ("path", obj.exists())
    return obj

"""The state ``functionalize``'s ``apply`` puts into a module for one call.

A module's state is its Parameters and persistent buffers, by state-dict name
(each Tensor once, under its first name). A buffer is addressed by its slot,
``(registry dict, attribute name)``, so a forward that rebinds it
(``self.running_mean = new``) is read and undone as well as one that assigns
``.data``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import jax
import numpy as np

from lucid_fx.nn import Module, Parameter
from lucid_fx.nn.functional import PURE_BUFFERS

Slot = tuple[dict[str, Any], str]

_MSG_BUFFERS_MISSING = (
    " The missing names are buffers: pass them too, e.g. apply({**params, "
    "**buffers}, x) with buffers split off the dict functionalize returned."
)
_MSG_KEY = (
    "apply: key must be a typed JAX PRNG key of shape (), such as "
    "jax.random.key(0), got {got}.{hint}"
)


def live_state(module: Module) -> tuple[dict[str, Parameter], dict[str, Slot]]:
    """The module's Parameters and persistent buffer slots by state-dict name."""
    parameters = dict(module.named_parameters())
    seen = {id(p) for p in parameters.values()}
    buffers: dict[str, Slot] = {}
    for prefix, m in module.named_modules():
        for name, buffer in m._buffers.items():
            if buffer is None or name in m._non_persistent or id(buffer) in seen:
                continue
            seen.add(id(buffer))
            buffers[f"{prefix}.{name}" if prefix else name] = (m._buffers, name)
    return parameters, buffers


def transient_slots(module: Module) -> list[Slot]:
    """The slots of the module's non-persistent buffers: not in ``params``
    (nor in ``state_dict``), so a call of ``apply`` only reads them."""
    return [
        (m._buffers, name)
        for _, m in module.named_modules()
        for name in m._non_persistent
        if m._buffers.get(name) is not None
    ]


@contextlib.contextmanager
def restored(slots: Iterable[Slot]) -> Iterator[None]:
    """Put each slot's Tensor and its array back on exit (also after an
    exception): a forward that rebinds or changes a buffer leaves no traced
    value in the module (``installed``'s buffers, ``apply``'s non-persistent
    ones)."""
    saved = [(reg, attr, reg[attr], reg[attr].data) for reg, attr in slots]
    try:
        yield
    finally:
        for reg, attr, tensor, data in saved:
            reg[attr] = tensor
            tensor.set_data(data)


def state_names(module: Module, names: Iterable[str]) -> list[str]:
    """``names`` in ``state_dict()`` order."""
    wanted = set(names)
    return [k for k in module.state_dict(keep_vars=True) if k in wanted]


def check_params(
    parameters: Mapping[str, Parameter],
    buffers: Mapping[str, Slot],
    params: Any,
) -> None:
    """Keys and shapes of ``params`` must match the module, before any XLA error."""
    if not isinstance(params, Mapping):
        raise TypeError(
            f"apply: params must be a dict of arrays keyed like state_dict(), got "
            f"{type(params).__name__}."
        )
    shapes = {name: p.shape for name, p in parameters.items()}
    shapes.update((name, reg[attr].shape) for name, (reg, attr) in buffers.items())
    missing = [k for k in shapes if k not in params]
    extra = [k for k in params if k not in shapes]
    if missing or extra:
        hint = _MSG_BUFFERS_MISSING if missing and set(missing) <= set(buffers) else ""
        raise KeyError(
            f"apply: params do not match the module's state_dict() keys: missing "
            f"{missing}, unexpected {extra}.{hint}"
        )
    wrong = [
        f"{k!r}: got shape {tuple(np.shape(params[k]))}, expected {shape}"
        for k, shape in shapes.items()
        if tuple(np.shape(params[k])) != tuple(shape)
    ]
    if wrong:
        raise ValueError("apply: params have the wrong shapes: " + "; ".join(wrong))


def check_key(key: Any) -> None:
    """``key`` is ``None`` or one typed PRNG key."""
    if key is None:
        return
    dtype = getattr(key, "dtype", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if key.shape == ():
            return
        got = f"a key array of shape {tuple(key.shape)}"
        hint = " To draw with several keys, jax.vmap apply over them."
    elif dtype is not None and np.shape(key) == (2,):
        got = f"a raw {dtype} array of shape (2,)"
        hint = " Wrap a legacy jax.random.PRNGKey with jax.random.wrap_key_data."
    else:
        got = type(key).__name__ if dtype is None else f"a {dtype} array"
        hint = ""
    raise TypeError(_MSG_KEY.format(got=got, hint=hint))


@contextlib.contextmanager
def installed(
    parameters: Mapping[str, Parameter],
    buffers: Mapping[str, Slot],
    arrays: Mapping[str, Any],
) -> Iterator[Callable[[], dict[str, Any]]]:
    """Give each Parameter and buffer the array of its name for the block.

    Yields a function reading the buffers' current values. On exit (also on an
    exception) every Parameter, buffer slot and buffer array is as before.
    """
    saved_params = {name: p.data for name, p in parameters.items()}
    tensors = {name: reg[attr] for name, (reg, attr) in buffers.items()}

    def read() -> dict[str, Any]:
        return {name: reg[attr].data for name, (reg, attr) in buffers.items()}

    # The installed buffers take the forward's updates even when those are
    # traced and the arrays passed in are concrete (jax.grad of the params):
    # they are read back as outputs and the module's own arrays restored
    # (``restored``: each slot's Tensor and that Tensor's array).
    token = PURE_BUFFERS.set(PURE_BUFFERS.get() | {id(t) for t in tensors.values()})
    try:
        with restored(buffers.values()):
            for name, p in parameters.items():
                p.data = arrays[name]
            for name, tensor in tensors.items():
                tensor.data = arrays[name]
            yield read
    finally:
        PURE_BUFFERS.reset(token)
        for name, p in parameters.items():
            p.set_data(saved_params[name])

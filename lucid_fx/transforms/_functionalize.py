"""The bridge from a stateful Module to pure JAX: ``(apply, params)`` and back.

``params`` is a dict of JAX arrays keyed exactly like ``state_dict()``;
``apply(params, *args)`` swaps those arrays into the module's Parameters for the
duration of one pure call (as ``torch.func.functional_call`` does), so it works
under ``jax.jit``, ``jax.grad``, ``jax.vmap`` and ``lax.scan``. Write trained
values back with ``module.load_state_dict(params)``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._tensor import Tensor
from lucid_fx._tensor._ops import unwrap
from lucid_fx.nn import Module, Parameter

Params = dict[str, jax.Array]

_MSG_NOT_MODULE = (
    "functionalize: expected an nn.Module, got {kind}. Pass a module such as "
    "nn.Sequential(...) or your own nn.Module subclass."
)


def _check_params(module: Module, params: Mapping[str, Any]) -> dict[str, Parameter]:
    """Keys and shapes of ``params`` must match the module, before any XLA error."""
    if not isinstance(params, Mapping):
        raise TypeError(
            f"apply: params must be a dict of arrays keyed like state_dict(), got "
            f"{type(params).__name__}."
        )
    current = dict(module.named_parameters())
    missing = [k for k in current if k not in params]
    extra = [k for k in params if k not in current]
    if missing or extra:
        raise KeyError(
            f"apply: params do not match the module's parameters: missing "
            f"{missing}, unexpected {extra}."
        )
    wrong = [
        f"{k!r}: got shape {tuple(np.shape(params[k]))}, expected {p.shape}"
        for k, p in current.items()
        if tuple(np.shape(params[k])) != p.shape
    ]
    if wrong:
        raise ValueError("apply: params have the wrong shapes: " + "; ".join(wrong))
    return current


@contextlib.contextmanager
def swapped(
    parameters: Mapping[str, Tensor], arrays: Mapping[str, Any]
) -> Iterator[None]:
    """Temporarily give each Parameter the array of the same name."""
    saved = {name: p.data for name, p in parameters.items()}
    try:
        for name, p in parameters.items():
            p.data = arrays[name]
        yield
    finally:
        for name, p in parameters.items():
            p.data = saved[name]


def functionalize(module: Module) -> tuple[Callable[..., Any], Params]:
    """Split a module into a pure ``apply`` function and its parameters.

    Args:
      module: any ``nn.Module``.

    Returns:
      ``(apply, params)``: ``params`` maps each ``state_dict()`` key to a JAX
      array; ``apply(params, *args)`` runs the module's forward purely on JAX
      arrays. Configs (such as each LeakyReLU's slope) and train/eval mode are
      read when ``apply`` is traced: they are static parts of a jitted ``apply``.

    Raises:
      TypeError: if ``module`` is not a Module.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> import lucid_fx
      >>> import lucid_fx.nn as nn
      >>> model = nn.Sequential(nn.Linear(3, 2), nn.LeakyReLU(0.125))
      >>> apply, params = lucid_fx.functionalize(model)
      >>> sorted(params)
      ['0.bias', '0.weight']
      >>> x = jnp.ones((4, 3))
      >>> bool(jnp.allclose(jax.jit(apply)(params, x), model(x)))
      True
      >>> loss = lambda p: (apply(p, x) ** 2).mean()
      >>> grads = jax.grad(loss)(params)
      >>> new = jax.tree.map(lambda p, g: p - 0.1 * g, params, grads)
      >>> model.load_state_dict(new)  # write trained values back
      IncompatibleKeys(missing_keys=[], unexpected_keys=[])
    """
    if not isinstance(module, Module):
        raise TypeError(_MSG_NOT_MODULE.format(kind=type(module).__name__))

    def apply(params: Mapping[str, Any], *args: Any, **kwargs: Any) -> Any:
        parameters = _check_params(module, params)
        args = tuple(unwrap(a) for a in args)
        with swapped(parameters, params):
            return module(*args, **kwargs)

    params = {name: p.data for name, p in module.named_parameters()}
    return apply, params


def stack_params(params_list: Sequence[Mapping[str, Any]]) -> Params:
    """Stack K parameter dicts along a new leading axis (a model ensemble).

    Use with ``jax.vmap(apply, in_axes=(0, None))`` to run K models in one
    compiled program.

    Raises:
      ValueError: if the list is empty or the dicts differ in keys, shapes or
        dtypes (the first difference is named).

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> import lucid_fx
      >>> import lucid_fx.nn as nn
      >>> models = [nn.Linear(3, 2) for _ in range(4)]
      >>> apply, _ = lucid_fx.functionalize(models[0])
      >>> params = [lucid_fx.functionalize(m)[1] for m in models]
      >>> stacked = lucid_fx.stack_params(params)
      >>> stacked["weight"].shape
      (4, 2, 3)
      >>> jax.vmap(apply, in_axes=(0, None))(stacked, jnp.ones((5, 3))).shape
      (4, 5, 2)
    """
    if not params_list:
        raise ValueError("stack_params: got an empty list; pass at least one dict.")
    first = params_list[0]
    for i, params in enumerate(params_list[1:], start=1):
        if set(params) != set(first):
            raise ValueError(
                f"stack_params: dict {i} has keys {sorted(params)}, dict 0 has "
                f"{sorted(first)}; all models must share one architecture."
            )
        for key in first:
            a, b = jnp.asarray(first[key]), jnp.asarray(params[key])
            if a.shape != b.shape or a.dtype != b.dtype:
                raise ValueError(
                    f"stack_params: {key!r} is {b.dtype}{list(b.shape)} in dict {i} "
                    f"but {a.dtype}{list(a.shape)} in dict 0."
                )
    return {k: jnp.stack([jnp.asarray(p[k]) for p in params_list]) for k in first}

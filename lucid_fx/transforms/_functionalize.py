"""The bridge from a stateful Module to pure JAX: ``(apply, params)`` and back.

``params`` is a dict of JAX arrays keyed exactly like ``state_dict()``:
parameters and persistent buffers. ``apply(params, *args, key=None)`` puts
those arrays into the module's Parameters and buffers for the duration of one
pure call (as ``torch.func.functional_call`` does) and takes them out again,
so it works under ``jax.jit``, ``jax.grad``, ``jax.vmap`` and ``lax.scan``.
A module with buffers also returns their new values; a module that draws
random numbers (dropout) draws them from ``key``. Write trained values back
with ``module.load_state_dict(params)`` (``strict=False`` for tied weights).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp

from lucid_fx import random
from lucid_fx._tensor import Tensor
from lucid_fx._tensor._ops import unwrap
from lucid_fx._tensor._pending import at_top_level
from lucid_fx.nn import Module
from lucid_fx.random._generator import holding
from lucid_fx.transforms._pure_state import (
    check_key,
    check_params,
    installed,
    live_state,
    restored,
    state_names,
    transient_slots,
)

Params = dict[str, jax.Array]

_MSG_NOT_MODULE = (
    "functionalize: expected an nn.Module, got {kind}. Pass a module such as "
    "nn.Sequential(...) or your own nn.Module subclass."
)
_MSG_DREW_UNKEYED = (
    "apply: the module drew random numbers inside a JAX transformation "
    "(jax.jit, jax.grad, jax.vmap, lax.scan, ...), e.g. nn.Dropout in training "
    "mode, but no key was given: the draw would be a constant of the trace or "
    "a leaked tracer. Pass a fresh key for each call, apply(params, *args, "
    "key=jax.random.key(...)), or call model.eval() to turn dropout off."
)


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


def _is_tensor(value: Any) -> bool:
    return isinstance(value, Tensor)


def _traced(*trees: Any) -> bool:
    return any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(trees))


@contextlib.contextmanager
def drawing_probe() -> Iterator[Callable[[], bool]]:
    """Within the block, this thread draws from a generator of its own that
    starts at the global key; ``drew()`` tells whether the block drew. The
    global generator is neither advanced nor put back, so draws other threads
    make meanwhile are never taken for the block's, nor undone.

    Examples:
      >>> from lucid_fx import random
      >>> from lucid_fx.transforms._functionalize import drawing_probe
      >>> outside = random.get_rng_state()
      >>> with drawing_probe() as drew:
      ...     before = drew()
      ...     _ = random.randn(2)
      ...     after = drew()
      >>> before, after, random.get_rng_state() is outside
      (False, True, True)
    """
    start = random.get_rng_state()
    with holding(start):
        yield lambda: random.get_rng_state() is not start


@contextlib.contextmanager
def _generator(key: jax.Array | None, traced: bool) -> Iterator[None]:
    """Draws come from ``key`` if given: this thread's own generator for the
    call (``random._generator.holding``); the global one is left as it was,
    and other threads never see the key (a tracer under ``jax.jit``).

    Without a key, a draw is allowed only eagerly: under a transformation it
    would bake one mask into the program or leak a tracer into the generator,
    so the previous key is put back and the call raises.
    """
    if key is not None:
        with holding(key):
            yield
        return
    # Under a transformation (also one whose inputs are all closed over, so
    # nothing passed in is traced), every draw raises: it is taken from a
    # probe, so the global generator never holds a tracer other threads read.
    if traced or not at_top_level():
        with drawing_probe() as drew:
            yield
            drew_traced = drew()
        if drew_traced:
            raise ValueError(_MSG_DREW_UNKEYED)
        return
    before = random.get_rng_state()
    drew_traced = False
    try:
        yield
    finally:
        after = random.get_rng_state()
        if after is not before and (traced or isinstance(after, jax.core.Tracer)):
            random.set_rng_state(before)
            drew_traced = True
    if drew_traced:
        raise ValueError(_MSG_DREW_UNKEYED)


def functionalize(module: Module) -> tuple[Callable[..., Any], Params]:
    """Split a module into a pure ``apply`` function and its state.

    ``apply(params, *args, key=None, **kwargs)`` runs the module's forward
    purely on JAX arrays: for the call, each Parameter and buffer holds the
    array of its name in ``params``; afterwards (also when the forward raises)
    they hold their own arrays again, never a tracer. Configs (such as each
    LeakyReLU's slope) and train/eval mode are read when ``apply`` is traced:
    they are static parts of a jitted ``apply``.

    Buffers (BatchNorm's ``running_mean``, ``running_var``,
    ``num_batches_tracked``) are state, not constants: they are in ``params``,
    and ``apply`` of a module that has any returns ``(output, new_buffers)``,
    the buffers' values after the call keyed like ``params`` (in training the
    updated running statistics; in ``eval()`` the values passed in). The
    return form depends only on whether the module has buffers, fixed when
    ``functionalize`` is called. To differentiate, split the trainable
    parameters (``model.named_parameters()``) from the buffers: the integer
    ``num_batches_tracked`` has no gradient (second example).

    A Parameter shared under several names (tied weights, ``b.weight =
    a.weight``) is one entry of ``params``, under its first name, so its
    gradient is the sum over all its uses, as in PyTorch. Write such a model's
    values back with ``model.load_state_dict(params, strict=False)``: like
    PyTorch's, a strict load wants every ``state_dict()`` name and raises for
    the missing aliases. The shared Parameter gets its value through its first
    name; the result's ``missing_keys`` lists the aliases
    (``set(model.state_dict()) - set(params)``) and nothing else; see the
    example under "Functionalize: tied weights" in the transforms docs.

    Randomness (``nn.Dropout`` in training) comes from ``key``, a typed JAX
    PRNG key (``jax.random.key(n)``): the forward draws from it as from the
    global generator after ``lucid_fx.random.set_rng_state(key)``, and the
    global generator is left as it was. Pass a new key per step (split one, or
    ``jax.random.fold_in(key, step)``); vmap over keys for several masks.
    Without a key, an eager call draws from the global generator, and a draw
    under a JAX transformation raises ``ValueError``.

    Args:
      module: any ``nn.Module``.

    Returns:
      ``(apply, params)``. ``params`` maps each ``state_dict()`` key (a
      Parameter or buffer shared under several names: its first name) to its
      JAX array. ``apply(params, *args, key=None, **kwargs)`` takes the
      complete ``params`` (same keys and shapes), the forward's arguments
      (Tensors are unwrapped) and ``key``, the keyword reserved for
      randomness; it returns the forward's output, or ``(output,
      new_buffers)`` when the module has buffers.

    Raises:
      TypeError: if ``module`` is not a Module. ``apply`` raises TypeError for
        params that are not a dict or a key that is not a typed PRNG key,
        KeyError for missing or extra names, ValueError for wrong shapes and
        for random draws under a transformation without ``key``.

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

      BatchNorm's running statistics come back as new buffers, and dropout
      draws from ``key``:

      >>> model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2), nn.Dropout(0.5))
      >>> apply, state = lucid_fx.functionalize(model)
      >>> list(state)[4:]
      ['1.running_mean', '1.running_var', '1.num_batches_tracked']
      >>> trainable = dict(model.named_parameters())
      >>> params = {k: v for k, v in state.items() if k in trainable}
      >>> buffers = {k: v for k, v in state.items() if k not in trainable}
      >>> def loss_fn(params, buffers, x, key):
      ...     out, buffers = apply({**params, **buffers}, x, key=key)
      ...     return (out**2).mean(), buffers
      >>> @jax.jit
      ... def step(params, buffers, x, key):
      ...     grad_fn = jax.grad(loss_fn, has_aux=True)
      ...     grads, buffers = grad_fn(params, buffers, x, key)
      ...     params = jax.tree.map(lambda p, g: p - 0.1 * g, params, grads)
      ...     return params, buffers
      >>> x = jnp.arange(12.0).reshape(4, 3)
      >>> for i in range(3):
      ...     params, buffers = step(params, buffers, x, jax.random.key(i))
      >>> int(buffers["1.num_batches_tracked"])
      3
      >>> model[1].num_batches_tracked.item()  # the module is untouched
      0
      >>> _ = model.load_state_dict({**params, **buffers})
      >>> model[1].num_batches_tracked.item()
      3
    """
    if not isinstance(module, Module):
        raise TypeError(_MSG_NOT_MODULE.format(kind=type(module).__name__))
    parameters, buffers = live_state(module)
    has_buffers = bool(buffers)

    def apply(
        params: Mapping[str, Any],
        *args: Any,
        key: jax.Array | None = None,
        **kwargs: Any,
    ) -> Any:
        parameters, buffers = live_state(module)
        check_params(parameters, buffers, params)
        check_key(key)
        args = tuple(unwrap(a) for a in args)
        traced = _traced(params, args, kwargs)
        with (
            _generator(key, traced),
            restored(transient_slots(module)),
            installed(parameters, buffers, params) as read,
        ):
            # A Tensor made inside the forward (lucid_fx.zeros, changed in
            # place) is returned as its array, as every other output is.
            out = jax.tree.map(unwrap, module(*args, **kwargs), is_leaf=_is_tensor)
            new_buffers = read()
        return (out, new_buffers) if has_buffers else out

    arrays = {name: t.data for name, t in parameters.items()}
    arrays.update((name, reg[attr].data) for name, (reg, attr) in buffers.items())
    return apply, {name: arrays[name] for name in state_names(module, arrays)}


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

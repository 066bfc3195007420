"""Device names as PyTorch users write them, resolved to JAX devices."""

from __future__ import annotations

from typing import Any, TypeAlias

import jax

DeviceLike: TypeAlias = "str | jax.Device"

_ALIASES = {"cpu": "cpu", "gpu": "gpu", "cuda": "gpu", "tpu": "tpu"}

_MSG_KIND = (
    "device: expected 'cpu', 'gpu' (or 'cuda'), 'tpu', an index like 'gpu:1', "
    "or a jax.Device; got {spec!r}."
)
_MSG_MISSING = "device: {spec!r} is not present. Devices here: {present}."


def devices() -> list[jax.Device]:
    """Every device JAX can use here (all backends' defaults first).

    Examples:
      >>> import lucid_fx
      >>> lucid_fx.devices()[0].platform in ("cpu", "gpu", "tpu")
      True
    """
    return list(jax.devices())


def default_device() -> jax.Device:
    """Where new Tensors go: JAX's default device (its default backend's first).

    Examples:
      >>> import lucid_fx
      >>> lucid_fx.default_device() == lucid_fx.devices()[0]
      True
    """
    configured = jax.config.jax_default_device
    if isinstance(configured, jax.Device):
        return configured
    if isinstance(configured, str):
        return resolve(configured)
    return jax.devices()[0]


def _present() -> str:
    found = []
    for backend in ("cpu", "gpu", "tpu"):
        try:
            found += [f"{backend}:{i}" for i in range(len(jax.devices(backend)))]
        except RuntimeError:
            continue
    return ", ".join(found)


def resolve(spec: Any) -> jax.Device:
    """A ``jax.Device`` for ``"cpu"``, ``"gpu"``/``"cuda"``, ``"tpu"``,
    ``"gpu:1"`` or a ``jax.Device``.

    Raises:
      ValueError: for a string that names no kind of device.
      RuntimeError: for a device that is not present (lists those that are).

    Examples:
      >>> import jax
      >>> from lucid_fx._tensor import resolve
      >>> resolve("CPU:0") == jax.devices("cpu")[0]
      True
      >>> resolve("npu")
      Traceback (most recent call last):
      ...
      ValueError: device: expected 'cpu', 'gpu' (or 'cuda'), ... got 'npu'.
    """
    if isinstance(spec, jax.Device):
        return spec
    if not isinstance(spec, str):
        raise TypeError(_MSG_KIND.format(spec=spec))
    kind, _, index = spec.strip().lower().partition(":")
    if kind not in _ALIASES or (index and not index.isdigit()):
        raise ValueError(_MSG_KIND.format(spec=spec))
    try:
        found = jax.devices(_ALIASES[kind])
    except RuntimeError:
        found = []
    position = int(index) if index else 0
    if position >= len(found):
        raise RuntimeError(_MSG_MISSING.format(spec=spec, present=_present()))
    return found[position]


def put(array: jax.Array, target: jax.Device, *, fresh: bool = False) -> jax.Array:
    """``array`` placed on ``target``, never as a second Array over its buffer.

    ``jax.device_put`` to the device an uncommitted array already lives on
    returns a new Array object sharing the old one's buffer. Donating either
    then deletes both, which the donation rule's holder counts cannot see (a
    ``w = p.data`` kept by a user would be deleted by the next step). So an
    array already committed to ``target`` is returned as it is (as PyTorch's
    ``.to`` returns the tensor itself), one uncommitted there is copied unless
    ``fresh`` (the caller made it and holds it alone), and one elsewhere is
    transferred (a buffer of its own).

    Examples:
      >>> import jax, jax.numpy as jnp
      >>> from lucid_fx._tensor._device import put
      >>> cpu = jax.devices("cpu")[0]
      >>> held = jnp.ones(2)
      >>> moved = put(held, cpu)
      >>> moved.committed, moved.unsafe_buffer_pointer() != held.unsafe_buffer_pointer()
      (True, True)
      >>> put(moved, cpu) is moved
      True
    """
    if array.devices() == {target}:
        if array.committed:
            return array
        return jax.device_put(array, target, may_alias=fresh)
    return jax.device_put(array, target)


def describe(array: Any) -> str:
    """A short name for where an array lives (``cpu:0``, or its sharding)."""
    placed = array.devices()
    if len(placed) == 1:
        device = next(iter(placed))
        return f"{device.platform}:{device.id}"
    return str(array.sharding)

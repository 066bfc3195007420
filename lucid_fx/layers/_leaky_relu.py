"""The pure ``LeakyReLU`` layer: a frozen config that is also a pytree."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import numpy as np

from lucid_fx import _validate
from lucid_fx._typing import Array, ArrayLike
from lucid_fx.functional import leaky_relu

_API = "LeakyReLU"


@dataclasses.dataclass(frozen=True, eq=False)
class LeakyReLU:
    r"""Frozen configuration of a leaky ReLU layer; calling it applies the layer.

    .. math::

        y = \begin{cases} x & x > 0 \\ \alpha x & \text{otherwise} \end{cases}
        \qquad
        \frac{\partial y}{\partial x} =
        \begin{cases} 1 & x > 0 \\ \alpha & \text{otherwise} \end{cases}

    with :math:`\alpha` = ``negative_slope`` (gradient ``negative_slope`` at
    ``x == 0``). See :func:`lucid_fx.functional.leaky_relu` for dtypes and
    rounding.

    The config is a pytree whose only leaf is ``negative_slope``. Configs are
    equal and hash alike when their slopes have the same value: a Python float
    slope by its value, a concrete array slope by its shape, dtype and
    elements (a float and an array slope are never equal). So a config can be
    closed over or passed as a static argument, and with an array slope
    (stacked configs) it can be vmapped, e.g. to sweep slopes in one compiled
    program. A config whose slope is a tracer (inside ``jit``/``vmap``) is
    equal only to itself and is not hashable.

    When ``flax`` is importable the config is registered with
    ``flax.serialization`` (state ``{"negative_slope": ...}``); with orbax or
    equinox, save it as the pytree it is.

    Args:
      negative_slope: slope where ``x <= 0``; a finite number, or a real array
        (per-channel slopes, or one slope per vmapped model). ``-0.0`` is
        stored as ``0.0``. Default ``0.01``.

    Raises:
      TypeError: if ``negative_slope`` is not a real number or array.
      ValueError: if a concrete ``negative_slope`` is NaN or infinite.

    Examples:
      >>> import jax
      >>> import jax.numpy as jnp
      >>> from lucid_fx.layers import LeakyReLU
      >>> act = LeakyReLU(negative_slope=0.25)
      >>> act
      LeakyReLU(negative_slope=0.25)
      >>> act(jnp.array([-2.0, 0.0, 3.0])).tolist()
      [-0.5, 0.0, 3.0]
      >>> act == LeakyReLU(0.25), hash(act) == hash(LeakyReLU(0.25))
      (True, True)
      >>> sweep = LeakyReLU(jnp.array([0.0, 0.5]))
      >>> sweep == LeakyReLU(jnp.array([0.0, 0.5])), sweep == act
      (True, False)
      >>> x = jnp.array([-2.0, 4.0])
      >>> jax.vmap(lambda cfg: cfg(x))(sweep).tolist()
      [[-0.0, 4.0], [-1.0, 4.0]]
    """

    negative_slope: float | Array = 0.01

    def __post_init__(self) -> None:
        value = self.negative_slope
        if _validate.is_python_scalar(value):
            value = _validate.check_slope_number(value, _API)
        else:
            value = _validate.check_slope_array(value, _API)
        object.__setattr__(self, "negative_slope", value)

    def __call__(self, x: ArrayLike) -> Array:
        """Apply :func:`lucid_fx.functional.leaky_relu` with this slope."""
        return leaky_relu(x, self.negative_slope)

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return _value_key(self.negative_slope) == _value_key(other.negative_slope)

    def __hash__(self) -> int:
        if isinstance(self.negative_slope, jax.core.Tracer):
            raise TypeError(
                "LeakyReLU: a config whose negative_slope is a traced value (inside "
                "jit, vmap or grad) is not hashable. Hash a config with a concrete "
                "slope, or pass the traced config as a regular (pytree) argument."
            )
        return hash(_value_key(self.negative_slope))


def _value_key(slope: Any) -> tuple:
    """What config equality compares: the slope's value, not its identity."""
    if isinstance(slope, float):
        return ("float", slope)
    if isinstance(slope, jax.Array | np.ndarray) and not isinstance(
        slope, jax.core.Tracer
    ):
        array = np.asarray(slope)
        return ("array", array.shape, array.dtype.str, array.tobytes())
    return ("object", id(slope))  # tracers, and JAX's placeholder leaves


def _flatten(config: LeakyReLU) -> tuple[tuple[object], None]:
    return (config.negative_slope,), None


def _unflatten(_: None, leaves: tuple[object]) -> LeakyReLU:
    # JAX rebuilds pytrees with tracers, None or sentinel leaves (vmap axes,
    # tree maps); skip __post_init__'s validation, as equinox does.
    config = object.__new__(LeakyReLU)
    object.__setattr__(config, "negative_slope", leaves[0])
    return config


jax.tree_util.register_pytree_node(LeakyReLU, _flatten, _unflatten)


def _to_state_dict(config: LeakyReLU) -> dict[str, Any]:
    return {"negative_slope": config.negative_slope}


def _from_state_dict(config: LeakyReLU, state: dict[str, Any]) -> LeakyReLU:
    return LeakyReLU(state.get("negative_slope", config.negative_slope))


try:  # flax is optional: register only where it is installed
    import flax.serialization as _flax_serialization
except ImportError:
    pass
else:  # pragma: no cover (flax is not in the test environment)
    _flax_serialization.register_serialization_state(
        LeakyReLU, _to_state_dict, _from_state_dict
    )

"""JAX settings read on hot paths, as JAX's own config states.

``STATE.value`` is what ``jax.config.jax_...`` returns (the thread's ``with``
context first, else the global value) without the config object's property
lookup (~0.1 us a read less): generators and random draws key their pools on
the default device and x64, and donation is off while JAX re-runs programs to
find NaNs or infs.
"""

from __future__ import annotations

from typing import Any

import jax

try:
    from jax._src.config import debug_infs as DEBUG_INFS
    from jax._src.config import debug_nans as DEBUG_NANS
    from jax._src.config import default_device as DEFAULT_DEVICE
    from jax._src.config import enable_x64 as ENABLE_X64

    DEFAULT_DEVICE.value, ENABLE_X64.value  # noqa: B018  (fail here, not on a call)
    DEBUG_NANS.value, DEBUG_INFS.value  # noqa: B018
except (ImportError, AttributeError):  # pragma: no cover - other JAX versions

    class _Read:
        def __init__(self, name: str):
            self.name = name

        @property
        def value(self) -> Any:
            return getattr(jax.config, self.name)

    DEFAULT_DEVICE = _Read("jax_default_device")
    ENABLE_X64 = _Read("jax_enable_x64")
    DEBUG_NANS = _Read("jax_debug_nans")
    DEBUG_INFS = _Read("jax_debug_infs")

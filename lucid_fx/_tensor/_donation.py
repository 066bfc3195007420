"""The one donation rule, and steps that are all or nothing.

Donating a buffer to XLA lets a program write its result in place, and deletes
the buffer for everyone else. lucid_fx donates a buffer only when the library
is its sole owner: exactly one Tensor (or one optimizer state slot) holds the
``jax.Array`` object and nothing else does. Anything a user can still reach (a
``w = p.data`` alias, ``Tensor(p.data)``, the array passed to
``nn.Parameter(arr)``, the params returned by ``functionalize``) keeps a
reference of its own, so it is never donated.

A step that replaces state (an optimizer update, a compiled training step) runs
its install under :func:`deferred_interrupts`: a Ctrl-C that arrives while old
buffers are being swapped for new ones is held until the swap is complete, so
the state is always either all old or all new.
"""

from __future__ import annotations

import _signal
import signal
import sys
import threading
from typing import Any

from lucid_fx._tensor._config import DEBUG_INFS, DEBUG_NANS

# References that are not owners: getrefcount's argument and donatable's own.
_CALL_REFS = 2


def donatable(array: Any, holders: int = 1) -> bool:
    """Whether ``array`` may be donated: held by ``holders`` library slots and
    nothing else. Call it as ``donatable(t.data)``: a local variable of the
    caller holding the array counts as one more holder. Never while JAX's
    ``jax_debug_nans`` or ``jax_debug_infs`` is on: JAX then re-runs a
    program that made a NaN on its inputs, which must still exist.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx._tensor._donation import donatable
      >>> class Box:
      ...     pass
      >>> box = Box()
      >>> box.data = jnp.zeros(3)
      >>> donatable(box.data)
      True
      >>> alias = box.data
      >>> donatable(box.data)
      False
    """
    if DEBUG_NANS.value or DEBUG_INFS.value:
        return False
    return sys.getrefcount(array) <= _CALL_REFS + holders


def sole(items: list[Any]) -> list[bool]:
    """For each item of the list ``items``, whether it may be donated: held by
    one library slot besides the list, and nothing else. :func:`donatable`
    for a whole step's slots in one C-level pass (``None`` is never sole).

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx._tensor._donation import sole
      >>> class Box:
      ...     pass
      >>> a, b = Box(), Box()
      >>> a.data, b.data = jnp.zeros(2), jnp.ones(2)
      >>> alias = b.data
      >>> sole([a.data, b.data, None])
      [True, False, False]
    """
    if DEBUG_NANS.value or DEBUG_INFS.value:
        return [False] * len(items)
    return list(map(_SOLE_REFS.__ge__, map(sys.getrefcount, items)))


# References to a sole item while ``sole`` counts: its slot, the list, and
# getrefcount's argument.
_SOLE_REFS = 3


class deferred_interrupts:  # noqa: N801 - used like a function, as contextlib's
    """Hold SIGINT (Ctrl-C) until the block ends, then raise it.

    Only the main thread receives signals; elsewhere (and when a handler other
    than Python's default is installed) the block runs unchanged. Entered at
    every compiled step, so it is kept to three C-level ``signal`` calls.

    Examples:
      >>> from lucid_fx._tensor._donation import deferred_interrupts
      >>> with deferred_interrupts():
      ...     installed = True
      >>> installed
      True
    """

    __slots__ = ("_previous",)

    def __enter__(self) -> None:
        self._previous = None
        if threading.get_ident() != _MAIN:
            return
        # Nested in another block, or a handler of the user's: leave it be.
        if _signal.getsignal(_SIGINT) is not signal.default_int_handler:
            return
        # Cleared before _hold goes in: a Ctrl-C held between the two would
        # be dropped (the block would run on and never raise it). Only the
        # main thread sets handlers, so none changes between the two calls.
        _HELD.clear()
        self._previous = _signal.signal(_SIGINT, _hold)

    def __exit__(self, *exc: object) -> None:
        if self._previous is None:
            return
        _signal.signal(_SIGINT, self._previous)
        if _HELD:
            _HELD.clear()
            # Raised even when the block failed: the user's Ctrl-C wins, and
            # the block's own error stays attached as its context.
            raise KeyboardInterrupt


_MAIN = threading.main_thread().ident
_SIGINT = int(signal.SIGINT)
_HELD: list[int] = []


def _hold(signum: int, frame: Any) -> None:
    _HELD.append(signum)

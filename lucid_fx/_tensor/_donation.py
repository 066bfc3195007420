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

import contextlib
import signal
import sys
import threading
from collections.abc import Iterator
from typing import Any

try:  # the C module: signal.signal/getsignal wrap enums, ~19 us per step
    import _signal as _sig
except ImportError:  # pragma: no cover - other Pythons
    _sig = signal  # type: ignore[assignment]

# References that are not owners: getrefcount's argument and donatable's own.
_CALL_REFS = 2


def donatable(array: Any, holders: int = 1) -> bool:
    """Whether ``array`` may be donated: held by ``holders`` library slots and
    nothing else. Call it as ``donatable(t.data)``: a local variable of the
    caller holding the array counts as one more holder.

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
    return sys.getrefcount(array) <= _CALL_REFS + holders


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold SIGINT (Ctrl-C) until the block ends, then raise it.

    Only the main thread receives signals; elsewhere (and when a handler other
    than Python's default is installed) the block runs unchanged.

    Examples:
      >>> from lucid_fx._tensor._donation import deferred_interrupts
      >>> with deferred_interrupts():
      ...     installed = True
      >>> installed
      True
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = _sig.getsignal(signal.SIGINT)
    if previous is not signal.default_int_handler:
        yield
        return
    received: list[Any] = []
    _sig.signal(signal.SIGINT, lambda signum, frame: received.append(frame))
    try:
        yield
    finally:
        _sig.signal(signal.SIGINT, previous)
        if received:
            # Raised even when the block failed: the user's Ctrl-C wins, and
            # the block's own error stays attached as its context.
            raise KeyboardInterrupt

"""Grad mode: whether eager ops record the tape, skip it, or run purely.

One context variable, read once per eager op: ``RECORD`` (the tape is on),
``NO_GRAD`` (inside :class:`no_grad`) or ``PURE`` (a Module called with plain
arrays: ops run the pure function on arrays, tracers welcome). A context
variable, so each thread and each asyncio task has its own mode.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

RECORD, NO_GRAD, PURE = 0, 1, 2
MODE = contextvars.ContextVar("lucid_fx_mode", default=RECORD)


def is_grad_enabled() -> bool:
    """Whether ops record the tape (False inside ``no_grad``).

    Examples:
      >>> from lucid_fx import no_grad
      >>> from lucid_fx._tensor import is_grad_enabled
      >>> with no_grad():
      ...     inside = is_grad_enabled()
      >>> is_grad_enabled(), inside
      (True, False)
    """
    return MODE.get() == RECORD


def is_pure() -> bool:
    """Whether ops run purely on raw arrays (inside a Module called with arrays)."""
    return MODE.get() == PURE


class no_grad(contextlib.ContextDecorator):
    """Context manager and decorator that stops ops from recording the tape.

    The mode in force before is restored on exit, also after an error. As a
    decorator each call enters a fresh manager (as PyTorch's), so a recursive
    or concurrently called function works; one instance may also be entered
    again while active (its entries are restored in reverse order).

    Examples:
      >>> from lucid_fx import Tensor, no_grad
      >>> x = Tensor([1.0, 2.0], requires_grad=True)
      >>> with no_grad():
      ...     y = x * 2.0
      >>> y.requires_grad
      False
      >>> @no_grad()
      ... def depth(n):
      ...     return depth(n - 1) if n else (x * 2.0).requires_grad
      >>> depth(3), (x * 2.0).requires_grad
      (False, True)
    """

    def __init__(self) -> None:
        self._tokens: list[contextvars.Token] = []

    def _recreate_cm(self) -> no_grad:
        return type(self)()  # one manager per decorated call

    def __enter__(self) -> no_grad:
        mode = max(MODE.get(), NO_GRAD)  # pure stays pure
        self._tokens.append(MODE.set(mode))
        return self

    def __exit__(self, *exc: object) -> None:
        MODE.reset(self._tokens.pop())


@contextlib.contextmanager
def pure_mode() -> Iterator[None]:
    """Run ops on raw arrays with no tape (tracers welcome)."""
    token = MODE.set(PURE)
    try:
        yield
    finally:
        MODE.reset(token)

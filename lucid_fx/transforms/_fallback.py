"""The eager fallback of ``lucid_fx.compile``: when a step cannot be traced.

Python control flow on tensor values (``if loss.item() > 1:``) cannot become
part of one XLA program, nor can a traced Python number argument that an API
needs as a Python value (``F.dropout(x, p)`` with ``p`` an argument of the
step: :class:`lucid_fx._validate.TracedArgumentError`). The compiled function
or module then runs eagerly from that call on, with one warning naming the
error.
"""

from __future__ import annotations

import warnings

import jax

from lucid_fx._validate import TracedArgumentError

UNTRACEABLE = (
    jax.errors.ConcretizationTypeError,
    TracedArgumentError,  # a traced number where an API needs a Python value
    jax.errors.TracerArrayConversionError,
    jax.errors.TracerIntegerConversionError,
)
_MSG_FALLBACK = (
    "lucid_fx.compile: {name} uses Python control flow on tensor values, or "
    "needs a Python number argument (traced) as a Python value, and cannot be "
    "traced into one XLA program ({error}). Falling back to the eager "
    "path for it; results are the same, only slower. This call ran its Python "
    "up to that point once while tracing, then the whole function eagerly; "
    "later calls run it eagerly, once. If the value is a Python number "
    "argument, mark it static: lucid_fx.compile(fn, static_argnames=(...))."
)


_MSG_CAUGHT = (
    "lucid_fx.compile: while tracing {name}, {api} asked for a traced tensor's "
    "value; JAX raised and {name} caught the error, so the compiled program "
    "was built from the except branch, taken once at trace time (later calls "
    "run the program, not the Python). Move that check out of the compiled "
    "function, or pass the value as a static argument."
)


_MSG_PYTHON_STATE = (
    "lucid_fx.compile: {name} changed the {what} while it was traced (e.g. "
    "model.eval() or scheduler.step() inside the compiled function). That "
    "Python code runs only when the step is traced, not at every call, so the "
    "change is not repeated. Make it outside the compiled function, e.g. "
    "call scheduler.step() after each call of the compiled step."
)


_MSG_CONSTANTS = (
    "lucid_fx.compile: {name} reads {what} that is neither one of its "
    "arguments nor a Parameter or registered buffer of one (a closure "
    "variable, or a plain module attribute): its value was baked into the "
    "compiled program when it was traced, and later changes to it are not "
    "seen. Pass it as an argument, or register it as a buffer."
)


def warn_constants(name: str, what: list[str]) -> None:
    """Warn (at the user's call that traced it) that the traced function read
    tensors from outside its state, which became constants of the program."""
    more = f" (and {len(what) - 1} more)" if len(what) > 1 else ""
    warnings.warn(
        _MSG_CONSTANTS.format(name=name, what=what[0] + more), RuntimeWarning, 3
    )


def warn_python_state(name: str, what: list[str]) -> None:
    """Warn (at the user's call that traced it) that the traced function
    changed state that only Python holds (module modes, optimizer options)."""
    warnings.warn(
        _MSG_PYTHON_STATE.format(name=name, what=" and the ".join(what)),
        RuntimeWarning,
        3,
    )


def warn_caught(name: str, reads: list[str]) -> None:
    """Warn (at the user's call that traced it) that the function caught the
    error of a host read of a traced tensor."""
    warnings.warn(_MSG_CAUGHT.format(name=name, api=reads[0]), RuntimeWarning, 3)


def warn_fallback(name: str, error: Exception) -> None:
    """Warn (at the user's call) that ``name`` runs eagerly because of ``error``."""
    text = str(error).strip()
    first_line = text.splitlines()[0].rstrip(".") if text else ""
    warnings.warn(
        _MSG_FALLBACK.format(name=name, error=type(error).__name__ + ": " + first_line),
        RuntimeWarning,
        stacklevel=3,
    )

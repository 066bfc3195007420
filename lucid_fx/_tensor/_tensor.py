"""Tensor: an eager array with an autograd tape, as in lucid and PyTorch."""

from __future__ import annotations

import copy
import operator
import sys
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from itertools import repeat
from typing import Any
from weakref import getweakrefcount

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._tensor import _checks, _device, _format, _math, _ops, _tape
from lucid_fx._tensor._convert import is_float, operand, snapshot, to_array
from lucid_fx._tensor._operators import TensorOperators
from lucid_fx._tensor._pending import Pending, resolve
from lucid_fx._typing import DTypeLike

_MSG_INT_GRAD = (
    "Tensor: only floating tensors can require gradients, got requires_grad=True "
    "with dtype {dtype}. Pass float data or dtype=jnp.float32."
)
_MSG_NO_GRAD = (
    "backward: this tensor does not require grad and has no graph. Create its "
    "inputs with requires_grad=True (and outside no_grad()) to backpropagate."
)
_MSG_GRAD_SHAPE = (
    "backward: gradient has shape {got} but the tensor has shape {want}. Pass a "
    "gradient of the tensor's shape, or none to seed with ones."
)
_MSG_GRAD_DTYPE = (
    "backward: gradient must be floating, got dtype {dtype}. Pass a float "
    "gradient, e.g. Tensor.ones_like(t)."
)
_MSG_GRAD_ASSIGN = (
    "Tensor.grad: expected None or a floating array of shape {want}, got {got}. "
    "Assign None to clear, or a float array of the tensor's shape."
)


class _Probe:
    def refs(self) -> int:
        return sys.getrefcount(self)


# References to a tensor inside its backward() called on a temporary, as in
# ``loss_fn(out, y).backward()`` (measured in the same call's shape, not
# assumed): the method's own and getrefcount's argument. Nobody can read that
# tensor's value afterwards, so a deferred one is not computed out.
_TEMPORARY_REFS = _Probe().refs()

# Default backward seeds, one per (shape, dtype); cleared past MAX_SEEDS.
MAX_SEEDS = 64
_ONES: dict[tuple[tuple[int, ...], Any], jax.Array] = {}


def _ones(shape: tuple[int, ...], dtype: Any) -> jax.Array:
    """The default backward seed, cached per shape and dtype (eager only)."""
    key = (shape, dtype)
    ones = _ONES.get(key)
    if ones is None:
        ones = jnp.ones(shape, dtype)
        # Inside a lucid_fx.compile trace this is a tracer: never cache it.
        if not isinstance(ones, jax.core.Tracer):
            if len(_ONES) >= MAX_SEEDS:
                _ONES.clear()
            _ONES[key] = ones
    return ones


_MSG_DATA_TYPE = (
    "{api}: expected a Tensor, JAX or NumPy array, got {kind}. Wrap it first, "
    "e.g. t.data = jnp.asarray(value)."
)
_MSG_DATA_SHAPE = (
    "{api}: expected an array of shape {want}, got shape {got}. Assigning data "
    "never changes a tensor's shape; create a new Tensor instead."
)
_MSG_DATA_DTYPE = (
    "{api}: expected {want_kind} data for a {want} tensor, got dtype {got}. "
    "Convert it first, e.g. value.astype({want})."
)
_MSG_INPLACE_LEAF = (
    "{name}: a leaf tensor that requires grad cannot be modified in place (its "
    "gradient would refer to a value that no longer exists). Modify it under "
    "lucid_fx.no_grad(), or assign t.data."
)
_MSG_INPLACE_CAST = (
    "{name}: the result type {got} can't be cast to the tensor's dtype {want} "
    "in place (PyTorch's rule). Use the out-of-place operator instead."
)
_MSG_INPLACE_SHAPE = (
    "{name}: an operand of shape {other} does not broadcast to the tensor's "
    "shape {want}; an in-place op never changes the shape."
)


def _kind(dtype: Any) -> str:
    if is_float(dtype):
        return "floating"
    return "boolean" if dtype == np.bool_ else "integer"


def _checked_data(value: Any, current: jax.Array, api: str) -> jax.Array:
    """``value`` as new data for a tensor now holding ``current``, or a clear
    error (TypeError / ValueError) before anything changes."""
    if isinstance(value, Tensor):
        value = value.data
    if not isinstance(value, jax.Array):
        if not isinstance(value, np.ndarray):
            raise TypeError(_MSG_DATA_TYPE.format(api=api, kind=_type_name(value)))
        if value.shape == current.shape and _kind(value.dtype) == _kind(current.dtype):
            return snapshot(value, current.dtype)  # NumPy: take this dtype
    if value.shape != current.shape:
        raise ValueError(
            _MSG_DATA_SHAPE.format(
                api=api, want=tuple(current.shape), got=tuple(value.shape)
            )
        )
    if _kind(value.dtype) != _kind(current.dtype):
        raise TypeError(
            _MSG_DATA_DTYPE.format(
                api=api,
                want_kind=_kind(current.dtype),
                want=current.dtype,
                got=value.dtype,
            )
        )
    return value


def _type_name(value: Any) -> str:
    kind = type(value)
    module = kind.__module__
    name = (
        kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"
    )
    return f"{name} {value!r:.60}"


class Tensor(TensorOperators):
    r"""An eager array with autograd: lucid's ``Tensor`` on XLA.

    Every op runs a pre-compiled XLA program and, when an input requires grad,
    records itself on a tape; :meth:`backward` walks that tape and accumulates
    :math:`\partial \text{out} / \partial \text{leaf}` into each leaf's ``grad``.

    Args:
      data: a number, nested lists of numbers, a Tensor, or a NumPy, JAX or
        PyTorch (CPU) array. Python numbers and lists become float32 (lucid's
        default; Python bools stay bool); arrays keep their dtype, except
        float64 without ``jax_enable_x64``, which becomes float32 with a
        :class:`~lucid_fx.Float64Warning`.
      requires_grad: record ops on this tensor for :meth:`backward`; only for
        floating dtypes. Default ``False``.
      keep_grad: keep this tensor's ``grad`` after backward even when it is
        not a leaf (lucid's flag). Default ``False``.
      dtype: convert the data to this dtype. Default: inferred.
      device: ``"cpu"``, ``"gpu"`` (or ``"cuda"``), ``"tpu"``, ``"gpu:1"`` or a
        ``jax.Device``. Default: JAX's default device.

    Raises:
      TypeError: for non-numeric data (naming its type and module), or
        ``requires_grad=True`` on a non-floating dtype.
      OverflowError: for integer values out of range for the target dtype.
      ValueError: for ragged nested lists or an unknown device name.
      RuntimeError: for a device that is not present.

    Examples:
      >>> from lucid_fx import Tensor
      >>> x = Tensor([[-1.0, 2.0]], requires_grad=True)
      >>> y = (x * x).sum()
      >>> y
      Tensor(5.0, grad=None)
      >>> y.backward()
      >>> x.grad
      Tensor([[-2.0, 4.0]])
    """

    __slots__ = (
        "_data",
        "_requires_grad",
        "keep_grad",
        "_grad",
        "_node",
        "_birth",
        "_version",
        "__weakref__",
    )
    __array_ufunc__ = None  # numpy defers to our reflected operators

    def __init__(
        self,
        data: Any,
        requires_grad: bool = False,
        keep_grad: bool = False,
        dtype: DTypeLike | None = None,
        device: _device.DeviceLike | None = None,
    ) -> None:
        _checks.flags("Tensor", requires_grad, keep_grad)
        given = _ops.unwrap(data)
        array = to_array(given, dtype)
        if device is not None:
            array = _device.put(
                array, _device.resolve(device), fresh=array is not given
            )
        if requires_grad and not is_float(array.dtype):
            raise TypeError(_MSG_INT_GRAD.format(dtype=array.dtype))
        self._data: jax.Array = array
        self._requires_grad = requires_grad
        self.keep_grad = keep_grad
        self._grad: Tensor | None = None
        self._node: _tape.Node | None = None
        self._birth = _tape.stamp()
        self._version = 0  # in-place changes so far, as PyTorch's Tensor._version

    def __deepcopy__(self, memo: dict[int, Any]) -> Tensor:
        """A copy of a leaf: its values, flags and ``grad`` (PyTorch's rule).

        A result of recorded ops raises ``RuntimeError``, as in PyTorch: a
        copy of its graph would send gradients to hidden copies of the
        leaves. Copy ``t.detach()`` instead.
        """
        if self._node is not None:
            raise RuntimeError(_MSG_DEEPCOPY)
        new = type(self)._wrap(copy.deepcopy(self.data, memo))
        memo[id(self)] = new
        new._requires_grad = self._requires_grad
        new.keep_grad = self.keep_grad
        new._grad = copy.deepcopy(self._grad, memo)
        if hasattr(self, "__dict__"):  # a subclass's own attributes
            new.__dict__.update(copy.deepcopy(self.__dict__, memo))
        return new

    def __getstate__(self) -> dict[str, Any]:
        """What ``pickle`` keeps: the values and flags, as PyTorch does (not
        ``grad``, not the graph: a result of recorded ops loads as a leaf),
        and a subclass's own attributes."""
        return {
            "data": self.data,
            "requires_grad": self._requires_grad,
            "keep_grad": self.keep_grad,
            "attributes": getattr(self, "__dict__", {}),
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        fresh = Tensor._wrap(state["data"])
        for name in ("_data", "_grad", "_node", "_birth", "_version"):
            setattr(self, name, getattr(fresh, name))
        self._requires_grad = state["requires_grad"]
        self.keep_grad = state["keep_grad"]
        if state.get("attributes"):
            self.__dict__.update(state["attributes"])

    @classmethod
    def _wrap(cls, array: jax.Array, node: _tape.Node | None = None) -> Tensor:
        """Wrap an op's output without re-validating it."""
        out = object.__new__(cls)
        out._data = array  # the op's own output: no setter checks
        out._requires_grad = node is not None
        out.keep_grad = False
        out._grad = None
        out._node = node
        out._birth = _tape.stamp()
        out._version = 0
        return out

    # ----------------------------------------------------------- properties
    @property
    def data(self) -> jax.Array:
        """The JAX array holding the values.

        Assigning replaces the values of this Tensor (every reference sees the
        change; the tape is not touched, as in PyTorch). The new value may be a
        Tensor (unwrapped), a JAX or NumPy array, of this tensor's shape and of
        the same kind of dtype (a float tensor takes any float width). So
        lucid's ``p.data -= lr * p.grad`` works.

        Raises:
          TypeError: a value that is not an array (a list, a number, a string),
            or of another kind of dtype (integer data into a float tensor).
          ValueError: a value of another shape.

        Examples:
          >>> import jax.numpy as jnp
          >>> from lucid_fx import Tensor
          >>> p = Tensor([1.0, 2.0], requires_grad=True)
          >>> alias = p
          >>> p.data -= 0.5 * Tensor([2.0, 2.0])
          >>> alias
          Tensor([0.0, 1.0], grad=None)
        """
        data = self._data
        if type(data) is Pending:  # a deferred op's output: compute it now
            data = self._data = resolve(data)
        return data

    @data.setter
    def data(self, value: Any) -> None:
        current = getattr(self, "_data", None)
        if current is None:  # a fresh tensor being wrapped: nothing to check
            self._data = value
            return
        if type(current) is Pending:
            current = self.data
        if value is None and self._node is not None:
            # lift_inplace releases a donated graph-internal buffer this way.
            self._data = value
            return
        self._data = _checked_data(value, current, "Tensor.data")

    def set_data(self, array: jax.Array) -> None:
        """Replace the array without any check (for the library's own writes).

        The fast path behind the ``data`` setter, for callers that already hold
        an array of the right shape and dtype: a compiled step writing its
        results back, an optimizer's update. It does not bump ``_version`` and
        leaves the tape alone. Users should assign ``t.data`` instead.

        Examples:
          >>> import jax.numpy as jnp
          >>> from lucid_fx import Tensor
          >>> t = Tensor([1.0, 2.0])
          >>> t.set_data(jnp.array([3.0, 4.0]))
          >>> t
          Tensor([3.0, 4.0])
        """
        if type(self._data) is Pending:  # users of the old value keep it
            resolve(self._data)
        self._data = array

    def set_grad(self, array: jax.Array | Tensor | None) -> None:
        """Set ``grad`` without any check (for the library's own writes).

        The fast path behind the ``grad`` setter for a caller that holds the
        gradient's array (wrapped here) or Tensor, of this tensor's shape and
        dtype: a compiled step writing its results back. Users should assign
        ``t.grad`` instead.

        Examples:
          >>> import jax.numpy as jnp
          >>> from lucid_fx import Tensor
          >>> t = Tensor([1.0, 2.0], requires_grad=True)
          >>> t.set_grad(jnp.array([0.5, 0.5]))
          >>> t.grad
          Tensor([0.5, 0.5])
        """
        if array is not None and not isinstance(array, Tensor):
            array = Tensor._wrap(array)
        self._grad = array

    @property
    def requires_grad(self) -> bool:
        """Whether ops on this tensor are recorded for :meth:`backward`.

        Only floating tensors may require grad; assigning anything but a bool
        raises ``TypeError``. Only a leaf's flag can be turned off (PyTorch's
        rule): ``False`` on a result of recorded ops raises ``RuntimeError``;
        use :meth:`detach`.
        """
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, value: Any) -> None:
        if value is not True and value is not False:
            raise TypeError(
                f"Tensor.requires_grad: expected True or False, got "
                f"{type(value).__name__} {value!r}."
            )
        data = getattr(self, "_data", None)
        if value and data is not None and not is_float(data.dtype):
            raise TypeError(_MSG_INT_GRAD.format(dtype=data.dtype))
        _check_leaf_flag("Tensor.requires_grad", self, value)
        self._requires_grad = value

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self._data.shape)

    @property
    def ndim(self) -> int:
        return self._data.ndim

    @property
    def size(self) -> int:
        return int(self._data.size)

    @property
    def dtype(self) -> Any:
        return self._data.dtype

    @property
    def device(self) -> Any:
        """The ``jax.Device`` holding the data (its sharding, if spread out)."""
        placed = self.data.devices()
        return next(iter(placed)) if len(placed) == 1 else self.data.sharding

    def to(self, device: Any = None, dtype: DTypeLike | None = None) -> Tensor:
        """A copy on ``device`` and/or with floating ``dtype``; differentiable.

        ``t.to(jnp.bfloat16)`` (a dtype first) also works, as in PyTorch.

        Examples:
          >>> import jax.numpy as jnp
          >>> from lucid_fx import Tensor
          >>> x = Tensor([1.0, 2.0], requires_grad=True)
          >>> y = x.to("cpu", dtype=jnp.bfloat16)
          >>> y.dtype, y.device.platform
          (dtype(bfloat16), 'cpu')
          >>> (y * 2.0).sum().backward()
          >>> x.grad
          Tensor([2.0, 2.0])
        """
        if device is not None and not isinstance(device, str | jax.Device):
            device, dtype = None, device  # .to(dtype)
        out = self
        if dtype is not None and jnp.dtype(dtype) != self.dtype:
            out = _math.astype(out, dtype=jnp.dtype(dtype))
        if device is not None:
            out = out._moved(_device.resolve(device))
        return out

    def cpu(self) -> Tensor:
        """A copy on the first CPU device (``to("cpu")``)."""
        return self.to("cpu")

    def _moved(self, target: jax.Device) -> Tensor:
        if self.data.devices() == {target}:
            return self
        moved = jax.device_put(self.data, target)
        if not (self.requires_grad and _tape.is_grad_enabled()):
            return Tensor._wrap(moved)
        source = self.data.sharding
        node = _tape.Node([self], lambda g: (jax.device_put(g, source),), direct=True)
        return Tensor._wrap(moved, node=node)

    @property
    def is_leaf(self) -> bool:
        """True for tensors created by the user rather than by a taped op."""
        return self._node is None

    @property
    def grad(self) -> Tensor | None:
        """The accumulated gradient (a Tensor that does not require grad)."""
        return self._grad

    @grad.setter
    def grad(self, value: Any) -> None:
        if value is None:
            self._grad = None
            return
        if not isinstance(value, Tensor | jax.Array | np.ndarray):
            raise TypeError(
                _MSG_GRAD_ASSIGN.format(want=self.shape, got=type(value).__name__)
            )
        array = _ops.unwrap(value)
        if isinstance(array, np.ndarray) and array.dtype.kind == "f":
            array = snapshot(array, self._data.dtype)  # no float64 warning
        array = to_array(array, None)
        if array.shape != self._data.shape:
            raise ValueError(
                _MSG_GRAD_ASSIGN.format(want=self.shape, got=tuple(array.shape))
            )
        if not is_float(array.dtype):
            raise TypeError(
                _MSG_GRAD_ASSIGN.format(want=self.shape, got=f"dtype {array.dtype}")
            )
        self._grad = Tensor._wrap(array.astype(self._data.dtype))

    @property
    def T(self) -> Tensor:  # noqa: N802
        """The tensor with all axes reversed."""
        return _math.transpose(self)

    @property
    def mT(self) -> Tensor:  # noqa: N802
        """The tensor with its last two axes swapped."""
        return _math.matrix_transpose(self)

    # -------------------------------------------------------------- autograd
    def backward(
        self,
        gradient: Any = None,
        retain_graph: bool = False,
        keep_grad: bool = False,
    ) -> None:
        """Accumulate the gradient of this tensor into every leaf's ``grad``.

        All or nothing: every check runs and every gradient is computed before
        any ``grad`` changes, and Ctrl-C is held while they are installed.
        Calls from several threads into one model accumulate every contribution
        (gradients are written under a lock). A tensor that a recorded op used
        and that was modified in place since makes it raise. Without
        ``retain_graph`` the graph is freed, as in PyTorch: its saved values
        and its links to its inputs, so a result kept afterwards (a loss kept
        for logging) keeps no intermediate tensor alive.

        Args:
          gradient: the cotangent, of this tensor's shape. Default: ones (for a
            scalar, 1), as in lucid. A bool here is lucid's first argument,
            ``keep_grad`` (lucid's ``backward(keep_grad: bool = False)``):
            ``t.backward(True)`` is ``t.backward(keep_grad=True)``.
          retain_graph: keep the saved values so backward can run again through
            the same graph. Default ``False``.
          keep_grad: also keep the gradient of every non-leaf tensor in the
            graph (this one included), as lucid's ``backward(keep_grad=True)``;
            a tensor whose own ``keep_grad`` is set keeps it anyway. Default
            ``False``: only leaves get a ``grad``.

        Raises:
          RuntimeError: if this tensor does not require grad, its graph was
            already freed by an earlier ``backward``, or a tensor the graph
            used was modified in place since.
          ValueError: if ``gradient`` has the wrong shape.
          TypeError: if ``gradient`` is not floating.

        Examples:
          >>> from lucid_fx import Tensor
          >>> x = Tensor([1.0, 2.0], requires_grad=True)
          >>> h = x * x
          >>> (h * 3.0).sum().backward(keep_grad=True)
          >>> x.grad, h.grad
          (Tensor([6.0, 12.0]), Tensor([3.0, 3.0]))
        """
        temporary = sys.getrefcount(self) <= _TEMPORARY_REFS  # (first: no refs)
        if gradient is True or gradient is False:  # lucid's backward(keep_grad)
            gradient, keep_grad = None, gradient or keep_grad
        if not self.requires_grad:
            raise RuntimeError(_MSG_NO_GRAD)
        if not isinstance(keep_grad, bool):
            raise TypeError(
                f"backward: keep_grad must be True or False, got "
                f"{type(keep_grad).__name__} {keep_grad!r}."
            )
        if gradient is None:
            seed = _ones(self.shape, self.dtype)
        else:
            seed = to_array(_ops.unwrap(gradient), None)
            if not is_float(seed.dtype):
                raise TypeError(_MSG_GRAD_DTYPE.format(dtype=seed.dtype))
            if tuple(seed.shape) != self.shape:
                raise ValueError(
                    _MSG_GRAD_SHAPE.format(got=tuple(seed.shape), want=self.shape)
                )
            seed = seed.astype(self.dtype)
        _tape.backward(self, seed, retain_graph, keep_grad, not temporary)

    def zero_grad(self) -> None:
        """Clear the accumulated gradient (sets ``grad`` to ``None``), unless
        this tensor's ``keep_grad`` is set: lucid's documented rule ("Resets
        the gradient to None if keep_grad is False"). ``Module.zero_grad``
        and the optimizers' ``zero_grad`` always clear, as PyTorch's.

        Examples:
          >>> from lucid_fx import Tensor
          >>> a = Tensor([1.0], requires_grad=True)
          >>> b = Tensor([1.0], requires_grad=True, keep_grad=True)
          >>> (a * b * 3.0).sum().backward()
          >>> a.zero_grad(); b.zero_grad()
          >>> a.grad, b.grad
          (None, Tensor([3.0]))
        """
        if not self.keep_grad:
            self._grad = None

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        """Set :attr:`requires_grad` in place and return this tensor, as
        PyTorch's ``Tensor.requires_grad_``.

        Only a leaf's flag can be turned off: a result of recorded ops
        requires grad through its inputs (cut it with :meth:`detach`).

        Args:
          requires_grad: the new flag. Default ``True``.

        Returns:
          This tensor.

        Raises:
          TypeError: if ``requires_grad`` is not a bool, or grad is asked of
            an integer tensor.
          RuntimeError: if it turns off the flag of a non-leaf tensor.

        Examples:
          >>> from lucid_fx import Tensor
          >>> w = Tensor([1.0, 2.0]).requires_grad_()
          >>> (w * w).sum().backward()
          >>> w.grad
          Tensor([2.0, 4.0])
        """
        _check_leaf_flag("Tensor.requires_grad_", self, requires_grad)
        self.requires_grad = requires_grad
        return self

    def detach(self) -> Tensor:
        """A tensor with the same data, cut from the tape."""
        return Tensor._wrap(self.data)

    # ------------------------------------------------------------ conversion
    def _host(self, api: str) -> jax.Array:
        """The data, for reading on the host (a traced one is noted first:
        ``lucid_fx.compile`` warns when the error JAX raises gets caught)."""
        data = self.data
        if isinstance(data, jax.core.Tracer):
            _tape.note_host_read(api)
        return data

    def numpy(self) -> np.ndarray:
        """The data as a numpy array (a copy)."""
        return np.array(self._host("Tensor.numpy()"))

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        # Not noted as a host read: the library's own conversions come here.
        out = np.asarray(self.data)
        return out if dtype is None else out.astype(dtype)

    def item(self) -> float | int | bool:
        """The single value of a one-element tensor as a Python number."""
        return self._item("Tensor.item()")

    def _item(self, api: str) -> float | int | bool:
        if self.size != 1:
            raise ValueError(
                f"Tensor.item: only one-element tensors convert to a Python "
                f"number, got shape {self.shape}."
            )
        return self._host(api).reshape(()).item()

    def tolist(self) -> Any:
        """The data as (nested) Python lists."""
        return self._host("Tensor.tolist()").tolist()

    def __repr__(self) -> str:
        values = _format.format_values(np.asarray(self._host("repr(tensor)")))
        parts = [values]
        if self.size == 0 and self.ndim > 1:  # "[]" alone hides the shape
            parts.append(f"shape={self.shape}")
        if not is_float(self.dtype):
            parts.append(f"dtype={self.dtype}")
        if self.requires_grad:
            grad = self._grad
            parts.append(
                "grad=None"
                if grad is None
                else "grad=" + _format.format_values(np.asarray(grad.data))
            )
        return f"Tensor({', '.join(parts)})"

    def __len__(self) -> int:
        if not self.shape:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        # The first axis explicitly: one bounds check fewer than Python's
        # default (index until IndexError).
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(
                f"Tensor: the truth value of a tensor of shape {self.shape} is "
                f"ambiguous. Use (t > 0).tolist(), or reduce it first."
            )
        return bool(self._item("bool(tensor)"))

    def __float__(self) -> float:
        return float(self._item("float(tensor)"))

    def __int__(self) -> int:
        return int(self._item("int(tensor)"))

    __hash__ = object.__hash__

    # -------------------------------------------------------- lucid surface
    def __str__(self) -> str:
        """The values as NumPy prints them, as lucid's ``print(t)`` shows."""
        return str(np.asarray(self._host("str(tensor)")))

    def __format__(self, spec: str) -> str:
        """``f"{loss:.3f}"`` for one-element tensors; ``str(t)`` without a spec."""
        if not spec:
            return str(self)
        if self.size != 1:
            raise TypeError(
                f"Tensor.__format__: a format spec ({spec!r}) needs a one-element "
                f"tensor, got shape {self.shape}. Format t.tolist() instead."
            )
        return format(self._item("format(tensor)"), spec)

    def __index__(self) -> int:
        """A one-element integer tensor as a Python index (``classes[y]``)."""
        if self.size != 1 or not jnp.issubdtype(self.dtype, jnp.integer):
            raise TypeError(
                f"Tensor.__index__: only one-element integer tensors can be used "
                f"as an index, got shape {self.shape} and dtype {self.dtype}. "
                f"Convert with int(t) or t.astype(jnp.int32)."
            )
        return int(self._item("an index"))

    # ------------------------------------------------------------- in place
    def _inplace(self, name: str, op: Any, other: Any, cast: bool = False) -> Tensor:
        """Run ``op(self, other)`` and make this Tensor hold the result.

        Every reference sees the new values; ``_version`` is bumped. Under grad
        the op is recorded on this tensor's history (PyTorch's rule): the old
        value is kept as a separate graph node, so the tape stays correct.
        """
        if not isinstance(other, Tensor):
            if type(other) not in _NATIVE:
                other = operand(other, self._data, name)
        other_grad = isinstance(other, Tensor) and other.requires_grad
        grad = _tape.is_grad_enabled() and (self._requires_grad or other_grad)
        if grad and self._requires_grad and self._node is None:
            raise RuntimeError(_MSG_INPLACE_LEAF.format(name=name))
        other = self._inplace_operand(name, other, cast)
        before = Tensor._wrap(self._data, node=self._node) if grad else self
        out = op(before, other)
        if out.dtype != self._data.dtype:
            raise RuntimeError(
                _MSG_INPLACE_CAST.format(name=name, got=out.dtype, want=self.dtype)
            )
        # A module run on arrays (functionalize, compile(model)) runs ops on
        # raw arrays: the result is the new array itself.
        self._data = out._data if isinstance(out, Tensor) else out
        if grad:
            self._node, self._requires_grad = out._node, out._requires_grad
        self._version += 1
        return self

    def _inplace_operand(self, name: str, other: Any, cast: bool) -> Any:
        """Check the shape and cast ``other`` to this dtype where PyTorch's
        in-place rule allows it (any float to float, int to int or float)."""
        mine = self._data.dtype
        if cast:  # fill_, copy_: PyTorch refuses a number that overflows
            _checks.fits_integer(name, other, mine)
        if isinstance(other, bool | int | float):
            if isinstance(other, float) and not is_float(mine) and not cast:
                raise RuntimeError(
                    _MSG_INPLACE_CAST.format(name=name, got="float", want=mine)
                )
            if not cast and not is_float(mine):  # an int beyond int32: JAX has no type
                _ops.check_python_int(name, other, mine)
            return other
        array = other._data if isinstance(other, Tensor) else other
        mine_shape = self._data.shape
        if array.shape != mine_shape:
            try:
                shape = np.broadcast_shapes(mine_shape, array.shape)
            except ValueError:
                shape = None
            if shape != mine_shape:
                raise ValueError(
                    _MSG_INPLACE_SHAPE.format(
                        name=name, other=tuple(array.shape), want=self.shape
                    )
                )
        theirs = array.dtype
        if theirs == mine:
            return other
        if is_float(theirs) and not is_float(mine) and not cast:
            raise RuntimeError(
                _MSG_INPLACE_CAST.format(name=name, got=theirs, want=mine)
            )
        if isinstance(other, Tensor):
            return _math.astype(other, dtype=mine)
        if isinstance(other, np.ndarray):
            return snapshot(other, mine)
        return jnp.asarray(other).astype(mine)

    def __iadd__(self, other: Any) -> Tensor:
        return self._inplace("__iadd__", _math.add, other)

    def __isub__(self, other: Any) -> Tensor:
        return self._inplace("__isub__", _math.sub, other)

    def __imul__(self, other: Any) -> Tensor:
        return self._inplace("__imul__", _math.mul, other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self._inplace("__itruediv__", _math.div, other)

    def __ifloordiv__(self, other: Any) -> Tensor:
        return self._inplace("__ifloordiv__", _math.floor_divide, other)

    def __imod__(self, other: Any) -> Tensor:
        return self._inplace("__imod__", _math.remainder, other)

    def __iand__(self, other: Any) -> Tensor:
        return self._inplace("__iand__", _math.bitwise_and, other)

    def __ior__(self, other: Any) -> Tensor:
        return self._inplace("__ior__", _math.bitwise_or, other)

    def __ixor__(self, other: Any) -> Tensor:
        return self._inplace("__ixor__", _math.bitwise_xor, other)

    def add_(self, other: Any) -> Tensor:
        """In place ``self += other``; returns ``self``."""
        return self._inplace("add_", _math.add, other)

    def sub_(self, other: Any) -> Tensor:
        """In place ``self -= other``; returns ``self``."""
        return self._inplace("sub_", _math.sub, other)

    def mul_(self, other: Any) -> Tensor:
        """In place ``self *= other``; returns ``self``."""
        return self._inplace("mul_", _math.mul, other)

    def div_(self, other: Any) -> Tensor:
        """In place ``self /= other``; returns ``self``."""
        return self._inplace("div_", _math.div, other)

    def fill_(self, value: Any) -> Tensor:
        """Set every element to ``value`` (a number or one-element tensor)."""
        if (value.size if isinstance(value, Tensor) else np.size(value)) != 1:
            raise ValueError(
                f"fill_: expects a number or a one-element tensor, got shape "
                f"{np.shape(_ops.unwrap(value))}."
            )
        value = _math.reshape(value, shape=()) if isinstance(value, Tensor) else value
        return self._inplace("fill_", _lifted("fill_"), value, cast=True)

    def copy_(self, src: Any) -> Tensor:
        """Copy ``src`` (broadcast to this shape, cast to this dtype) in place."""
        return self._inplace("copy_", _lifted("copy_"), src, cast=True)

    def zero_(self) -> Tensor:
        """Set every element to zero in place (the buffer is reused)."""
        return _lifted("zero_")(self)

    def clamp_(self, min: float | None = None, max: float | None = None) -> Tensor:  # noqa: A002
        """Clip to ``[min, max]`` in place (numbers; each distinct pair compiles
        once, so keep them constant)."""
        for bound in (min, max):
            if bound is not None and not isinstance(bound, int | float):
                raise TypeError(
                    f"clamp_: min and max must be numbers or None, got "
                    f"{type(bound).__name__}."
                )
        if min is None and max is None:
            raise ValueError("clamp_: at least one of min and max must be given.")
        return _lifted("clamp_")(self, lo=min, hi=max)

    def __setitem__(self, index: Any, value: Any) -> None:
        """``t[index] = value`` in place: ints, slices, None, Ellipsis, integer
        and boolean arrays; ``value`` broadcasts and is cast to this dtype."""
        spec, arrays = _math.index_key(index, self.shape, "__setitem__")

        def assign(x: Any, v: Any) -> Any:
            return _lifted("__setitem__")(x, v, *arrays, spec=spec)

        if not isinstance(value, Tensor) and type(value) not in _NATIVE:
            value = operand(value, self._data, "__setitem__")
        _checks.fits_integer("__setitem__", value, self._data.dtype)
        try:
            self._inplace_setitem(assign, value)
        except ValueError as error:  # JAX's message names no op or index
            if "broadcast" not in str(error):
                raise
            raise ValueError(
                f"__setitem__: a value of shape {tuple(np.shape(value))} cannot be "
                f"assigned to the selection {index!r} of a tensor of shape "
                f"{self.shape}: it must broadcast to the selection's shape."
            ) from None

    def _inplace_setitem(self, assign: Any, value: Any) -> None:
        other_grad = isinstance(value, Tensor) and value.requires_grad
        grad = _tape.is_grad_enabled() and (self._requires_grad or other_grad)
        if grad and self._requires_grad and self._node is None:
            raise RuntimeError(_MSG_INPLACE_LEAF.format(name="__setitem__"))
        before = Tensor._wrap(self._data, node=self._node) if grad else self
        out = assign(before, value)
        self._data = out._data
        if grad:
            self._node, self._requires_grad = out._node, out._requires_grad
        self._version += 1


_MSG_DEEPCOPY = (
    "Tensor.__deepcopy__: only a leaf tensor can be deep-copied (as in "
    "PyTorch); this one is the result of ops that record gradients, and a copy "
    "of its graph would send gradients to hidden copies of its leaves. Copy "
    "t.detach() instead."
)

_MSG_NONLEAF_FLAG = (
    "{api}: only a leaf tensor's flag can be turned off; this one is the "
    "result of ops that record gradients. Use t.detach() for a copy cut from "
    "the tape."
)


def _check_leaf_flag(api: str, t: Tensor, value: Any) -> None:
    """Raise ``RuntimeError`` for turning off a non-leaf's ``requires_grad``."""
    if value is False and getattr(t, "_node", None) is not None:
        raise RuntimeError(_MSG_NONLEAF_FLAG.format(api=api))


def _fill_fn(x: jax.Array, value: jax.Array) -> jax.Array:
    return jnp.full_like(x, value)


def _copy_fn(x: jax.Array, src: jax.Array) -> jax.Array:
    return jnp.broadcast_to(jnp.asarray(src).astype(x.dtype), x.shape)


def _setitem_fn(
    x: jax.Array, value: jax.Array, *arrays: jax.Array, spec: tuple[Any, ...]
) -> jax.Array:
    index = _math.index_of(spec, arrays)
    return x.at[index].set(jnp.asarray(value).astype(x.dtype))


def _clamp_fn(x: jax.Array, *, lo: float | None, hi: float | None) -> jax.Array:
    return jnp.clip(x, lo, hi)


_LIFTED: dict[str, Any] = {}


def _lifted(name: str) -> Any:
    """This file's few ops, lifted on first use (``_ops`` imports this module,
    so lifting at import time would be circular)."""
    op = _LIFTED.get(name)
    if op is None:
        op = _LIFTED[name] = {
            "fill_": lambda: _ops.lift(_fill_fn, "fill_"),
            "copy_": lambda: _ops.lift(_copy_fn, "copy_"),
            "__setitem__": lambda: _ops.lift(_setitem_fn, "__setitem__"),
            "zero_": lambda: _ops.lift_inplace(jnp.zeros_like, "zero_"),
            "clamp_": lambda: _ops.lift_inplace(_clamp_fn, "clamp_"),
        }[name]()
    return op


_NATIVE = frozenset({float, int, bool, np.float32, np.float64, np.int32})


def _binary(name: str) -> Any:
    """The operator ``name`` with its other operand converted (lists, PyTorch
    tensors) or refused with a TypeError naming its type (strings, objects)."""
    base = getattr(TensorOperators, name)
    compare = name in ("__eq__", "__ne__")

    def method(self: Tensor, other: Any) -> Any:
        if not isinstance(other, Tensor) and type(other) not in _NATIVE:
            if not isinstance(other, jax.Array):
                try:
                    other = operand(other, self._data, name)
                except TypeError:
                    if compare:
                        return NotImplemented
                    raise
        return base(self, other)

    method.__name__ = name
    method.__qualname__ = f"Tensor.{name}"
    method.__doc__ = base.__doc__
    return method


for _name in (
    "__add__ __radd__ __sub__ __rsub__ __mul__ __rmul__ __truediv__ "
    "__rtruediv__ __floordiv__ __rfloordiv__ __mod__ __rmod__ __pow__ __rpow__ "
    "__matmul__ __rmatmul__ __eq__ __ne__ "
    "__lt__ __le__ __gt__ __ge__"
).split():
    setattr(Tensor, _name, _binary(_name))


# ------------------------------------------------------- lucid's top level
def tensor(
    data: Any,
    requires_grad: bool = False,
    dtype: DTypeLike | None = None,
    *,
    keep_grad: bool = False,
    device: _device.DeviceLike | None = None,
) -> Tensor:
    """A new leaf Tensor from ``data``, as ``lucid.tensor`` and ``torch.tensor``.

    lucid's signature, ``tensor(data, requires_grad=False, dtype=...)``: the
    third positional argument is ``dtype``; ``keep_grad`` and ``device``
    (lucid_fx's additions) are keyword-only.

    A Tensor argument contributes its values only: the result is a new leaf,
    cut from the tape. Python numbers and lists become float32 (lucid's
    default), NumPy/JAX/PyTorch arrays keep their dtype (see :class:`Tensor`).

    Args:
      data: a Tensor, a number, nested lists, a NumPy, JAX or PyTorch CPU array.
      requires_grad: record ops for backward. Default ``False``.
      keep_grad: keep ``grad`` on a non-leaf after backward. Default ``False``.
      dtype: convert to this dtype. Default: inferred.
      device: where to place the data. Default: JAX's default device.

    Returns:
      A new Tensor.

    Examples:
      >>> import lucid_fx
      >>> t = lucid_fx.tensor([1, 2, 3], requires_grad=True)
      >>> t
      Tensor([1.0, 2.0, 3.0], grad=None)
      >>> print(lucid_fx.tensor(t, dtype="float16"))
      [1. 2. 3.]
      >>> lucid_fx.tensor([1, 2], False, "int32").dtype
      dtype('int32')
    """
    return Tensor(data, requires_grad, keep_grad, dtype, device)


def to_tensor(
    data: Any,
    requires_grad: bool = False,
    keep_grad: bool = False,
    dtype: DTypeLike | None = None,
    device: _device.DeviceLike | None = None,
) -> Tensor:
    """``data`` as a Tensor: a Tensor is returned as is, anything else wrapped.

    A Tensor is returned unchanged (same object, same graph) unless ``dtype``
    or ``device`` asks for a conversion, which is then differentiable
    (:meth:`Tensor.to`). Other data makes a new Tensor as :func:`tensor` does.

    Examples:
      >>> import lucid_fx
      >>> t = lucid_fx.Tensor([1.0, 2.0])
      >>> lucid_fx.to_tensor(t) is t, lucid_fx.to_tensor([3, 4])
      (True, Tensor([3.0, 4.0]))
    """
    if not isinstance(data, Tensor):
        return Tensor(data, requires_grad, keep_grad, dtype, device)
    if requires_grad and not data.requires_grad:
        raise ValueError(
            "to_tensor: requires_grad=True on an existing Tensor that does not "
            "require grad; set t.requires_grad = True on the leaf instead."
        )
    return data.to(device, dtype) if dtype is not None or device is not None else data


def shape(a: Any) -> tuple[int, ...]:
    """The shape of a Tensor, an array or nested lists, as a tuple.

    Examples:
      >>> import lucid_fx
      >>> lucid_fx.shape(lucid_fx.Tensor([[1.0, 2.0, 3.0]])), lucid_fx.shape([1, 2])
      ((1, 3), (2,))
    """
    if isinstance(a, Tensor):
        return a.shape
    return tuple(np.shape(a))


def grad_enabled() -> bool:
    """Whether ops record the tape now: ``False`` inside ``no_grad()``.

    Examples:
      >>> import lucid_fx
      >>> with lucid_fx.no_grad():
      ...     inside = lucid_fx.grad_enabled()
      >>> lucid_fx.grad_enabled(), inside
      (True, False)
    """
    return _tape.is_grad_enabled()


_SET_DATA = Tensor._data.__set__  # type: ignore[attr-defined]
_RAW_DATA = operator.attrgetter("_data")


def data_each(tensors: Sequence[Tensor]) -> list[jax.Array]:
    """``[t.data for t in tensors]`` in C-level passes: a compiled step's
    read-out. A tensor holding a deferred value has it computed, as ``data``
    does.

    Examples:
      >>> from lucid_fx import Tensor
      >>> from lucid_fx._tensor import data_each
      >>> x = Tensor([1.0], requires_grad=True)
      >>> [a.tolist() for a in data_each([x, x * 2.0])]
      [[1.0], [2.0]]
    """
    arrays = list(map(_RAW_DATA, tensors))
    if Pending in set(map(type, arrays)):
        arrays = [t.data for t in tensors]
    return arrays


def optional_data_each(tensors: Sequence[Tensor | None]) -> list[jax.Array | None]:
    """:func:`data_each` where an entry may be ``None`` (a gradient not made
    yet), which stays ``None``: a compiled step's read-out of the grads.

    Examples:
      >>> from lucid_fx import Tensor
      >>> from lucid_fx._tensor import optional_data_each
      >>> [None if a is None else a.tolist() for a in optional_data_each(
      ...     [Tensor([1.0]), None])]
      [[1.0], None]
    """
    arrays = list(map(getattr, tensors, repeat("_data"), repeat(None)))
    if Pending in set(map(type, arrays)):
        arrays = [None if t is None else t.data for t in tensors]
    return arrays


def set_data_each(tensors: Sequence[Tensor], arrays: Iterable[jax.Array]) -> None:
    """``t.set_data(a)`` for each tensor and array, in one C-level pass.

    The write-back of a compiled step: each array is the program's own result,
    of its tensor's shape and dtype, so nothing is checked. A tensor still
    holding a deferred value (``set_data``'s one case) is computed first.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx import Tensor
      >>> from lucid_fx._tensor import set_data_each
      >>> a, b = Tensor([1.0]), Tensor([2.0])
      >>> set_data_each([a, b], [jnp.array([3.0]), jnp.array([4.0])])
      >>> a.tolist(), b.tolist()
      ([3.0], [4.0])
    """
    if Pending in set(map(type, map(_RAW_DATA, tensors))):
        for t in tensors:
            if type(t._data) is Pending:  # users of the old value keep it
                resolve(t._data)
    deque(map(_SET_DATA, tensors, arrays), maxlen=0)


_RAW_REQUIRES_GRAD = operator.attrgetter("_requires_grad")


def requires_grad_each(tensors: Sequence[Tensor]) -> tuple[bool, ...]:
    """``tuple(t.requires_grad for t in tensors)`` in one C-level pass (no
    property call per tensor): part of a compiled step's signature.

    Examples:
      >>> from lucid_fx import Tensor
      >>> from lucid_fx._tensor import requires_grad_each
      >>> requires_grad_each([Tensor([1.0], requires_grad=True), Tensor([2.0])])
      (True, False)
    """
    return tuple(map(_RAW_REQUIRES_GRAD, tensors))


def set_grad_each(
    tensors: Sequence[Tensor],
    arrays: Iterable[jax.Array | None],
    reuse: Iterable[bool],
) -> None:
    """``t.set_grad(a)`` for each tensor and array (``None`` clears it).

    Where ``reuse`` is true, the tensor's current grad Tensor, which nothing
    else holds (the caller checked, and donated its array), takes the new
    array in place of a new Tensor: a compiled step's write-back makes no
    objects. One with a weak reference to it is replaced all the same (the
    reference dies, as in eager). Nothing else is checked.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lucid_fx import Tensor
      >>> from lucid_fx._tensor import set_grad_each
      >>> a = Tensor([1.0], requires_grad=True)
      >>> set_grad_each([a], [jnp.array([0.5])], [False])
      >>> a.grad
      Tensor([0.5])
    """
    for t, array, alone in zip(tensors, arrays, reuse, strict=False):
        if array is None:
            t._grad = None
        elif alone and not getweakrefcount(t._grad):
            t._grad._data = array  # type: ignore[union-attr]
        else:
            t._grad = Tensor._wrap(array)

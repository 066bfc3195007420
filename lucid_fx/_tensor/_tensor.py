"""Tensor: an eager array with an autograd tape, as in lucid and PyTorch."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lucid_fx._tensor import _device, _format, _math, _ops, _tape
from lucid_fx._tensor._convert import is_float, to_array
from lucid_fx._tensor._operators import TensorOperators
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
    "Tensor.grad: expected None or an array of shape {want}, got {got}. Assign "
    "None to clear, or an array of the tensor's shape."
)

_ONES: dict[tuple[tuple[int, ...], Any], jax.Array] = {}


def _ones(shape: tuple[int, ...], dtype: Any) -> jax.Array:
    """The default backward seed, cached per shape and dtype (eager only)."""
    key = (shape, dtype)
    ones = _ONES.get(key)
    if ones is None:
        ones = jnp.ones(shape, dtype)
        # Inside a lucid_fx.compile trace this is a tracer: never cache it.
        if not isinstance(ones, jax.core.Tracer):
            _ONES[key] = ones
    return ones


class Tensor(TensorOperators):
    r"""An eager array with autograd: lucid's ``Tensor`` on XLA.

    Every op runs a pre-compiled XLA program and, when an input requires grad,
    records itself on a tape; :meth:`backward` walks that tape and accumulates
    :math:`\partial \text{out} / \partial \text{leaf}` into each leaf's ``grad``.

    Args:
      data: a number, nested lists of numbers, or a numpy/JAX array. Python
        floats become float32 (lucid's default); Python ints the default int.
      requires_grad: record ops on this tensor for :meth:`backward`; only for
        floating dtypes. Default ``False``.
      dtype: convert the data to this dtype. Default: inferred.
      device: ``"cpu"``, ``"gpu"`` (or ``"cuda"``), ``"tpu"``, ``"gpu:1"`` or a
        ``jax.Device``. Default: JAX's default device.

    Raises:
      TypeError: for non-numeric data, or ``requires_grad=True`` on a
        non-floating dtype.
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
        "data",
        "requires_grad",
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
        dtype: DTypeLike | None = None,
        device: _device.DeviceLike | None = None,
    ) -> None:
        array = to_array(_ops.unwrap(data), dtype)
        if device is not None:
            array = jax.device_put(array, _device.resolve(device))
        if not isinstance(requires_grad, bool):
            raise TypeError(
                f"Tensor: requires_grad must be True or False, got "
                f"{type(requires_grad).__name__} {requires_grad!r}."
            )
        if requires_grad and not is_float(array.dtype):
            raise TypeError(_MSG_INT_GRAD.format(dtype=array.dtype))
        self.data: jax.Array = array
        self.requires_grad = requires_grad
        self._grad: Tensor | None = None
        self._node: _tape.Node | None = None
        self._birth = _tape.stamp()
        self._version = 0  # in-place changes so far, as PyTorch's Tensor._version

    @classmethod
    def _wrap(cls, array: jax.Array, node: _tape.Node | None = None) -> Tensor:
        """Wrap an op's output without re-validating it."""
        out = object.__new__(cls)
        out.data = array
        out.requires_grad = node is not None
        out._grad = None
        out._node = node
        out._birth = _tape.stamp()
        out._version = 0
        return out

    # ----------------------------------------------------------- properties
    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def size(self) -> int:
        return int(self.data.size)

    @property
    def dtype(self) -> Any:
        return self.data.dtype

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
        array = to_array(_ops.unwrap(value), None)
        if array.shape != self.data.shape:
            raise ValueError(
                _MSG_GRAD_ASSIGN.format(want=self.shape, got=tuple(array.shape))
            )
        self._grad = Tensor._wrap(array.astype(self.data.dtype))

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
        and that was modified in place since makes it raise.

        Args:
          gradient: the cotangent, of this tensor's shape. Default: ones (for a
            scalar, 1), as in lucid.
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
        _tape.backward(self, seed, retain_graph, keep_grad)

    def zero_grad(self) -> None:
        """Clear the accumulated gradient (sets ``grad`` to ``None``)."""
        self._grad = None

    def detach(self) -> Tensor:
        """A tensor with the same data, cut from the tape."""
        return Tensor._wrap(self.data)

    # ------------------------------------------------------------ conversion
    def numpy(self) -> np.ndarray:
        """The data as a numpy array (a copy)."""
        return np.array(self.data)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        out = np.asarray(self.data)
        return out if dtype is None else out.astype(dtype)

    def item(self) -> float | int | bool:
        """The single value of a one-element tensor as a Python number."""
        if self.size != 1:
            raise ValueError(
                f"Tensor.item: only one-element tensors convert to a Python "
                f"number, got shape {self.shape}."
            )
        return self.data.reshape(()).item()

    def tolist(self) -> Any:
        """The data as (nested) Python lists."""
        return self.data.tolist()

    def __repr__(self) -> str:
        values = _format.format_values(np.asarray(self.data))
        parts = [values]
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
        # Without this Python would index until IndexError, which JAX's clamped
        # indexing never raises: iterate over the first axis explicitly.
        for i in range(len(self)):
            yield self[i]

    def __bool__(self) -> bool:
        if self.size != 1:
            raise ValueError(
                f"Tensor: the truth value of a tensor of shape {self.shape} is "
                f"ambiguous. Use (t > 0).tolist(), or reduce it first."
            )
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    __hash__ = object.__hash__

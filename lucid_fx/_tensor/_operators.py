"""Tensor's operators and reductions: each one call into the op library."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jax
import jax.numpy as jnp

from lucid_fx._tensor import _math
from lucid_fx._tensor._convert import operand

if TYPE_CHECKING:
    from lucid_fx._tensor._tensor import Tensor


class TensorOperators:
    """Arithmetic, comparison, indexing and reduction methods of ``Tensor``.

    A stateless base class, so ``_tensor.py`` holds the data and the tape and
    this file the operator table; every method is one lifted op of ``_math``.

    Examples:
      >>> from lucid_fx import Tensor
      >>> t = Tensor([1.0, -2.0])
      >>> (2.0 * t + 1.0).tolist(), (t > 0.0).tolist(), t.sum().item()
      ([3.0, -3.0], [True, False], -1.0)
    """

    __slots__ = ()

    def __add__(self, other: Any) -> Tensor:
        return _math.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _math.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _math.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _math.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _math.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _math.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _math.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _math.div(other, self)

    def __floordiv__(self, other: Any) -> Tensor:
        return _math.floor_divide(self, other)

    def __rfloordiv__(self, other: Any) -> Tensor:
        return _math.floor_divide(other, self)

    def __mod__(self, other: Any) -> Tensor:
        return _math.remainder(self, other)

    def __rmod__(self, other: Any) -> Tensor:
        return _math.remainder(other, self)

    def __pow__(self, other: Any) -> Tensor:
        return _math.pow(self, other)

    def __rpow__(self, other: Any) -> Tensor:
        return _math.pow(other, self)

    def __matmul__(self, other: Any) -> Tensor:
        return _math.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _math.matmul(other, self)

    def __neg__(self) -> Tensor:
        return _math.neg(self)

    def __pos__(self) -> Tensor:
        """``+t``: this tensor itself (``torch.positive``); bool raises."""
        if self.dtype == jnp.bool_:
            raise TypeError(
                "__pos__: a bool tensor has no unary plus (+t), as in PyTorch; "
                "convert it first (t.int())."
            )
        return self  # type: ignore[return-value]

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _math.eq(self, other)

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _math.ne(self, other)

    def __lt__(self, other: Any) -> Tensor:
        return _math.lt(self, other)

    def __le__(self, other: Any) -> Tensor:
        return _math.le(self, other)

    def __gt__(self, other: Any) -> Tensor:
        return _math.gt(self, other)

    def __ge__(self, other: Any) -> Tensor:
        return _math.ge(self, other)

    # Bitwise/logical operators (bool and integer tensors only; no gradient).
    # The other operator methods get lists and PyTorch tensors converted by a
    # wrapper in _tensor.py; these convert their own operand the same way.
    def __and__(self, other: Any) -> Tensor:
        return _math.bitwise_and(self, _operand(self, other, "__and__"))

    def __rand__(self, other: Any) -> Tensor:
        return _math.bitwise_and(_operand(self, other, "__rand__"), self)

    def __or__(self, other: Any) -> Tensor:
        return _math.bitwise_or(self, _operand(self, other, "__or__"))

    def __ror__(self, other: Any) -> Tensor:
        return _math.bitwise_or(_operand(self, other, "__ror__"), self)

    def __xor__(self, other: Any) -> Tensor:
        return _math.bitwise_xor(self, _operand(self, other, "__xor__"))

    def __rxor__(self, other: Any) -> Tensor:
        return _math.bitwise_xor(_operand(self, other, "__rxor__"), self)

    def __invert__(self) -> Tensor:
        return _math.bitwise_not(self)

    def __getitem__(self, index: Any) -> Tensor:
        return _math.getitem(self, index)

    def __abs__(self) -> Tensor:
        return _math.abs(self)

    # ------------------------------------------------------------ reductions
    def sum(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        """Sum over ``axis`` (all axes by default); see :func:`lucid_fx.sum`."""
        return _math.sum(self, _axis_key(axis), keepdims, **kw)

    def mean(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        """Mean over ``axis`` (all axes by default); see :func:`lucid_fx.mean`."""
        return _math.mean(self, _axis_key(axis), keepdims, **kw)

    def var(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        """Population variance (lucid's); see :func:`lucid_fx.var`."""
        return _math.var(self, _axis_key(axis), keepdims, **kw)

    def max(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        """Maximum over ``axis``, or elementwise with a Tensor (PyTorch's
        ``t.max(other)``); see :func:`lucid_fx.max`."""
        if isinstance(axis, TensorOperators):
            return _math.maximum(self, axis)
        return _math.max(self, _axis_key(axis), keepdims, **kw)

    def min(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        """Minimum over ``axis``, or elementwise with a Tensor; see
        :func:`lucid_fx.min`."""
        if isinstance(axis, TensorOperators):
            return _math.minimum(self, axis)
        return _math.min(self, _axis_key(axis), keepdims, **kw)

    def argmax(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        """Index of the maximum (no gradient); see :func:`lucid_fx.argmax`."""
        return _math.argmax(self, axis, keepdims, **kw)

    def argmin(self, axis: Any = None, keepdims: bool = False, **kw: Any) -> Tensor:
        """Index of the minimum (no gradient); see :func:`lucid_fx.argmin`."""
        return _math.argmin(self, axis, keepdims, **kw)

    def trace(self) -> Tensor:
        """Sum of the diagonal; see :func:`lucid_fx.trace`."""
        return _math.trace(self)

    # ------------------------------------------------------------ elementwise
    def exp(self) -> Tensor:
        """Elementwise :math:`e^x`."""
        return _math.exp(self)

    def log(self) -> Tensor:
        """Elementwise natural logarithm."""
        return _math.log(self)

    def sqrt(self) -> Tensor:
        """Elementwise square root."""
        return _math.sqrt(self)

    def sin(self) -> Tensor:
        """Elementwise sine."""
        return _math.sin(self)

    def cos(self) -> Tensor:
        """Elementwise cosine."""
        return _math.cos(self)

    def tan(self) -> Tensor:
        """Elementwise tangent."""
        return _math.tan(self)

    def arcsin(self) -> Tensor:
        """Elementwise inverse sine."""
        return _math.arcsin(self)

    def arccos(self) -> Tensor:
        """Elementwise inverse cosine."""
        return _math.arccos(self)

    def arctan(self) -> Tensor:
        """Elementwise inverse tangent."""
        return _math.arctan(self)

    def sinh(self) -> Tensor:
        """Elementwise hyperbolic sine."""
        return _math.sinh(self)

    def cosh(self) -> Tensor:
        """Elementwise hyperbolic cosine."""
        return _math.cosh(self)

    def tanh(self) -> Tensor:
        """Elementwise hyperbolic tangent."""
        return _math.tanh(self)

    def abs(self) -> Tensor:
        """Elementwise absolute value."""
        return _math.abs(self)

    def sign(self) -> Tensor:
        """Elementwise sign (no gradient)."""
        return _math.sign(self)

    def reciprocal(self) -> Tensor:
        """Elementwise :math:`1/x`."""
        return _math.reciprocal(self)

    def square(self) -> Tensor:
        """Elementwise :math:`x^2`."""
        return _math.square(self)

    def cube(self) -> Tensor:
        """Elementwise :math:`x^3`."""
        return _math.cube(self)

    def clip(self, min_value: Any = None, max_value: Any = None) -> Tensor:
        """Limit to ``[min_value, max_value]``; see :func:`lucid_fx.clip`."""
        return _math.clip(self, min_value, max_value)

    def clamp(self, min: Any = None, max: Any = None) -> Tensor:  # noqa: A002
        """PyTorch's name for :meth:`clip`."""
        return _math.clip(self, min, max)

    def maximum(self, other: Any) -> Tensor:
        """Elementwise maximum with ``other``."""
        return _math.maximum(self, other)

    def minimum(self, other: Any) -> Tensor:
        """Elementwise minimum with ``other``."""
        return _math.minimum(self, other)

    def pow(self, other: Any) -> Tensor:
        """Elementwise power ``self ** other``."""
        return _math.power(self, other)

    # --------------------------------------------------------------- products
    def matmul(self, other: Any) -> Tensor:
        """Matrix product ``self @ other``."""
        return _math.matmul(self, other)

    def dot(self, other: Any) -> Tensor:
        """NumPy's ``dot``; see :func:`lucid_fx.dot`."""
        return _math.dot(self, other)

    def inner(self, other: Any) -> Tensor:
        """Inner product over the last axes; see :func:`lucid_fx.inner`."""
        return _math.inner(self, other)

    def outer(self, other: Any) -> Tensor:
        """Outer product of the flattened tensors."""
        return _math.outer(self, other)

    # ----------------------------------------------------------------- shapes
    def reshape(self, *shape: Any) -> Tensor:
        """The same data in a new shape (one entry may be -1)."""
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = tuple(shape[0])
        return _math.reshape(self, shape)

    def view(self, *shape: Any) -> Tensor:
        """PyTorch's name for :meth:`reshape` (a new array, as XLA has no views)."""
        return self.reshape(*shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        """Merge axes ``start_dim..end_dim``; see :func:`lucid_fx.flatten`."""
        return _math.flatten(self, start_dim, end_dim)

    def ravel(self) -> Tensor:
        """The elements as a 1-D tensor."""
        return _math.ravel(self)

    def squeeze(self, axis: Any = None, *, dim: Any = None) -> Tensor:
        """Remove size-1 axes; see :func:`lucid_fx.squeeze`."""
        return _math.squeeze(self, axis, dim=dim)

    def unsqueeze(self, axis: Any = None, *, dim: Any = None) -> Tensor:
        """Insert size-1 axes; see :func:`lucid_fx.unsqueeze`."""
        return _math.unsqueeze(self, axis, dim=dim)

    def transpose(self, *axes: Any) -> Tensor:
        """Permute axes: ``t.transpose()`` reverses them, ``t.transpose(axes)``
        (a list) permutes as lucid/NumPy, and two ints ``t.transpose(0, 1)``
        swap those two axes as PyTorch."""
        if len(axes) == 1 and isinstance(axes[0], list | tuple):
            return _math.transpose(self, axes[0])
        if len(axes) == 2:
            return _math.swapaxes(self, axis1=int(axes[0]), axis2=int(axes[1]))
        return _math.transpose(self, axes or None)

    def permute(self, *dims: Any) -> Tensor:
        """Permute the axes into the order ``dims`` (PyTorch's name)."""
        if len(dims) == 1 and isinstance(dims[0], list | tuple):
            dims = tuple(dims[0])
        return _math.transpose(self, dims)

    def swapaxes(self, axis1: int, axis2: int) -> Tensor:
        """Exchange two axes."""
        return _math.swapaxes(self, axis1=axis1, axis2=axis2)

    def repeat(self, repeats: Any, axis: int | None = None) -> Tensor:
        """Repeat each element (lucid/NumPy's ``repeat``; PyTorch's
        ``Tensor.repeat`` is :meth:`tile`)."""
        return _math.repeat(self, repeats, axis)

    def tile(self, reps: Any) -> Tensor:
        """Repeat the whole tensor along each axis; see :func:`lucid_fx.tile`."""
        return _math.tile(self, reps)

    def pad(self, pad_width: Any) -> Tensor:
        """Zero-pad; see :func:`lucid_fx.pad`."""
        return _math.pad(self, pad_width)

    # ------------------------------------------------------------------ dtypes
    def astype(self, dtype: Any) -> Tensor:
        """A copy converted to ``dtype``; differentiable between floats."""
        return _math.astype(self, dtype=jnp.dtype(dtype))

    def clone(self) -> Tensor:
        """A copy in a new buffer that stays on the tape (PyTorch's ``clone``)."""
        return _math.clone(self)

    def type(self, dtype: Any = None) -> Any:
        """The dtype's name with no argument, else :meth:`astype` (PyTorch)."""
        if dtype is None:
            return str(self.dtype)  # type: ignore[attr-defined]
        return self.astype(dtype)

    def half(self) -> Tensor:
        """A float16 copy."""
        return self.astype(jnp.float16)

    def double(self) -> Tensor:
        """A float64 copy (float32 with JAX's warning unless x64 is on)."""
        return self.astype(jnp.float64)

    def long(self) -> Tensor:
        """An int64 copy (int32 unless ``jax_enable_x64`` is on)."""
        return self.astype(jax.dtypes.canonicalize_dtype(jnp.int64))

    # Defined last: inside this class body the names shadow the builtins.
    def float(self) -> Tensor:
        """A float32 copy."""
        return self.astype(jnp.float32)

    def int(self) -> Tensor:
        """An int32 copy."""
        return self.astype(jnp.int32)


def _operand(self: Any, other: Any, name: str) -> Any:
    if isinstance(other, bool):
        # A Python bool takes an integer tensor's dtype, as a Python int does
        # (JAX types a bool strictly, PyTorch like an int).
        return other if self.data.dtype == bool else int(other)
    if isinstance(other, TensorOperators | jax.Array | int | float):
        return other
    return operand(other, self.data, name)


def _axis_key(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis

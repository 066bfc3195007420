"""Tensor's operators and reductions: each one call into the op library."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from lucid_fx._tensor import _math

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

    def __getitem__(self, index: Any) -> Tensor:
        return _math.getitem(self, index)

    def sum(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Sum over ``axis`` (all axes by default)."""
        return _math.sum(self, axis=_axis_key(axis), keepdims=keepdims)

    def mean(self, axis: Any = None, keepdims: bool = False) -> Tensor:
        """Mean over ``axis`` (all axes by default)."""
        return _math.mean(self, axis=_axis_key(axis), keepdims=keepdims)

    def reshape(self, *shape: Any) -> Tensor:
        """The same data in a new shape (one entry may be -1)."""
        if len(shape) == 1 and isinstance(shape[0], tuple | list):
            shape = tuple(shape[0])
        return _math.reshape(self, shape=tuple(int(n) for n in shape))

    def exp(self) -> Tensor:
        """Elementwise :math:`e^x`."""
        return _math.exp(self)

    def log(self) -> Tensor:
        """Elementwise natural logarithm."""
        return _math.log(self)

    def maximum(self, other: Any) -> Tensor:
        """Elementwise maximum with ``other``."""
        return _math.maximum(self, other)


def _axis_key(axis: Any) -> Any:
    return tuple(axis) if isinstance(axis, list) else axis

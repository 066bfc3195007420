"""The Tensor's op library: every family's lifted ops under one namespace.

Each family lives in its own module (``_unary``, ``_binary``, ``_bitwise``,
``_reduction``, ``_products``, ``_shape_ops``, ``_joining``, ``_generators``,
``_indexing``);
``Tensor``'s methods and ``lucid_fx``'s top level reach them through here.
"""

from lucid_fx._tensor._binary import (
    add,
    div,
    floor_divide,
    maximum,
    minimum,
    mul,
    pow,
    power,
    remainder,
    sub,
)
from lucid_fx._tensor._bitwise import (
    bitwise_and,
    bitwise_not,
    bitwise_or,
    bitwise_xor,
)
from lucid_fx._tensor._generators import diag, eye, ones, ones_like, zeros, zeros_like
from lucid_fx._tensor._indexing import _index_key as index_key  # noqa: F401 (Tensor.__setitem__)
from lucid_fx._tensor._indexing import (
    eq,
    ge,
    getitem,
    gt,
    index_of,  # noqa: F401 (Tensor.__setitem__)
    le,
    lt,
    ne,
)
from lucid_fx._tensor._joining import (
    concatenate,
    hstack,
    pad,
    repeat,
    stack,
    tile,
    vstack,
)
from lucid_fx._tensor._products import dot, inner, matmul, outer
from lucid_fx._tensor._reduction import argmax, argmin, max, mean, min, sum, trace, var
from lucid_fx._tensor._shape_ops import (
    astype,
    clone,
    flatten,
    matrix_transpose,
    ravel,
    reshape,
    squeeze,
    swapaxes,
    transpose,
    unsqueeze,
)
from lucid_fx._tensor._unary import (
    abs,
    arccos,
    arcsin,
    arctan,
    clip,
    cos,
    cosh,
    cube,
    exp,
    log,
    neg,
    reciprocal,
    sign,
    sin,
    sinh,
    sqrt,
    square,
    tan,
    tanh,
)

# The public ops, in the order of lucid's pages (re-exported by lucid_fx).
OPS = (
    "add", "sub", "mul", "div", "minimum", "maximum", "power", "dot", "inner",
    "outer", "matmul", "exp", "log", "sqrt", "sin", "cos", "tan", "arcsin",
    "arccos", "arctan", "sinh", "cosh", "tanh", "clip", "abs", "sign",
    "reciprocal", "square", "cube", "transpose", "sum", "trace", "mean", "var",
    "min", "max", "argmax", "argmin", "zeros", "zeros_like", "ones", "ones_like",
    "eye", "diag", "reshape", "squeeze", "unsqueeze", "ravel", "stack", "hstack",
    "vstack", "concatenate", "pad", "repeat", "tile", "flatten", "swapaxes",
)  # fmt: skip

__all__ = [
    "abs", "add", "arccos", "arcsin", "arctan", "argmax", "argmin", "astype",
    "bitwise_and", "bitwise_not", "bitwise_or", "bitwise_xor",
    "clip", "clone", "concatenate", "cos", "cosh", "cube", "diag", "div", "dot",
    "floor_divide", "remainder",
    "eq", "exp", "eye", "flatten", "ge", "getitem", "gt", "hstack", "inner", "le",
    "log", "lt", "matmul", "matrix_transpose", "max", "maximum", "mean", "min",
    "minimum", "mul", "ne", "neg", "ones", "ones_like", "outer", "pad", "pow",
    "power", "ravel", "reciprocal", "repeat", "reshape", "sign", "sin", "sinh",
    "sqrt", "square", "squeeze", "stack", "sub", "sum", "swapaxes", "tan", "tanh",
    "tile", "trace", "transpose", "unsqueeze", "var", "vstack", "zeros",
    "zeros_like",
]  # fmt: skip

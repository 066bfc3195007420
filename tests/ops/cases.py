"""The op table: each lucid_fx op beside its PyTorch (float64) counterpart.

A case names the op, our call, PyTorch's call, the float64 inputs and which of
them require grad. ``test_ops.py`` runs every case through one checker.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as TF  # noqa: N812

import lucid_fx as L

RNG = np.random.default_rng(0)


def u(*shape, lo=-2.0, hi=2.0):
    """Uniform float64 values (inputs are rounded to float32 by the checker)."""
    return RNG.uniform(lo, hi, shape)


def spd(n):
    a = u(n, n)
    return a @ a.T + n * np.eye(n)


@dataclasses.dataclass
class Case:
    id: str
    ours: Callable
    theirs: Callable
    inputs: tuple
    diff: tuple | None = None  # indices of inputs that require grad (None: all)
    rtol: float = 2e-5
    atol: float = 2e-5

    def requires_grad(self, i):
        return self.diff is None or i in self.diff


def _np_dot(a, b):
    if a.ndim == 0 or b.ndim == 0:
        return a * b
    return torch.tensordot(a, b, dims=([a.ndim - 1], [max(b.ndim - 2, 0)]))


def _trace(x):
    return x.sum() if x.ndim == 1 else torch.diagonal(x, dim1=-2, dim2=-1).sum(-1)


def _polar(svd):
    u_, _, vh = svd
    return u_ @ vh


C = Case
A23, B3, A234 = u(2, 3), u(3), u(2, 3, 4)
TIES = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, -1.0]])

ELEMENTWISE = [
    C("add_broadcast", L.add, torch.add, (A23, B3)),
    C("add_python_scalar", lambda a: L.add(a, 2.5), lambda a: a + 2.5, (A23,)),
    C("sub_broadcast", L.sub, torch.sub, (u(4, 1), u(3))),
    C("mul_broadcast_3d", L.mul, torch.mul, (u(2, 1, 3), u(4, 1))),
    C("div_broadcast", L.div, torch.div, (A23, u(2, 1, lo=0.5, hi=2.0))),
    C("div_by_zero", L.div, torch.div, (np.array([1.0, -1.0, 0.0]), np.zeros(3))),
    C("power", L.power, torch.pow, (u(5, lo=0.1, hi=3.0), u(5))),
    C("power_scalar_exponent", lambda a: L.power(a, 3.0), lambda a: a**3.0, (A23,)),
    C("power_zero_base", L.power, torch.pow, (np.zeros(3), np.array([0.0, 1.0, 2.0]))),
    C("power_operator", lambda a, b: a**b, torch.pow, (u(3, lo=0.5), u(3))),
    C("maximum_broadcast", L.maximum, torch.maximum, (A23, B3)),
    C("maximum_ties_split", L.maximum, torch.maximum, (TIES, np.full(3, 2.0))),
    C("minimum_ties_split", L.minimum, torch.minimum, (TIES, np.full((2, 1), 2.0))),
    C("exp", L.exp, torch.exp, (A23,)),
    C("log", L.log, torch.log, (u(2, 3, lo=0.1, hi=5.0),)),
    C("log_at_zero", L.log, torch.log, (np.array([0.0, 1.0]),)),
    C("sqrt", L.sqrt, torch.sqrt, (u(2, 3, lo=0.1, hi=5.0),)),
    C("sqrt_at_zero", L.sqrt, torch.sqrt, (np.array([0.0, 4.0]),)),
    C("sqrt_negative_nan", L.sqrt, torch.sqrt, (np.array([-1.0]),)),
    C("sin", L.sin, torch.sin, (A23,)),
    C("cos", L.cos, torch.cos, (A23,)),
    C("tan", L.tan, torch.tan, (u(2, 3, lo=-1.2, hi=1.2),)),
    C("arcsin", L.arcsin, torch.asin, (u(2, 3, lo=-0.9, hi=0.9),)),
    C("arcsin_at_one", L.arcsin, torch.asin, (np.array([1.0, -1.0]),)),
    C("arccos", L.arccos, torch.acos, (u(2, 3, lo=-0.9, hi=0.9),)),
    C("arctan", L.arctan, torch.atan, (A23,)),
    C("sinh", L.sinh, torch.sinh, (A23,)),
    C("cosh", L.cosh, torch.cosh, (A23,)),
    C("tanh", L.tanh, torch.tanh, (A23,)),
    C("abs_with_zero", L.abs, torch.abs, (np.array([-1.5, 0.0, 2.0]),)),
    C("reciprocal", L.reciprocal, torch.reciprocal, (u(4, lo=0.5),)),
    C("reciprocal_at_zero", L.reciprocal, torch.reciprocal, (np.array([0.0]),)),
    C("square", L.square, torch.square, (A23,)),
    C("cube", L.cube, lambda a: a**3, (A23,)),
    C("neg_operator", lambda a: -a, torch.neg, (A23,)),
    C(
        "clip",
        lambda a: L.clip(a, -0.5, 0.5),
        lambda a: torch.clamp(a, -0.5, 0.5),
        (A23,),
    ),
    C(
        "clip_at_bounds",
        lambda a: L.clip(a, 0.0, 2.0),
        lambda a: torch.clamp(a, 0.0, 2.0),
        (np.array([-1.0, 0.0, 1.0, 2.0, 3.0]),),
    ),
    C(
        "clip_min_only",
        lambda a: a.clip(0.0),
        lambda a: torch.clamp(a, min=0.0),
        (A23,),
    ),
    C("clamp_method", lambda a: a.clamp(max=0.1), lambda a: a.clamp(max=0.1), (A23,)),
]

REDUCTIONS = [
    C("sum_all", L.sum, torch.sum, (A234,)),
    C(
        "sum_axis_keepdims",
        lambda a: L.sum(a, 1, True),
        lambda a: a.sum(1, True),
        (A234,),
    ),
    C("sum_dim_tuple", lambda a: a.sum(dim=(0, 2)), lambda a: a.sum((0, 2)), (A234,)),
    C("mean_all", L.mean, torch.mean, (A234,)),
    C(
        "mean_axis_tuple",
        lambda a: L.mean(a, axis=(0, 2), keepdims=True),
        lambda a: a.mean((0, 2), keepdim=True),
        (A234,),
    ),
    C("var_all", L.var, lambda a: torch.var(a, correction=0), (A234,)),
    C(
        "var_axis",
        lambda a: L.var(a, axis=0),
        lambda a: a.var(0, correction=0),
        (A234,),
    ),
    C(
        "var_unbiased",
        lambda a: a.var(dim=2, correction=1),
        lambda a: a.var(2),
        (A234,),
    ),
    C("max_all_ties", L.max, torch.amax, (TIES,)),
    C("max_axis_ties", lambda a: L.max(a, axis=1), lambda a: a.amax(1), (TIES,)),
    C(
        "max_dim_keepdim",
        lambda a: a.max(dim=0, keepdim=True),
        lambda a: a.amax(0, keepdim=True),
        (A234,),
    ),
    C("min_all_ties", L.min, torch.amin, (-TIES,)),
    C("min_axis", lambda a: a.min(axis=2), lambda a: a.amin(2), (A234,)),
    C("max_elementwise_method", lambda a, b: a.max(b), torch.maximum, (A23, u(2, 3))),
    C("trace", L.trace, torch.trace, (u(3, 3),)),
    C("trace_batched", L.trace, _trace, (u(2, 3, 3),)),
    C("trace_rectangular", L.trace, torch.trace, (u(2, 4),)),
]

PRODUCTS = [
    C("matmul", L.matmul, torch.matmul, (u(2, 3), u(3, 4))),
    C("matmul_batched_broadcast", L.matmul, torch.matmul, (u(2, 1, 2, 3), u(4, 3, 2))),
    C("matmul_vector", L.matmul, torch.matmul, (u(3), u(3, 2))),
    C("matmul_operator", lambda a, b: a @ b, torch.matmul, (u(2, 3), u(3))),
    C("dot_vectors", L.dot, torch.dot, (u(3), u(3))),
    C("dot_matrices", L.dot, torch.matmul, (u(2, 3), u(3, 2))),
    C("dot_nd", L.dot, _np_dot, (u(2, 2, 3), u(4, 3, 2))),
    C("dot_method", lambda a, b: a.dot(b), torch.dot, (u(4), u(4))),
    C("inner_vectors", L.inner, torch.inner, (u(3), u(3))),
    C("inner_matrices", L.inner, torch.inner, (u(2, 3), u(4, 3))),
    C("outer", L.outer, torch.outer, (u(3), u(2))),
    C(
        "outer_flattens",
        L.outer,
        lambda a, b: torch.outer(a.flatten(), b.flatten()),
        (u(2, 2), u(2, 2)),
    ),
]

SHAPES = [
    C("transpose_default", L.transpose, lambda a: a.permute(2, 1, 0), (A234,)),
    C(
        "transpose_axes",
        lambda a: L.transpose(a, [1, 2, 0]),
        lambda a: a.permute(1, 2, 0),
        (A234,),
    ),
    C(
        "transpose_method_two_ints",
        lambda a: a.transpose(0, 2),
        lambda a: a.transpose(0, 2),
        (A234,),
    ),
    C("T_property", lambda a: a.T, lambda a: a.T, (A23,)),
    C("permute", lambda a: a.permute(2, 0, 1), lambda a: a.permute(2, 0, 1), (A234,)),
    C("reshape", lambda a: L.reshape(a, (4, -1)), lambda a: a.reshape(4, -1), (A234,)),
    C("view_method", lambda a: a.view(6, 4), lambda a: a.view(6, 4), (A234,)),
    C("squeeze_all", L.squeeze, torch.squeeze, (u(1, 3, 1),)),
    C("squeeze_axis", lambda a: L.squeeze(a, 0), lambda a: a.squeeze(0), (u(1, 3, 1),)),
    C("unsqueeze", lambda a: L.unsqueeze(a, 1), lambda a: a.unsqueeze(1), (A23,)),
    C(
        "unsqueeze_negative",
        lambda a: a.unsqueeze(dim=-1),
        lambda a: a.unsqueeze(-1),
        (A23,),
    ),
    C("ravel", L.ravel, torch.ravel, (A234,)),
    C("flatten", L.flatten, torch.flatten, (A234,)),
    C("flatten_range", lambda a: a.flatten(1), lambda a: a.flatten(1), (A234,)),
    C(
        "stack",
        lambda a, b, c: L.stack([a, b, c]),
        lambda *t: torch.stack(t),
        (A23, u(2, 3), u(2, 3)),
    ),
    C(
        "stack_axis",
        lambda a, b: L.stack((a, b), axis=-1),
        lambda a, b: torch.stack((a, b), -1),
        (A23, u(2, 3)),
    ),
    C(
        "concatenate",
        lambda a, b: L.concatenate((a, b), axis=1),
        lambda a, b: torch.cat((a, b), 1),
        (A23, u(2, 5)),
    ),
    C(
        "hstack",
        lambda a, b: L.hstack((a, b)),
        lambda a, b: torch.hstack((a, b)),
        (A23, u(2, 1)),
    ),
    C(
        "hstack_1d",
        lambda a, b: L.hstack((a, b)),
        lambda a, b: torch.hstack((a, b)),
        (u(2), u(3)),
    ),
    C(
        "vstack",
        lambda a, b: L.vstack((a, b)),
        lambda a, b: torch.vstack((a, b)),
        (u(3), u(2, 3)),
    ),
    C("pad_1d", lambda a: L.pad(a, (2, 3)), lambda a: TF.pad(a, (2, 3)), (u(3),)),
    C(
        "pad_2d",
        lambda a: L.pad(a, ((1, 0), (2, 1))),
        lambda a: TF.pad(a, (2, 1, 1, 0)),
        (A23,),
    ),
    C(
        "repeat_flat",
        lambda a: L.repeat(a, 2),
        lambda a: torch.repeat_interleave(a.flatten(), 2),
        (A23,),
    ),
    C(
        "repeat_axis",
        lambda a: L.repeat(a, 3, axis=1),
        lambda a: torch.repeat_interleave(a, 3, dim=1),
        (A23,),
    ),
    C(
        "repeat_per_element",
        lambda a: L.repeat(a, [1, 0, 2], axis=1),
        lambda a: torch.repeat_interleave(a, torch.tensor([1, 0, 2]), dim=1),
        (A23,),
    ),
    C("tile", lambda a: L.tile(a, 2), lambda a: torch.tile(a, (2,)), (u(3),)),
    C("tile_2d", lambda a: L.tile(a, (2, 3)), lambda a: torch.tile(a, (2, 3)), (A23,)),
    C("getitem_slice", lambda a: a[:, 1:], lambda a: a[:, 1:], (A23,)),
    C("diag_of_matrix", L.diag, torch.diag, (u(3, 3),)),
    C("diag_offset", lambda a: L.diag(a, 1), lambda a: torch.diag(a, 1), (u(3, 3),)),
    C("diag_of_vector", L.diag, torch.diag, (u(3),)),
    C("clone", lambda a: a.clone(), torch.clone, (A23,)),
    C(
        "astype_float16_roundtrip",
        lambda a: a.half().float(),
        lambda a: a.half().float(),
        (A23,),
        rtol=1e-3,
        atol=1e-3,
    ),
]


# Rank 2 of 3: the gradient is the (nonzero) cofactor matrix. PyTorch's LU
# based det backward is not a reliable oracle here: where its float64 LU finds
# an exactly zero pivot (it does on some CPUs) it returns a zero gradient. The
# oracle is the determinant as the triple product a0 . (a1 x a2), a polynomial
# whose autograd gradient is exactly the cofactor matrix.
def _det3(a):
    return (a[0] * torch.linalg.cross(a[1], a[2])).sum()


SING = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
SYM = np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.2, 1.0]])
LINALG = [
    C("inv", L.linalg.inv, torch.linalg.inv, (spd(3),)),
    C("inv_batched", L.linalg.inv, torch.linalg.inv, (np.stack([spd(2), spd(2)]),)),
    C("det", L.linalg.det, torch.linalg.det, (u(3, 3),), rtol=1e-4, atol=1e-4),
    C("det_singular", L.linalg.det, _det3, (SING,), atol=1e-5),
    C("solve_vector", L.linalg.solve, torch.linalg.solve, (spd(3), u(3))),
    C("solve_matrix", L.linalg.solve, torch.linalg.solve, (spd(3), u(3, 2))),
    C("cholesky", L.linalg.cholesky, torch.linalg.cholesky, (spd(3),), rtol=1e-4),
    C("norm_2", L.linalg.norm, torch.linalg.vector_norm, (A23,)),
    C(
        "norm_1",
        lambda a: L.linalg.norm(a, ord=1),
        lambda a: torch.linalg.vector_norm(a, 1),
        (A23,),
    ),
    C(
        "norm_3_axis",
        lambda a: L.linalg.norm(a, ord=3, axis=1),
        lambda a: torch.linalg.vector_norm(a, 3, dim=1),
        (A23,),
    ),
    C(
        "norm_inf",
        lambda a: L.linalg.norm(a, ord=math.inf),
        lambda a: torch.linalg.vector_norm(a, math.inf),
        (A23,),
    ),
    C("norm_at_zero", L.linalg.norm, torch.linalg.vector_norm, (np.zeros(3),)),
    # A zero entry: sign(0) = 0 in the gradient (JAX's abs would give 1).
    C(
        "norm_1_zero_entry",
        lambda a: L.linalg.norm(a, ord=1),
        lambda a: torch.linalg.vector_norm(a, 1),
        (np.array([0.0, 3.0, -4.0]),),
    ),
    C(
        "norm_inf_at_zero",
        lambda a: L.linalg.norm(a, ord=math.inf),
        lambda a: torch.linalg.vector_norm(a, math.inf),
        (np.zeros(2),),
    ),
    C(
        "matrix_power_3",
        lambda a: L.linalg.matrix_power(a, 3),
        lambda a: torch.linalg.matrix_power(a, 3),
        (u(3, 3),),
        rtol=1e-4,
        atol=1e-4,
    ),
    C(
        "matrix_power_negative",
        lambda a: L.linalg.matrix_power(a, -2),
        lambda a: torch.linalg.matrix_power(a, -2),
        (spd(2),),
    ),
    C(
        "matrix_power_zero",
        lambda a: L.linalg.matrix_power(a, 0),
        lambda a: torch.linalg.matrix_power(a, 0),
        (u(2, 2),),
    ),
    C("pinv", L.linalg.pinv, torch.linalg.pinv, (u(3, 2),), rtol=1e-4, atol=1e-4),
    C(
        "qr_q",
        lambda a: L.linalg.qr(a)[0],
        lambda a: torch.linalg.qr(a)[0],
        (u(3, 2),),
        rtol=1e-4,
        atol=1e-4,
    ),
    C(
        "qr_r",
        lambda a: L.linalg.qr(a)[1],
        lambda a: torch.linalg.qr(a)[1],
        (u(3, 3),),
        rtol=1e-4,
        atol=1e-4,
    ),
    C(
        "svd_values",
        lambda a: L.linalg.svd(a)[1],
        torch.linalg.svdvals,
        (u(3, 2),),
        rtol=1e-4,
        atol=1e-4,
    ),
    C(
        "svd_polar_factor",
        lambda a: _polar(L.linalg.svd(a)),
        lambda a: _polar(torch.linalg.svd(a)),
        (u(3, 3),),
        rtol=1e-3,
        atol=1e-4,
    ),
    C(
        "svd_reduced_polar",
        lambda a: _polar(L.linalg.svd(a, full_matrices=False)),
        lambda a: _polar(torch.linalg.svd(a, full_matrices=False)),
        (u(4, 2),),
        rtol=1e-3,
        atol=1e-4,
    ),
    C(
        "eig_values_real",
        lambda a: L.linalg.eig(a)[0],
        lambda a: torch.linalg.eigvals(a).real,
        (SYM,),
        rtol=1e-4,
        atol=1e-4,
    ),
]

CASES = ELEMENTWISE + REDUCTIONS + PRODUCTS + SHAPES + LINALG

"""RMSprop and Adagrad."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import jax.numpy as jnp
import optax

from lucid_fx.optim._common import check_options, coupled_gradient, descend
from lucid_fx.optim._optimizer import Optimizer


class RMSprop(Optimizer):
    r"""RMSprop, as ``torch.optim.RMSprop``.

    .. math::

        g \leftarrow \pm g + \lambda p, \quad
        v \leftarrow \alpha v + (1 - \alpha) g^2, \quad
        d = \sqrt{v - \bar g^2} + \epsilon, \quad
        b \leftarrow \mu b + g / d, \quad
        p \leftarrow p - \eta b

    where :math:`\bar g \leftarrow \alpha \bar g + (1 - \alpha) g` when
    ``centered`` (else :math:`\bar g = 0`), and without momentum
    :math:`p \leftarrow p - \eta g / d`. Built from ``optax.scale_by_rms`` /
    ``optax.scale_by_stddev`` (``eps`` outside the square root, as PyTorch)
    and ``optax.trace``.

    Args:
      params: Parameters, or dicts of per-group options (param groups).
      lr: learning rate :math:`\eta \ge 0`. Default ``0.01``.
      alpha: smoothing :math:`\alpha \ge 0`. Default ``0.99``.
      eps: :math:`\epsilon \ge 0`. Default ``1e-8``.
      weight_decay: :math:`\lambda \ge 0`. Default ``0``.
      momentum: :math:`\mu \ge 0`. Default ``0``.
      centered: normalise by the variance estimate. Default ``False``.
      maximize: ascend the objective. Default ``False``.

    State per parameter: ``step``, ``square_avg`` (:math:`v`), and
    ``momentum_buffer`` / ``grad_avg`` (:math:`\bar g`) when used.

    Raises:
      TypeError: if an option has the wrong type.
      ValueError: if an option is out of range.

    Examples:
      >>> from lucid_fx import Tensor
      >>> from lucid_fx import optim
      >>> from lucid_fx.nn import Parameter
      >>> w = Parameter([1.0, -1.0])
      >>> opt = optim.RMSprop([w], lr=0.5, alpha=0.75)
      >>> w.grad = Tensor([3.0, -0.5])
      >>> opt.step()  # -lr * g / sqrt(0.25 g^2) = -2 lr sign(g)
      >>> [round(v, 4) for v in w.tolist()]
      [0.0, 0.0]
    """

    _FLOATS = ("lr", "alpha", "eps", "weight_decay", "momentum")
    _FILLED_ON_LOAD: ClassVar[dict[str, Any]] = {
        **Optimizer._FILLED_ON_LOAD,
        "momentum": 0,
        "centered": False,
    }

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        alpha: float = 0.99,
        eps: float = 1e-8,
        weight_decay: float = 0.0,
        momentum: float = 0.0,
        centered: bool = False,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            alpha=alpha,
            eps=eps,
            weight_decay=weight_decay,
            momentum=momentum,
            centered=centered,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        numbers = ("alpha", "eps", "weight_decay", "momentum")
        check_options("RMSprop", group, numbers, ("centered", "maximize"))

    def _static(self, group: dict[str, Any]) -> tuple[bool, ...]:
        decays = group["weight_decay"] != 0
        return (group["momentum"] > 0, group["centered"], group["maximize"], decays)

    def _init_state(self, group: dict[str, Any], p: Any) -> dict[str, Any]:
        state = {"step": jnp.zeros((), jnp.float32), "square_avg": jnp.zeros_like(p)}
        if group["momentum"] > 0:
            state["momentum_buffer"] = jnp.zeros_like(p)
        if group["centered"]:
            state["grad_avg"] = jnp.zeros_like(p)
        return state

    @staticmethod
    def _update(static, hyper, p, g, state):  # noqa: ANN001, ANN205
        has_momentum, centered, maximize, decays = static
        alpha, eps = hyper["alpha"], hyper["eps"]
        g = coupled_gradient(g, p, hyper, maximize, decays)
        new = {"step": state["step"] + 1}
        if centered:
            rms = optax.scale_by_stddev(alpha, eps, eps_in_sqrt=False)
            old = optax.ScaleByRStdDevState(state["grad_avg"], state["square_avg"])
            g, s = rms.update(g, old)
            new |= {"grad_avg": s.mu, "square_avg": s.nu}
        else:
            rms = optax.scale_by_rms(alpha, eps, eps_in_sqrt=False)
            g, s = rms.update(g, optax.ScaleByRmsState(state["square_avg"]))
            new["square_avg"] = s.nu
        if has_momentum:
            trace = optax.trace(hyper["momentum"])
            g, buf = trace.update(g, optax.TraceState(state["momentum_buffer"]))
            new["momentum_buffer"] = buf.trace
        return descend(p, hyper["lr"], g), new


class Adagrad(Optimizer):
    r"""Adagrad, as ``torch.optim.Adagrad``.

    .. math::

        g \leftarrow \pm g + \lambda p, \quad
        s \leftarrow s + g^2, \quad
        p \leftarrow p - \frac{\eta}{1 + (t - 1) \delta}
        \frac{g}{\sqrt{s} + \epsilon}

    ``optax.scale_by_rss`` puts :math:`\epsilon` inside the square root
    (:math:`g / \sqrt{s + \epsilon}`), which differs from PyTorch by more than
    float32 rounding for small sums, so the accumulation is written here with
    ``optax.tree`` helpers and PyTorch's denominator.

    Args:
      params: Parameters, or dicts of per-group options (param groups).
      lr: learning rate :math:`\eta \ge 0`. Default ``0.01``.
      lr_decay: :math:`\delta \ge 0`. Default ``0``.
      weight_decay: :math:`\lambda \ge 0`. Default ``0``.
      initial_accumulator_value: the initial :math:`s \ge 0`. Default ``0``.
      eps: :math:`\epsilon \ge 0`. Default ``1e-10``.
      maximize: ascend the objective. Default ``False``.

    State per parameter: ``step`` (:math:`t`) and ``sum`` (:math:`s`).

    Raises:
      TypeError: if an option has the wrong type.
      ValueError: if an option is out of range.

    Examples:
      >>> from lucid_fx import Tensor
      >>> from lucid_fx import optim
      >>> from lucid_fx.nn import Parameter
      >>> w = Parameter([1.0, -1.0])
      >>> opt = optim.Adagrad([w], lr=0.5)
      >>> w.grad = Tensor([4.0, -0.25])
      >>> opt.step()  # -lr * g / |g|
      >>> [round(v, 4) for v in w.tolist()]
      [0.5, -0.5]
    """

    _FLOATS = ("lr", "lr_decay", "weight_decay", "eps")

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-2,
        lr_decay: float = 0.0,
        weight_decay: float = 0.0,
        initial_accumulator_value: float = 0.0,
        eps: float = 1e-10,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            lr_decay=lr_decay,
            weight_decay=weight_decay,
            initial_accumulator_value=initial_accumulator_value,
            eps=eps,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        numbers = ("lr_decay", "weight_decay", "initial_accumulator_value", "eps")
        check_options("Adagrad", group, numbers, ("maximize",))

    def _static(self, group: dict[str, Any]) -> tuple[bool, bool]:
        return (group["maximize"], group["weight_decay"] != 0)

    def _init_state(self, group: dict[str, Any], p: Any) -> dict[str, Any]:
        value = group["initial_accumulator_value"]
        return {"step": jnp.zeros((), jnp.float32), "sum": jnp.full_like(p, value)}

    @staticmethod
    def _update(static, hyper, p, g, state):  # noqa: ANN001, ANN205
        maximize, decays = static
        g = coupled_gradient(g, p, hyper, maximize, decays)
        step = state["step"] + 1
        lr = hyper["lr"] / (1 + (step - 1) * hyper["lr_decay"])
        total = optax.tree.add(state["sum"], g * g)
        u = g / (jnp.sqrt(total) + hyper["eps"])
        return descend(p, lr, u), {"step": step, "sum": total}

"""SGD with momentum, dampening, Nesterov, weight decay and maximize."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import jax.numpy as jnp
import optax

from lucid_fx.optim._common import check_options, coupled_gradient, descend
from lucid_fx.optim._optimizer import Optimizer


class SGD(Optimizer):
    r"""Stochastic gradient descent, as ``torch.optim.SGD``.

    .. math::

        g \leftarrow \pm g + \lambda p, \qquad
        b \leftarrow \begin{cases} g & \text{first step} \\
        \mu b + (1 - \tau) g & \text{after} \end{cases}, \qquad
        p \leftarrow p - \eta \begin{cases} g + \mu b & \text{Nesterov} \\
        b & \text{otherwise} \end{cases}

    (:math:`-g` when ``maximize``; without momentum :math:`p \leftarrow p -
    \eta g`). Built from ``optax.add_decayed_weights`` and ``optax.trace``;
    the first step's undampened buffer is PyTorch's rule.

    Args:
      params: Parameters, or dicts of per-group options (param groups).
      lr: learning rate :math:`\eta \ge 0`. Default ``0.001``.
      momentum: :math:`\mu \ge 0`. Default ``0``.
      dampening: :math:`\tau \ge 0`. Default ``0``.
      weight_decay: L2 coefficient :math:`\lambda \ge 0`. Default ``0``.
      nesterov: Nesterov momentum (needs ``momentum > 0`` and
        ``dampening == 0``). Default ``False``.
      maximize: ascend the objective. Default ``False``.

    State per parameter (when ``momentum > 0``): ``momentum_buffer``.

    Raises:
      TypeError: if an option has the wrong type.
      ValueError: if an option is out of range, or ``nesterov`` without
        momentum or with dampening.

    Examples:
      >>> from lucid_fx import optim
      >>> from lucid_fx.nn import Parameter
      >>> w = Parameter([1.0, -2.0])
      >>> opt = optim.SGD([w], lr=0.5, momentum=0.5)
      >>> for _ in range(2):
      ...     opt.zero_grad()
      ...     (w * w).sum().backward()
      ...     opt.step()
      >>> w.tolist()  # b = 2w0, then w1 = 0, b = 0.5 b
      [-0.5, 1.0]
    """

    _FLOATS = ("lr", "momentum", "dampening", "weight_decay")
    _HIDDEN = ("step",)
    _FILLED_ON_LOAD: ClassVar[dict[str, Any]] = {
        **Optimizer._FILLED_ON_LOAD,
        "nesterov": False,
    }

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        momentum: float = 0.0,
        dampening: float = 0.0,
        weight_decay: float = 0.0,
        nesterov: bool = False,
        maximize: bool = False,
    ) -> None:
        defaults = dict(
            lr=lr,
            momentum=momentum,
            dampening=dampening,
            weight_decay=weight_decay,
            nesterov=nesterov,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        super()._check_group(group)
        numbers = ("momentum", "dampening", "weight_decay")
        check_options("SGD", group, numbers, ("nesterov", "maximize"))
        if group["nesterov"] and (group["momentum"] <= 0 or group["dampening"]):
            raise ValueError(
                "SGD: nesterov=True needs momentum > 0 and dampening == 0, got "
                f"momentum={group['momentum']!r}, dampening={group['dampening']!r}."
            )

    def _static(self, group: dict[str, Any]) -> tuple[bool, ...]:
        # Which terms exist (as PyTorch's ``if weight_decay != 0``): a zero
        # option costs no pass over the parameters.
        return (
            group["momentum"] != 0,
            group["nesterov"],
            group["maximize"],
            group["weight_decay"] != 0,
            group["dampening"] != 0,
        )

    def _init_state(self, group: dict[str, Any], p: Any) -> dict[str, Any]:
        if group["momentum"] == 0:
            return {}
        return {"momentum_buffer": jnp.zeros_like(p), "step": jnp.zeros((), "float32")}

    @staticmethod
    def _update(static, hyper, p, g, state):  # noqa: ANN001, ANN205
        has_momentum, nesterov, maximize, decays, dampens = static
        g = coupled_gradient(g, p, hyper, maximize, decays)
        if has_momentum:
            if dampens:
                first = state["step"] == 0
                g = jnp.where(first, g, (1 - hyper["dampening"]) * g)
            trace = optax.trace(hyper["momentum"], nesterov=nesterov)
            g, buf = trace.update(g, optax.TraceState(state["momentum_buffer"]))
            state = {"momentum_buffer": buf.trace, "step": state["step"] + 1}
        return descend(p, hyper["lr"], g), state

"""Adam and AdamW (L2 or decoupled weight decay, AMSGrad, maximize)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, ClassVar

import jax.numpy as jnp
import optax

from lucid_fx.optim._checks import check_number
from lucid_fx.optim._common import check_options, coupled_gradient, descend
from lucid_fx.optim._optimizer import Optimizer


def _check_betas(api: str, betas: Any) -> tuple[float, float]:
    if not isinstance(betas, tuple | list) or len(betas) != 2:
        raise TypeError(f"{api}: betas must be a pair of numbers, got {betas!r}.")
    return (
        check_number(api, "betas[0]", betas[0], 0.0, 1.0),
        check_number(api, "betas[1]", betas[1], 0.0, 1.0),
    )


class Adam(Optimizer):
    r"""Adam, as ``torch.optim.Adam`` (``optax.scale_by_adam``).

    .. math::

        g \leftarrow \pm g + \lambda p, \quad
        m \leftarrow \beta_1 m + (1 - \beta_1) g, \quad
        v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \quad
        p \leftarrow p - \eta \frac{m / (1 - \beta_1^t)}
        {\sqrt{\hat v / (1 - \beta_2^t)} + \epsilon}

    with :math:`\hat v = v`, or with ``amsgrad`` the running maximum of
    :math:`v` (PyTorch's rule: ``optax.scale_by_amsgrad`` keeps the maximum of
    the bias-corrected :math:`v` instead, so AMSGrad is written here from
    ``optax.tree`` moments). :math:`\lambda` is an L2 term added to the
    gradient; :class:`AdamW` decouples it.

    Args:
      params: Parameters, or dicts of per-group options (param groups).
      lr: learning rate :math:`\eta \ge 0`. Default ``0.001``.
      betas: :math:`(\beta_1, \beta_2)`, each in ``[0, 1)``. Default
        ``(0.9, 0.999)``.
      eps: :math:`\epsilon \ge 0`. Default ``1e-8``.
      weight_decay: :math:`\lambda \ge 0`. Default ``0``.
      amsgrad: use the maximum of :math:`v`. Default ``False``.
      maximize: ascend the objective. Default ``False``.

    State per parameter: ``step``, ``exp_avg`` (:math:`m`), ``exp_avg_sq``
    (:math:`v`) and, with ``amsgrad``, ``max_exp_avg_sq``.

    Raises:
      TypeError: if an option has the wrong type.
      ValueError: if an option is out of range.

    Examples:
      >>> from lucid_fx import optim
      >>> from lucid_fx.nn import Parameter
      >>> w = Parameter([1.0, -2.0])
      >>> opt = optim.Adam([w], lr=0.5)
      >>> (w * w).sum().backward()
      >>> opt.step()
      >>> [round(v, 4) for v in w.tolist()]  # the first step moves each by lr
      [0.5, -1.5]
    """

    _FLOATS = ("lr", "betas", "eps", "weight_decay")
    _DECOUPLED = False
    _FILLED_ON_LOAD: ClassVar[dict[str, Any]] = {
        **Optimizer._FILLED_ON_LOAD,
        "amsgrad": False,
    }
    _DEFAULT_DECAY = 0.0

    def __init__(
        self,
        params: Iterable[Any],
        lr: float = 1e-3,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        weight_decay: float | None = None,
        amsgrad: bool = False,
        maximize: bool = False,
    ) -> None:
        if weight_decay is None:
            weight_decay = self._DEFAULT_DECAY
        defaults = dict(
            lr=lr,
            betas=betas,
            eps=eps,
            weight_decay=weight_decay,
            amsgrad=amsgrad,
            maximize=maximize,
        )
        super().__init__(params, defaults)

    def _check_group(self, group: dict[str, Any]) -> None:
        api = type(self).__name__
        super()._check_group(group)
        group["betas"] = _check_betas(api, group["betas"])
        check_options(api, group, ("eps", "weight_decay"), ("amsgrad", "maximize"))

    def _static(self, group: dict[str, Any]) -> tuple[bool, ...]:
        decays = group["weight_decay"] != 0
        return (group["amsgrad"], group["maximize"], self._DECOUPLED, decays)

    def _init_state(self, group: dict[str, Any], p: Any) -> dict[str, Any]:
        state = {
            "step": jnp.zeros((), jnp.float32),
            "exp_avg": jnp.zeros_like(p),
            "exp_avg_sq": jnp.zeros_like(p),
        }
        if group["amsgrad"]:
            state["max_exp_avg_sq"] = jnp.zeros_like(p)
        return state

    @staticmethod
    def _update(static, hyper, p, g, state):  # noqa: ANN001, ANN205
        amsgrad, maximize, decoupled, decays = static
        b1, b2, eps = hyper["beta1"], hyper["beta2"], hyper["eps"]
        g = coupled_gradient(g, p, hyper, maximize, decays and not decoupled)
        count = state["step"].astype(jnp.int32)
        if amsgrad:
            m = optax.tree.update_moment(g, state["exp_avg"], b1, 1)
            v = optax.tree.update_moment_per_elem_norm(g, state["exp_avg_sq"], b2, 2)
            v_max = jnp.maximum(state["max_exp_avg_sq"], v)
            m_hat = optax.tree.bias_correction(m, b1, count + 1)
            v_hat = optax.tree.bias_correction(v_max, b2, count + 1)
            u = m_hat / (jnp.sqrt(v_hat) + eps)
            new = {"exp_avg": m, "exp_avg_sq": v, "max_exp_avg_sq": v_max}
        else:
            adam = optax.scale_by_adam(b1, b2, eps)
            old = optax.ScaleByAdamState(count, state["exp_avg"], state["exp_avg_sq"])
            u, s = adam.update(g, old)
            new = {"exp_avg": s.mu, "exp_avg_sq": s.nu}
        if decays and decoupled:
            decay = optax.add_decayed_weights(hyper["weight_decay"])
            u, _ = decay.update(u, None, p)
        return descend(p, hyper["lr"], u), {"step": state["step"] + 1, **new}


class AdamW(Adam):
    r"""Adam with decoupled weight decay, as ``torch.optim.AdamW``.

    .. math::

        p \leftarrow p - \eta \left( \frac{m / (1 - \beta_1^t)}
        {\sqrt{\hat v / (1 - \beta_2^t)} + \epsilon} + \lambda p \right)

    with :math:`m, v, \hat v` as in :class:`Adam` on the raw gradient
    (``optax.scale_by_adam`` then ``optax.add_decayed_weights``, i.e.
    ``optax.adamw``). The arguments are :class:`Adam`'s, with
    ``weight_decay`` defaulting to ``0.01``.

    Examples:
      >>> from lucid_fx import Tensor
      >>> from lucid_fx import optim
      >>> from lucid_fx.nn import Parameter
      >>> w = Parameter([1.0, -2.0])
      >>> opt = optim.AdamW([w], lr=0.5, weight_decay=0.5)
      >>> w.grad = Tensor([1.0, 1.0])
      >>> opt.step()
      >>> [round(v, 4) for v in w.tolist()]  # -lr * (1 + 0.5 w)
      [0.25, -2.0]
    """

    _DECOUPLED = True
    _DEFAULT_DECAY = 1e-2

"""Optimizers over Parameters, as ``torch.optim``, built on optax transforms.

Each optimizer keeps one optax state per parameter and applies the update to
all parameters that have a gradient in one compiled program. The learning rate
is a traced input, so changing ``opt.lr`` takes effect at the next ``step()``
without recompiling.
"""

from __future__ import annotations

import contextlib
import functools
import math
from collections.abc import Callable, Hashable, Iterable, Iterator
from typing import Any

import jax
import jax.numpy as jnp
import optax

from lucid_fx._tensor import Tensor, _tape


def _check_number(api: str, name: str, value: Any, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(
            f"{api}: {name} must be a number, got {type(value).__name__} {value!r}."
        )
    if not (math.isfinite(value) and low <= value < high):
        raise ValueError(f"{api}: {name} must be in [{low}, {high}), got {value!r}.")
    return float(value)


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3), donate_argnums=(4, 6))
def _apply(
    make: Callable,
    hyper: Hashable,
    treedef: Any,
    live: tuple[int, ...],
    params: Any,
    grads: Any,
    leaves: list[Any],
    lr: Any,
) -> tuple[Any, list[Any]]:
    """Update the ``live`` parameters. Optimizer states travel as flat leaves
    (unflattened only while tracing), so a step pays no pytree cost per call."""
    transform = make(lr, *hyper)  # type: ignore[misc]
    states = jax.tree.unflatten(treedef, leaves)
    new_params = []
    for p, g, i in zip(params, grads, live, strict=True):
        update, states[i] = transform.update(g, states[i], p)
        new_params.append(optax.apply_updates(p, update))
    return tuple(new_params), jax.tree.leaves(states)


class Optimizer:
    """Base class: parameter bookkeeping, ``zero_grad`` and a compiled ``step``.

    Subclasses provide ``_make(lr, *hyper) -> optax.GradientTransformation`` (a
    static method) and ``_hyper()`` (hashable hyperparameters other than lr).

    Examples:
      >>> import optax
      >>> from lucid_fx import optim
      >>> from lucid_fx.nn import Parameter
      >>> class RMSprop(optim.Optimizer):  # first step: -lr * g / sqrt(0.1 g^2)
      ...     _make = staticmethod(lambda lr, decay: optax.rmsprop(lr, decay=decay))
      ...     def _hyper(self):
      ...         return (0.9,)
      >>> w = Parameter([1.0, -1.0])
      >>> opt = RMSprop([w], lr=0.5)
      >>> w.grad = [3.0, -0.1]
      >>> opt.step()
      >>> [round(v, 3) for v in w.tolist()]
      [-0.581, 0.581]
    """

    _make: Callable[..., optax.GradientTransformation]

    def __init__(self, params: Iterable[Tensor], lr: float) -> None:
        api = type(self).__name__
        params = list(params)
        if not params:
            raise ValueError(
                f"{api}: got an empty parameter list. Pass model.parameters() of a "
                f"model that has parameters."
            )
        for i, p in enumerate(params):
            if not isinstance(p, Tensor) or not p.requires_grad:
                raise TypeError(
                    f"{api}: params[{i}] must be a Tensor that requires grad (e.g. a "
                    f"Parameter), got {type(p).__name__}."
                )
        self.params: list[Tensor] = params
        self.lr = lr
        self._birth = _tape.stamp()
        transform = self._make(1.0, *self._hyper())
        states = [transform.init(p.data) for p in params]
        # Kept flat: a compiled step passes and returns these arrays as they are.
        self._state_leaves, self._state_def = jax.tree.flatten(states)

    @property
    def state(self) -> tuple[Any, ...]:
        """The optax state of each parameter, in ``params`` order (read-only)."""
        return tuple(jax.tree.unflatten(self._state_def, self._state_leaves))

    @property
    def lr(self) -> float:
        """The learning rate; assigning it takes effect at the next ``step``."""
        return self._lr

    @lr.setter
    def lr(self, value: float) -> None:
        self._lr = _check_number(type(self).__name__, "lr", value, 0.0, math.inf)
        self._lr_cache: Any = None

    def _lr_scalar(self) -> Any:
        """The learning rate as a float32 JAX scalar, made once per value.

        A Python number passed to a compiled program is copied to the device at
        every call (~8 us per step, measured on CPU); this array is reused until
        ``lr`` is assigned. Inside a compiled step it is the traced input.
        """
        if self._lr_cache is None:
            self._lr_cache = jnp.asarray(self._lr, jnp.float32)
        return self._lr_cache

    def _hyper(self) -> tuple[Hashable, ...]:
        raise NotImplementedError

    # The bridge hooks lucid_fx.compile uses (thin adapters; see transforms).
    def bridge_state(self) -> tuple[tuple[dict[str, Any], ...], list[Any]]:
        """``(hyper, state)``: traced hyperparameters per param group (0-d
        float32 arrays, cached per value) and the state leaves a step replaces."""
        return ({"lr": self._lr_scalar()},), self._state_leaves

    def load_bridge_state(self, state: list[Any]) -> None:
        """Rebind the state leaves (no validation, no copy)."""
        self._state_leaves = state

    @contextlib.contextmanager
    def traced_hyper(self, hyper: tuple[dict[str, Any], ...]) -> Iterator[None]:
        """While tracing, ``step()`` reads these arrays instead of ``lr``."""
        saved = self._lr_cache
        self._lr_cache = hyper[0]["lr"]
        try:
            yield
        finally:
            self._lr_cache = saved

    def bridge_signature(self) -> Hashable:
        """What an update bakes in besides the traced hyperparameters."""
        return (type(self), self._hyper(), len(self.params), self._state_def)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear the gradients of all parameters."""
        for p in self.params:
            p.grad = None if set_to_none or p.grad is None else p.grad.data * 0

    def step(self) -> None:
        """Update every parameter that has a gradient (others are skipped)."""
        _tape.check_writable(self, self._birth, f"a {type(self).__name__} optimizer")
        live = [i for i, p in enumerate(self.params) if p.grad is not None]
        if not live:
            return
        for i in live:
            p = self.params[i]
            _tape.check_writable(p, p._birth, f"a parameter of shape {p.shape}")
        params = tuple(self.params[i].data for i in live)
        grads = tuple(self.params[i].grad.data for i in live)  # type: ignore[union-attr]
        static = (type(self)._make, self._hyper(), self._state_def, tuple(live))
        # optax mixes int step counts with floats; keep it working when users
        # (and our test suite) run JAX with strict dtype promotion.
        with jax.numpy_dtype_promotion("standard"):
            new_params, self._state_leaves = _apply(
                *static, params, grads, self._state_leaves, self._lr_scalar()
            )
        for i, p in zip(live, new_params, strict=True):
            self.params[i].data = p


class SGD(Optimizer):
    r"""Stochastic gradient descent with momentum and weight decay, as PyTorch.

    .. math::

        g \leftarrow g + \lambda p, \qquad
        b \leftarrow \mu b + g, \qquad
        p \leftarrow p - \eta b

    (``optax.add_decayed_weights`` then ``optax.sgd``; no dampening, no
    Nesterov.)

    Args:
      params: the parameters to optimise (e.g. ``model.parameters()``).
      lr: learning rate :math:`\eta \ge 0`.
      momentum: :math:`\mu \in [0, 1)`. Default ``0``.
      weight_decay: L2 coefficient :math:`\lambda \ge 0`. Default ``0``.

    Examples:
      >>> from lucid_fx import Tensor, optim
      >>> from lucid_fx.nn import Parameter
      >>> w = Parameter([1.0, -2.0])
      >>> opt = optim.SGD([w], lr=0.5)
      >>> (w * w).sum().backward()
      >>> opt.step()
      >>> w
      Parameter([0.0, 0.0], grad=[2.0, -4.0])
    """

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float,
        momentum: float = 0.0,
        weight_decay: float = 0.0,
    ) -> None:
        self.momentum = _check_number("SGD", "momentum", momentum, 0.0, 1.0)
        self.weight_decay = _check_number(
            "SGD", "weight_decay", weight_decay, 0.0, math.inf
        )
        super().__init__(params, lr)

    @staticmethod
    def _make(lr: Any, momentum: float, weight_decay: float) -> Any:
        return optax.chain(
            optax.add_decayed_weights(weight_decay),
            optax.sgd(lr, momentum=momentum or None),
        )

    def _hyper(self) -> tuple[float, float]:
        return (self.momentum, self.weight_decay)


class Adam(Optimizer):
    r"""Adam, as ``torch.optim.Adam`` (``optax.adam``).

    .. math::

        m \leftarrow \beta_1 m + (1 - \beta_1) g, \quad
        v \leftarrow \beta_2 v + (1 - \beta_2) g^2, \quad
        p \leftarrow p - \eta \frac{m / (1 - \beta_1^t)}
        {\sqrt{v / (1 - \beta_2^t)} + \epsilon}

    Args:
      params: the parameters to optimise.
      lr: learning rate :math:`\eta \ge 0`.
      betas: :math:`(\beta_1, \beta_2)`, each in ``[0, 1)``. Default
        ``(0.9, 0.999)``.
      eps: :math:`\epsilon \ge 0`. Default ``1e-8``.

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

    def __init__(
        self,
        params: Iterable[Tensor],
        lr: float,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ) -> None:
        if not isinstance(betas, tuple | list) or len(betas) != 2:
            raise TypeError(f"Adam: betas must be a pair of numbers, got {betas!r}.")
        self.betas = (
            _check_number("Adam", "betas[0]", betas[0], 0.0, 1.0),
            _check_number("Adam", "betas[1]", betas[1], 0.0, 1.0),
        )
        self.eps = _check_number("Adam", "eps", eps, 0.0, math.inf)
        super().__init__(params, lr)

    @staticmethod
    def _make(lr: Any, b1: float, b2: float, eps: float) -> Any:
        return optax.adam(lr, b1=b1, b2=b2, eps=eps)

    def _hyper(self) -> tuple[float, float, float]:
        return (*self.betas, self.eps)

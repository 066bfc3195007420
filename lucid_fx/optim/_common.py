"""What the built-in optimizers share: the checks of their non-negative and
flag options, and the first and last lines of PyTorch's step."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any

import optax

from lucid_fx.optim._checks import check_flag, check_number


def check_options(
    api: str, group: dict[str, Any], numbers: Iterable[str], flags: Iterable[str]
) -> None:
    """Normalise ``numbers`` to floats >= 0 and check ``flags`` are bools."""
    for name in numbers:
        group[name] = check_number(api, name, group[name], 0.0, math.inf)
    for name in flags:
        check_flag(api, name, group[name])


def coupled_gradient(
    g: Any, p: Any, hyper: dict[str, Any], maximize: bool, decays: bool
) -> Any:
    r"""PyTorch's :math:`\pm g + \lambda p`: ``-g`` when ``maximize``, plus the
    L2 term (``optax.add_decayed_weights``) only when ``decays``, so a zero
    ``weight_decay`` costs no pass over the parameters."""
    g = -g if maximize else g
    if decays:
        g, _ = optax.add_decayed_weights(hyper["weight_decay"]).update(g, None, p)
    return g


def descend(p: Any, lr: Any, u: Any) -> Any:
    """``p - lr * u`` via ``optax.scale`` and ``optax.apply_updates``."""
    update, _ = optax.scale(-lr).update(u, None)
    return optax.apply_updates(p, update)

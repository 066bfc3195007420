"""Base of the modules whose one setting lives in a frozen ``layers`` config."""

from __future__ import annotations

from typing import Any

from lucid_fx import layers
from lucid_fx.nn import functional as F
from lucid_fx.nn._module import Module


class Configured(Module):
    """A module holding ``config``, a frozen ``lucid_fx.layers.<_layer>``.

    A subclass names its one setting in ``_config_fields``, exposes it with
    :func:`setting`, and gives the names of its config class (``_layer``) and
    of the function ``forward`` applies (``_function``, in
    ``lucid_fx.nn.functional``); names rather than objects keep the lookups as
    late as a hand-written module's.
    """

    _layer: str
    _function: str

    def __init__(self, value: Any) -> None:
        super().__init__()
        self.config = getattr(layers, self._layer)(value)

    def forward(self, input: Any) -> Any:  # noqa: A002
        return getattr(F, self._function)(input, self._value())

    def extra_repr(self) -> str:
        return f"{self._config_fields[0]}={self._value()!r}"

    def _value(self) -> Any:
        return getattr(self.config, self._config_fields[0])


def setting(name: str) -> property:
    """The property ``name`` of a :class:`Configured` module: the config's value;
    assigning it replaces the config with a new one, which validates the value.
    """

    def get(module: Configured) -> Any:
        return getattr(module.config, name)

    def set_(module: Configured, value: Any) -> None:
        module.config = type(module.config)(value)

    return property(get, set_)

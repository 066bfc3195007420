"""Sequential: modules applied in order."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from lucid_fx.nn._module import Module


class Sequential(Module):
    """Apply modules in order; sub-modules are named ``"0"``, ``"1"``, ...

    Args:
      *modules: the modules, in order.

    Raises:
      TypeError: if an argument is not a Module.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> model = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.125), nn.Linear(4, 2))
      >>> model
      Sequential(
        (0): Linear(in_features=3, out_features=4, bias=True)
        (1): LeakyReLU(negative_slope=0.125)
        (2): Linear(in_features=4, out_features=2, bias=True)
      )
      >>> len(model), list(model.state_dict())
      (3, ['0.weight', '0.bias', '2.weight', '2.bias'])
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        for i, module in enumerate(modules):
            if not isinstance(module, Module):
                raise TypeError(
                    f"Sequential: argument {i} must be a Module, got "
                    f"{type(module).__name__}."
                )
            setattr(self, str(i), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self.children())

    def __getitem__(self, index: int) -> Module:
        modules = list(self.children())
        return modules[index]

    def forward(self, input: Any) -> Any:  # noqa: A002
        for module in self.children():
            input = module(input)
        return input

"""Containers: Sequential, ModuleList, ModuleDict."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np

from lucid_fx.nn._module import Module


def _check_module(value: Any, api: str, where: str) -> Module:
    if not isinstance(value, Module):
        raise TypeError(f"{api}: {where} must be a Module, got {type(value).__name__}.")
    return value


class Sequential(Module):
    """Apply modules in order; sub-modules are named ``"0"``, ``"1"``, ...

    Also accepts one ``OrderedDict`` of named modules, as PyTorch.

    Args:
      *modules: the modules, in order, or a single ``OrderedDict``.

    Raises:
      TypeError: if an argument is not a Module.

    Examples:
      >>> from collections import OrderedDict
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
      >>> named = nn.Sequential(OrderedDict(fc=nn.Linear(2, 1), act=nn.Sigmoid()))
      >>> list(named.state_dict()), type(named[1]).__name__
      (['fc.weight', 'fc.bias'], 'Sigmoid')

    Indexing replaces and deletes modules, as in PyTorch:

      >>> model[1] = nn.Tanh()
      >>> del model[0]
      >>> model
      Sequential(
        (0): Tanh()
        (1): Linear(in_features=4, out_features=2, bias=True)
      )
    """

    def __init__(self, *modules: Module) -> None:
        super().__init__()
        if len(modules) == 1 and isinstance(modules[0], OrderedDict):
            for name, module in modules[0].items():
                self.add_module(name, _check_module(module, "Sequential", repr(name)))
            return
        for i, module in enumerate(modules):
            setattr(self, str(i), _check_module(module, "Sequential", f"argument {i}"))

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._modules.values())

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return Sequential(OrderedDict(list(self._modules.items())[index]))
        return self._modules[self._key(index)]  # errors name Sequential

    def __setitem__(self, index: int, module: Module) -> None:
        """Replace the module at ``index`` (negative counts from the end)."""
        key = self._key(index)
        # In place: a plain setattr would move the entry to the end.
        self._modules[key] = _check_module(module, "Sequential", "module")
        self.changed()

    def __delitem__(self, index: int | slice) -> None:
        """Remove the module(s) at ``index``; the rest are numbered ``"0"``,
        ``"1"``, ... again, as PyTorch does."""
        keys = list(self._modules)
        doomed = set(keys[index]) if isinstance(index, slice) else {self._key(index)}
        kept = [m for k, m in self._modules.items() if k not in doomed]
        self._modules.clear()
        for i, module in enumerate(kept):
            self._modules[str(i)] = module
        self.changed()

    def _key(self, index: int) -> str:
        if isinstance(index, bool) or not isinstance(index, int | np.integer):
            raise TypeError(
                f"Sequential: indices must be ints or slices, got "
                f"{type(index).__name__}."
            )
        index = int(index)
        keys = list(self._modules)
        if not -len(keys) <= index < len(keys):
            raise IndexError(
                f"Sequential: index {index} is out of range for {len(keys)} modules."
            )
        return keys[index]

    def append(self, module: Module) -> Sequential:
        """Add ``module`` at the end; returns ``self``.

        Examples:
          >>> import lucid_fx.nn as nn
          >>> len(nn.Sequential(nn.ReLU()).append(nn.Tanh()))
          2
        """
        self.add_module(str(len(self)), _check_module(module, "Sequential", "module"))
        return self

    def forward(self, input: Any) -> Any:  # noqa: A002
        for module in self._modules.values():
            input = module(input)
        return input


class ModuleList(Module):
    """A list of sub-modules, registered so their parameters are found.

    Args:
      modules: an iterable of Modules, or ``None``.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> layers = nn.ModuleList([nn.Linear(2, 2) for _ in range(2)])
      >>> layers.append(nn.ReLU())
      ModuleList(
        (0): Linear(in_features=2, out_features=2, bias=True)
        (1): Linear(in_features=2, out_features=2, bias=True)
        (2): ReLU()
      )
      >>> len(layers), len(list(layers.parameters()))
      (3, 4)
    """

    def __init__(self, modules: Iterable[Module] | None = None) -> None:
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def _items(self) -> list[Module]:
        return list(self._modules.values())

    def _reset(self, modules: list[Module]) -> None:
        for name in list(self._modules):
            delattr(self, name)
        for i, module in enumerate(modules):
            self.add_module(str(i), module)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[Module]:
        return iter(self._items())

    def __getitem__(self, index: int | slice) -> Any:
        if isinstance(index, slice):
            return ModuleList(self._items()[index])
        return self._items()[index]

    def __setitem__(self, index: int, module: Module) -> None:
        items = self._items()
        items[index] = _check_module(module, "ModuleList", "value")
        self._reset(items)

    def __delitem__(self, index: int | slice) -> None:
        items = self._items()
        del items[index]
        self._reset(items)

    def append(self, module: Module) -> ModuleList:
        """Add ``module`` at the end; returns ``self``."""
        self.add_module(str(len(self)), _check_module(module, "ModuleList", "module"))
        return self

    def extend(self, modules: Iterable[Module]) -> ModuleList:
        """Add each of ``modules`` at the end; returns ``self``."""
        for module in modules:
            self.append(module)
        return self

    def insert(self, index: int, module: Module) -> None:
        """Insert ``module`` before ``index``."""
        items = self._items()
        items.insert(index, _check_module(module, "ModuleList", "module"))
        self._reset(items)


class ModuleDict(Module):
    """A dict of sub-modules by name, registered so their parameters are found.

    Args:
      modules: a mapping (or iterable of pairs) of names to Modules, or
        ``None``.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> heads = nn.ModuleDict({"cls": nn.Linear(4, 3), "box": nn.Linear(4, 2)})
      >>> list(heads), "cls" in heads, list(heads.state_dict())[:2]
      (['cls', 'box'], True, ['cls.weight', 'cls.bias'])
    """

    def __init__(self, modules: Any = None) -> None:
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __len__(self) -> int:
        return len(self._modules)

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._modules))

    def __contains__(self, key: object) -> bool:
        return key in self._modules

    def __getitem__(self, key: str) -> Module:
        if key not in self._modules:
            raise KeyError(f"ModuleDict: no module named {key!r}.")
        return self._modules[key]

    def __setitem__(self, key: str, module: Module) -> None:
        _check_module(module, "ModuleDict", f"value for {key!r}")
        if key in self._modules:
            delattr(self, key)
        self.add_module(key, module)

    def __delitem__(self, key: str) -> None:
        self[key]  # noqa: B018  (raises the KeyError above)
        delattr(self, key)

    def keys(self) -> list[str]:
        """The names, in insertion order."""
        return list(self._modules)

    def values(self) -> list[Module]:
        """The modules, in insertion order."""
        return list(self._modules.values())

    def items(self) -> list[tuple[str, Module]]:
        """``(name, module)`` pairs, in insertion order."""
        return list(self._modules.items())

    def update(self, modules: Any) -> None:
        """Add or replace modules from a mapping or an iterable of pairs."""
        pairs = modules.items() if isinstance(modules, Mapping) else modules
        for key, module in pairs:
            self[key] = module

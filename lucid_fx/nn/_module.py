"""Module: attribute registration, traversal, modes, state dicts and repr."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import jax
import jax.numpy as jnp

from lucid_fx._tensor import Tensor, _tape, resolve
from lucid_fx._tensor._device import put
from lucid_fx.nn._parameter import Parameter
from lucid_fx.nn._state_dict import IncompatibleKeys, plan_configs, plan_load

_MSG_NOT_PARAMETER = (
    "{cls}: cannot assign {kind} to {name!r}, which is a Parameter. Assign a "
    "Parameter (e.g. nn.Parameter(value)) or None, or load values with "
    "load_state_dict."
)
_MSG_NOT_MODULE = (
    "{cls}: cannot assign {kind} to {name!r}, which is a sub-module. Assign a "
    "Module or None."
)
_TRACER = jax.core.Tracer
_CONTAINERS = (list, dict, set)
_MSG_TRACED_ATTRIBUTE = (
    "{cls}.{name} = ...: a compiled function (lucid_fx.compile) is storing a "
    "traced value (a Tensor or a traced number argument) in a plain attribute, "
    "which is not state the compiled step "
    "writes back: the value cannot leave the program (a later read would fail). "
    "Register it as a buffer in __init__ (self.register_buffer({name!r}, ...)) "
    "so each call writes it back; for a number that configures the module, "
    "pass it in static_argnames; or keep the assignment out of the compiled "
    "function."
)

_MSG_INIT = (
    "{cls}: cannot assign {kind} {name!r} before Module.__init__() ran. Call "
    "super().__init__() first in your __init__."
)


class Module:
    """Base class of every layer and model, as ``lucid.nn.Module``.

    Assigning a :class:`Parameter` or a ``Module`` to an attribute registers it.
    Subclasses implement :meth:`forward`; calling the module runs it. Called
    with Tensors it records the tape; called with plain JAX or numpy arrays
    (tracers included) it runs purely, with no tape, and returns arrays, so a
    module composes with ``jax.jit`` and ``jax.vmap``.

    Examples:
      >>> import lucid_fx.nn as nn
      >>> class TwoLayer(nn.Module):
      ...     def __init__(self):
      ...         super().__init__()
      ...         self.fc = nn.Linear(3, 2)
      ...         self.act = nn.LeakyReLU(0.125)
      ...
      ...     def forward(self, x):
      ...         return self.act(self.fc(x))
      >>> model = TwoLayer()
      >>> model
      TwoLayer(
        (fc): Linear(in_features=3, out_features=2, bias=True)
        (act): LeakyReLU(negative_slope=0.125)
      )
      >>> [name for name, _ in model.named_parameters()]
      ['fc.weight', 'fc.bias']
    """

    training: bool
    # Plain attributes that configure a module and travel with checkpoints.
    _config_fields: tuple[str, ...] = ()

    def __init__(self) -> None:
        # Counts this module's own changes (attributes, registries, mode);
        # compiled programs compare it to see that nothing they baked in moved.
        object.__setattr__(self, "_mutations", 0)
        object.__setattr__(self, "_parameters", {})
        object.__setattr__(self, "_modules", {})
        object.__setattr__(self, "_buffers", {})
        object.__setattr__(self, "_non_persistent", set())
        object.__setattr__(self, "training", True)

    # ---------------------------------------------------------- registration
    def __setattr__(self, name: str, value: Any) -> None:
        params = self.__dict__.get("_parameters")
        modules = self.__dict__.get("_modules")
        cls, kind = type(self).__name__, type(value).__name__
        if params is None or modules is None:
            if isinstance(value, Parameter | Module):
                raise RuntimeError(_MSG_INIT.format(cls=cls, kind=kind, name=name))
            object.__setattr__(self, name, value)
            return
        if (
            _tape.tracing()
            and isinstance(value._data if isinstance(value, Tensor) else value, _TRACER)
            and name not in params
            and name not in modules
            and name not in self.__dict__.get("_buffers", {})
        ):
            raise RuntimeError(_MSG_TRACED_ATTRIBUTE.format(cls=cls, name=name))
        self.changed()
        # A registered name keeps its kind: Parameter (or None) where a Parameter
        # was, Module (or None) where a sub-module was.
        for registry, kind_type, message in (
            (params, Parameter, _MSG_NOT_PARAMETER),
            (modules, Module, _MSG_NOT_MODULE),
        ):
            if isinstance(value, kind_type):
                self._forget(name)
                registry[name] = value
                return
            if name in registry:
                if value is not None:
                    raise TypeError(message.format(cls=cls, kind=kind, name=name))
                registry[name] = None
                return
        buffers = self.__dict__.get("_buffers", {})
        if name in buffers:
            if isinstance(value, jax.Array) and _tape.is_pure():
                # A module run on arrays computes arrays: ``self.count =
                # self.count + 1`` rebinds the buffer to the new one.
                value = Tensor._wrap(value)
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"{cls}: cannot assign {kind} to {name!r}, which is a buffer. "
                    f"Assign a Tensor or None."
                )
            buffers[name] = value
            return
        object.__setattr__(self, name, value)
        # Names of plain attributes holding a list, dict or set: a config that
        # can change in place, which no assignment counts; compiled programs
        # compare their contents at each call (lucid_fx.transforms._signature).
        d = self.__dict__
        held = d.get("_containers", ())
        if type(value) in _CONTAINERS:
            if name not in held:
                d["_containers"] = (*held, name)
        elif name in held:
            d["_containers"] = tuple(n for n in held if n != name)

    def register_buffer(
        self, name: str, tensor: Tensor | None, persistent: bool = True
    ) -> None:
        """Register a non-parameter Tensor (e.g. running statistics) as state.

        Buffers travel with ``state_dict()`` (unless ``persistent=False``),
        ``to()``, ``functionalize`` and compiled steps, but get no gradient and
        are not returned by ``parameters()``.

        Args:
          name: attribute name of the buffer.
          tensor: a Tensor, or ``None`` for an absent buffer.
          persistent: include it in ``state_dict()``. Default ``True``.

        Raises:
          TypeError: if ``name`` is not a string or ``tensor`` not a Tensor.
          KeyError: if ``name`` is already a parameter, sub-module or attribute.

        Examples:
          >>> import lucid_fx.nn as nn
          >>> from lucid_fx import Tensor
          >>> m = nn.Module()
          >>> m.register_buffer("count", Tensor([0.0]))
          >>> [(k, v.tolist()) for k, v in m.named_buffers()]
          [('count', [0.0])]
        """
        cls = type(self).__name__
        if not isinstance(name, str) or not name or "." in name:
            raise TypeError(
                f"{cls}.register_buffer: name must be a non-empty string without "
                f"dots, got {name!r}."
            )
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(
                f"{cls}.register_buffer: expected a Tensor or None for {name!r}, "
                f"got {type(tensor).__name__}."
            )
        if (
            name in self._parameters
            or name in self._modules
            or (name in self.__dict__ and name not in self._buffers)
        ):
            raise KeyError(f"{cls}.register_buffer: attribute {name!r} already exists.")
        self.changed()
        self._buffers[name] = tensor
        if persistent:
            self._non_persistent.discard(name)
        else:
            self._non_persistent.add(name)

    def changed(self) -> None:
        """Record a change to this module's attributes or registries.

        Assignments, ``del``, ``register_*``, ``add_module`` and ``train()``
        call it; code that edits ``_parameters``/``_modules``/``_buffers`` or
        ``__dict__`` directly must call it too, so that compiled programs see
        the change (``lucid_fx.compile`` compares :attr:`mutations`).

        Examples:
          >>> import lucid_fx.nn as nn
          >>> m = nn.Linear(2, 2)
          >>> before = m.mutations
          >>> m.eval().mutations > before
          True
        """
        d = self.__dict__
        d["_mutations"] = d.get("_mutations", 0) + 1

    @property
    def mutations(self) -> int:
        """How many changes :meth:`changed` recorded on this module (not its
        children): a cheap "has it changed?" for caches keyed on the module."""
        return self.__dict__.get("_mutations", 0)

    def _forget(self, name: str) -> None:
        self.changed()
        self.__dict__.pop(name, None)
        self._parameters.pop(name, None)
        self._modules.pop(name, None)
        self.__dict__.get("_buffers", {}).pop(name, None)

    def __getattr__(self, name: str) -> Any:
        for registry in ("_parameters", "_modules", "_buffers"):
            entries = self.__dict__.get(registry, {})
            if name in entries:
                return entries[name]
        raise AttributeError(
            f"{type(self).__name__!r} object has no attribute {name!r}"
        )

    def __delattr__(self, name: str) -> None:
        self.changed()
        if name in self._parameters or name in self._modules or name in self._buffers:
            self._forget(name)
        else:
            object.__delattr__(self, name)

    # --------------------------------------------------------------- calling
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        """The computation; subclasses override it."""
        raise NotImplementedError(
            f"{type(self).__name__}: define forward(self, ...) in your Module."
        )

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        taped = any(isinstance(a, Tensor) for a in (*args, *kwargs.values()))
        if taped or _tape.is_pure():
            return self.forward(*args, **kwargs)
        with _tape.pure_mode():
            return self.forward(*args, **kwargs)

    # ------------------------------------------------------------- traversal
    def named_children(self) -> Iterator[tuple[str, Module]]:
        """Direct sub-modules with their attribute names."""
        for name, module in self._modules.items():
            if module is not None:
                yield name, module

    def children(self) -> Iterator[Module]:
        """Direct sub-modules."""
        for _, module in self.named_children():
            yield module

    def named_modules(
        self,
        memo: set[int] | None = None,
        prefix: str = "",
        remove_duplicate: bool = True,
    ) -> Iterator[tuple[str, Module]]:
        """This module and all sub-modules, depth first, with dotted names.

        A module reachable twice (shared) is listed once, under its first
        name, unless ``remove_duplicate=False`` (as PyTorch).

        Examples:
          >>> import lucid_fx.nn as nn
          >>> shared = nn.Linear(2, 2)
          >>> model = nn.Sequential(shared, nn.ReLU(), shared)
          >>> [name for name, _ in model.named_modules()]
          ['', '0', '1']
          >>> len(list(model.modules()))
          3
        """
        if memo is None:
            memo = set()
        if remove_duplicate:
            if id(self) in memo:
                return
            memo.add(id(self))
        yield prefix, self
        for name, child in self.named_children():
            child_prefix = f"{prefix}.{name}" if prefix else name
            yield from child.named_modules(memo, child_prefix, remove_duplicate)

    def modules(self) -> Iterator[Module]:
        """This module and all sub-modules, depth first, each once."""
        for _, module in self.named_modules():
            yield module

    def add_module(self, name: str, module: Module | None) -> None:
        """Register ``module`` as the sub-module ``name`` (``setattr`` by name).

        Raises:
          TypeError: if ``module`` is not a Module or None, or ``name`` is not
            a string.
          KeyError: if ``name`` is empty, has a dot, or is another attribute.

        Examples:
          >>> import lucid_fx.nn as nn
          >>> m = nn.Module()
          >>> m.add_module("fc", nn.Linear(2, 1))
          >>> [name for name, _ in m.named_children()]
          ['fc']
        """
        self._check_new_name(name, "add_module", self._modules)
        if module is not None and not isinstance(module, Module):
            raise TypeError(
                f"{type(self).__name__}.add_module: expected a Module or None for "
                f"{name!r}, got {type(module).__name__}."
            )
        self._forget(name)
        self._modules[name] = module

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        """Register ``param`` as the parameter ``name``.

        Raises:
          TypeError: if ``param`` is not a Parameter or None.
          KeyError: if ``name`` is empty, has a dot, or is another attribute.

        Examples:
          >>> import lucid_fx.nn as nn
          >>> from lucid_fx import Tensor
          >>> m = nn.Module()
          >>> m.register_parameter("scale", nn.Parameter(Tensor([1.0])))
          >>> list(m.state_dict())
          ['scale']
        """
        self._check_new_name(name, "register_parameter", self._parameters)
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(
                f"{type(self).__name__}.register_parameter: expected a Parameter or "
                f"None for {name!r}, got {type(param).__name__}. Wrap it: "
                f"nn.Parameter(value)."
            )
        self._forget(name)
        self._parameters[name] = param

    def _check_new_name(self, name: Any, api: str, registry: dict) -> None:
        cls = type(self).__name__
        if "_parameters" not in self.__dict__:
            raise RuntimeError(_MSG_INIT.format(cls=cls, kind="a value", name=name))
        if not isinstance(name, str):
            raise TypeError(f"{cls}.{api}: name must be a string, got {name!r}.")
        if not name or "." in name:
            raise KeyError(
                f"{cls}.{api}: name must be non-empty and without dots, got {name!r}."
            )
        others = (self._parameters, self._modules, self._buffers)
        taken = any(name in r for r in others if r is not registry) or (
            name in self.__dict__
        )
        if taken:
            raise KeyError(f"{cls}.{api}: attribute {name!r} already exists.")

    def apply(self, fn: Any) -> Module:
        """Call ``fn`` on every sub-module (children first) and on this module.

        Typical use is custom initialisation. Returns ``self``.

        Examples:
          >>> import lucid_fx.nn as nn
          >>> seen = []
          >>> _ = nn.Sequential(nn.Linear(1, 1), nn.ReLU()).apply(
          ...     lambda m: seen.append(type(m).__name__))
          >>> seen
          ['Linear', 'ReLU', 'Sequential']
        """
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    def named_parameters(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Parameter]]:
        """Parameters with dotted names (``"fc.weight"``), each once."""
        seen: set[int] = set()
        sources = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in sources:
            for name, param in module._parameters.items():
                if param is None or id(param) in seen:
                    continue
                seen.add(id(param))
                yield (f"{module_prefix}.{name}" if module_prefix else name), param

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        """All parameters, each once, in registration order."""
        for _, param in self.named_parameters(recurse=recurse):
            yield param

    def named_buffers(
        self, prefix: str = "", recurse: bool = True
    ) -> Iterator[tuple[str, Tensor]]:
        """Buffers with dotted names (``"bn.running_mean"``), each once."""
        seen: set[int] = set()
        sources = self.named_modules(prefix=prefix) if recurse else [(prefix, self)]
        for module_prefix, module in sources:
            for name, buffer in module._buffers.items():
                if buffer is None or id(buffer) in seen:
                    continue
                seen.add(id(buffer))
                yield (f"{module_prefix}.{name}" if module_prefix else name), buffer

    def buffers(self, recurse: bool = True) -> Iterator[Tensor]:
        """All buffers, each once, in registration order."""
        for _, buffer in self.named_buffers(recurse=recurse):
            yield buffer

    def _named_state(self) -> dict[str, Tensor]:
        """Parameters, then persistent buffers, by state-dict name."""
        state: dict[str, Tensor] = dict(self.named_parameters())
        for prefix, module in self.named_modules():
            for name, buffer in module._buffers.items():
                if buffer is not None and name not in module._non_persistent:
                    state[f"{prefix}.{name}" if prefix else name] = buffer
        return state

    # ----------------------------------------------------------------- modes
    def train(self, mode: bool = True) -> Module:
        """Set training mode on this module and all sub-modules."""
        if not isinstance(mode, bool):
            raise TypeError(f"train: mode must be a bool, got {type(mode).__name__}.")
        for module in self.modules():
            object.__setattr__(module, "training", mode)
            module.changed()
        return self

    def eval(self) -> Module:
        """Set evaluation mode (``train(False)``)."""
        return self.train(False)

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Set ``requires_grad`` of every parameter in place (``False``
        freezes them: no gradient, no optimizer update); returns the module,
        as PyTorch's ``Module.requires_grad_``.

        Args:
          requires_grad: the new flag. Default ``True``.

        Returns:
          This module.

        Raises:
          TypeError: if ``requires_grad`` is not a bool.

        Examples:
          >>> import lucid_fx.nn as nn
          >>> model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
          >>> _ = model[0].requires_grad_(False)
          >>> [p.requires_grad for p in model.parameters()]
          [False, False, True, True]
        """
        if not isinstance(requires_grad, bool):
            raise TypeError(
                f"{type(self).__name__}.requires_grad_: expected a bool, got "
                f"{type(requires_grad).__name__} {requires_grad!r}."
            )
        for p in self.parameters():
            p.requires_grad = requires_grad
        return self

    # ------------------------------------------------------ device and dtype
    def to(self, device: Any = None, dtype: Any = None) -> Module:
        """Move parameters (and their grads) to ``device`` and/or cast floating
        ones to ``dtype``, in place; returns the module.

        Integer parameters keep their dtype. Build optimizers after moving, as
        in PyTorch: their state follows the parameters they were built on.

        Args:
          device: ``"cpu"``, ``"gpu"``/``"cuda"``, ``"tpu"``, ``"gpu:1"`` or a
            ``jax.Device``. Default: stay.
          dtype: a floating dtype (e.g. ``jnp.bfloat16``). Default: keep.

        Raises:
          TypeError: if ``dtype`` is not floating.
          ValueError, RuntimeError: for an unknown or absent device.

        Examples:
          >>> import jax.numpy as jnp
          >>> import lucid_fx.nn as nn
          >>> layer = nn.Linear(2, 2).to("cpu", dtype=jnp.bfloat16)
          >>> layer.weight.dtype, layer.weight.device.platform
          (dtype(bfloat16), 'cpu')
        """
        if device is not None and not isinstance(device, str | jax.Device):
            device, dtype = None, device  # .to(dtype)
        target = None if device is None else resolve(device)
        if dtype is not None and not jnp.issubdtype(dtype, jnp.floating):
            raise TypeError(
                f"{type(self).__name__}.to: dtype must be a floating dtype such as "
                f"jnp.bfloat16, got {dtype!r}."
            )

        def convert(array: jax.Array) -> jax.Array:
            held = array  # the module's own: a user may hold it too
            if dtype is not None and jnp.issubdtype(array.dtype, jnp.floating):
                array = array.astype(dtype)
            if target is None:
                return array
            return put(array, target, fresh=array is not held)

        for param in self.parameters():
            param.data = convert(param.data)
            if param.grad is not None:
                param.grad = convert(param.grad.data)
        for buffer in self.buffers():
            buffer.data = convert(buffer.data)
        return self

    def cpu(self) -> Module:
        """Move parameters, grads and buffers to the first CPU device, in
        place (``to("cpu")``, as PyTorch's ``Module.cpu``); returns the module.

        Examples:
          >>> import lucid_fx.nn as nn
          >>> layer = nn.Linear(2, 2).cpu()
          >>> layer.weight.device.platform
          'cpu'
        """
        return self.to("cpu")

    def float(self) -> Module:
        """Cast floating parameters to float32."""
        return self.to(dtype=jnp.float32)

    def half(self) -> Module:
        """Cast floating parameters to float16."""
        return self.to(dtype=jnp.float16)

    def bfloat16(self) -> Module:
        """Cast floating parameters to bfloat16."""
        return self.to(dtype=jnp.bfloat16)

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Clear every parameter's gradient: ``None`` (default) or zeros.

        Zeros, not ``grad * 0``: an inf or NaN gradient (a float16 overflow
        to skip) becomes 0, as PyTorch's ``zero_()``.

        Examples:
          >>> import lucid_fx.nn as nn
          >>> from lucid_fx import Tensor
          >>> layer = nn.Linear(2, 1)
          >>> layer.weight.grad = Tensor([[float("inf"), float("nan")]])
          >>> layer.zero_grad(set_to_none=False)
          >>> layer.weight.grad.tolist()
          [[0.0, 0.0]]
          >>> layer.zero_grad()
          >>> layer.weight.grad is None
          True
        """
        for param in self.parameters():
            grad = param.grad
            param.grad = (
                None if set_to_none or grad is None else jnp.zeros_like(grad.data)
            )

    # ----------------------------------------------------------- state dicts
    def _state_entries(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        """Every parameter and persistent buffer by state-dict name, in
        PyTorch's order (own parameters, own buffers, then children), with a
        shared module's entries under each of its names."""
        for name, param in self._parameters.items():
            if param is not None:
                yield prefix + name, param
        for name, buffer in self._buffers.items():
            if buffer is not None and name not in self._non_persistent:
                yield prefix + name, buffer
        for name, child in self._modules.items():
            if child is not None:
                yield from child._state_entries(f"{prefix}{name}.")

    def state_dict(
        self, destination: Any = None, prefix: str = "", keep_vars: bool = False
    ) -> Any:
        """Parameter and persistent buffer values by dotted name.

        Values are Tensors holding copies, which stay valid when a compiled
        training step later donates the parameters' buffers to XLA; with
        ``keep_vars=True`` they are the Parameters and buffers themselves. A
        module shared under two names appears under both (as PyTorch).

        Args:
          destination: a mapping to fill and return. Default: a new dict.
          prefix: prepended to every key. Default ``""``.
          keep_vars: return the live Tensors instead of copies. Default
            ``False``.

        Returns:
          ``destination``, filled.

        Examples:
          >>> import lucid_fx.nn as nn
          >>> {k: v.shape for k, v in nn.Linear(3, 2).state_dict().items()}
          {'weight': (2, 3), 'bias': (2,)}
          >>> shared = nn.Linear(1, 1)
          >>> list(nn.Sequential(shared, shared).state_dict(prefix="net."))
          ['net.0.weight', 'net.0.bias', 'net.1.weight', 'net.1.bias']
        """
        if not isinstance(prefix, str):
            raise TypeError(f"state_dict: prefix must be a string, got {prefix!r}.")
        out = {} if destination is None else destination
        for name, tensor in self._state_entries(prefix):
            out[name] = tensor if keep_vars else Tensor(jnp.copy(tensor.data))
        return out

    def configs(self) -> dict[str, Any]:
        """Non-array settings by dotted name (e.g. ``"1.negative_slope"``).

        Examples:
          >>> import lucid_fx.nn as nn
          >>> nn.Sequential(nn.Linear(2, 2), nn.LeakyReLU(0.25)).configs()
          {'1.negative_slope': 0.25}
        """
        return {
            f"{prefix}.{field}" if prefix else field: getattr(module, field)
            for prefix, module in self.named_modules()
            for field in module._config_fields
        }

    def load_state_dict(
        self,
        state_dict: Mapping[str, Any],
        strict: bool = True,
        override_configs: bool = False,
    ) -> IncompatibleKeys:
        """Copy values into the parameters; all-or-nothing.

        Accepts Tensors, numpy or JAX arrays (a PyTorch ``state_dict`` converted
        with ``.numpy()`` loads into the same architecture). Floating values are
        cast to each parameter's dtype, and copied. Every missing or unexpected
        key, shape or dtype problem is reported in one error, and on any error
        the module is left exactly as it was. A state dict from
        :func:`lucid_fx.load` also carries configs (each LeakyReLU's slope): one
        that disagrees with the module is an error naming both values, unless
        ``override_configs=True``, which sets the module's to the file's; each
        such value is first checked by the module's own setter (on a copy), so
        one it refuses (a ``p`` of 1.5, a string slope) is reported with the
        rest and no config or array is changed.

        Args:
          state_dict: mapping from dotted parameter names to values.
          strict: require exactly the module's keys. Default ``True``.
          override_configs: take the state dict's configs. Default ``False``.

        Returns:
          ``IncompatibleKeys(missing_keys, unexpected_keys)``.

        Raises:
          TypeError: a value is not an array, or is not floating; a config
            value of a type its module refuses.
          ValueError: missing/unexpected keys (strict), shape mismatches,
            disagreeing configs, or config values their module refuses.

        Examples:
          >>> import numpy as np
          >>> import lucid_fx.nn as nn
          >>> layer = nn.Linear(2, 1)
          >>> layer.load_state_dict({"weight": np.ones((1, 2)), "bias": np.zeros(1)})
          IncompatibleKeys(missing_keys=[], unexpected_keys=[])
          >>> layer.weight
          Parameter([[1.0, 1.0]], grad=None)
        """
        current = dict(self._state_entries())
        file_configs = getattr(state_dict, "configs", None)
        configs = plan_configs(
            dict(self.named_modules()), file_configs or {}, override_configs
        )
        arrays, result = plan_load(current, state_dict, strict, configs)
        # Every check passed: nothing below can fail.
        for module, attributes in configs.commits:
            vars(module).update(attributes)
        for name, array in arrays.items():
            current[name].data = array
        return result

    # ------------------------------------------------------------------ repr
    def extra_repr(self) -> str:
        """Extra text inside this module's repr; subclasses override it."""
        return ""

    def __repr__(self) -> str:
        lines = []
        for name, child in self.named_children():
            child_repr = repr(child).replace("\n", "\n  ")
            lines.append(f"  ({name}): {child_repr}")
        head = f"{type(self).__name__}({self.extra_repr()}"
        return head + (")" if not lines else "\n" + "\n".join(lines) + "\n)")

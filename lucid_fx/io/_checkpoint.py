"""Checkpoints in the safetensors format: no pickle, atomic writes, strict reads.

Files are plain safetensors (readable by ``safetensors.torch.load_file`` and the
wider ecosystem). Module configs that are not arrays (each LeakyReLU's
``negative_slope``, each GELU's ``approximate``) travel in the header metadata
as ``lucid_fx.config.<name>``: bools, ints, floats and strings, each written as
its JSON text (see :mod:`lucid_fx.io._header`).
"""

from __future__ import annotations

import numbers
import os
import pathlib
from collections.abc import Mapping
from typing import Any

import jax
import numpy as np
import safetensors

from lucid_fx._tensor import Tensor
from lucid_fx.io import _atomic, _header, _sharded
from lucid_fx.io._header import CONFIG_PREFIX, DTYPES, MAX_DIGITS, METADATA
from lucid_fx.nn import Module


class StateDict(dict):
    """What :func:`load` returns: name -> numpy array, plus the file's header.

    Attributes:
      metadata: the user metadata stored with :func:`save`.
      configs: module configs (e.g. ``{"1.negative_slope": 0.01}``), which
        ``Module.load_state_dict`` checks against the module.

    Examples:
      >>> import os, tempfile
      >>> import lucid_fx
      >>> import lucid_fx.nn as nn
      >>> path = os.path.join(tempfile.mkdtemp(), "act.safetensors")
      >>> model = nn.Sequential(nn.LeakyReLU(0.5), nn.GELU("none"))
      >>> lucid_fx.save(model, path, {"note": "hi"})
      >>> state = lucid_fx.load(path)
      >>> dict(state), state.configs, state.metadata
      ({}, {'0.negative_slope': 0.5, '1.approximate': 'none'}, {'note': 'hi'})
    """

    metadata: dict[str, str]
    configs: dict[str, bool | int | float | str]


def _checked_array(name: str, value: Any) -> Any:
    if isinstance(value, Tensor):
        value = value.data
    if not isinstance(value, jax.Array | np.ndarray | np.generic):
        raise TypeError(
            f"save: {name!r} must be an array or Tensor, got {type(value).__name__}."
        )
    if np.dtype(value.dtype) not in DTYPES.values():
        raise TypeError(
            f"save: {name!r} has dtype {value.dtype}, which safetensors cannot store."
        )
    return value


def _host(value: Any) -> np.ndarray:
    # np.asarray keeps 0-d arrays 0-d (np.ascontiguousarray would make them 1-d).
    array = np.asarray(jax.device_get(value) if isinstance(value, jax.Array) else value)
    return array if array.flags.c_contiguous else array.copy(order="C")


def _arrays(obj: Any) -> dict[str, Any]:
    if isinstance(obj, Module):
        obj = obj.state_dict()
    if not isinstance(obj, Mapping):
        raise TypeError(
            f"save: expected a Module or a state dict (name -> array), got "
            f"{type(obj).__name__}."
        )
    arrays = {}
    for name, value in obj.items():
        if not isinstance(name, str):
            raise TypeError(f"save: keys must be strings, got {name!r}.")
        if name == METADATA:
            raise ValueError(
                f"save: {METADATA!r} is reserved by the safetensors format for the "
                f"header metadata; rename the tensor or pass metadata=."
            )
        arrays[name] = _checked_array(name, value)
    return arrays


def _header_metadata(obj: Any, metadata: Mapping[str, str] | None) -> dict[str, str]:
    if metadata is not None and not isinstance(metadata, Mapping):
        raise TypeError(
            f"save: metadata must be a dict of str to str, got "
            f"{type(metadata).__name__}."
        )
    out: dict[str, str] = {}
    for key, value in (metadata or {}).items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(
                f"save: metadata must map str to str, got {key!r}: "
                f"{type(value).__name__}."
            )
        if key.startswith(CONFIG_PREFIX):
            raise ValueError(
                f"save: metadata keys starting {CONFIG_PREFIX!r} are reserved."
            )
        out[key] = value
    if isinstance(obj, Module):
        for name, value in obj.configs().items():
            out[CONFIG_PREFIX + name] = _header.format_config(_config(name, value))
    return out


_MSG_CONFIG = (
    "save: config {name!r} is {kind} {value!r}; a checkpoint stores only "
    "configs that are a bool, an int of at most {digits} digits, a float or a "
    "str (or a NumPy/JAX scalar of one). Set it to one of those, or save "
    "model.state_dict() and rebuild the config in code."
)


def _config(name: str, value: Any) -> bool | int | float | str:
    """A config value as the Python bool, int, float or str the header holds."""
    if isinstance(value, jax.Array | np.ndarray) and value.ndim == 0:
        value = value.item()  # a 0-d array slope is stored as its number
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, numbers.Integral) and len(str(abs(value))) <= MAX_DIGITS:
        return int(value)
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Integral):
        return float(value)
    if isinstance(value, str):
        return str(value)
    kind = type(value).__name__
    raise TypeError(
        _MSG_CONFIG.format(name=name, kind=kind, value=value, digits=MAX_DIGITS)
    )


def serialize(arrays: Mapping[str, np.ndarray], header: Mapping[str, str]) -> bytes:
    """The safetensors bytes of host arrays (validated by the caller)."""
    specs = {
        name: safetensors.TensorSpec(
            dtype=a.dtype.name,
            shape=list(a.shape),
            data_ptr=a.ctypes.data,
            data_len=a.nbytes,
        )
        for name, a in arrays.items()
    }
    return safetensors.serialize(specs, metadata=dict(header) or None)


def save(
    obj: Any,
    path: str | os.PathLike,
    metadata: Mapping[str, str] | None = None,
    *,
    sharded: bool | None = None,
) -> None:
    """Write a module's (or a state dict's) arrays to ``path`` as safetensors.

    The file is written atomically: to a hidden temporary file in the same
    folder, fsynced, moved over ``path`` with ``os.replace``, then the folder
    is fsynced, so a crash at any moment leaves either the old or the new
    file. A failed save removes its temporary file; temporary files left by a
    killed save are removed by the next save to the same path (only those
    whose writer is gone: each writer holds a lock on its own). Like
    ``open(path, "wb")``, a new file gets mode ``0o666`` minus the umask, an
    existing file keeps its mode, and a symlink has its target written.

    A module's configs go into the header as ``lucid_fx.config.<name>``
    (bools, ints, floats and strings, each loading back as its type).

    Arrays are copied to the host first; every dtype round-trips bit-exactly
    (bfloat16, NaN, inf and ``-0.0`` included) and keeps its shape, 0-d
    arrays included (stored with shape ``[]``).

    Arrays that span several processes (``jax.Array`` objects that are not fully
    addressable, e.g. FSDP parameters after ``jax.distributed.initialize``)
    are written as a sharded checkpoint without gathering: ``path`` is then a
    folder, every process calls ``save`` (it is collective) and writes the
    pieces its devices own to its own file, and process 0 writes
    ``model.safetensors.index.json`` mapping each stored tensor to its file
    (see the distributed guide for the layout). :func:`load` reads it back
    onto any mesh and any number of processes.

    Args:
      obj: an ``nn.Module`` (its ``state_dict()`` and configs) or a mapping of
        names to Tensors / arrays.
      path: the file to write (a folder for a sharded checkpoint).
      metadata: extra ``str -> str`` entries for the header.
      sharded: ``None`` (default) writes a sharded checkpoint exactly when
        some array spans several processes; ``True`` always writes the
        folder layout; ``False`` always one file (an error for arrays that
        span processes).

    Raises:
      TypeError: for values that are not arrays, metadata that is not a dict
        of strings, a path that is not a string or path, or a module config
        that is not a bool, int (at most 20 digits), float or str (nothing
        is written).
      ValueError: for the reserved name ``"__metadata__"``, a reserved
        metadata key or an empty path.
      FileNotFoundError: if the folder of ``path`` does not exist.
      IsADirectoryError: if ``path`` is a directory (single-file save).
      NotADirectoryError: if a sharded save's ``path`` is a file.
      OSError: if writing fails (e.g. a full disk); the message names
        ``path`` and the previous file is left as it was.

    Examples:
      >>> import tempfile, os
      >>> import numpy as np
      >>> import lucid_fx
      >>> import lucid_fx.nn as nn
      >>> model = nn.Sequential(nn.Linear(2, 2), nn.LeakyReLU(0.25))
      >>> path = os.path.join(tempfile.mkdtemp(), "model.safetensors")
      >>> lucid_fx.save(model, path, metadata={"step": "100"})
      >>> loaded = lucid_fx.load(path)
      >>> sorted(loaded), loaded.configs, loaded.metadata
      (['0.bias', '0.weight'], {'1.negative_slope': 0.25}, {'step': '100'})
      >>> model.load_state_dict(loaded)
      IncompatibleKeys(missing_keys=[], unexpected_keys=[])
      >>> lucid_fx.save({"step": np.int64(7)}, path)  # a 0-d array stays 0-d
      >>> lucid_fx.load(path)["step"].shape
      ()
    """
    arrays = _arrays(obj)
    header = _header_metadata(obj, metadata)
    if sharded is None:
        sharded = any(map(_sharded.is_sharded, arrays.values()))
    if sharded:
        folder = _atomic.resolve_folder("save", path)
        _sharded.save_sharded(arrays, folder, header, serialize)
        return
    if any(map(_sharded.is_sharded, arrays.values())):
        raise ValueError(
            "save: some arrays span several processes; pass a folder and "
            "sharded=True (or leave sharded=None) to write a sharded checkpoint."
        )
    target = _atomic.resolve("save", path)
    _atomic.write(
        "save", target, serialize({k: _host(v) for k, v in arrays.items()}, header)
    )


def read(path: Any, raw: bytearray) -> StateDict:
    """Validate the bytes of a safetensors file and build its arrays.

    The arrays are writable views into ``raw`` (one buffer, no copy per array).
    """
    with _header.gc_paused():
        return _read(path, raw)


def _read(path: Any, raw: bytearray) -> StateDict:
    header, start = _header.parse(path, raw)
    data = memoryview(raw)[start:]
    _header.check_entries(path, header, data.nbytes)
    out = StateDict()
    for name, entry in header.items():
        if name == METADATA:
            continue
        begin, end = entry["data_offsets"]
        dtype = DTYPES[entry["dtype"]]
        if entry["dtype"] == "BOOL":
            _header.check_bool(path, name, data[begin:end])
        source = data if begin % dtype.itemsize == 0 else bytearray(data[begin:end])
        out[name] = np.ndarray(
            entry["shape"], dtype, buffer=source, offset=begin if source is data else 0
        )
    meta = header.get(METADATA, {})
    out.metadata = {k: v for k, v in meta.items() if not k.startswith(CONFIG_PREFIX)}
    out.configs = _header.parse_configs(path, meta)
    return out


def _read_file(path: pathlib.Path) -> bytearray:
    with path.open("rb") as f:
        raw = bytearray(os.fstat(f.fileno()).st_size)
        got = f.readinto(raw)
    return raw[:got] if got != len(raw) else raw


def load(path: str | os.PathLike, shardings: Any = None) -> StateDict:
    """Read a safetensors file into host (numpy) arrays, validating all of it.

    Nothing is executed from the file: the header is JSON, the data raw bytes.
    Reading is linear in the size of the header and the data, and every
    structural problem, however hostile the file, is a ``ValueError`` naming
    the file and what is wrong.

    A sharded checkpoint (a folder holding ``model.safetensors.index.json``,
    see :func:`save`) loads the same way, in any number of processes: each
    process reads only the files holding the pieces its devices need.

    Args:
      path: the file to read, or the folder (or index file) of a sharded
        checkpoint.
      shardings: ``None`` (default) for host numpy arrays; a
        ``jax.sharding.Sharding`` for every array, or a dict of name ->
        sharding (names missing from it stay numpy), to get ``jax.Array`` objects
        placed on any mesh, built with ``jax.make_array_from_callback``.

    Returns:
      A :class:`StateDict` (a dict of numpy arrays, or of ``jax.Array`` where a
      sharding was given) with ``.metadata`` and ``.configs``; pass it to
      ``module.load_state_dict``.

    Raises:
      FileNotFoundError: if ``path`` does not exist.
      IsADirectoryError: if ``path`` is a directory.
      ValueError: if a sharded checkpoint's index is malformed or its pieces
        leave gaps, overlap or disagree with it; or if the file is not a
        valid safetensors file: too short,
        truncated, a header length past the end, a header that is not JSON or
        nests too deeply, ``Infinity``/``NaN`` or integers of more than 20
        digits, duplicate names, unknown dtypes, shapes that are not lists of
        sizes or have more than 64 dimensions, overlapping, uncovered or
        trailing bytes, ``__metadata__`` that is not a dict of strings, BOOL
        bytes other than 0 and 1, or a config in none of the forms
        :func:`save` writes (see the module docstring of ``_header``).

    Examples:
      >>> import os, tempfile
      >>> import numpy as np
      >>> import lucid_fx
      >>> path = os.path.join(tempfile.mkdtemp(), "w.safetensors")
      >>> lucid_fx.save({"w": np.array([1.5, -0.0], np.float32)}, path)
      >>> lucid_fx.load(path)["w"]
      array([ 1.5, -0. ], dtype=float32)
      >>> open(path, "wb").close()  # an empty file
      >>> lucid_fx.load(path)
      Traceback (most recent call last):
      ...
      ValueError: load: '...w.safetensors' is not a valid safetensors file: ...
    """
    p = pathlib.Path(path)
    if p.name == _sharded.INDEX and p.is_file():
        p = p.parent
    if p.is_dir() and (p / _sharded.INDEX).is_file():
        return _load_sharded(p, shardings)
    if p.is_dir():
        raise IsADirectoryError(
            f"load: {str(path)!r} is a directory without a "
            f"{_sharded.INDEX}, not a checkpoint."
        )
    if not p.exists():
        raise FileNotFoundError(f"load: no checkpoint file at {str(path)!r}.")
    state = read(path, _read_file(p))
    if shardings is not None:
        for name, array in state.items():
            sharding = (
                shardings.get(name) if isinstance(shardings, Mapping) else shardings
            )
            if sharding is not None:
                state[name] = jax.make_array_from_callback(
                    array.shape, sharding, lambda index, a=array: a[index]
                )
    return state


def _load_sharded(folder: pathlib.Path, shardings: Any) -> StateDict:
    arrays, meta = _sharded.load_sharded(
        str(folder), shardings, lambda f: read(f, _read_file(pathlib.Path(f)))
    )
    out = StateDict(arrays)
    out.metadata = {k: v for k, v in meta.items() if not k.startswith(CONFIG_PREFIX)}
    out.configs = _header.parse_configs(folder / _sharded.INDEX, meta)
    return out

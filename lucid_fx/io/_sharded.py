"""Sharded checkpoints: each process writes the shards it owns, one index maps them.

Layout of a checkpoint folder (the sharded-safetensors convention)::

    model.safetensors.index.json                 {"metadata", "weight_map", ...}
    model-<save id>-00000-of-00002.safetensors   process 0's pieces
    model-<save id>-00001-of-00002.safetensors   process 1's pieces

``weight_map`` maps every stored tensor to its file. A tensor owned whole by
one process is stored under its own name (so other readers of the convention
read unsplit models as they are); a piece of a tensor split across processes
is stored as ``name[a:b,c:d]`` with its global index. ``lucid_fx.arrays`` in
the index records each tensor's global shape and dtype.

Each file is written atomically; process 0 writes the index last, after every
process has written its file, then deletes files of earlier saves. A crash at
any moment leaves the previous index and the files it names intact.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable, Mapping
from typing import Any

import jax
import numpy as np

from lucid_fx.io import _atomic
from lucid_fx.io._header import DTYPE_NAMES, DTYPES

INDEX = "model.safetensors.index.json"
FORMAT = "lucid_fx.sharded/1"
_FILE = re.compile(r"model-[0-9a-f]{16}-\d{5}-of-\d{5}\.safetensors")

Index = tuple[tuple[int, int], ...]


def is_sharded(value: Any) -> bool:
    return isinstance(value, jax.Array) and not value.is_fully_addressable


def _bounds(index: tuple[slice, ...], shape: tuple[int, ...]) -> Index:
    return tuple(s.indices(n)[:2] for s, n in zip(index, shape, strict=True))


def _key(name: str, bounds: Index, shape: tuple[int, ...]) -> str:
    if all(b == (0, n) for b, n in zip(bounds, shape, strict=True)):
        return name
    return f"{name}[{','.join(f'{a}:{b}' for a, b in bounds)}]"


def _owners(array: jax.Array) -> dict[Index, jax.Device]:
    """One owning device per distinct piece, the same answer on every process."""
    owners: dict[Index, jax.Device] = {}
    for device, index in array.sharding.devices_indices_map(array.shape).items():
        bounds = _bounds(index, array.shape)
        best = owners.get(bounds)
        if best is None or (device.process_index, device.id) < (
            best.process_index,
            best.id,
        ):
            owners[bounds] = device
    return owners


def _pieces(name: str, value: Any, me: int) -> tuple[dict, dict[str, int]]:
    """This process's pieces of one value, and the owner process of every piece."""
    if not isinstance(value, jax.Array) or value.is_fully_addressable:
        host = np.asarray(jax.device_get(value))
        return ({name: host} if me == 0 else {}), {name: 0}
    owners = _owners(value)
    local = {s.device: s for s in value.addressable_shards}
    mine, where = {}, {}
    for bounds, device in owners.items():
        key = _key(name, bounds, value.shape)
        where[key] = device.process_index
        if device.process_index == me:
            mine[key] = np.asarray(local[device].data)
    return mine, where


def _save_id() -> str:
    from jax.experimental import multihost_utils

    token = np.frombuffer(secrets.token_bytes(8), np.uint32)
    shared = multihost_utils.broadcast_one_to_all(token)  # process 0's choice
    return np.asarray(shared, np.uint32).tobytes().hex()


def _sync(tag: str) -> None:
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils

        multihost_utils.sync_global_devices(tag)


def save_sharded(
    arrays: Mapping[str, Any],
    folder: str,
    metadata: Mapping[str, str],
    serialize: Callable[[Mapping[str, np.ndarray], Mapping[str, str]], bytes],
) -> None:
    """Every process calls this with the same names (collective)."""
    me, count = jax.process_index(), jax.process_count()
    os.makedirs(folder, exist_ok=True)
    save_id = _save_id() if count > 1 else secrets.token_hex(8)
    mine: dict[str, np.ndarray] = {}
    weight_map: dict[str, str] = {}
    files = [
        f"model-{save_id}-{p:05d}-of-{count:05d}.safetensors" for p in range(count)
    ]
    described = {}
    for name, value in arrays.items():
        pieces, owners = _pieces(name, value, me)
        mine.update(pieces)
        weight_map.update({key: files[p] for key, p in owners.items()})
        dtype = np.dtype(value.dtype)
        described[name] = {"dtype": DTYPE_NAMES[dtype], "shape": list(value.shape)}
    target = os.path.join(folder, files[me])
    _atomic.write("save", target, serialize(mine, metadata))
    _sync(f"lucid_fx.save:{save_id}:files")
    if me == 0:
        index = {
            "metadata": {"format": FORMAT, **metadata},
            "weight_map": dict(sorted(weight_map.items())),
            "lucid_fx.arrays": described,
        }
        payload = json.dumps(index, indent=1).encode()
        _atomic.write("save", os.path.join(folder, INDEX), payload)
        for name in os.listdir(folder):  # files of earlier saves
            if _FILE.fullmatch(name) and name not in files:
                os.unlink(os.path.join(folder, name))
    _sync(f"lucid_fx.save:{save_id}:index")


def _parse_key(key: str) -> tuple[str, Index | None]:
    match = re.fullmatch(r"(.*)\[((?:\d+:\d+,)*\d+:\d+)?\]", key)
    if not match:
        return key, None
    bounds = tuple(
        tuple(int(v) for v in part.split(":"))
        for part in (match.group(2) or "").split(",")
        if part
    )
    return match.group(1), bounds  # type: ignore[return-value]


def _bad(path: str, reason: str) -> ValueError:
    return ValueError(f"load: {path!r} is not a valid sharded checkpoint: {reason}.")


def _read_index(path: str) -> tuple[dict, dict, dict]:
    try:
        with open(path, "rb") as f:
            index = json.loads(f.read())
        arrays, weight_map, meta = (
            index["lucid_fx.arrays"],
            index["weight_map"],
            index["metadata"],
        )
    except (ValueError, KeyError, TypeError, RecursionError) as err:
        raise _bad(path, f"unreadable index ({type(err).__name__}: {err})") from None
    if not all(isinstance(d, dict) for d in (arrays, weight_map, meta)):
        raise _bad(path, "arrays, weight_map and metadata must be objects")
    for name, spec in arrays.items():
        if (
            not isinstance(spec, dict)
            or spec.get("dtype") not in DTYPES
            or not isinstance(spec.get("shape"), list)
            or not all(type(d) is int and d >= 0 for d in spec["shape"])
        ):
            raise _bad(path, f"array {name!r} has no valid dtype and shape")
    for file in weight_map.values():
        if not isinstance(file, str) or not _FILE.fullmatch(file):
            raise _bad(path, f"weight_map names the file {file!r}, not a shard file")
    if not all(isinstance(v, str) for v in meta.values()):
        raise _bad(path, "metadata must map strings to strings")
    return arrays, weight_map, meta


class _Reader:
    """Reads the files of a sharded checkpoint lazily, each at most once."""

    def __init__(self, folder: str, read_file: Callable[[str], Mapping]):
        self.folder, self.read_file = folder, read_file
        self.index_path = os.path.join(folder, INDEX)
        self.arrays, weight_map, meta = _read_index(self.index_path)
        self.metadata = {k: v for k, v in meta.items() if k != "format"}
        self.pieces: dict[str, list[tuple[Index, str, str]]] = {
            name: [] for name in self.arrays
        }
        for key, file in weight_map.items():
            name, bounds = _parse_key(key) if key not in self.arrays else (key, None)
            spec = self.arrays.get(name)
            if spec is None:
                raise _bad(self.index_path, f"{key!r} belongs to no listed array")
            full = tuple((0, n) for n in spec["shape"])
            bounds = full if bounds is None else bounds
            if len(bounds) != len(full) or any(
                not 0 <= a <= b <= n for (a, b), (_, n) in zip(bounds, full)
            ):
                raise _bad(self.index_path, f"piece {key!r} lies outside {name!r}")
            self.pieces[name].append((bounds, key, file))
        self._files: dict[str, Mapping] = {}

    def _piece(self, name: str, bounds: Index, key: str, file: str) -> np.ndarray:
        if file not in self._files:
            self._files[file] = self.read_file(os.path.join(self.folder, file))
        array = self._files[file].get(key)
        shape = tuple(b - a for a, b in bounds)
        dtype = DTYPES[self.arrays[name]["dtype"]]
        if array is None or array.shape != shape or array.dtype != dtype:
            raise _bad(
                self.index_path,
                f"{file} does not hold {key!r} as {dtype} of shape {shape}",
            )
        return array

    def region(self, name: str, bounds: Index) -> np.ndarray:
        """The global region ``bounds`` of array ``name``, from its pieces."""
        out = np.empty([b - a for a, b in bounds], DTYPES[self.arrays[name]["dtype"]])
        seen = np.zeros(out.shape, np.bool_)
        for piece_bounds, key, file in self.pieces[name]:
            lo = [max(a, c) for (a, _), (c, _) in zip(bounds, piece_bounds)]
            hi = [min(b, d) for (_, b), (_, d) in zip(bounds, piece_bounds)]
            if any(a >= b for a, b in zip(lo, hi)):
                continue
            src = tuple(
                slice(a - c, b - c) for a, b, (c, _) in zip(lo, hi, piece_bounds)
            )
            dst = tuple(slice(a - c, b - c) for a, b, (c, _) in zip(lo, hi, bounds))
            if seen[dst].any():
                raise _bad(self.index_path, f"pieces of {name!r} overlap at {key!r}")
            out[dst] = self._piece(name, piece_bounds, key, file)[src]
            seen[dst] = True
        if not seen.all():
            raise _bad(
                self.index_path,
                f"the pieces of {name!r} cover {int(seen.sum())} of the "
                f"{out.size} values of region {list(bounds)}",
            )
        return out


def load_sharded(
    folder: str, shardings: Any, read_file: Callable[[str], Mapping]
) -> tuple[dict[str, Any], dict[str, str]]:
    reader = _Reader(folder, read_file)
    out: dict[str, Any] = {}
    for name, spec in reader.arrays.items():
        shape = tuple(spec["shape"])
        full = tuple((0, n) for n in shape)
        sharding = shardings.get(name) if isinstance(shardings, Mapping) else shardings
        if sharding is None:
            out[name] = reader.region(name, full)
        else:
            out[name] = jax.make_array_from_callback(
                shape,
                sharding,
                lambda index, n=name, s=shape: reader.region(n, _bounds(index, s)),
            )
    return out, reader.metadata

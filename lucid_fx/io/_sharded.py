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


class _Reader:
    """Reads the files of a sharded checkpoint lazily, each at most once."""

    def __init__(self, folder: str, read_file: Callable[[str], Mapping]):
        self.folder, self.read_file = folder, read_file
        path = os.path.join(folder, INDEX)
        try:
            with open(path, "rb") as f:
                index = json.loads(f.read())
            self.arrays = index["lucid_fx.arrays"]
            weight_map = index["weight_map"]
            self.metadata = {
                k: v for k, v in index["metadata"].items() if k != "format"
            }
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError(
                f"load: {path!r} is not a valid sharded checkpoint index: {err!r}."
            ) from None
        self.pieces: dict[str, list[tuple[Index | None, str, str]]] = {}
        for key, file in weight_map.items():
            name, bounds = _parse_key(key) if key not in self.arrays else (key, None)
            self.pieces.setdefault(name, []).append((bounds, key, file))
        self._files: dict[str, Mapping] = {}

    def _file(self, name: str) -> Mapping:
        if name not in self._files:
            self._files[name] = self.read_file(os.path.join(self.folder, name))
        return self._files[name]

    def region(self, name: str, bounds: Index) -> np.ndarray:
        """The global region ``bounds`` of array ``name``, from its pieces."""
        spec = self.arrays[name]
        out = np.empty([b - a for a, b in bounds], DTYPES[spec["dtype"]])
        for piece_bounds, key, file in self.pieces[name]:
            piece_bounds = piece_bounds or tuple((0, n) for n in spec["shape"])
            lo = [max(a, c) for (a, _), (c, _) in zip(bounds, piece_bounds)]
            hi = [min(b, d) for (_, b), (_, d) in zip(bounds, piece_bounds)]
            if any(a >= b for a, b in zip(lo, hi)):
                continue
            src = tuple(
                slice(a - c, b - c) for a, b, (c, _) in zip(lo, hi, piece_bounds)
            )
            dst = tuple(slice(a - c, b - c) for a, b, (c, _) in zip(lo, hi, bounds))
            out[dst] = self._file(file)[key][src]
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

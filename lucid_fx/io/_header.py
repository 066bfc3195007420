"""The safetensors header: strict, linear-time parsing and validation.

Everything a file says is checked before any array is built, and every
problem, however hostile the file, is one ``ValueError`` naming the file.

Module configs are ``__metadata__`` entries ``lucid_fx.config.<name>`` whose
string is the value's JSON text, in exactly one form per type: ``true`` or
``false`` for a bool, ``-?[0-9]+`` for an int (at most 20 digits), what
``repr(float)`` writes for a float (``0.25``, ``1e-05``, ``inf``, ``nan``;
always with a ``.``, an exponent or a letter, so never read as an int) and a
JSON string for a str (``"tanh"``).
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import re
import struct
from collections.abc import Iterator, Mapping
from typing import Any

import ml_dtypes
import numpy as np

CONFIG_PREFIX = "lucid_fx.config."
METADATA = "__metadata__"
MAX_HEADER = 100 * 2**20  # safetensors' own limit on the JSON header
MAX_DIMS = 64  # more dimensions than any framework supports
MAX_DIGITS = 20  # 2**64 has 20 digits; no offset or dimension needs more
_ENTRY_KEYS = frozenset({"dtype", "shape", "data_offsets"})
# The forms repr(float) writes: no underscores, spaces or "infinity" spellings.
_FLOAT = re.compile(r"-?(?:\d+\.?\d*(?:e[+-]?\d+)?|inf|nan)")
_INT = re.compile(r"-?\d+")
# A JSON string literal: no raw control characters, only JSON's escapes.
_STRING = re.compile(r'"(?:[^"\\\x00-\x1f]|\\["\\/bfnrt]|\\u[0-9a-fA-F]{4})*"')
_BOOLS = {"true": True, "false": False}
CONFIG_FORMS = (
    f"true, false, an int of at most {MAX_DIGITS} digits, a float as "
    f"repr(float) writes it, or a JSON string"
)
DTYPES = {
    "F64": np.dtype(np.float64),
    "F32": np.dtype(np.float32),
    "F16": np.dtype(np.float16),
    "BF16": np.dtype(ml_dtypes.bfloat16),
    "I64": np.dtype(np.int64),
    "I32": np.dtype(np.int32),
    "I16": np.dtype(np.int16),
    "I8": np.dtype(np.int8),
    "U64": np.dtype(np.uint64),
    "U32": np.dtype(np.uint32),
    "U16": np.dtype(np.uint16),
    "U8": np.dtype(np.uint8),
    "BOOL": np.dtype(np.bool_),
}
DTYPE_NAMES = {dtype: name for name, dtype in DTYPES.items()}


class _Bad(Exception):
    """Raised by the JSON hooks; turned into the file-naming ValueError."""


def fail(path: Any, reason: str) -> ValueError:
    return ValueError(f"load: {str(path)!r} is not a valid safetensors file: {reason}.")


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)
    if len(out) != len(pairs):  # a set-like count: linear in the entries
        seen: set[str] = set()
        twice = sorted({k for k, _ in pairs if k in seen or seen.add(k)})
        raise _Bad(f"duplicate names in the header: {twice}")
    return out


def _no_constant(name: str) -> Any:
    raise _Bad(f"the header holds the non-JSON number {name}")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_DIGITS:
        raise _Bad(f"the header holds an integer of {len(text)} digits")
    return int(text)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic GC while JSON builds many small acyclic objects (2x faster)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse(path: Any, raw: bytes | memoryview) -> tuple[dict[str, Any], int]:
    """Return the header's JSON object and where the data starts."""
    if len(raw) < 8:
        raise fail(
            path, f"it is {len(raw)} bytes long, shorter than the 8-byte header length"
        )
    (n,) = struct.unpack("<Q", raw[:8])
    if n > MAX_HEADER or 8 + n > len(raw):
        raise fail(path, f"the header length {n} exceeds the file size {len(raw)}")
    try:
        header = json.loads(
            bytes(raw[8 : 8 + n]).decode("utf-8"),
            object_pairs_hook=_unique,
            parse_constant=_no_constant,
            parse_int=_bounded_int,
        )
    except _Bad as err:
        raise fail(path, str(err)) from None
    except RecursionError:
        raise fail(path, "the header nests too deeply") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise fail(path, f"the header is not JSON ({err})") from None
    if not isinstance(header, dict):
        raise fail(path, "the header is not a JSON object")
    return header, 8 + n


def _sizes(values: Any, count: int | None = None) -> bool:
    """A list of JSON integers >= 0 (not bools or floats), of ``count`` items."""
    return (
        type(values) is list
        and (count is None or len(values) == count)
        and all(type(v) is int for v in values)
        and (not values or min(values) >= 0)
    )


def _entry(path: Any, name: str, entry: Any, data_len: int) -> tuple[int, int]:
    if type(entry) is not dict or entry.keys() != _ENTRY_KEYS:
        raise fail(
            path,
            f"entry {name!r} must be an object with exactly dtype, shape and "
            f"data_offsets",
        )
    dtype, shape, offsets = entry["dtype"], entry["shape"], entry["data_offsets"]
    if type(dtype) is not str or dtype not in DTYPES:
        raise fail(
            path, f"entry {name!r} has unsupported dtype {dtype!r} ({sorted(DTYPES)})"
        )
    if not _sizes(shape):
        raise fail(path, f"entry {name!r} has shape {shape!r}, not a list of sizes")
    if len(shape) > MAX_DIMS:
        raise fail(
            path, f"entry {name!r} has {len(shape)} dimensions, more than {MAX_DIMS}"
        )
    if not _sizes(offsets, 2) or not offsets[0] <= offsets[1] <= data_len:
        raise fail(
            path,
            f"entry {name!r} has data_offsets {offsets!r}, not a range inside "
            f"the {data_len} data bytes",
        )
    begin, end = offsets
    if end - begin != math.prod(shape) * DTYPES[dtype].itemsize:
        raise fail(path, f"entry {name!r} has {end - begin} bytes for shape {shape}")
    return begin, end


def check_metadata(path: Any, meta: Any) -> dict[str, str]:
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise fail(path, f"{METADATA} must map strings to strings")
    return meta


def check_entries(path: Any, header: dict[str, Any], data_len: int) -> None:
    """Validate every entry, then that the byte ranges tile the data exactly."""
    spans = [
        (*_entry(path, name, entry, data_len), name)
        for name, entry in header.items()
        if name != METADATA
    ]
    check_metadata(path, header.get(METADATA, {}))
    covered = 0
    for begin, end, name in sorted(spans):
        if begin < covered:
            raise fail(path, f"entry {name!r} overlaps another tensor's bytes")
        if begin > covered:
            raise fail(path, f"bytes {covered}..{begin} belong to no tensor")
        covered = end
    if covered != data_len:
        raise fail(path, f"{data_len - covered} trailing bytes after the last tensor")


def check_bool(path: Any, name: str, data: memoryview) -> None:
    if data.nbytes and np.frombuffer(data, np.uint8).max() > 1:
        raise fail(path, f"BOOL entry {name!r} holds bytes other than 0 and 1")


def format_config(value: bool | int | float | str) -> str:
    """The header text of a config value (a Python bool, int, float or str).

    Examples:
      >>> [format_config(v) for v in (True, 3, 0.25, "tanh")]
      ['true', '3', '0.25', '"tanh"']
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    return json.dumps(value)


def parse_config(text: str) -> bool | int | float | str | None:
    """The config value ``text`` holds (see :func:`format_config`), or ``None``
    when it is in none of the forms ``save`` writes."""
    if text in _BOOLS:
        return _BOOLS[text]
    if _INT.fullmatch(text):
        return int(text) if len(text.lstrip("-")) <= MAX_DIGITS else None
    if _FLOAT.fullmatch(text):
        return float(text)
    if _STRING.fullmatch(text):
        return json.loads(text)
    return None


def parse_configs(path: Any, meta: Mapping[str, str]) -> dict[str, Any]:
    configs = {}
    for key, text in meta.items():
        if key.startswith(CONFIG_PREFIX):
            value = parse_config(text)
            if value is None:
                raise fail(
                    path,
                    f"config {key!r} is not a number: {text!r}, nor any other "
                    f"form save writes ({CONFIG_FORMS})",
                )
            configs[key[len(CONFIG_PREFIX) :]] = value
    return dict(sorted(configs.items()))  # the header's order is not kept

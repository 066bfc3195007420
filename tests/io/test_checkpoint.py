"""save/load: bit-exact round trips, atomic writes, configs, corrupt files."""

import json
import os
import struct
import subprocess
import sys
import textwrap

import ml_dtypes
import numpy as np
import pytest

import lucid_fx
import lucid_fx.nn as nn
from lucid_fx.io import _checkpoint, _header

SPECIALS = [0.0, -0.0, np.inf, -np.inf, np.nan, 1.5, -2.25]


def _model(slope=0.25):
    return nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(slope), nn.Linear(4, 2))


def _bits(module):
    return {k: v.numpy().tobytes() for k, v in module.state_dict().items()}


def _valid_file(tmp_path, arrays=None):
    path = tmp_path / "ok.safetensors"
    lucid_fx.save(
        arrays
        or {"a": np.arange(4, dtype=np.float32), "b": np.ones((2, 2), np.float32)},
        path,
    )
    return path


@pytest.mark.parametrize(
    "dtype",
    [
        np.float16,
        ml_dtypes.bfloat16,
        np.float32,
        np.float64,
        np.int32,
        np.int8,
        np.bool_,
    ],
)
def test_every_dtype_round_trips_bit_exactly(tmp_path, dtype):
    values = np.array(SPECIALS if np.dtype(dtype).kind == "f" else [1, 0, 1])
    array = values.astype(dtype)
    path = tmp_path / "x.safetensors"
    lucid_fx.save({"x": array}, path)
    loaded = lucid_fx.load(path)["x"]
    assert loaded.dtype == array.dtype and loaded.shape == array.shape
    assert loaded.tobytes() == array.tobytes()  # NaN payloads, -0.0 and all


def test_module_round_trip_with_configs_and_metadata(tmp_path):
    model, other = _model(0.25), _model(0.25)
    path = tmp_path / "m.safetensors"
    lucid_fx.save(model, path, metadata={"epoch": "3"})
    loaded = lucid_fx.load(path)
    assert loaded.configs == {"1.negative_slope": 0.25}
    assert loaded.metadata == {"epoch": "3"}
    other.load_state_dict(loaded)
    assert _bits(other) == _bits(model)


def test_files_are_plain_safetensors(tmp_path):
    # The header is the documented JSON layout any safetensors reader parses.
    path = tmp_path / "m.safetensors"
    lucid_fx.save(_model(), path)
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    assert header["0.weight"]["dtype"] == "F32"
    assert header["0.weight"]["shape"] == [4, 3]
    assert header["__metadata__"]["lucid_fx.config.1.negative_slope"] == "0.25"


def test_config_mismatch_names_both_values_unless_overridden(tmp_path):
    path = tmp_path / "m.safetensors"
    lucid_fx.save(_model(0.25), path)
    target = _model(0.1)
    before = _bits(target)
    with pytest.raises(ValueError, match=r"'1.negative_slope' is 0.25 .* but 0.1"):
        target.load_state_dict(lucid_fx.load(path))
    assert _bits(target) == before and target[1].negative_slope == 0.1
    target.load_state_dict(lucid_fx.load(path), override_configs=True)
    assert target[1].negative_slope == 0.25


def test_save_is_atomic_when_writing_fails(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    model = _model()
    lucid_fx.save(model, path)
    good = path.read_bytes()

    def broken_fsync(fd):
        raise OSError("disk full")

    monkeypatch.setattr(_checkpoint.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="disk full"):
        lucid_fx.save(_model(0.5), path)
    assert path.read_bytes() == good
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temp left
    _model().load_state_dict(lucid_fx.load(path))


def test_killed_saving_process_leaves_previous_file_loadable(tmp_path):
    path = tmp_path / "m.safetensors"
    lucid_fx.save({"w": np.zeros(4, np.float32)}, path)
    code = textwrap.dedent(f"""
        import os, numpy as np, lucid_fx
        from lucid_fx.io import _checkpoint
        real = _checkpoint.os.fsync
        def die(fd):
            real(fd)
            os._exit(9)        # killed after writing, before the rename
        _checkpoint.os.fsync = die
        lucid_fx.save({{"w": np.ones(1 << 20, np.float32)}}, {str(path)!r})
    """)
    done = subprocess.run([sys.executable, "-c", code], check=False)
    assert done.returncode == 9
    np.testing.assert_array_equal(lucid_fx.load(path)["w"], np.zeros(4))


def _corrupt(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _header_file(tmp_path, header, data, length=None):
    blob = json.dumps(header).encode()
    n = len(blob) if length is None else length
    return _corrupt(tmp_path, "bad.safetensors", struct.pack("<Q", n) + blob + data)


CORRUPT = {
    "empty": lambda tp: _corrupt(tp, "e.safetensors", b""),
    "short": lambda tp: _corrupt(tp, "s.safetensors", b"\x01\x02\x03"),
    "truncated": lambda tp: _corrupt(
        tp, "t.safetensors", _valid_file(tp).read_bytes()[:-5]
    ),
    "trailing": lambda tp: _corrupt(
        tp, "r.safetensors", _valid_file(tp).read_bytes() + b"junk"
    ),
    "huge_header_length": lambda tp: _header_file(tp, {}, b"", length=2**40),
    "not_json": lambda tp: _corrupt(
        tp, "j.safetensors", struct.pack("<Q", 5) + b"{oops"
    ),
    "overlap": lambda tp: _header_file(
        tp,
        {
            "a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
            "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]},
        },
        bytes(12),
    ),
    "duplicate": lambda tp: _corrupt(
        tp,
        "d.safetensors",
        (lambda blob: struct.pack("<Q", len(blob)) + blob + bytes(4))(
            b'{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},'
            b'"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'
        ),
    ),
    "bad_dtype": lambda tp: _header_file(
        tp, {"a": {"dtype": "X9", "shape": [1], "data_offsets": [0, 4]}}, bytes(4)
    ),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_files_give_clear_errors_naming_the_file(tmp_path, case):
    path = CORRUPT[case](tmp_path)
    model = _model()
    before = _bits(model)
    with pytest.raises(ValueError, match="not a valid safetensors file") as info:
        model.load_state_dict(lucid_fx.load(path))
    assert str(path) in str(info.value)
    assert _bits(model) == before


def test_missing_path_and_directory(tmp_path):
    with pytest.raises(FileNotFoundError, match="no checkpoint file"):
        lucid_fx.load(tmp_path / "nope.safetensors")
    with pytest.raises(IsADirectoryError, match="is a directory"):
        lucid_fx.load(tmp_path)


def test_save_rejects_bad_values_and_metadata(tmp_path):
    with pytest.raises(TypeError, match="'w' must be an array"):
        lucid_fx.save({"w": [1.0, 2.0]}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match="metadata must map str to str"):
        lucid_fx.save({"w": np.ones(1)}, tmp_path / "x.safetensors", {"k": 1})
    with pytest.raises(TypeError, match="expected a Module or a state dict"):
        lucid_fx.save([np.ones(1)], tmp_path / "x.safetensors")
    assert not os.listdir(tmp_path)


def test_strict_false_loads_the_rest(tmp_path):
    path = tmp_path / "part.safetensors"
    model = _model()
    partial = {k: v for k, v in model.state_dict().items() if k.startswith("0.")}
    lucid_fx.save(partial, path)
    target = _model()
    result = target.load_state_dict(lucid_fx.load(path), strict=False)
    assert result.missing_keys == ["2.weight", "2.bias"]
    np.testing.assert_array_equal(target[0].weight.numpy(), model[0].weight.numpy())


def test_integer_values_do_not_load_into_float_parameters(tmp_path):
    path = tmp_path / "int.safetensors"
    model = _model()
    bad = {k: v.numpy() for k, v in model.state_dict().items()}
    bad["0.bias"] = np.arange(4, dtype=np.int32)
    lucid_fx.save(bad, path)
    before = _bits(model)
    with pytest.raises(TypeError, match="'0.bias': dtype int32"):
        model.load_state_dict(lucid_fx.load(path))
    assert _bits(model) == before


ALL_DTYPES = sorted(_header.DTYPES.values(), key=str)
SHAPES = [(), (0,), (1,), (2, 3), (3, 0, 2)]


def _sample(dtype, shape, seed=0):
    rng = np.random.default_rng(seed)
    raw = rng.integers(
        0, 256, size=int(np.prod(shape)) * dtype.itemsize, dtype=np.uint8
    )
    if dtype == np.bool_:
        raw = raw % 2
    return raw.view(dtype).reshape(shape)  # every bit pattern, NaN payloads too


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_every_dtype_and_shape_round_trips_0d_included(tmp_path, dtype, shape):
    array = _sample(dtype, shape)
    path = tmp_path / "x.safetensors"
    lucid_fx.save({"x": array}, path)
    loaded = lucid_fx.load(path)
    assert loaded["x"].shape == shape and loaded["x"].dtype == dtype
    assert loaded["x"].tobytes() == array.tobytes()
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    assert json.loads(raw[8 : 8 + n])["x"]["shape"] == list(shape)


def test_numpy_and_jax_scalars_are_saved_0d(tmp_path):
    import jax.numpy as jnp

    path = tmp_path / "s.safetensors"
    values = {
        "np": np.float64(2.5),
        "jax": jnp.asarray(3, jnp.int32),
        "arr": np.array(True),
    }
    lucid_fx.save(values, path)
    loaded = lucid_fx.load(path)
    assert {k: v.shape for k, v in loaded.items()} == {"np": (), "jax": (), "arr": ()}
    assert loaded["np"] == 2.5 and loaded["jax"] == 3 and loaded["arr"]


def test_0d_parameter_restores_from_its_own_checkpoint(tmp_path):
    import jax.numpy as jnp

    class Scaled(nn.Module):
        def __init__(self, value):
            super().__init__()
            self.scale = nn.Parameter(jnp.asarray(value, jnp.float32))

    path = tmp_path / "s.safetensors"
    lucid_fx.save(Scaled(2.5), path)
    target = Scaled(0.0)
    target.load_state_dict(lucid_fx.load(path))
    assert target.scale.numpy().shape == () and float(target.scale.numpy()) == 2.5


@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=str)
def test_pytorch_reads_our_files_with_the_same_shapes(tmp_path, dtype):
    import torch
    from safetensors.torch import load_file

    arrays = {f"x{i}": _sample(dtype, shape, seed=i) for i, shape in enumerate(SHAPES)}
    path = tmp_path / "t.safetensors"
    lucid_fx.save(arrays, path)
    tensors = load_file(str(path))
    assert sorted(tensors) == sorted(arrays)
    for name, array in arrays.items():
        t = tensors[name]
        assert tuple(t.shape) == array.shape
        assert str(t.dtype) == f"torch.{array.dtype.name}"
        raw = (
            t.reshape(-1).view(torch.uint8)
            if t.dtype != torch.bool
            else t.reshape(-1).to(torch.uint8)
        )
        assert raw.numpy().tobytes() == array.tobytes()

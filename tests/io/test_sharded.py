"""Sharded checkpoints in one process: layout, any-mesh loading, hostile indexes.

Several processes writing and reading each other's checkpoints are tested in
tests/distributed/test_multi_process.py.
"""

import json

import jax
import numpy as np
import pytest
from jax.sharding import SingleDeviceSharding

import lucid_fx

FILE = "model-0123456789abcdef-00000-of-00001.safetensors"
X = np.arange(8, dtype=np.float32) - 2.5


def _folder_with_pieces(tmp_path, weight_map=None, arrays=None, pieces=None):
    folder = tmp_path / "ckpt"
    folder.mkdir()
    pieces = pieces or {"x[0:4]": X[:4], "x[4:8]": X[4:]}
    lucid_fx.save(pieces, folder / FILE)
    index = {
        "metadata": {"format": "lucid_fx.sharded/1", "step": "3"},
        "weight_map": weight_map or {k: FILE for k in pieces},
        "lucid_fx.arrays": arrays or {"x": {"dtype": "F32", "shape": [8]}},
    }
    (folder / "model.safetensors.index.json").write_text(json.dumps(index))
    return folder


def test_pieces_are_assembled_bit_exactly(tmp_path):
    folder = _folder_with_pieces(tmp_path)
    state = lucid_fx.load(folder)
    assert state["x"].tobytes() == X.tobytes() and state.metadata == {"step": "3"}
    same = lucid_fx.load(folder / "model.safetensors.index.json")
    assert same["x"].tobytes() == X.tobytes()


def test_sharded_save_round_trips_and_replaces_earlier_saves(tmp_path):
    folder = tmp_path / "ckpt"
    arrays = {"w": np.arange(6.0).reshape(2, 3), "step": np.int64(4)}
    lucid_fx.save(arrays, folder, {"epoch": "1"}, sharded=True)
    first = sorted(p.name for p in folder.iterdir())
    lucid_fx.save(arrays, folder, {"epoch": "2"}, sharded=True)
    second = sorted(p.name for p in folder.iterdir())
    assert len(second) == 2 and second[-1] == "model.safetensors.index.json"
    assert second[0] != first[0]  # a new file per save; the old one is gone
    state = lucid_fx.load(folder)
    assert state.metadata == {"epoch": "2"}
    assert state["w"].tolist() == arrays["w"].tolist() and state["step"].shape == ()
    index = json.loads((folder / "model.safetensors.index.json").read_text())
    assert index["weight_map"] == {"step": second[0], "w": second[0]}


@pytest.mark.parametrize("where", ["sharded", "single"])
def test_shardings_place_the_arrays(tmp_path, where):
    sharding = SingleDeviceSharding(jax.devices()[0])
    if where == "sharded":
        path = _folder_with_pieces(tmp_path)
    else:
        path = tmp_path / "x.safetensors"
        lucid_fx.save({"x": X}, path)
    state = lucid_fx.load(path, shardings={"x": sharding})
    assert isinstance(state["x"], jax.Array) and state["x"].sharding == sharding
    assert np.asarray(state["x"]).tobytes() == X.tobytes()


BAD_INDEX = {
    "path_traversal": (
        {"weight_map": {"x[0:4]": "../../etc/passwd", "x[4:8]": FILE}},
        "not a shard file",
    ),
    "missing_piece": ({"weight_map": {"x[0:4]": FILE}}, "cover 4 of the 8 values"),
    "overlapping_pieces": (
        {"pieces": {"x[0:4]": X[:4], "x[2:6]": X[2:6], "x[4:8]": X[4:]}},
        "overlap",
    ),
    "piece_outside": (
        {"pieces": {"x[0:4]": X[:4], "x[4:9]": np.zeros(5, np.float32)}},
        "lies outside 'x'",
    ),
    "wrong_dtype": (
        {"arrays": {"x": {"dtype": "F64", "shape": [8]}}},
        "does not hold 'x[0:4]' as float64",
    ),
    "unknown_array": (
        {"arrays": {"y": {"dtype": "F32", "shape": [8]}}},
        "belongs to no listed array",
    ),
    "bad_shape": ({"arrays": {"x": {"dtype": "F32", "shape": [-8]}}}, "no valid"),
}


@pytest.mark.parametrize("case", sorted(BAD_INDEX))
def test_bad_index_is_a_value_error_naming_it(tmp_path, case):
    kwargs, phrase = BAD_INDEX[case]
    folder = _folder_with_pieces(tmp_path, **kwargs)
    with pytest.raises(ValueError, match="is not a valid sharded checkpoint") as info:
        lucid_fx.load(folder)
    assert phrase in str(info.value) and "model.safetensors.index.json" in str(
        info.value
    )


def test_unreadable_index(tmp_path):
    folder = _folder_with_pieces(tmp_path)
    (folder / "model.safetensors.index.json").write_text("[" * 100_000)
    with pytest.raises(ValueError, match="unreadable index"):
        lucid_fx.load(folder)


def test_sharded_save_to_a_file_path_is_refused(tmp_path):
    path = tmp_path / "x.safetensors"
    lucid_fx.save({"x": X}, path)
    with pytest.raises(NotADirectoryError, match="a sharded checkpoint is a folder"):
        lucid_fx.save({"x": X}, path, sharded=True)
    assert lucid_fx.load(path)["x"].tobytes() == X.tobytes()

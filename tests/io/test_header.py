"""Hostile safetensors headers: every one is a ValueError naming the file.

The catalogue crafts headers by hand (raw JSON text, so Python's ``json`` cannot
tidy them); a hypothesis fuzz mutates a valid header and checks that ``load``
either rejects the file cleanly or agrees with the reference parser
(``safetensors.deserialize``) on every name, dtype, shape and byte.
"""

import json
import struct
import time

import hypothesis.strategies as st
import numpy as np
import pytest
import safetensors
from hypothesis import HealthCheck, given, settings
from safetensors.numpy import save_file

import lucid_fx

F32_1 = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}'


def _file(tmp_path, text, data=bytes(4), name="hostile.safetensors"):
    blob = text.encode() if isinstance(text, str) else text
    path = tmp_path / name
    path.write_bytes(struct.pack("<Q", len(blob)) + blob + data)
    return path


# id: (header text or bytes, data bytes, phrase in the error)
HOSTILE = {
    "infinity_offset": (
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,Infinity]}}',
        bytes(4),
        "non-JSON number Infinity",
    ),
    "negative_infinity_dim": (
        '{"a":{"dtype":"F32","shape":[-Infinity],"data_offsets":[0,4]}}',
        bytes(4),
        "non-JSON number -Infinity",
    ),
    "nan_dim": (
        '{"a":{"dtype":"F32","shape":[NaN],"data_offsets":[0,4]}}',
        bytes(4),
        "non-JSON number NaN",
    ),
    "deep_nesting": ("[" * 200_000 + "]" * 200_000, b"", "nests too deeply"),
    "deep_nesting_in_metadata": (
        '{"__metadata__":' + '{"a":' * 100_000 + "1" + "}" * 100_001,
        b"",
        "nests too deeply",
    ),
    "huge_integer": (
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,' + "9" * 5000 + "]}}",
        bytes(4),
        "integer of 5000 digits",
    ),
    "huge_but_parsable_dim": (
        '{"a":{"dtype":"F32","shape":[' + "9" * 19 + '],"data_offsets":[0,4]}}',
        bytes(4),
        "4 bytes for shape",
    ),
    "too_many_dims": (
        '{"a":{"dtype":"F32","shape":' + json.dumps([1] * 65) + ","
        '"data_offsets":[0,4]}}',
        bytes(4),
        "65 dimensions, more than 64",
    ),
    "float_dim": (
        '{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}',
        bytes(4),
        "not a list of sizes",
    ),
    "bool_dim": (
        '{"a":{"dtype":"F32","shape":[true],"data_offsets":[0,4]}}',
        bytes(4),
        "not a list of sizes",
    ),
    "string_dim": (
        '{"a":{"dtype":"F32","shape":["1"],"data_offsets":[0,4]}}',
        bytes(4),
        "not a list of sizes",
    ),
    "negative_dim": (
        '{"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}}',
        bytes(4),
        "not a list of sizes",
    ),
    "shape_not_list": (
        '{"a":{"dtype":"F32","shape":1,"data_offsets":[0,4]}}',
        bytes(4),
        "not a list of sizes",
    ),
    "negative_offset": (
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}',
        bytes(4),
        "not a range inside",
    ),
    "reversed_offsets": (
        '{"a":{"dtype":"F32","shape":[0],"data_offsets":[4,0]}}',
        bytes(4),
        "not a range inside",
    ),
    "three_offsets": (
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,8]}}',
        bytes(4),
        "not a range inside",
    ),
    "float_offsets": (
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0.0,4.0]}}',
        bytes(4),
        "not a range inside",
    ),
    "exponent_offset": (
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,1e400]}}',
        bytes(4),
        "not a range inside",
    ),
    "string_offsets": (
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":["0","4"]}}',
        bytes(4),
        "not a range inside",
    ),
    "missing_field": ('{"a":{"dtype":"F32","shape":[1]}}', bytes(4), "exactly dtype"),
    "extra_field": (
        '{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":1}}',
        bytes(4),
        "exactly dtype",
    ),
    "entry_not_object": ('{"a":[1,2,3]}', bytes(4), "exactly dtype"),
    "dtype_not_string": (
        '{"a":{"dtype":4,"shape":[1],"data_offsets":[0,4]}}',
        bytes(4),
        "unsupported dtype 4",
    ),
    "duplicate_field": (
        '{"a":{"dtype":"F32","dtype":"I32","shape":[1],"data_offsets":[0,4]}}',
        bytes(4),
        "duplicate names in the header: ['dtype']",
    ),
    "reserved_name_holds_a_tensor": (
        '{"__metadata__":' + F32_1 + "}",
        bytes(4),
        "__metadata__ must map strings to strings",
    ),
    "metadata_is_a_list": (
        '{"__metadata__":["a"],"a":' + F32_1 + "}",
        bytes(4),
        "__metadata__ must map strings to strings",
    ),
    "metadata_value_not_string": (
        '{"__metadata__":{"epoch":3},"a":' + F32_1 + "}",
        bytes(4),
        "__metadata__ must map strings to strings",
    ),
    "metadata_null": (
        '{"__metadata__":null,"a":' + F32_1 + "}",
        bytes(4),
        "__metadata__ must map strings to strings",
    ),
    "bool_byte_two": (
        '{"a":{"dtype":"BOOL","shape":[4],"data_offsets":[0,4]}}',
        bytes([0, 1, 2, 1]),
        "BOOL entry 'a' holds bytes other than 0 and 1",
    ),
    "bool_byte_ff": (
        '{"a":{"dtype":"BOOL","shape":[],"data_offsets":[0,1]}}',
        b"\xff",
        "bytes other than 0 and 1",
    ),
    "header_not_utf8": (b'{"a\xff":' + F32_1.encode() + b"}", bytes(4), "not JSON"),
    "header_is_a_list": ("[]", b"", "not a JSON object"),
    "header_is_a_number": ("7", b"", "not a JSON object"),
}
for _value in [
    "0_5",
    "1_000.0",
    " 0.5",
    "0.5 ",
    "Infinity",
    "infinity",
    "+1",
    "0x1p-2",
    "True",
    "null",
    "[1]",
    "'tanh'",
    '"tanh',
    '"tanh" ',
    '"a\tb"',
    "1" * 21,
]:
    HOSTILE[f"config_{_value.strip() or 'blank'}_{len(_value)}"] = (
        '{"__metadata__":{"lucid_fx.config.0.negative_slope":'
        + json.dumps(_value)
        + '},"a":'
        + F32_1
        + "}",
        bytes(4),
        f"is not a number: {_value!r}, nor any other form save writes",
    )


@pytest.mark.parametrize("case", sorted(HOSTILE))
def test_hostile_header_is_a_value_error_naming_the_file(tmp_path, case):
    text, data, phrase = HOSTILE[case]
    path = _file(tmp_path, text, data)
    with pytest.raises(ValueError) as info:
        lucid_fx.load(path)
    message = str(info.value)
    assert f"load: {str(path)!r} is not a valid safetensors file" in message
    assert phrase in message, message


@pytest.mark.parametrize("value", ["0.25", "-0.5", "1e-05", "1.5e+20", "inf", "nan"])
def test_configs_written_by_repr_float_are_read_back(tmp_path, value):
    text = ('{"__metadata__":{"lucid_fx.config.s":' + json.dumps(value) + '},"a":') + (
        F32_1 + "}"
    )
    configs = lucid_fx.load(_file(tmp_path, text)).configs
    np.testing.assert_equal(configs["s"], float(value))


def test_arrays_are_independent_writable_views(tmp_path):
    path = tmp_path / "x.safetensors"
    lucid_fx.save({"a": np.arange(3.0), "b": np.arange(2, dtype=np.int8)}, path)
    state = lucid_fx.load(path)
    state["a"][0] = 7.0
    assert state["a"].tolist() == [7.0, 1.0, 2.0] and state["b"].tolist() == [0, 1]


def _many_entries(tmp_path, n):
    path = tmp_path / f"many{n}.safetensors"
    save_file({f"layer.{i}.w": np.array(i, np.float32) for i in range(n)}, path)
    raw = path.read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    return path, raw[8 : 8 + length]


def _cpu_seconds(fn):
    times = []
    for _ in range(3):
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return min(times)


def test_load_is_linear_in_the_number_of_entries(tmp_path):
    # CPU time (not wall time: the test machine is shared), best of three, set
    # against the standard library parsing the same header: load does a
    # bounded amount of work per entry on top of json.loads. A quadratic
    # duplicate check took 20 s at 40,000 entries.
    small, _ = _many_entries(tmp_path, 10_000)
    big, header = _many_entries(tmp_path, 100_000)
    loaded = lucid_fx.load(big)
    assert len(loaded) == 100_000 and loaded["layer.99999.w"] == 99999
    t_small = _cpu_seconds(lambda: lucid_fx.load(small))
    t_big = _cpu_seconds(lambda: lucid_fx.load(big))
    t_json = _cpu_seconds(lambda: json.loads(header))
    assert t_big < 20 * t_small, (t_small, t_big)  # quadratic would be 100x
    assert t_big < 4 * t_json, (t_json, t_big)
    # The issue asks for under a second: ~0.7 s CPU here when quiet; 1.0 s
    # flaked once in a CI run on this 2-core VM, so the absolute guard has
    # margin and the two relative checks above carry the linearity claim.
    assert t_big < 2.0, t_big


# --- fuzz: mutate a valid header and compare with the reference parser -------

VALID = {
    "__metadata__": {"epoch": "3", "lucid_fx.config.1.negative_slope": "0.25"},
    "w": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
    "flag": {"dtype": "BOOL", "shape": [], "data_offsets": [16, 17]},
    "n": {"dtype": "I16", "shape": [1], "data_offsets": [17, 19]},
}
DATA = np.arange(4, dtype=np.float32).tobytes() + b"\x01" + b"\x05\x00"

_json_leaf = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=6),
    st.sampled_from(["F32", "BOOL", "I16", "U8", "F8_E4M3", "0_5", "inf", "1e5"]),
)
_json = st.recursive(
    _json_leaf,
    lambda kids: (
        st.lists(kids, max_size=4)
        | st.dictionaries(st.text(max_size=4), kids, max_size=3)
    ),
    max_leaves=8,
)


def _paths(node, prefix=()):
    yield prefix
    if isinstance(node, dict):
        for key, value in node.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _paths(value, (*prefix, i))


def _replace(node, path, value):
    if not path:
        return value
    copy = dict(node) if isinstance(node, dict) else list(node)
    copy[path[0]] = _replace(node[path[0]], path[1:], value)
    return copy


@st.composite
def _mutated(draw):
    paths = list(_paths(VALID))
    path = draw(st.sampled_from(paths))
    header = _replace(VALID, path, draw(_json))
    text = json.dumps(header, allow_nan=True)
    if draw(st.booleans()):  # text-level damage json.dumps cannot express
        at = draw(st.integers(0, len(text)))
        insert = draw(
            st.sampled_from(["Infinity", "NaN", "-", "[", "{", "]", "}", ",", "9" * 30])
            | st.text(max_size=3)
        )
        text = text[:at] + insert + text[at + draw(st.integers(0, 3)) :]
    data = DATA[: draw(st.integers(0, len(DATA)))] if draw(st.booleans()) else DATA
    return text.encode("utf-8", "surrogatepass"), data


def _reference(raw):
    try:
        return {name: entry for name, entry in safetensors.deserialize(raw)}
    except Exception:  # any verdict of rejection will do
        return None


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(case=_mutated())
def test_fuzzed_headers_load_exactly_or_fail_cleanly(tmp_path, case):
    blob, data = case
    path = tmp_path / "fuzz.safetensors"
    raw = struct.pack("<Q", len(blob)) + blob + data
    path.write_bytes(raw)
    try:
        state = lucid_fx.load(path)
    except ValueError as err:
        assert f"load: {str(path)!r} is not a valid safetensors file" in str(err)
        return
    reference = _reference(raw)  # what we accept, the reference accepts too
    assert reference is not None and sorted(reference) == sorted(state)
    for name, array in state.items():
        entry = reference[name]
        assert list(array.shape) == entry["shape"]
        assert array.tobytes() == bytes(entry["data"])


@pytest.mark.parametrize(
    "text,value",
    [
        ("true", True),
        ("false", False),
        ("3", 3),
        ("-12345678901234567890", -12345678901234567890),
        ('"tanh"', "tanh"),
        ('"a\\"b\\\\c\\u00e9\\n"', 'a"b\\cé\n'),
        ('"é"', "é"),
        ('""', ""),
    ],
)
def test_configs_of_every_type_are_read_back_with_their_type(tmp_path, text, value):
    text = '{"__metadata__":{"lucid_fx.config.s":' + json.dumps(text) + '},"a":'
    configs = lucid_fx.load(_file(tmp_path, text + F32_1 + "}")).configs
    assert type(configs["s"]) is type(value) and configs["s"] == value

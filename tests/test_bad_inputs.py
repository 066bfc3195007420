"""The bad-input catalogue: every wrong call gives a clear, typed error that
names what was wrong, and leaves every object involved exactly as it was."""

import dataclasses

import jax.numpy as jnp
import numpy as np
import pytest

import lucid_fx
import lucid_fx.nn as nn
import lucid_fx.nn.functional as F
from lucid_fx import Tensor, optim
from lucid_fx.functional import leaky_relu
from lucid_fx.layers import LeakyReLU
from tests.fingerprint import fingerprint


def _model():
    lucid_fx.random.seed(0)
    return nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.25), nn.Linear(4, 2))


def _graph():
    x = Tensor([1.0, -2.0], requires_grad=True)
    return {"x": x, "y": F.leaky_relu(x, 0.5) * 2.0}


def _used_graph():
    g = _graph()
    g["y"].sum().backward()
    return g


def _state(model, **changes):
    sd = {k: v.numpy() for k, v in model.state_dict().items()}
    sd.update(changes)
    return sd


def _with_model(**extra):
    model = _model()
    return {"model": model, **{k: v(model) for k, v in extra.items()}}


def _opt_setup():
    model = _model()
    return {"model": model, "opt": optim.SGD(model.parameters(), lr=0.1)}


def _functional():
    model = _model()
    apply, params = lucid_fx.functionalize(model)
    return {"model": model, "apply": apply, "params": params}


def _file(tmp_path, data):
    path = tmp_path / "ckpt.safetensors"
    if data is not None:
        path.write_bytes(data)
    return {"path": path, "model": _model()}


_F32 = '{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}'


def _raw_header(text, data=bytes(4)):
    blob = text.encode()
    return len(blob).to_bytes(8, "little") + blob + data


def _assign(obj, name, value):
    setattr(obj, name, value)


X3 = np.ones((2, 3), np.float32)

# id: (setup(tmp_path) -> objects, call(objects), exception, phrase)
CASES = {
    # functional core
    "x_string": (
        lambda tp: {},
        lambda o: leaky_relu("abc"),
        TypeError,
        "x must be a real",
    ),
    "x_objects": (
        lambda tp: {},
        lambda o: leaky_relu([object()]),
        TypeError,
        "x must be",
    ),
    "x_complex": (
        lambda tp: {},
        lambda o: leaky_relu(jnp.ones(2, jnp.complex64)),
        TypeError,
        "real inputs",
    ),
    "slope_str": (
        lambda tp: {},
        lambda o: leaky_relu(X3, "0.1"),
        TypeError,
        "negative_slope",
    ),
    "slope_bool": (
        lambda tp: {},
        lambda o: leaky_relu(X3, True),
        TypeError,
        "negative_slope",
    ),
    "slope_none": (
        lambda tp: {},
        lambda o: leaky_relu(X3, None),
        TypeError,
        "negative_slope",
    ),
    "slope_complex": (
        lambda tp: {},
        lambda o: leaky_relu(X3, 1j),
        TypeError,
        "negative_slope",
    ),
    "slope_nan": (
        lambda tp: {},
        lambda o: leaky_relu(X3, float("nan")),
        ValueError,
        "negative_slope",
    ),
    "slope_inf": (
        lambda tp: {},
        lambda o: leaky_relu(X3, float("inf")),
        ValueError,
        "negative_slope",
    ),
    "slope_shape": (
        lambda tp: {},
        lambda o: leaky_relu(X3, np.ones((5,))),
        ValueError,
        "negative_slope of shape",
    ),
    "slope_complex_array": (
        lambda tp: {},
        lambda o: leaky_relu(X3, np.ones(3) * 1j),
        TypeError,
        "negative_slope",
    ),
    # the config
    "config_str": (
        lambda tp: {},
        lambda o: LeakyReLU("0.1"),
        TypeError,
        "negative_slope",
    ),
    "config_nan": (
        lambda tp: {},
        lambda o: LeakyReLU(float("nan")),
        ValueError,
        "negative_slope",
    ),
    "config_frozen": (
        lambda tp: {"c": LeakyReLU(0.1)},
        lambda o: _assign(o["c"], "negative_slope", 0.5),
        dataclasses.FrozenInstanceError,
        "negative_slope",
    ),
    # Tensor
    "tensor_ragged": (
        lambda tp: {},
        lambda o: Tensor([[1.0], [1.0, 2.0]]),
        ValueError,
        "rectangular",
    ),
    "tensor_strings": (lambda tp: {}, lambda o: Tensor(["a"]), TypeError, "data"),
    "tensor_object": (lambda tp: {}, lambda o: Tensor(object()), TypeError, "data"),
    "tensor_int_grad": (
        lambda tp: {},
        lambda o: Tensor(np.array([1, 2], np.int32), requires_grad=True),
        TypeError,
        "requires_grad",
    ),
    "tensor_requires_grad_str": (
        lambda tp: {},
        lambda o: Tensor([1.0], requires_grad="yes"),
        TypeError,
        "requires_grad",
    ),
    "backward_no_grad": (
        lambda tp: {"t": Tensor([1.0])},
        lambda o: o["t"].backward(),
        RuntimeError,
        "does not require",
    ),
    "backward_grad_shape": (
        lambda tp: _graph(),
        lambda o: o["y"].backward(np.ones(3, np.float32)),
        ValueError,
        "gradient has shape",
    ),
    "backward_int_grad": (
        lambda tp: _graph(),
        lambda o: o["y"].backward(np.ones(2, np.int32)),
        TypeError,
        "gradient must be floating",
    ),
    "backward_twice": (
        lambda tp: _used_graph(),
        lambda o: o["y"].backward(),
        RuntimeError,
        "retain_graph",
    ),
    "matmul_shapes": (
        lambda tp: {"a": Tensor(X3), "b": Tensor(X3)},
        lambda o: o["a"] @ o["b"],
        ValueError,
        "matmul",
    ),
    "broadcast_shapes": (
        lambda tp: {"a": Tensor([1.0, 2.0]), "b": Tensor([1.0] * 3)},
        lambda o: o["a"] + o["b"],
        ValueError,
        "add",
    ),
    "item_many": (
        lambda tp: {"t": Tensor([1.0, 2.0])},
        lambda o: o["t"].item(),
        ValueError,
        "item",
    ),
    "grad_assign_shape": (
        lambda tp: {"t": Tensor([1.0], requires_grad=True)},
        lambda o: _assign(o["t"], "grad", np.ones(3)),
        ValueError,
        "Tensor.grad",
    ),
    "reshape_size": (
        lambda tp: {"t": Tensor(X3)},
        lambda o: o["t"].reshape(4, 2),
        ValueError,
        "reshape",
    ),
    # Module
    "param_replaced_by_array": (
        lambda tp: {"m": nn.Linear(3, 4)},
        lambda o: _assign(o["m"], "weight", jnp.ones((4, 3))),
        TypeError,
        "Parameter",
    ),
    "module_replaced_by_function": (
        lambda tp: {"m": _model()},
        lambda o: _assign(o["m"], "1", len),
        TypeError,
        "sub-module",
    ),
    "linear_float_features": (
        lambda tp: {},
        lambda o: nn.Linear(2.5, 1),
        TypeError,
        "in_features",
    ),
    "linear_negative_features": (
        lambda tp: {},
        lambda o: nn.Linear(2, -1),
        ValueError,
        "out_features",
    ),
    "linear_wrong_width": (
        lambda tp: {"m": nn.Linear(3, 4)},
        lambda o: o["m"](Tensor(np.ones((1, 5), np.float32))),
        ValueError,
        "in_features=3",
    ),
    "activation_slope_str": (
        lambda tp: {"m": nn.LeakyReLU(0.1)},
        lambda o: _assign(o["m"], "negative_slope", "big"),
        TypeError,
        "negative_slope",
    ),
    "sequential_non_module": (
        lambda tp: {},
        lambda o: nn.Sequential(len),
        TypeError,
        "Module",
    ),
    "train_mode_str": (
        lambda tp: {"m": _model()},
        lambda o: o["m"].train("yes"),
        TypeError,
        "mode",
    ),
    # load_state_dict
    "load_missing_key": (
        lambda tp: _with_model(),
        lambda o: o["model"].load_state_dict(
            {k: v for k, v in _state(o["model"]).items() if k != "2.bias"}
        ),
        ValueError,
        "missing key '2.bias'",
    ),
    "load_unexpected_key": (
        lambda tp: _with_model(),
        lambda o: o["model"].load_state_dict(_state(o["model"], extra=np.ones(1))),
        ValueError,
        "unexpected key 'extra'",
    ),
    "load_wrong_shape": (
        lambda tp: _with_model(),
        lambda o: o["model"].load_state_dict(
            _state(o["model"], **{"0.bias": np.ones(7, np.float32)})
        ),
        ValueError,
        "'0.bias': shape",
    ),
    "load_int_dtype": (
        lambda tp: _with_model(),
        lambda o: o["model"].load_state_dict(
            _state(o["model"], **{"0.bias": np.ones(4, np.int32)})
        ),
        TypeError,
        "'0.bias': dtype int32",
    ),
    "load_non_array": (
        lambda tp: _with_model(),
        lambda o: o["model"].load_state_dict(_state(o["model"], **{"0.bias": "zeros"})),
        TypeError,
        "'0.bias'",
    ),
    "load_not_mapping": (
        lambda tp: _with_model(),
        lambda o: o["model"].load_state_dict([1, 2]),
        TypeError,
        "state_dict must be a mapping",
    ),
    # optimizers
    "sgd_empty": (
        lambda tp: {},
        lambda o: optim.SGD([], lr=0.1),
        ValueError,
        "empty parameter list",
    ),
    "sgd_negative_lr": (
        lambda tp: _with_model(),
        lambda o: optim.SGD(o["model"].parameters(), lr=-1.0),
        ValueError,
        "lr",
    ),
    "adam_bad_beta": (
        lambda tp: _with_model(),
        lambda o: optim.Adam(o["model"].parameters(), lr=0.1, betas=(0.9, 1.5)),
        ValueError,
        "betas",
    ),
    "sgd_not_tensors": (
        lambda tp: {},
        lambda o: optim.SGD([np.ones(2)], lr=0.1),
        TypeError,
        "params[0]",
    ),
    "lr_assign_nan": (
        lambda tp: _opt_setup(),
        lambda o: _assign(o["opt"], "lr", float("nan")),
        ValueError,
        "lr",
    ),
    # functionalize / compile
    "functionalize_function": (
        lambda tp: {},
        lambda o: lucid_fx.functionalize(len),
        TypeError,
        "nn.Module",
    ),
    "apply_missing": (
        lambda tp: _functional(),
        lambda o: o["apply"](
            {k: v for k, v in o["params"].items() if k != "0.bias"}, X3
        ),
        KeyError,
        "missing ['0.bias']",
    ),
    "apply_extra": (
        lambda tp: _functional(),
        lambda o: o["apply"]({**o["params"], "9.w": jnp.ones(1)}, X3),
        KeyError,
        "unexpected ['9.w']",
    ),
    "apply_misshapen": (
        lambda tp: _functional(),
        lambda o: o["apply"]({**o["params"], "0.bias": jnp.ones(9)}, X3),
        ValueError,
        "'0.bias': got shape",
    ),
    "stack_different_keys": (
        lambda tp: {},
        lambda o: lucid_fx.stack_params([{"a": jnp.ones(1)}, {"b": jnp.ones(1)}]),
        ValueError,
        "architecture",
    ),
    "compile_number": (
        lambda tp: {},
        lambda o: lucid_fx.compile(3),
        TypeError,
        "Module or a callable",
    ),
    "compiled_raw_array": (
        lambda tp: _opt_setup(),
        lambda o: lucid_fx.compile(lambda m, x: m(x))(o["model"], X3),
        TypeError,
        "Tensor",
    ),
    # in-place
    "inplace_on_array": (
        lambda tp: {},
        lambda o: F.leaky_relu_(X3),
        TypeError,
        "Tensor",
    ),
    "inplace_on_leaf": (
        lambda tp: {"t": Tensor([1.0], requires_grad=True)},
        lambda o: F.leaky_relu_(o["t"]),
        RuntimeError,
        "leaf",
    ),
    "inplace_traced_slope": (
        lambda tp: {"t": Tensor([1.0])},
        lambda o: F.leaky_relu_(o["t"], jnp.float32(0.1)),
        TypeError,
        "negative_slope",
    ),
    "inplace_flag_str": (
        lambda tp: {},
        lambda o: nn.LeakyReLU(inplace="yes"),
        TypeError,
        "inplace",
    ),
    "reduction_name": (
        lambda tp: {},
        lambda o: F.mse_loss(Tensor([1.0]), Tensor([1.0]), reduction="avg"),
        ValueError,
        "reduction",
    ),
    "seed_negative": (
        lambda tp: {},
        lambda o: lucid_fx.random.seed(-1),
        ValueError,
        "seed",
    ),
    # checkpoints
    "load_missing_file": (
        lambda tp: _file(tp, None),
        lambda o: lucid_fx.load(o["path"]),
        FileNotFoundError,
        "no checkpoint file",
    ),
    "load_directory": (
        lambda tp: {"path": tp},
        lambda o: lucid_fx.load(o["path"]),
        IsADirectoryError,
        "directory",
    ),
    "load_empty_file": (
        lambda tp: _file(tp, b""),
        lambda o: o["model"].load_state_dict(lucid_fx.load(o["path"])),
        ValueError,
        "ckpt.safetensors",
    ),
    "load_garbage": (
        lambda tp: _file(tp, b"\x10" + b"\x00" * 7 + b"not json at all"),
        lambda o: o["model"].load_state_dict(lucid_fx.load(o["path"])),
        ValueError,
        "not a valid safetensors file",
    ),
    "save_non_array": (
        lambda tp: {"path": tp / "x.safetensors"},
        lambda o: lucid_fx.save({"w": [1.0]}, o["path"]),
        TypeError,
        "'w'",
    ),
    # hostile headers (more in tests/io/test_header.py) and save paths
    "load_infinity_offset": (
        lambda tp: _file(tp, _raw_header('{"a":' + _F32.replace("4]", "Infinity]"))),
        lambda o: o["model"].load_state_dict(lucid_fx.load(o["path"])),
        ValueError,
        "non-JSON number Infinity",
    ),
    "load_deep_nesting": (
        lambda tp: _file(tp, _raw_header("[" * 100_000 + "]" * 100_000, b"")),
        lambda o: lucid_fx.load(o["path"]),
        ValueError,
        "nests too deeply",
    ),
    "load_huge_integer": (
        lambda tp: _file(
            tp, _raw_header('{"a":' + _F32.replace("4]", "9" * 5000 + "]"))
        ),
        lambda o: lucid_fx.load(o["path"]),
        ValueError,
        "integer of 5000 digits",
    ),
    "load_too_many_dims": (
        lambda tp: _file(tp, _raw_header('{"a":' + _F32.replace("[1]", str([1] * 65)))),
        lambda o: lucid_fx.load(o["path"]),
        ValueError,
        "more than 64",
    ),
    "load_metadata_not_strings": (
        lambda tp: _file(tp, _raw_header('{"__metadata__":{"k":1},"a":' + _F32)),
        lambda o: lucid_fx.load(o["path"]),
        ValueError,
        "__metadata__ must map strings to strings",
    ),
    "load_bool_byte_two": (
        lambda tp: _file(
            tp,
            _raw_header(
                '{"a":' + _F32.replace("F32", "BOOL").replace("[1]", "[4]"),
                b"\x00\x02\x01\x00",
            ),
        ),
        lambda o: lucid_fx.load(o["path"]),
        ValueError,
        "bytes other than 0 and 1",
    ),
    "load_config_underscore": (
        lambda tp: _file(
            tp,
            _raw_header(
                '{"__metadata__":{"lucid_fx.config.1.negative_slope":"0_5"},"a":' + _F32
            ),
        ),
        lambda o: o["model"].load_state_dict(lucid_fx.load(o["path"])),
        ValueError,
        "is not a number: '0_5'",
    ),
    "save_reserved_name": (
        lambda tp: {"path": tp / "x.safetensors"},
        lambda o: lucid_fx.save({"__metadata__": X3}, o["path"]),
        ValueError,
        "'__metadata__' is reserved",
    ),
    "save_metadata_list": (
        lambda tp: _with_model(path=lambda m: tp / "x.safetensors"),
        lambda o: lucid_fx.save(o["model"], o["path"], metadata=["a", "b"]),
        TypeError,
        "metadata must be a dict",
    ),
    "save_empty_path": (
        lambda tp: _with_model(),
        lambda o: lucid_fx.save(o["model"], ""),
        ValueError,
        "path is empty",
    ),
    "save_missing_folder": (
        lambda tp: _with_model(path=lambda m: tp / "missing" / "x.safetensors"),
        lambda o: lucid_fx.save(o["model"], o["path"]),
        FileNotFoundError,
        "missing/x.safetensors",
    ),
    "save_directory_target": (
        lambda tp: _with_model(path=lambda m: tp),
        lambda o: lucid_fx.save(o["model"], o["path"]),
        IsADirectoryError,
        "is a directory",
    ),
}


def test_catalogue_is_large_enough():
    assert len(CASES) >= 40


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input(case, tmp_path):
    setup, call, error, phrase = CASES[case]
    objects = setup(tmp_path)
    before = fingerprint(objects)
    with pytest.raises(error) as info:
        call(objects)
    assert phrase in str(info.value), str(info.value)
    assert fingerprint(objects) == before

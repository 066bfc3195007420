"""Device names, placement and precision on CPU; cross-device cases run on 4
simulated CPU devices in a subprocess (multi_device_cases.py)."""

import os
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import ml_dtypes
import numpy as np
import pytest

import lucid_fx
import lucid_fx.nn as nn
from lucid_fx import Tensor
from tests import reference

HERE = pathlib.Path(__file__).resolve().parent


def test_device_names_and_aliases():
    cpu = jax.devices("cpu")[0]
    assert Tensor([1.0], device="cpu").device == cpu
    assert Tensor([1.0], device="CPU:0").device == cpu
    assert Tensor([1.0], device=cpu).device == cpu
    assert lucid_fx.default_device() in lucid_fx.devices()
    assert Tensor([1.0]).device == lucid_fx.default_device()


@pytest.mark.parametrize("spec", ["gpu:64", "cuda:64", "tpu:64", "cpu:64"])
def test_absent_devices_list_the_present_ones(spec):
    with pytest.raises(RuntimeError, match="is not present. Devices here: .*cpu:0"):
        Tensor([1.0], device=spec)


@pytest.mark.skipif(jax.default_backend() != "cpu", reason="accelerator present")
@pytest.mark.parametrize("spec", ["gpu", "cuda", "tpu"])
def test_accelerators_are_absent_on_a_cpu_machine(spec):
    with pytest.raises(RuntimeError, match="is not present. Devices here: cpu:0"):
        Tensor([1.0], device=spec)


@pytest.mark.parametrize("spec", ["npu", "gpu:x", ""])
def test_unknown_device_names(spec):
    with pytest.raises(ValueError, match="expected 'cpu', 'gpu'"):
        Tensor([1.0], device=spec)


def test_tensor_to_dtype_is_differentiable_and_cpu_is_a_copy():
    x = Tensor([1.0, -2.0], requires_grad=True)
    y = x.to(jnp.bfloat16)
    assert y.dtype == jnp.bfloat16
    (y * 3.0).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])
    assert x.grad.dtype == jnp.float32
    assert x.cpu().device.platform == "cpu"


def test_module_to_converts_floating_parameters_only_and_validates_first():
    model = nn.Sequential(nn.Linear(3, 4), nn.LeakyReLU(0.25))
    model.to(dtype=jnp.bfloat16)
    assert all(p.dtype == jnp.bfloat16 for p in model.parameters())
    model.float()
    assert all(p.dtype == jnp.float32 for p in model.parameters())
    model.half()
    assert all(p.dtype == jnp.float16 for p in model.parameters())
    before = [p.numpy().tobytes() for p in model.parameters()]
    with pytest.raises(TypeError, match="dtype must be a floating dtype"):
        model.to(dtype=jnp.int32)
    with pytest.raises(RuntimeError, match="not present"):
        model.to("cuda:7")
    assert [p.numpy().tobytes() for p in model.parameters()] == before


def test_sixteen_bit_exactness_through_the_module_api():
    x = np.arange(2**16, dtype=np.uint16).view(ml_dtypes.bfloat16)
    out = nn.LeakyReLU(0.1)(Tensor(x)).numpy()
    expected = reference.leaky_relu_torch_rounding(x, 0.1)
    x32 = x.astype(np.float32)
    with np.errstate(invalid="ignore", over="ignore"):
        product = x32 * np.float32(0.1)
    keep = ~(
        np.isnan(x32)
        | reference.is_f32_subnormal(x32)
        | reference.is_f32_subnormal(product)
        | reference.is_f32_subnormal(expected.astype(np.float32))
    )
    np.testing.assert_array_equal(
        out.view(np.uint16)[keep], expected.view(np.uint16)[keep]
    )


def test_bfloat16_module_keeps_bfloat16_end_to_end():
    # The mixed-precision training example is a doctest in docs/guides/devices.rst.
    model = nn.Sequential(
        nn.Linear(2, 8), nn.LeakyReLU(0.1), nn.Linear(8, 3)
    ).bfloat16()
    out = model(Tensor(np.ones((4, 2)), dtype=jnp.bfloat16))
    assert out.dtype == jnp.bfloat16


def test_save_writes_host_arrays_and_load_places_on_parameter_devices(tmp_path):
    model = nn.Linear(2, 2).to("cpu")
    lucid_fx.save(model, tmp_path / "m.safetensors")
    loaded = lucid_fx.load(tmp_path / "m.safetensors")
    assert all(isinstance(v, np.ndarray) for v in loaded.values())
    model.load_state_dict(loaded)
    assert model.weight.device == jax.devices("cpu")[0]


def test_multi_device_cases_on_four_simulated_cpus():
    env = dict(
        os.environ,
        XLA_FLAGS="--xla_force_host_platform_device_count=4",
        JAX_PLATFORMS="cpu",
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(HERE / "multi_device_cases.py"),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=HERE.parents[1],
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]
    assert " passed" in done.stdout and "failed" not in done.stdout

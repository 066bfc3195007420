"""Two processes x two devices on JAX's distributed runtime, over loopback.

Three runs of ``examples/multi_process.py`` start together (one module
fixture, so the slow part, process start-up and compilation, overlaps):

- ``one``: 1 process x 4 devices, the reference;
- ``two``: 2 processes x 2 devices, data parallel (``functionalize`` + ``jax.jit``
  and the compiled eager step) and FSDP, saving a sharded
  checkpoint (each process writes its own pieces);
- ``dies``: 2 processes where process 1 is SIGKILLed at step 1.

Both training runs also load a checkpoint this (single-process) test wrote,
onto their FSDP mesh (1 -> 1 and 1 -> 2 processes); this process loads the
2-process checkpoint (2 -> 1).
"""

import os
import pathlib
import subprocess
import sys
import time

import numpy as np
import pytest

import lucid_fx

pytestmark = pytest.mark.multi_process

ROOT = pathlib.Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "multi_process.py"
SHAPES = {
    "0.weight": (32, 8),
    "0.bias": (32,),
    "2.weight": (32, 32),
    "2.bias": (32,),
    "4.weight": (4, 32),
    "4.bias": (4,),
}


def _start(*args):
    env = dict(os.environ, PYTHONPATH=str(ROOT), PYTHONUNBUFFERED="1")
    env.pop("XLA_FLAGS", None)
    return subprocess.Popen(
        [sys.executable, str(EXAMPLE), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mp")
    rng = np.random.default_rng(0)
    written = {k: rng.normal(size=s).astype(np.float32) for k, s in SHAPES.items()}
    lucid_fx.save(written, tmp / "from_one", sharded=True)
    common = ["--verify-load", str(tmp / "from_one"), "--timeout", "240"]
    started = time.monotonic()
    procs = {
        "one": _start(
            "--num-processes", "1", "--devices-per-process", "4",
            "--out", str(tmp / "one"), *common,
        ),
        "two": _start(
            "--num-processes", "2", "--out", str(tmp / "two"),
            "--save", str(tmp / "ckpt_two"), *common,
        ),
        "dies": _start(
            "--num-processes", "2", "--mode", "dp", "--steps", "3",
            "--die-process", "1", "--die-at-step", "1",
            "--heartbeat", "10", "--grace", "60",
        ),
    }  # fmt: skip
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=400)
        out[name] = (proc.returncode, stdout, stderr, time.monotonic() - started)
    return tmp, written, out


def _results(tmp, name):
    return dict(np.load(tmp / name / "results.npz"))


def _ok(runs, name):
    code, stdout, stderr, _ = runs[2][name]
    assert code == 0, stderr[-3000:]
    return stdout


@pytest.mark.parametrize("mode", ["dp", "fsdp", "compiled"])
def test_two_processes_equal_one_process_over_20_steps(runs, mode):
    _ok(runs, "one"), _ok(runs, "two")
    one, two = _results(runs[0], "one"), _results(runs[0], "two")
    assert len(one[f"{mode}:losses"]) == 20
    keys = [k for k in one if k.startswith(f"{mode}:")]  # not time:*
    assert len(keys) == 1 + len(SHAPES)
    for key in keys:
        np.testing.assert_allclose(two[key], one[key], rtol=0, atol=1e-6)
    assert one[f"{mode}:losses"][-1] < one[f"{mode}:losses"][0]  # it trains


def test_compiled_eager_step_matches_the_functional_step(runs):
    results = _results(runs[0], "two")
    for key in [k for k in results if k.startswith("dp:")]:
        other = "compiled:" + key.removeprefix("dp:")
        np.testing.assert_allclose(results[other], results[key], rtol=0, atol=1e-6)


def test_fsdp_shards_parameters_across_processes(runs):
    assert "fsdp: 0.weight P('data',)" in _ok(runs, "two")
    assert "dp: 0.weight P()" in _ok(runs, "two")


def test_checkpoint_of_two_processes_loads_in_one_bit_exactly(runs):
    _ok(runs, "two")
    tmp = runs[0]
    folder = tmp / "ckpt_two"
    files = sorted(p.name for p in folder.iterdir())
    assert files[-1] == "model.safetensors.index.json"
    assert len(files) == 3
    assert files[0].endswith("-00000-of-00002.safetensors")
    assert files[1].endswith("-00001-of-00002.safetensors")
    # each process wrote only its own pieces: no file holds a whole weight
    for name in files[:-1]:
        pieces = lucid_fx.load(folder / name)
        assert "0.weight" not in pieces and len(pieces) == 2 * len(SHAPES)
    loaded = lucid_fx.load(folder)
    final = _results(tmp, "two")
    assert sorted(loaded) == sorted(SHAPES)
    for key, array in loaded.items():
        assert array.tobytes() == final[f"fsdp:{key}"].tobytes()


@pytest.mark.parametrize("run", ["one", "two"])
def test_checkpoint_of_one_process_loads_onto_any_mesh_bit_exactly(runs, run):
    _ok(runs, run)
    tmp, written = runs[0], runs[1]
    results = _results(tmp, run)
    for key, array in written.items():
        assert results[f"loaded:{key}"].tobytes() == array.tobytes()


def test_a_killed_worker_fails_the_run_fast_naming_it(runs):
    code, _, stderr, seconds = runs[2]["dies"]
    assert code != 0
    assert "process 1 failed (killed by SIGKILL)" in stderr
    # the survivor stops by itself (JAX's heartbeat), naming the lost task
    assert "tasks are unhealthy (stopped sending heartbeats)" in stderr
    assert "killing process" not in stderr
    assert "launcher: the run failed: process 1 was lost" in stderr
    assert seconds < 300

"""Multi-device runs on 4 simulated CPU devices, each in a fresh subprocess
(XLA_FLAGS must be set before JAX initialises)."""

import os
import pathlib
import re
import subprocess
import sys
import textwrap

ROOT = pathlib.Path(__file__).resolve().parents[2]
ENV = dict(
    os.environ,
    XLA_FLAGS="--xla_force_host_platform_device_count=4",
    JAX_PLATFORMS="cpu",
)


def _run(*args):
    done = subprocess.run(
        [sys.executable, "-W", "error", *args],
        capture_output=True,
        text=True,
        env=ENV,
        cwd=ROOT,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def test_data_parallel_example_matches_single_device():
    out = _run("examples/data_parallel.py", "--steps", "10")
    assert "devices: 4 (cpu)" in out
    diffs = [float(v) for v in re.findall(r"= ([0-9.e+-]+)$", out, re.MULTILINE)]
    assert len(diffs) == 2
    assert all(d <= 1e-5 for d in diffs), out
    assert "spec=P()" in out  # parameters stay replicated through compile


def test_leaky_relu_under_shard_map():
    code = textwrap.dedent("""
        import jax, jax.numpy as jnp, numpy as np
        from jax.sharding import Mesh, PartitionSpec as P
        from lucid_fx.functional import leaky_relu
        mesh = Mesh(np.array(jax.devices()), ("d",))
        x = jnp.linspace(-4.0, 4.0, 32)
        f = jax.shard_map(lambda v: leaky_relu(v, 0.25), mesh=mesh,
                          in_specs=P("d"), out_specs=P("d"))
        g = jax.grad(lambda v: f(v).sum())(x)
        xn = np.asarray(x, np.float64)
        np.testing.assert_array_equal(f(x), np.where(xn > 0, xn, 0.25 * xn))
        np.testing.assert_array_equal(g, np.where(xn > 0, 1.0, 0.25))
        print(len(jax.devices()), "ok")
    """)
    assert _run("-c", code).strip() == "4 ok"

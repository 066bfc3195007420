"""Run the device-dependent checks and benchmarks on whatever accelerator is here.

Prints a short report: the devices, the device-dependent tests' verdict,
leaky_relu forward and forward+backward throughput as a fraction of the
measured memory bandwidth (a same-size device copy), the compiled training
step ratios from examples/benchmark.py, and where a step's time goes: the time
to issue it (Python returns; the device may still run) against the time until
the device is done, and whether it transfers anything implicitly. Use it when
a GPU or TPU machine is available; on CPU it runs too and says so.

    python examples/device_check.py [--quick] [--log DIR]

With ``--log DIR`` the device-dependent tests' whole output is written to
``DIR/device_tests.txt``.
"""

from __future__ import annotations

import argparse
import pathlib
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np

import lucid_fx
from lucid_fx import Tensor, optim
from lucid_fx.functional import leaky_relu

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "examples"))
import benchmark  # noqa: E402


def device_tests(log: pathlib.Path | None) -> str:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/devices",
            "tests/functional/test_exhaustive_16bit.py",
            "tests/functional/test_memory.py",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if log is not None:
        log.mkdir(parents=True, exist_ok=True)
        (log / "device_tests.txt").write_text(done.stdout + done.stderr)
    lines = [ln for ln in done.stdout.strip().splitlines() if ln.strip()]
    return lines[-1] if lines else done.stderr.strip()[-500:]


def throughput(size: int, repeats: int) -> dict[str, float]:
    """Bytes moved per second, as a fraction of a device copy's."""
    x = jnp.linspace(-1.0, 1.0, size, dtype=jnp.float32)
    g = jnp.ones_like(x)
    copy = jax.jit(lambda v: v * 2.0)  # the cheapest real read-and-write
    fwd = jax.jit(lambda v: leaky_relu(v, 0.01))
    fwd_bwd = jax.jit(lambda v, c: jax.vjp(lambda u: leaky_relu(u, 0.01), v)[1](c)[0])
    times = benchmark.medians(
        benchmark.measure(
            {
                "copy": lambda: copy(x),
                "fwd": lambda: fwd(x),
                "fwd+bwd": lambda: fwd_bwd(x, g),
            },
            repeats,
        )
    )
    nbytes = 4 * size
    bandwidth = 2 * nbytes / times["copy"]  # read + write
    return {
        "copy GB/s": bandwidth / 1e9,
        "fwd fraction of bandwidth": (2 * nbytes / times["fwd"]) / bandwidth,
        # forward: read x, write y; backward: read y (residual) and g, write dx
        "fwd+bwd fraction of bandwidth": (3 * nbytes / times["fwd+bwd"]) / bandwidth,
    }


def issue_times(size: tuple[int, int, int], repeats: int) -> dict[str, tuple]:
    """Per step, in microseconds: ``(issue, total)`` for the hand-written
    ``jax.jit`` step (dropping and keeping its gradients) and our compiled
    step. A step that never waits for the device issues faster than the
    device runs it at large sizes; at small ones the host sets the pace."""
    batch, inp, hidden = size
    rng = np.random.default_rng(0)
    x = Tensor(rng.normal(size=(batch, inp)).astype(np.float32))
    y = Tensor(rng.integers(0, 10, batch).astype(np.int32))
    lucid_fx.random.seed(0)
    model = benchmark._mlp(inp, hidden)
    opt = optim.SGD(model.parameters(), lr=0.01)
    params = list(model.parameters())
    step = lucid_fx.compile(benchmark._eager_step)
    hand, hand_grads = benchmark.hand_written_steps(inp, hidden, x, y)
    fns = {
        "hand-written": hand,
        "hand-written keeping grads": hand_grads,
        "step-compiled": lambda: (step(model, opt, x, y), params),
    }
    n = max(5, min(300, int(2e10 / (batch * inp * hidden + hidden * hidden * 64))))
    samples: dict[str, list] = {k: [] for k in fns}
    for f in fns.values():
        for _ in range(3):
            benchmark._block(f())
    for _ in range(repeats):
        for k, f in fns.items():
            start = time.perf_counter()
            for _ in range(n):
                out = f()
            issued = time.perf_counter()
            benchmark._block(out)
            done = time.perf_counter()
            samples[k].append(((issued - start) / n, (done - start) / n))
    with jax.transfer_guard("disallow"):  # any implicit transfer raises
        benchmark._block(fns["step-compiled"]())
    return {
        k: tuple(1e6 * float(np.median([s[i] for s in v])) for i in (0, 1))
        for k, v in samples.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--log", type=pathlib.Path, default=None)
    args = parser.parse_args()
    backend = jax.default_backend()
    print(f"backend: {backend}; devices: {jax.devices()}")
    print(f"environment: {benchmark.environment()}")
    if backend == "cpu":
        print("no accelerator present: GPU/TPU are NOT exercised by this run")
    print(f"device-dependent tests: {device_tests(args.log)}")
    size = 2**20 if args.quick else 2**26
    for key, value in throughput(size, 3 if args.quick else 7).items():
        print(f"leaky_relu on {size:,} float32: {key} = {value:.3f}")
    sizes = (
        [(32, 64, 64)]
        if args.quick
        else [(32, 64, 64), (128, 784, 256), (512, 1024, 1024)]
    )
    for row in benchmark.bench_training(sizes, 3 if args.quick else 21):
        cells = ", ".join(f"{k} {v:.2f}x" for k, v in row["vs_jax"].items())
        ms = row["ms"]["jax.jit hand-written"]
        print(
            f"train step {tuple(row['size'])} vs hand-written jax.jit ({ms:.3f} ms;"
            f" torch on {row['torch_device']}): {cells}"
        )
    large = [] if args.quick or backend == "cpu" else [(4096, 4096, 4096)]
    for size in [*sizes, *large]:
        times = issue_times(size, 3 if args.quick else 5)
        cells = ", ".join(f"{k} {a:.0f}/{b:.0f}" for k, (a, b) in times.items())
        print(f"issue/total us per step {size} (no implicit transfer): {cells}")


if __name__ == "__main__":
    main()

"""lucid_fx against what a user would pick instead, side by side in one process.

Each figure is a ratio to a reference measured in the same run: interleaved
rounds, the median of the per-round ratios; memory comes from XLA's deterministic
``memory_analysis()``. PyTorch columns need the ``bench`` extra and say so when
it is missing.

    python examples/benchmark.py            # full run (< 10 min on 2 cores)
    python examples/benchmark.py --quick    # everything small (< 1 min)
    python examples/benchmark.py --only eager training
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import statistics
import sys
import time
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

import lucid_fx
import lucid_fx.nn as nn
import lucid_fx.nn.functional as F
from lucid_fx import Tensor, optim
from lucid_fx._tensor import _fused
from lucid_fx.functional import leaky_relu
from lucid_fx.layers import LeakyReLU
from lucid_fx.random import _runs

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
import dying_relu  # noqa: E402  (the main job's model, reused for the sweep)

try:
    import torch
except ImportError:  # the bench extra is optional
    torch = None

SLOPE = 0.01
NOT_INSTALLED = "torch not installed (pip install '.[bench]')"


# ------------------------------------------------------------------ timing
def _torch_device() -> str:
    """PyTorch runs where JAX runs: on the GPU when both see one, else the CPU."""
    gpu = torch is not None and torch.cuda.is_available()
    return "cuda" if gpu and jax.default_backend() == "gpu" else "cpu"


def _block(value):
    """Wait for every array in ``value`` (Tensors included) to be computed; a
    PyTorch CUDA tensor waits for its device, as PyTorch's timers do."""
    if torch is not None and isinstance(value, torch.Tensor):
        if value.is_cuda:
            torch.cuda.synchronize(value.device)
        return value
    arrays = jax.tree.map(
        lambda v: v.data if isinstance(v, Tensor) else v,
        value,
        is_leaf=lambda v: isinstance(v, Tensor),
    )
    return jax.block_until_ready(arrays)


def measure(
    fns: dict[str, Callable], repeats: int, seconds: float = 0.2
) -> dict[str, list[float]]:
    """Seconds per call of each function, one sample per round, interleaved.

    Each function is called enough times per sample to take about ``seconds``
    (estimated after warming up), and blocked on once per sample. Every round
    runs all functions back to back, so a ratio within a round compares them
    under the same machine load (see ``ratios``).
    """
    numbers = {}
    for name, fn in fns.items():
        for _ in range(3):  # warm up: compile (a step traces twice), allocate
            _block(fn())
        # Measure the steady state: an eager graph's third sight compiles its
        # fused backward in the background, a random spec's second draw its
        # run program; wait for them rather than time them.
        _fused.wait(600)
        _runs.wait(600)
        start = time.perf_counter()
        for _ in range(3):
            out = fn()
        _block(out)
        per_call = max((time.perf_counter() - start) / 3, 1e-7)
        numbers[name] = max(1, int(seconds / per_call))
    samples: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for r in range(repeats):
        # Rotate the order so no function always runs right after another.
        for name in names[r % len(names) :] + names[: r % len(names)]:
            fn = fns[name]
            start = time.perf_counter()
            for _ in range(numbers[name]):
                out = fn()
            _block(out)
            samples[name].append((time.perf_counter() - start) / numbers[name])
    return samples


def medians(samples: dict[str, list[float]]) -> dict[str, float]:
    return {name: statistics.median(s) for name, s in samples.items()}


def ratios(samples: dict[str, list[float]], reference: str) -> dict[str, float]:
    """Median over rounds of each function's time over the reference's in the
    same round: paired, so load that drifts between rounds cancels."""
    ref = samples[reference]
    return {
        name: statistics.median(a / b for a, b in zip(s, ref, strict=True))
        for name, s in samples.items()
    }


# ------------------------------------------------- 1. elementwise throughput
def bench_elementwise(size: int, repeats: int) -> dict:
    rng = np.random.default_rng(0)
    host = rng.normal(size=size).astype(np.float32)
    dst = np.empty_like(host)
    x = jnp.asarray(host)
    g = jnp.asarray(rng.normal(size=size).astype(np.float32))

    ours = jax.jit(lambda v: leaky_relu(v, SLOPE))
    theirs = jax.jit(lambda v: jax.nn.leaky_relu(v, SLOPE))
    ours_vjp = jax.jit(lambda v, c: jax.vjp(ours, v)[1](c)[0])
    theirs_vjp = jax.jit(lambda v, c: jax.vjp(theirs, v)[1](c)[0])

    def lucid_numpy():  # lucid 0.13: mask arithmetic in numpy
        mask = host > 0
        return host * mask + host * SLOPE * (1 - mask)

    def lucid_numpy_bwd():
        mask = host > 0
        out = host * mask + host * SLOPE * (1 - mask)
        return out, (mask + SLOPE * (1 - mask)) * np.asarray(g)

    state = {"t": Tensor(host.copy())}

    def inplace():  # F.leaky_relu_: donated buffer, rebinding the same Tensor
        return F.leaky_relu_(state["t"], SLOPE)

    t_eager = Tensor(host)
    fwd = {
        "bandwidth bound (numpy copy)": lambda: np.copyto(dst, host),
        "lucid_fx jit": lambda: ours(x),
        "lucid_fx eager in-place": inplace,
        "lucid_fx eager": lambda: F.leaky_relu(t_eager, SLOPE),
        "jax.nn.leaky_relu jit": lambda: theirs(x),
        "lucid 0.13 numpy": lucid_numpy,
    }
    bwd = {
        "bandwidth bound (numpy copy)": lambda: np.copyto(dst, host),
        "lucid_fx jit": lambda: ours_vjp(x, g),
        "jax.nn.leaky_relu jit": lambda: theirs_vjp(x, g),
        "lucid 0.13 numpy": lucid_numpy_bwd,
    }
    if torch is not None:
        tx = torch.from_numpy(host.copy())
        tg = torch.from_numpy(np.asarray(g).copy())
        fwd["torch leaky_relu"] = lambda: torch.nn.functional.leaky_relu(tx, SLOPE)

        def torch_bwd():
            v = tx.detach().requires_grad_()
            torch.nn.functional.leaky_relu(v, SLOPE).backward(tg)
            return v.grad

        bwd["torch leaky_relu"] = torch_bwd
    fwd_t = measure(fwd, repeats)
    bwd_t = measure(bwd, repeats)
    return dict(
        elements=size,
        forward_ms={k: v * 1e3 for k, v in medians(fwd_t).items()},
        forward_vs_bandwidth=ratios(fwd_t, "bandwidth bound (numpy copy)"),
        forward_backward_ms={k: v * 1e3 for k, v in medians(bwd_t).items()},
        forward_backward_vs_bandwidth=ratios(bwd_t, "bandwidth bound (numpy copy)"),
        torch=None if torch is not None else NOT_INSTALLED,
    )


# ------------------------------------------------------- 2. compiled memory
def temp_bytes(act: Callable, dtype, depth=8, width=1024, batch=512) -> int:
    # lucid_fx.matmul: full float32 products, as every lucid_fx layer computes
    # them (a GPU's default TensorFloat-32 product lays out memory otherwise).
    def loss(ws, x, t):
        h = x
        for w in ws:
            h = act(lucid_fx.matmul(h, w))
        return jnp.mean((h - t).astype(jnp.float32) ** 2)

    ws = [jax.ShapeDtypeStruct((width, width), dtype)] * depth
    x = jax.ShapeDtypeStruct((batch, width), dtype)
    compiled = jax.jit(jax.value_and_grad(loss)).lower(ws, x, x).compile()
    return int(compiled.memory_analysis().temp_size_in_bytes)


def bench_memory() -> dict:
    out = {}
    for name, dtype in (("float32", jnp.float32), ("bfloat16", jnp.bfloat16)):
        none = temp_bytes(lambda h: h, dtype)
        ours = temp_bytes(lambda h: leaky_relu(h, SLOPE), dtype)
        theirs = temp_bytes(lambda h: jax.nn.leaky_relu(h, SLOPE), dtype)
        out[name] = dict(
            no_activation_bytes=none,
            lucid_fx_bytes=ours,
            jax_nn_bytes=theirs,
            lucid_fx_vs_none=ours / none,
            jax_nn_vs_none=theirs / none,
        )
    return out


# -------------------------------------------------------- 3. eager overhead
def bench_eager(repeats: int) -> dict:
    t = Tensor([-1.0, 2.0, -0.5, 3.0], requires_grad=True)
    fns = {"lucid_fx": lambda: F.leaky_relu(t).sum().backward() or t.grad}
    for _ in range(3):  # third sight: fused backward compiled in the background
        fns["lucid_fx"]()
    _fused.wait(600)
    if torch is not None:
        tt = torch.tensor([-1.0, 2.0, -0.5, 3.0], requires_grad=True)
        fns["torch"] = lambda: torch.nn.functional.leaky_relu(tt).sum().backward()
    times = measure(fns, repeats)
    result = dict(microseconds={k: v * 1e6 for k, v in medians(times).items()})
    if torch is not None:
        result["lucid_fx_vs_torch"] = ratios(times, "torch")["lucid_fx"]
    else:
        result["torch"] = NOT_INSTALLED
    return result


# ------------------------------------------- 3b. eager graphs of many ops
def _chain(h, length, wiring):
    # `length` ops of h * 1.0001; where bit k of `wiring` is set, op k is a
    # diamond (h + h * 1.0001) instead, so each `wiring` is a distinct graph.
    for k in range(length):
        h = h + h * 1.0001 if (wiring >> k) & 1 else h * 1.0001
    return h.sum()


# Recording an op defers it (lucid_fx._tensor._pending): this row is the cost
# of recording; computing the value is paid in the fwd+bwd rows below.
ONE_OP = "one op, x * 1.0001 (recorded and deferred; computed later)"


def bench_eager_graphs(repeats: int) -> dict:
    """Per-op dispatch, a graph that is new every iteration, and a long chain.

    ``floor`` is one jitted JAX call (x * c with c on the device): no eager
    layer can dispatch an op for less. A new wiring every iteration (chains of
    30..49 ops, a never-seen pattern of diamonds each time) never recurs, so it
    runs through the interpreter of its op set (``_interp``: one program per
    op set and size bucket, compiled in the background at its third sight,
    whatever the wiring); measured once those are compiled. The 300-op chain
    recurs, so after its third sight its backward is one fused program.
    """
    x = Tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
    xa = x.data
    c = jnp.asarray(1.0001)
    mul = jax.jit(lambda a, b: a * b)
    counter = iter(range(1, 10**9))

    def new_wiring(module):
        i = next(counter)
        h = x if module is None else module
        return _chain(h, 30 + i % 20, i // 20 + (1 << 30))

    rows = {
        "floor: one jitted JAX call": {"lucid_fx": lambda: mul(xa, c)},
        ONE_OP: {"lucid_fx": lambda: x * 1.0001},
        "new wiring every iteration (30..49 ops) fwd+bwd": {
            "lucid_fx": lambda: new_wiring(None).backward() or x.grad
        },
        "300-op chain fwd+bwd": {
            "lucid_fx": lambda: _chain(x, 300, 0).backward() or x.grad
        },
    }
    if torch is not None:
        tt = torch.tensor([1.0, 2.0, 3.0, 4.0], requires_grad=True)
        rows["floor: one jitted JAX call"]["torch"] = lambda: tt.detach() * 1.0001
        rows[ONE_OP]["torch"] = lambda: tt * 1.0001
        rows["new wiring every iteration (30..49 ops) fwd+bwd"]["torch"] = lambda: (
            new_wiring(tt).backward()
        )
        rows["300-op chain fwd+bwd"]["torch"] = lambda: _chain(tt, 300, 0).backward()
    for _ in range(3):  # the chain recurs: its 3rd sight compiles the fused
        _chain(x, 300, 0).backward()  # backward in the background; measure
    for _ in range(3):  # the op set's interpreters, for each size bucket
        for _ in range(20):
            new_wiring(None).backward()
        _fused.wait(600)  # the steady state they reach
    result: dict = {}
    for row, fns in rows.items():
        times = measure(fns, repeats, seconds=0.1)
        entry = dict(microseconds={k: v * 1e6 for k, v in medians(times).items()})
        if torch is not None:
            entry["lucid_fx_vs_torch"] = ratios(times, "torch")["lucid_fx"]
        result[row] = entry
    if torch is None:
        result["torch"] = NOT_INSTALLED
    return result


def _print_eager_graphs(results: dict) -> None:
    print("\n3b. eager graphs, 4-element float32 tensors (torch: its own eager)")
    for row, entry in results["eager_graphs"].items():
        if row == "torch":
            print(f"   {entry}")
            continue
        us = ", ".join(f"{k} {v:.1f} us" for k, v in entry["microseconds"].items())
        ratio = entry.get("lucid_fx_vs_torch")
        print(f"   {row}: {us}" + (f"  -> {ratio:.2f}x torch" if ratio else ""))


# ------------------------------------------------------ 4. training steps
def _mlp(inp: int, hidden: int) -> nn.Module:
    return nn.Sequential(
        nn.Linear(inp, hidden),
        nn.LeakyReLU(SLOPE),
        nn.Linear(hidden, hidden),
        nn.LeakyReLU(SLOPE),
        nn.Linear(hidden, 10),
    )


def _eager_step(model, opt, x, y):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def _zero_grad_last_step(model, opt, x, y):
    # The same step with zero_grad moved to the end: no .grad outlives it, so
    # a compiled step never writes gradients out of the program.
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    opt.zero_grad()
    return loss


def hand_written_steps(inp: int, hidden: int, x: Tensor, y: Tensor) -> tuple:
    """Two SGD steps on ``_mlp(inp, hidden)`` written by hand with ``jax.jit``
    over ``functionalize``: what a careful user writes (donate the parameters,
    drop the gradients), and the same keeping the gradients, as ``.grad``
    does in PyTorch and lucid_fx. Each returns its loss and parameters."""
    apply, params = lucid_fx.functionalize(_mlp(inp, hidden))

    def sgd(p, xb, yb):
        loss, g = jax.value_and_grad(lambda q: F.cross_entropy(apply(q, xb), yb))(p)
        return jax.tree.map(lambda a, b: a - 0.01 * b, p, g), g, loss

    drop = jax.jit(lambda p, xb, yb: sgd(p, xb, yb)[::2], donate_argnums=0)
    keep = jax.jit(sgd, donate_argnums=0)
    held = {
        "drop": jax.tree.map(jnp.copy, params),
        "keep": jax.tree.map(jnp.copy, params),
    }

    def hand_written():
        held["drop"], loss = drop(held["drop"], x.data, y.data)
        return loss, held["drop"]

    def hand_written_grads():
        held["keep"], held["grads"], loss = keep(held["keep"], x.data, y.data)
        return loss, held["keep"]

    return hand_written, hand_written_grads


def bench_training(sizes, repeats: int) -> list[dict]:
    rows = []
    for batch, inp, hidden in sizes:
        lucid_fx.random.seed(0)
        rng = np.random.default_rng(0)
        xh = rng.normal(size=(batch, inp)).astype(np.float32)
        yh = rng.integers(0, 10, batch).astype(np.int32)
        x, y = Tensor(xh), Tensor(yh)
        models = {k: _mlp(inp, hidden) for k in ("eager", "module", "step", "last")}
        opts = {k: optim.SGD(m.parameters(), lr=0.01) for k, m in models.items()}
        compiled_model = lucid_fx.compile(models["module"])
        step = lucid_fx.compile(_eager_step)
        step_last = lucid_fx.compile(_zero_grad_last_step)

        # Each step returns its loss and the updated parameters: JAX dispatches
        # asynchronously, and blocking on the loss alone would not wait for
        # the backward and the update that come after it. The Parameters, not
        # their arrays: holding last step's arrays would (rightly) stop the
        # next step from donating them, which no training loop does. Listed
        # once (a step rebinds their arrays): model.parameters() costs ~11 us,
        # which the hand-written steps do not pay either.
        parameters = {k: list(m.parameters()) for k, m in models.items()}

        def updated(name, loss):
            return loss, parameters[name]

        def module_compiled():
            opt = opts["module"]
            opt.zero_grad()
            loss = F.cross_entropy(compiled_model(x), y)
            loss.backward()
            opt.step()
            return updated("module", loss)

        hand_written, hand_written_grads = hand_written_steps(inp, hidden, x, y)
        fns = {
            "jax.jit hand-written": hand_written,
            "jax.jit hand-written keeping grads": hand_written_grads,
            "lucid_fx step-compiled": lambda: updated(
                "step", step(models["step"], opts["step"], x, y)
            ),
            "lucid_fx step-compiled, zero_grad last": lambda: updated(
                "last", step_last(models["last"], opts["last"], x, y)
            ),
            "lucid_fx module-compiled": module_compiled,
            "lucid_fx eager": lambda: updated(
                "eager", _eager_step(models["eager"], opts["eager"], x, y)
            ),
        }
        if torch is not None:
            torch.manual_seed(0)
            tdev = _torch_device()
            tm = torch.nn.Sequential(
                torch.nn.Linear(inp, hidden),
                torch.nn.LeakyReLU(SLOPE),
                torch.nn.Linear(hidden, hidden),
                torch.nn.LeakyReLU(SLOPE),
                torch.nn.Linear(hidden, 10),
            ).to(tdev)
            topt = torch.optim.SGD(tm.parameters(), lr=0.01)
            tx = torch.from_numpy(xh).to(tdev)
            ty = torch.from_numpy(yh.astype(np.int64)).to(tdev)

            def torch_step():
                topt.zero_grad()
                loss = torch.nn.functional.cross_entropy(tm(tx), ty)
                loss.backward()
                topt.step()
                return loss

            fns["torch eager"] = torch_step
        times = measure(fns, repeats, seconds=0.1)
        rows.append(
            dict(
                size=[batch, inp, hidden],
                ms={k: v * 1e3 for k, v in medians(times).items()},
                vs_jax=ratios(times, "jax.jit hand-written"),
                torch=None if torch is not None else NOT_INSTALLED,
                torch_device=_torch_device() if torch is not None else None,
            )
        )
    return rows


# ---------------------------------------------------------- 5. slope sweep
def bench_sweep(repeats: int, k_seeds: int = 8) -> dict:
    slopes = [0.0, 0.01, 0.05, 0.1, 0.2, 0.3]
    rng = np.random.default_rng(0)
    x, y = (jnp.asarray(a) for a in dying_relu.spiral(300, rng))
    batch = jnp.asarray(rng.integers(0, len(x), dying_relu.BATCH))
    inits = [dying_relu.init_params(s) for s in range(k_seeds)]
    per_model = [
        (inits[s], LeakyReLU(jnp.float32(a))) for a in slopes for s in range(k_seeds)
    ]
    stacked = lucid_fx.stack_params([p for p, _ in per_model])
    acts = LeakyReLU(jnp.asarray([float(a.negative_slope) for _, a in per_model]))
    one = jax.jit(dying_relu.sgd_step)
    many = jax.jit(jax.vmap(dying_relu.sgd_step, in_axes=(0, 0, None, None)))
    xb, yb = x[batch], y[batch]
    times = measure(
        {
            "python loop over models": lambda: [
                one(p, a, xb, yb) for p, a in per_model
            ],
            "one vmapped jitted step": lambda: many(stacked, acts, xb, yb),
        },
        repeats,
    )
    return dict(
        models=len(per_model),
        ms_per_step_of_all_models={k: v * 1e3 for k, v in medians(times).items()},
        speedup=ratios(times, "one vmapped jitted step")["python loop over models"],
    )


# ------------------------------------------------------------------ output
def environment() -> dict:
    return dict(
        python=platform.python_version(),
        jax=jax.__version__,
        lucid_fx=lucid_fx.__version__,
        numpy=np.__version__,
        torch=torch.__version__ if torch is not None else None,
        devices=[str(d) for d in jax.devices()],
        machine=platform.machine(),
        processor=platform.processor() or platform.machine(),
    )


# ----------------------------------------------- 6. nn families and DCGAN step
def bench_nn(quick: bool, repeats: int) -> dict:
    """Eager overhead per nn family vs PyTorch (tiny inputs, forward+backward),
    and the DCGAN discriminator's training step: lucid_fx.compile vs a
    hand-written jax.jit step (same math, optax Adam) vs PyTorch eager."""
    import dcgan
    import optax

    rng = np.random.default_rng(0)
    img = rng.normal(size=(2, 2, 6, 6)).astype(np.float32)
    families = {
        "activation (elu)": (
            lambda x: F.elu(x, 0.5),
            lambda x: torch.nn.functional.elu(x, 0.5),
            [img],
        ),
        "loss (cross_entropy)": (
            lambda x: F.cross_entropy(x, labels),
            lambda x: torch.nn.functional.cross_entropy(x, tlabels),
            [img.reshape(4, 36)],
        ),
        "conv (conv2d)": (
            lambda x, w: F.conv2d(x, w, padding=1),
            lambda x, w: torch.nn.functional.conv2d(x, w, padding=1),
            [img, rng.normal(size=(3, 2, 3, 3)).astype(np.float32)],
        ),
        "pool (max_pool2d)": (
            lambda x: F.max_pool2d(x, 2, 2),
            lambda x: torch.nn.functional.max_pool2d(x, 2, 2),
            [img],
        ),
        "dropout": (
            lambda x: F.dropout(x, 0.5),
            lambda x: torch.nn.functional.dropout(x, 0.5),
            [img],
        ),
        "norm (layer_norm)": (
            lambda x: F.layer_norm(x, (6, 6)),
            lambda x: torch.nn.functional.layer_norm(x, (6, 6)),
            [img],
        ),
        "linear (bilinear)": (
            lambda a, b, w: F.bilinear(a, b, w),
            lambda a, b, w: torch.nn.functional.bilinear(a, b, w),
            [img.reshape(4, 36), img.reshape(4, 36), img[:1, :1].reshape(1, 6, 6)],
        ),
    }
    labels = Tensor(np.array([0, 3, 17, 5]))
    tlabels = torch.tensor([0, 3, 17, 5]) if torch is not None else None
    result: dict = {"eager_vs_torch": {}, "eager_us": {}}
    if torch is not None:
        # Tiny ops: one thread (torch's pool thrashes on a shared machine).
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        result["torch_threads"] = 1
    for name, (ours, theirs, arrays) in families.items():
        if name == "linear (bilinear)":
            arrays = [arrays[0][:, :6], arrays[1][:, :6], arrays[2]]
        o_in = [Tensor(a, requires_grad=True) for a in arrays]

        def run_ours(o_in=o_in, ours=ours):
            ours(*o_in).sum().backward()
            return o_in[0].grad

        fns = {"lucid_fx": run_ours}
        if torch is not None:
            t_in = [torch.tensor(a, requires_grad=True) for a in arrays]
            fns["torch"] = lambda t_in=t_in, theirs=theirs: (
                theirs(*t_in).sum().backward()
            )
        times = measure(fns, repeats, seconds=0.05 if quick else 0.2)
        result["eager_us"][name] = medians(times)["lucid_fx"] * 1e6
        if torch is not None:
            result["eager_vs_torch"][name] = ratios(times, "torch")["lucid_fx"]
    if torch is not None:
        torch.set_num_threads(threads)
    result["dcgan"] = _bench_dcgan_step(dcgan, optax, quick, repeats)
    return result


def _bench_dcgan_step(dcgan, optax, quick: bool, repeats: int) -> dict:
    batch, width = (16, 16) if quick else (64, 64)
    ((x_np, y_np),) = dcgan.batches(1, batch)
    lucid_fx.random.seed(0)
    model = dcgan.discriminator(width)
    params = {k: jnp.copy(p.data) for k, p in model.named_parameters()}
    tx = optax.adam(2e-4, b1=0.5, b2=0.999)
    opt_state = tx.init(params)

    def forward(p, x):  # the discriminator written by hand in jax.numpy
        dims = ("NCHW", "OIHW", "NCHW")

        def conv(x, w, b):
            out = jax.lax.conv_general_dilated(
                x, w, (2, 2), ((1, 1), (1, 1)), dimension_numbers=dims
            )
            return out + b[None, :, None, None]

        lrelu = lambda v: jnp.where(v > 0, v, 0.2 * v)  # noqa: E731
        h = lrelu(conv(x, p["0.weight"], p["0.bias"]))
        h = conv(h, p["2.weight"], p["2.bias"])
        mean = h.mean((0, 2, 3), keepdims=True)
        var = ((h - mean) ** 2).mean((0, 2, 3), keepdims=True)
        h = (h - mean) / jnp.sqrt(var + 1e-5)
        h = h * p["3.weight"][None, :, None, None] + p["3.bias"][None, :, None, None]
        h = lrelu(h).reshape(h.shape[0], -1)
        return jax.nn.sigmoid(h @ p["6.weight"].T + p["6.bias"])

    def loss_fn(p, x, y):
        out = jnp.clip(forward(p, x), 1e-7, 1 - 1e-7)
        return -(y * jnp.log(out) + (1 - y) * jnp.log1p(-out)).mean()

    @jax.jit
    @jax.default_matmul_precision("highest")  # lucid_fx's products (on a GPU)
    def jax_step(p, s, x, y):
        loss, g = jax.value_and_grad(loss_fn)(p, x, y)
        with jax.numpy_dtype_promotion("standard"):
            updates, s = tx.update(g, s, p)
        return optax.apply_updates(p, updates), s, loss

    state = {"p": params, "s": opt_state}
    xj, yj = jnp.asarray(x_np), jnp.asarray(y_np)

    def run_jax():
        state["p"], state["s"], loss = jax_step(state["p"], state["s"], xj, yj)
        return loss

    opt = optim.Adam(model.parameters(), lr=2e-4, betas=(0.5, 0.999))
    step = lucid_fx.compile(dcgan.train_step)
    xt, yt = Tensor(x_np), Tensor(y_np)
    fns = {"jax.jit hand-written": run_jax}
    result: dict = {"batch": batch, "width": width}
    try:  # the step carries BatchNorm's buffers: needs the transforms' support
        for _ in range(2):
            step(model, opt, xt, yt)
        fns["lucid_fx.compile"] = lambda: step(model, opt, xt, yt)
    except Exception as err:  # noqa: BLE001  (reported, not hidden)
        result["lucid_fx.compile"] = f"unavailable: {type(err).__name__}"
    if torch is not None:
        torch.manual_seed(0)
        tmodel = torch.nn.Sequential(
            torch.nn.Conv2d(1, width, 4, 2, 1),
            torch.nn.LeakyReLU(0.2),
            torch.nn.Conv2d(width, 2 * width, 4, 2, 1),
            torch.nn.BatchNorm2d(2 * width),
            torch.nn.LeakyReLU(0.2),
            torch.nn.Flatten(),
            torch.nn.Linear(2 * width * 49, 1),
            torch.nn.Sigmoid(),
        )
        topt = torch.optim.Adam(tmodel.parameters(), lr=2e-4, betas=(0.5, 0.999))
        tx_, ty_ = torch.tensor(x_np), torch.tensor(y_np)

        def run_torch():
            topt.zero_grad()
            loss = torch.nn.functional.binary_cross_entropy(tmodel(tx_), ty_)
            loss.backward()
            topt.step()

        fns["torch eager"] = run_torch
    times = measure(fns, repeats, seconds=0.1 if quick else 0.5)
    result["ms"] = {k: v * 1e3 for k, v in medians(times).items()}
    result["vs_jax"] = ratios(times, "jax.jit hand-written")
    return result


def print_nn(r: dict) -> None:
    print("\n6. nn families, eager forward+backward on tiny inputs, ratio to torch")
    for name, us in r["eager_us"].items():
        ratio = r["eager_vs_torch"].get(name)
        print(f"   {name:22s} {us:8.1f} us" + (f"  {ratio:5.2f}x" if ratio else ""))
    d = r["dcgan"]
    print(f"   DCGAN discriminator step (batch {d['batch']}, width {d['width']}):")
    for name, ms in d["ms"].items():
        print(f"     {name:22s} {ms:8.2f} ms  {d['vs_jax'][name]:5.2f}x jax.jit")
    if isinstance(d.get("lucid_fx.compile"), str):
        print(f"     lucid_fx.compile: {d['lucid_fx.compile']}")


def print_report(results: dict) -> None:
    print(f"\nlucid_fx benchmark ({'quick' if results['quick'] else 'full'} run)")
    for k, v in results["environment"].items():
        print(f"  {k}: {v}")
    if "elementwise" in results:
        e = results["elementwise"]
        print(f"\n1. leaky_relu on {e['elements']:,} float32, time / bandwidth bound")
        for name, r in e["forward_vs_bandwidth"].items():
            fb = e["forward_backward_vs_bandwidth"].get(name)
            fb_text = f"{fb:6.2f}x" if fb is not None else "   n/a"
            print(
                f"   {name:30s} fwd {r:6.2f}x   fwd+bwd {fb_text}"
                f"   ({e['forward_ms'][name]:.1f} ms fwd)"
            )
        if e["torch"]:
            print(f"   {e['torch']}")
    if "memory" in results:
        print("\n2. temp bytes of the 8x1024 MLP train step (memory_analysis)")
        for dtype, m in results["memory"].items():
            print(
                f"   {dtype:9s} none {m['no_activation_bytes']:>10,}  lucid_fx "
                f"{m['lucid_fx_bytes']:>10,} ({m['lucid_fx_vs_none']:.2f}x)  "
                f"jax.nn {m['jax_nn_bytes']:>10,} ({m['jax_nn_vs_none']:.2f}x)"
            )
    if "eager" in results:
        e = results["eager"]
        us = ", ".join(f"{k} {v:.1f} us" for k, v in e["microseconds"].items())
        ratio = e.get("lucid_fx_vs_torch")
        print(
            f"\n3. eager F.leaky_relu(t).sum().backward(), 4 elements: {us}"
            + (f"  -> {ratio:.2f}x torch" if ratio else f"  ({e['torch']})")
        )
    if "eager_graphs" in results:
        _print_eager_graphs(results)
    if "training" in results:
        print("\n4. training step, ratio to the hand-written jax.jit step")
        for row in results["training"]:
            cells = "  ".join(
                f"{k} {v:.2f}x"
                for k, v in row["vs_jax"].items()
                if k != "jax.jit hand-written"
            )
            print(
                f"   {tuple(row['size'])}: jax {row['ms']['jax.jit hand-written']:.2f}"
                f" ms | {cells}"
            )
    if "nn" in results:
        print_nn(results["nn"])
    if "sweep" in results:
        s = results["sweep"]
        print(
            f"\n5. slope sweep, {s['models']} models: vmapped step is "
            f"{s['speedup']:.1f}x faster than a Python loop "
            f"({s['ms_per_step_of_all_models']})"
        )


# ------------------------------------------- 6. eager overhead per op family
def bench_ops(repeats: int) -> dict:
    """One op per family on 4 elements, forward + backward, vs PyTorch eager.

    Each call is the op, a ``sum`` where the op's result is not a scalar, and
    ``backward()``: the overhead a user pays per op in an eager loop. For the
    generators the op makes a leaf that requires grad, so the gradient reaches
    it. Two more rows time the generators' creation alone, for reference.
    """
    data, pair = [0.5, -1.0, 2.0, 0.25], [1.5, 2.0, -0.5, 1.0]
    t, u = Tensor(data, requires_grad=True), Tensor(pair, requires_grad=True)
    m = Tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
    ours = {
        "elementwise exp": lambda: lucid_fx.exp(t).sum().backward(),
        "elementwise mul": lambda: lucid_fx.mul(t, u).sum().backward(),
        "reduction max": lambda: lucid_fx.max(t).backward(),
        "product dot": lambda: lucid_fx.dot(t, u).backward(),
        "utility stack": lambda: lucid_fx.stack([t, u]).sum().backward(),
        "generator zeros": lambda: (
            lucid_fx.zeros(4, requires_grad=True).sum().backward()
        ),
        "linalg det": lambda: lucid_fx.linalg.det(m).backward(),
        "random randn": lambda: (
            lucid_fx.random.randn(4, requires_grad=True).sum().backward()
        ),
        # Creation alone: no op, no backward (not the measure; its
        # floor is one XLA buffer made and freed per call).
        "zeros, made only": lambda: lucid_fx.zeros(4, requires_grad=True),
        "randn, made only": lambda: lucid_fx.random.randn(4),
    }
    result: dict = {"families": list(ours)}
    if torch is None:
        times = measure({k: (lambda f=f: (f(), t.grad)) for k, f in ours.items()}, 1)
        result["microseconds"] = {k: v * 1e6 for k, v in medians(times).items()}
        result["torch"] = NOT_INSTALLED
        return result
    tt = torch.tensor(data, requires_grad=True)
    tu = torch.tensor(pair, requires_grad=True)
    tm = torch.tensor([[2.0, 1.0], [1.0, 3.0]], requires_grad=True)
    theirs = {
        "elementwise exp": lambda: torch.exp(tt).sum().backward(),
        "elementwise mul": lambda: torch.mul(tt, tu).sum().backward(),
        "reduction max": lambda: torch.amax(tt).backward(),
        "product dot": lambda: torch.dot(tt, tu).backward(),
        "utility stack": lambda: torch.stack([tt, tu]).sum().backward(),
        "generator zeros": lambda: torch.zeros(4, requires_grad=True).sum().backward(),
        "linalg det": lambda: torch.linalg.det(tm).backward(),
        "random randn": lambda: torch.randn(4, requires_grad=True).sum().backward(),
        "zeros, made only": lambda: torch.zeros(4, requires_grad=True),
        "randn, made only": lambda: torch.randn(4),
    }
    rows, micro = {}, {}
    for name in ours:
        times = measure(
            {"lucid_fx": lambda f=ours[name]: (f(), t.grad), "torch": theirs[name]},
            repeats,
        )
        rows[name] = ratios(times, "torch")["lucid_fx"]
        micro[name] = {k: v * 1e6 for k, v in medians(times).items()}
    result.update(vs_torch=rows, microseconds=micro)
    return result


def print_ops(o: dict) -> None:
    print("\n6. eager op + backward on 4 elements, per family (target <= 1.5x torch)")
    for name in o["families"]:
        if "vs_torch" not in o:
            print(f"   {name:18s} {o['microseconds'][name]:7.1f} us  ({o['torch']})")
            continue
        us = o["microseconds"][name]
        print(
            f"   {name:18s} {o['vs_torch'][name]:5.2f}x torch   "
            f"(lucid_fx {us['lucid_fx']:.1f} us, torch {us['torch']:.1f} us)"
        )


def plot(results: dict, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = []
    if "elementwise" in results:
        panels.append(
            (
                "leaky_relu fwd / bandwidth bound",
                results["elementwise"]["forward_vs_bandwidth"],
            )
        )
    if "training" in results:
        for row in results["training"]:
            panels.append((f"train step {tuple(row['size'])} / jax.jit", row["vs_jax"]))
    if not panels:
        return
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 2.2 * len(panels)))
    for ax, (title, values) in zip(np.atleast_1d(axes), panels, strict=True):
        ax.barh(list(values), list(values.values()), color="tab:blue")
        ax.axvline(1.0, color="black", lw=0.8)
        ax.set_title(title, fontsize=9)
        ax.tick_params(labelsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def bench_multi_process(quick: bool) -> dict:
    """Weak scaling on JAX's distributed runtime: 1 process x 2 CPU devices with
    a batch of B against 2 processes x 2 devices with 2B (examples/
    multi_process.py, loopback). Efficiency = t(1 process) / t(2 processes)
    per step, median after compilation; 1.0 is perfect. On a 2-core machine
    this is a correctness run more than a speed one."""
    import subprocess
    import sys
    import tempfile

    script = pathlib.Path(__file__).resolve().parent / "multi_process.py"
    steps, rows = (6, 256) if quick else (30, 4096)
    medians_ms = {}
    for procs in (1, 2):
        with tempfile.TemporaryDirectory() as out:
            subprocess.run(
                [sys.executable, str(script), "--num-processes", str(procs)]
                + ["--mode", "dp", "--steps", str(steps), "--out", out]
                + ["--batch", str(rows * procs), "--lr", "0.01"],
                check=True,
                capture_output=True,
            )
            seconds = np.load(pathlib.Path(out) / "results.npz")["time:dp"][2:]
        medians_ms[f"{procs} process(es) x 2 devices"] = 1e3 * float(np.median(seconds))
    one, two = medians_ms.values()
    row = dict(rows_per_process=rows, ms_per_step=medians_ms, efficiency=one / two)
    print(
        f"\n6. multi-process weak scaling ({rows} rows per process): "
        + ", ".join(f"{k} {v:.2f} ms" for k, v in medians_ms.items())
        + f" -> efficiency {row['efficiency']:.2f}"
    )
    return row


SECTIONS = (
    "elementwise",
    "memory",
    "eager",
    "eager_graphs",
    "training",
    "sweep",
    "multi_process",
    "ops",
    "nn",
)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, default=SECTIONS)
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path("."))
    args = parser.parse_args(argv)
    repeats = 3 if args.quick else 7
    sizes = [(32, 64, 64), (128, 784, 256), (512, 1024, 1024)]
    results: dict = dict(quick=args.quick, environment=environment())
    if "elementwise" in args.only:
        results["elementwise"] = bench_elementwise(
            2**18 if args.quick else 2**24, repeats
        )
    if "memory" in args.only:
        results["memory"] = bench_memory()
    if "eager" in args.only:
        results["eager"] = bench_eager(repeats)
    if "eager_graphs" in args.only:
        results["eager_graphs"] = bench_eager_graphs(repeats)
    if "training" in args.only:
        results["training"] = bench_training(
            sizes[:1] if args.quick else sizes, 3 * repeats
        )
    if "sweep" in args.only:
        results["sweep"] = bench_sweep(repeats, k_seeds=2 if args.quick else 8)
    if "multi_process" in args.only:
        results["multi_process"] = bench_multi_process(args.quick)
    if "ops" in args.only:
        results["ops"] = bench_ops(repeats)
    if "nn" in args.only:
        results["nn"] = bench_nn(args.quick, repeats)
    print_report(results)
    if "ops" in results:
        print_ops(results["ops"])
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "benchmark.json").write_text(json.dumps(results, indent=2))
    plot(results, args.out / "benchmark.png")
    print(f"\nwrote {args.out / 'benchmark.json'} and {args.out / 'benchmark.png'}")
    return results


if __name__ == "__main__":
    main()

"""Multi-process data-parallel and FSDP training on JAX's distributed runtime.

Run it as a launcher, which starts N local worker processes on the loopback
interface (a free port, two simulated CPU devices each):

    python examples/multi_process.py --num-processes 2 --out /tmp/run

or as one worker of a real cluster (one call per host; see
docs/guides/distributed.rst for SLURM and cloud TPUs):

    python examples/multi_process.py --coordinator 10.0.0.1:1234 \\
        --num-processes 4 --process-id $RANK --out /shared/run

Every worker builds the same model (same seed), joins the cluster with
``jax.distributed.initialize``, makes one ``Mesh`` over the devices of all
processes and feeds only its own rows of the global batch
(``jax.make_array_from_process_local_data``). The step is ``functionalize`` +
``jax.jit``; XLA inserts the cross-process all-reduce (gloo on CPU). It
trains three times (``--mode all``): data parallel (parameters replicated)
through ``functionalize`` + ``jax.jit`` and through a ``lucid_fx.compile``'d
eager step (Module, ``optim.SGD``, ``backward``) over global Tensors, and
FSDP-style (parameters and momentum buffers sharded over all devices of all
processes, gathered by XLA where needed). ``--save DIR`` writes the last
run's parameters as a sharded checkpoint (each process writes its own
pieces); ``--verify-load DIR`` loads one written by any number of processes
onto the FSDP mesh. Process 0 writes the losses, the final parameters and the
loaded arrays to ``--out``/results.npz.

If a worker dies, JAX's coordination service notices the missing heartbeats
(``--heartbeat`` seconds) and stops the others with an error naming the lost
task; the launcher then exits non-zero.
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time

WORKER_FLAGS = ("--process-id", "--coordinator")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(args: argparse.Namespace, passthrough: list[str]) -> int:
    """Start the workers; fail fast (non-zero) as soon as one of them fails."""
    address = f"127.0.0.1:{_free_port()}"
    env = dict(os.environ)
    env["XLA_FLAGS"] = (
        env.get("XLA_FLAGS", "")
        + f" --xla_force_host_platform_device_count={args.devices_per_process}"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, __file__, *passthrough, "--process-id", str(i)]
            + ["--coordinator", address, "--num-processes", str(args.num_processes)],
            env=env,
        )
        for i in range(args.num_processes)
    ]
    deadline = time.monotonic() + args.timeout
    first: tuple[int, int, float] | None = None  # process, status, when
    while True:
        codes = [p.poll() for p in procs]  # poll every one, every time
        if first is None:
            for i, code in enumerate(codes):
                if code not in (None, 0):
                    first = (i, code, time.monotonic())
                    print(
                        f"launcher: process {i} failed ({_status(code)}); waiting up "
                        f"to {args.grace:.0f} s for the others to stop",
                        file=sys.stderr,
                        flush=True,
                    )
                    deadline = min(deadline, time.monotonic() + args.grace)
                    break
        if all(code is not None for code in codes):
            break
        if time.monotonic() > deadline:
            for i, p in enumerate(procs):
                if p.poll() is None:
                    print(
                        f"launcher: killing process {i} (no exit in time)",
                        file=sys.stderr,
                    )
                    p.kill()
            break
        time.sleep(0.05)
    codes = [p.wait() for p in procs]
    if first is None and all(code == 0 for code in codes):
        return 0
    lost = first or next((i, c, time.monotonic()) for i, c in enumerate(codes) if c)
    print(
        f"launcher: the run failed: process {lost[0]} was lost ({_status(lost[1])}); "
        f"the others stopped {time.monotonic() - lost[2]:.1f} s later "
        f"(exit statuses {codes})",
        file=sys.stderr,
        flush=True,
    )
    return 1


def _status(code: int) -> str:
    if code < 0:
        return f"killed by {signal.Signals(-code).name}"
    return f"exit status {code}"


def worker(args: argparse.Namespace) -> int:
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    if args.cluster:
        jax.distributed.initialize()  # SLURM, cloud TPU: everything detected
    elif args.num_processes > 1:
        jax.distributed.initialize(
            coordinator_address=args.coordinator,
            num_processes=args.num_processes,
            process_id=args.process_id,
            initialization_timeout=int(args.timeout),
            heartbeat_timeout_seconds=args.heartbeat,
        )
    try:
        train(args)
    except Exception as err:  # a lost peer surfaces here as a runtime error
        print(
            f"worker {jax.process_index()}: training failed: "
            f"{type(err).__name__}: {err}",
            file=sys.stderr,
            flush=True,
        )
        os._exit(3)  # no shutdown barrier with a dead peer: it would hang
    return 0


def make_model(seed: int):
    import lucid_fx
    import lucid_fx.nn as nn

    lucid_fx.random.seed(seed)
    return nn.Sequential(
        nn.Linear(8, 32),
        nn.LeakyReLU(0.125),
        nn.Linear(32, 32),
        nn.LeakyReLU(0.125),
        nn.Linear(32, 4),
    )


def make_data(n: int, seed: int):
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype(np.float32)
    return x, x[:, :4].argmax(axis=1).astype(np.int32)


def _param_shardings(params, mesh, fsdp: bool):
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    count = mesh.devices.size

    def spec(a):
        return P("data") if fsdp and a.ndim and a.shape[0] % count == 0 else P()

    return {k: NamedSharding(mesh, spec(a)) for k, a in params.items()}


def _global(value, sharding):
    import jax
    import numpy as np

    host = np.asarray(value)  # identical on every process (same seed)
    return jax.make_array_from_callback(host.shape, sharding, lambda i: host[i])


def train_mode(args, fsdp: bool, x, y, results: dict) -> dict:
    """20 (``--steps``) momentum-SGD steps; returns the final parameters."""
    import jax
    import numpy as np
    from jax.experimental import multihost_utils
    from jax.sharding import Mesh

    import lucid_fx
    import lucid_fx.nn.functional as F

    mode = "fsdp" if fsdp else "dp"
    mesh = Mesh(np.array(jax.devices()), ("data",))
    apply, params = lucid_fx.functionalize(make_model(0))
    shardings = _param_shardings(params, mesh, fsdp)
    params = {k: _global(v, shardings[k]) for k, v in params.items()}
    momentum = {
        k: _global(np.zeros(v.shape, v.dtype), shardings[k]) for k, v in params.items()
    }

    @jax.jit
    def step(p, m, x, y):
        loss, g = jax.value_and_grad(lambda q: F.cross_entropy(apply(q, x), y))(p)
        m = jax.tree.map(lambda a, b: 0.9 * a + b, m, g)
        p = jax.tree.map(lambda a, b: a - args.lr * b, p, m)
        p = jax.lax.with_sharding_constraint(p, shardings)
        m = jax.lax.with_sharding_constraint(m, shardings)
        return p, m, loss

    losses, seconds = [], []
    for i in range(args.steps):
        if i == args.die_at_step and jax.process_index() == args.die_process:
            os.kill(os.getpid(), signal.SIGKILL)  # a crashed host, for the tests
        start = time.perf_counter()
        params, momentum, loss = step(params, momentum, x, y)
        losses.append(float(loss))  # waits for the step
        seconds.append(time.perf_counter() - start)
    results[f"{mode}:losses"] = np.array(losses)
    results[f"time:{mode}"] = np.array(seconds)  # per step, the first compiles
    host = multihost_utils.process_allgather(params, tiled=True)
    results.update({f"{mode}:{k}": np.asarray(v) for k, v in host.items()})
    if jax.process_index() == 0:
        spec = params["0.weight"].sharding.spec
        print(f"{mode}: 0.weight {spec}, loss {losses[0]:.4f} -> {losses[-1]:.4f}")
    if fsdp and args.verify_load:  # any writer's checkpoint onto this mesh
        loaded = lucid_fx.load(args.verify_load, shardings=shardings)
        host = multihost_utils.process_allgather(dict(loaded), tiled=True)
        results.update({f"loaded:{k}": np.asarray(v) for k, v in host.items()})
    return params


def train_compiled(args, x, y, results: dict) -> None:
    """The eager API (Module, optim.SGD, backward) in one lucid_fx.compile'd
    step over globally sharded Tensors; same update as the dp mode."""
    import jax
    import numpy as np
    from jax.experimental import multihost_utils
    from jax.sharding import Mesh

    import lucid_fx
    import lucid_fx.nn.functional as F
    from lucid_fx import Tensor, optim

    mesh = Mesh(np.array(jax.devices()), ("data",))
    model = make_model(0)
    for p in model.parameters():
        p.data = _global(p.data, _param_shardings({"p": p.data}, mesh, False)["p"])
    opt = optim.SGD(model.parameters(), lr=args.lr, momentum=0.9)

    @lucid_fx.compile
    def step(model, opt, x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    xt, yt = Tensor(x), Tensor(y)
    losses = [float(step(model, opt, xt, yt).item()) for _ in range(args.steps)]
    results["compiled:losses"] = np.array(losses)
    host = multihost_utils.process_allgather(
        {k: v.data for k, v in model.state_dict().items()}, tiled=True
    )
    results.update({f"compiled:{k}": np.asarray(v) for k, v in host.items()})
    if jax.process_index() == 0:
        print(f"compiled: loss {losses[0]:.4f} -> {losses[-1]:.4f}")


def train(args: argparse.Namespace) -> None:
    import jax
    import numpy as np
    from jax.sharding import Mesh, NamedSharding
    from jax.sharding import PartitionSpec as P

    import lucid_fx

    me, count = jax.process_index(), jax.process_count()
    batch = NamedSharding(Mesh(np.array(jax.devices()), ("data",)), P("data"))
    x_all, y_all = make_data(args.batch, seed=1)
    rows = args.batch // count  # this process's contiguous rows of the batch
    local = slice(me * rows, (me + 1) * rows)
    x = jax.make_array_from_process_local_data(batch, x_all[local], x_all.shape)
    y = jax.make_array_from_process_local_data(batch, y_all[local], y_all.shape)
    results: dict = {}
    params = None
    if args.mode in ("compiled", "all"):
        train_compiled(args, x, y, results)
    modes = {"dp": [False], "fsdp": [True], "both": [False, True], "all": [False, True]}
    for fsdp in modes.get(args.mode, []):
        params = train_mode(args, fsdp, x, y, results)
    if args.save and params is not None:  # collective: each writes its own pieces
        lucid_fx.save(params, args.save, sharded=True)
    if me == 0:
        print(f"{count} process(es) x {jax.local_device_count()} devices", flush=True)
        if args.out:
            os.makedirs(args.out, exist_ok=True)
            np.savez(os.path.join(args.out, "results.npz"), **results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-processes", type=int, default=2)
    parser.add_argument("--devices-per-process", type=int, default=2)
    parser.add_argument("--process-id", type=int, help="run as this one worker")
    parser.add_argument("--coordinator", help="host:port of process 0's service")
    parser.add_argument(
        "--cluster", action="store_true", help="jax.distributed.initialize() alone"
    )
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.05)
    parser.add_argument(
        "--mode", choices=["dp", "fsdp", "both", "compiled", "all"], default="all"
    )
    parser.add_argument("--save", help="write the last run's sharded checkpoint here")
    parser.add_argument(
        "--verify-load", help="load this checkpoint onto the FSDP mesh (results)"
    )
    parser.add_argument("--out", help="process 0 writes results.npz here")
    parser.add_argument("--timeout", type=float, default=120.0)
    parser.add_argument("--grace", type=float, default=20.0)
    parser.add_argument("--heartbeat", type=int, default=10)
    parser.add_argument("--die-process", type=int, default=-1, help=argparse.SUPPRESS)
    parser.add_argument("--die-at-step", type=int, default=-1, help=argparse.SUPPRESS)
    argv = sys.argv[1:] if argv is None else argv
    args = parser.parse_args(argv)
    if args.batch % (args.num_processes * args.devices_per_process):
        parser.error("--batch must divide evenly over all devices")
    if args.process_id is not None or args.cluster:
        return worker(args)
    skip = {"--num-processes"}
    passthrough = [
        a
        for i, a in enumerate(argv)
        if a not in skip and (i == 0 or argv[i - 1] not in skip)
    ]
    return launch(args, passthrough)


if __name__ == "__main__":
    sys.exit(main())

"""Data-parallel training with JAX's SPMD sharding, two ways.

A `jax.sharding.Mesh` over all devices; the batch is sharded along it with
`NamedSharding`, parameters are replicated, and XLA inserts the gradient
all-reduce. The same step runs (1) through `lucid_fx.functionalize` with a
hand-written `jax.jit` step and (2) through `lucid_fx.compile` on an eager-API
step function. Both are checked against the same training on one device.

Try it on 4 simulated CPU devices:

    XLA_FLAGS=--xla_force_host_platform_device_count=4 python examples/data_parallel.py
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

import lucid_fx
import lucid_fx.nn as nn
import lucid_fx.nn.functional as F
from lucid_fx import Tensor, optim


def make_model(seed: int) -> nn.Module:
    lucid_fx.random.seed(seed)
    return nn.Sequential(
        nn.Linear(8, 32),
        nn.LeakyReLU(0.1),
        nn.Linear(32, 32),
        nn.LeakyReLU(0.1),
        nn.Linear(32, 4),
    )


def make_data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 8)).astype(np.float32)
    y = (x[:, :4].argmax(axis=1)).astype(np.int32)
    return x, y


def functional_training(x, y, steps, lr, mesh):
    """functionalize + a hand-written jitted step; shardings from the inputs."""
    apply, params = lucid_fx.functionalize(make_model(0))

    @jax.jit
    def step(p, x, y):
        loss, g = jax.value_and_grad(lambda q: F.cross_entropy(apply(q, x), y))(p)
        return jax.tree.map(lambda a, b: a - lr * b, p, g), loss

    if mesh is not None:
        params = jax.device_put(params, NamedSharding(mesh, P()))
        x = jax.device_put(x, NamedSharding(mesh, P("data")))
        y = jax.device_put(y, NamedSharding(mesh, P("data")))
    losses = []
    for _ in range(steps):
        params, loss = step(params, jnp.asarray(x), jnp.asarray(y))
        losses.append(float(loss))
    return params, losses


@lucid_fx.compile
def train_step(model, opt, x, y):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def compiled_training(x, y, steps, lr, mesh):
    """The eager API, compiled into one program; placement kept by JAX."""
    model = make_model(0)
    if mesh is not None:
        for p in model.parameters():
            p.data = jax.device_put(p.data, NamedSharding(mesh, P()))
        x = jax.device_put(x, NamedSharding(mesh, P("data")))
        y = jax.device_put(y, NamedSharding(mesh, P("data")))
    opt = optim.SGD(model.parameters(), lr=lr)
    xt, yt = Tensor(jnp.asarray(x)), Tensor(jnp.asarray(y))
    losses = [train_step(model, opt, xt, yt).item() for _ in range(steps)]
    params = {k: v.data for k, v in model.state_dict().items()}
    return params, losses


def max_difference(a: dict, b: dict) -> float:
    return max(float(jnp.abs(a[k] - b[k]).max()) for k in a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--lr", type=float, default=0.1)
    args = parser.parse_args()

    devices = jax.devices()
    if args.batch % len(devices):
        parser.error(f"--batch must be divisible by the {len(devices)} devices")
    mesh = Mesh(np.array(devices), ("data",))
    x, y = make_data(args.batch, seed=1)
    print(f"devices: {len(devices)} ({devices[0].platform})")

    single_f, losses_f = functional_training(x, y, args.steps, args.lr, None)
    sharded_f, losses_fs = functional_training(x, y, args.steps, args.lr, mesh)
    single_c, losses_c = compiled_training(x, y, args.steps, args.lr, None)
    sharded_c, losses_cs = compiled_training(x, y, args.steps, args.lr, mesh)

    sharding = sharded_c["0.weight"].sharding
    print(f"parameter sharding after training: {sharding}")
    print(f"loss: {losses_f[0]:.4f} -> {losses_f[-1]:.4f}")
    diff_f = max_difference(sharded_f, single_f)
    diff_c = max_difference(sharded_c, single_c)
    print(f"functionalize: max |sharded - single| = {diff_f:.2e}")
    print(f"compile:       max |sharded - single| = {diff_c:.2e}")
    print(f"compile vs functionalize: {max_difference(single_c, single_f):.2e}")


if __name__ == "__main__":
    main()

"""A DCGAN-style discriminator trained three ways, with equal losses.

The discriminator of the DCGAN paper, sized for 28x28 images:
``Conv2D(1, 64, 4, 2, 1) -> LeakyReLU(0.2) -> Conv2D(64, 128, 4, 2, 1) ->
BatchNorm2d -> LeakyReLU(0.2) -> Flatten -> Linear -> Sigmoid``, trained with
binary cross-entropy and Adam to tell "real" images (smooth random blobs) from
"fake" ones (noise). The same model, data and seed train

- eagerly (``loss.backward(); opt.step()``),
- as one ``lucid_fx.compile``-d training step, and
- as ``functionalize`` + ``jax.jit`` + optax (pure JAX),

and the script prints the three loss curves and whether they agree. The
compiled and functional forms carry BatchNorm's running statistics (buffers)
through the program: ``lucid_fx.compile`` writes them back into the model,
``functionalize``'s ``apply`` returns them beside the output.

Run: python examples/dcgan.py [--steps 20] [--batch 32] [--mode all]
"""

from __future__ import annotations

import argparse
import json
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax

import lucid_fx
import lucid_fx.nn as nn
import lucid_fx.nn.functional as F
from lucid_fx import Tensor, optim, random

LR, BETAS = 2e-4, (0.5, 0.999)


def discriminator(width: int = 64) -> nn.Module:
    """DCGAN's discriminator for 1x28x28 images."""
    return nn.Sequential(
        nn.Conv2D(1, width, 4, 2, 1),
        nn.LeakyReLU(0.2),
        nn.Conv2D(width, 2 * width, 4, 2, 1),
        nn.BatchNorm2d(2 * width),
        nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(2 * width * 7 * 7, 1),
        nn.Sigmoid(),
    )


def batches(steps: int, batch: int, seed: int = 0) -> list[tuple[np.ndarray, ...]]:
    """Half real (smooth Gaussian blobs), half fake (noise); labels 1 / 0."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(np.arange(28), np.arange(28), indexing="ij"), -1)
    out = []
    for _ in range(steps):
        centers = rng.uniform(6, 22, (batch // 2, 1, 1, 2))
        d2 = ((grid[None] - centers) ** 2).sum(-1)
        real = np.exp(-d2 / (2 * rng.uniform(2, 5, (batch // 2, 1, 1)) ** 2))
        fake = rng.uniform(0, 1, (batch - batch // 2, 28, 28))
        x = np.concatenate([real, fake])[:, None].astype(np.float32) * 2 - 1
        y = np.concatenate([np.ones(batch // 2), np.zeros(batch - batch // 2)])
        out.append((x, y[:, None].astype(np.float32)))
    return out


def train_step(model: nn.Module, opt: optim.Optimizer, x: Tensor, y: Tensor):
    """One eager step; ``lucid_fx.compile`` turns it into one XLA program."""
    opt.zero_grad()
    loss = F.binary_cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


def train_eager(data, width: int, compiled: bool = False) -> list[float]:
    random.seed(0)
    model = discriminator(width)
    opt = optim.Adam(model.parameters(), lr=LR, betas=BETAS)
    step = lucid_fx.compile(train_step) if compiled else train_step
    return [step(model, opt, Tensor(x), Tensor(y)).item() for x, y in data]


def train_functional(data, width: int) -> list[float]:
    """Pure JAX: the module's apply function, optax's Adam, one jax.jit."""
    random.seed(0)
    model = discriminator(width)
    apply, state = lucid_fx.functionalize(model)
    # Differentiate the parameters only: the integer num_batches_tracked buffer
    # has no gradient. Both go back into apply as one dict.
    trainable = {k for k, _ in model.named_parameters()}
    params = {k: v for k, v in state.items() if k in trainable}
    buffers = {k: v for k, v in state.items() if k not in trainable}
    tx = optax.adam(LR, b1=BETAS[0], b2=BETAS[1], eps=1e-8)
    opt_state = tx.init(params)

    def loss_fn(params, buffers, x, y):
        # The model has buffers (BatchNorm's running statistics), so apply
        # returns their new values beside the output.
        out, new_buffers = apply({**params, **buffers}, x)
        return F.binary_cross_entropy(out, y), new_buffers

    @jax.jit
    def step(params, buffers, opt_state, x, y):
        grad_fn = jax.value_and_grad(loss_fn, has_aux=True)
        (loss, buffers), grads = grad_fn(params, buffers, x, y)
        # optax mixes Python floats and int32 step counts internally.
        with jax.numpy_dtype_promotion("standard"):
            updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), buffers, opt_state, loss

    losses = []
    for x, y in data:
        params, buffers, opt_state, loss = step(
            params, buffers, opt_state, jnp.asarray(x), jnp.asarray(y)
        )
        losses.append(float(loss))
    # Write the trained parameters and running statistics back to the model.
    model.load_state_dict({**params, **buffers})
    return losses


MODES = {
    "eager": lambda d, w: train_eager(d, w),
    "compiled": lambda d, w: train_eager(d, w, compiled=True),
    "functional": train_functional,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--width", type=int, default=64)
    parser.add_argument("--mode", choices=[*MODES, "all"], default="all")
    parser.add_argument("--json", help="write the loss curves here")
    args = parser.parse_args(argv)
    data = batches(args.steps, args.batch)
    modes = list(MODES) if args.mode == "all" else [args.mode]
    curves = {mode: MODES[mode](data, args.width) for mode in modes}
    for mode, losses in curves.items():
        shown = ", ".join(f"{v:.4f}" for v in losses[:: max(1, len(losses) // 5)])
        print(f"{mode:>10}: first {losses[0]:.4f}  last {losses[-1]:.4f}  ({shown})")
    reference = curves[modes[0]]
    agree = all(
        np.allclose(c, reference, rtol=1e-3, atol=1e-4) for c in curves.values()
    )
    print("losses agree" if agree else "LOSSES DIFFER")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"curves": curves, "agree": agree}, f)
    return 0 if agree else 1


if __name__ == "__main__":
    sys.exit(main())

"""Does LeakyReLU keep units alive? A measured dying-ReLU study.

Deep narrow MLPs (6 hidden layers of width 32) learn a 3-class spiral with plain
SGD at a large learning rate (0.3), the setting known to kill ReLU units. Every
(slope, seed) model trains at once: parameters are stacked over models, one
jitted step is vmapped over them (the slope enters as a traced value through
`lucid_fx.layers.LeakyReLU` configs, so no recompile per slope), and
`lax.scan` runs the steps of each chunk inside XLA.

A unit is dead when its pre-activation is <= 0 for every test input. Per model
we record train/test accuracy, loss, the dead-unit fraction over training, and
how many units that were dead at some checkpoint are alive at the end. Models
whose loss became non-finite are reported as diverged, not averaged.

One model is trained again through the stateful API (nn.Sequential, nn.Linear,
nn.LeakyReLU, lucid_fx.compile, loss.backward(), optim.SGD) from the same
initial weights and data order; its final loss must match the functional run.

Then (issue 18, examples/born_dead.py) 10,000 random deep narrow MLPs per width
and initialisation are tested for being born dead (constant in x), and 1,000
seeds per configuration and slope are trained with Adam on |x| to count those
that collapse to the mean; --no-paper skips this part.

Run: python examples/dying_relu.py [--quick] [--no-paper] [--out runs/dying_relu]
"""

from __future__ import annotations

import argparse
import json
import pathlib
import time

import jax
import jax.numpy as jnp
import numpy as np
from tqdm import tqdm

import lucid_fx
import lucid_fx.nn as nn
import lucid_fx.nn.functional as F
from lucid_fx import Tensor, optim
from lucid_fx.layers import LeakyReLU

DEPTH, WIDTH, CLASSES = 6, 32, 3
LEARNING_RATE, BATCH = 0.3, 64
STATEFUL_RTOL = 1e-4
# The stateful rerun is compared after this many steps. At lr 0.3 training is
# chaotic: the vmapped and the single-model programs round differently in the
# last bit, and that difference grows until the losses part ways after ~250
# steps (measured: equal to 1e-7 at step 200, 0.92 vs 0.93 at 250).
STATEFUL_STEPS = 100


# ------------------------------------------------------------------- data
def spiral(n_per_class: int, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """A noisy 2-D spiral with CLASSES arms."""
    xs, ys = [], []
    for c in range(CLASSES):
        r = np.linspace(0.05, 1.0, n_per_class)
        t = np.linspace(c * 4.0, (c + 1) * 4.0, n_per_class)
        t = t + rng.normal(scale=0.2, size=n_per_class)
        xs.append(np.stack([r * np.sin(t), r * np.cos(t)], axis=1))
        ys.append(np.full(n_per_class, c))
    return np.concatenate(xs).astype(np.float32), np.concatenate(ys).astype(np.int32)


def split(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, test: float):
    order = rng.permutation(len(x))
    cut = int(len(x) * (1 - test))
    return (x[order[:cut]], y[order[:cut]]), (x[order[cut:]], y[order[cut:]])


# ------------------------------------------------------------------ model
def make_module(slope: float) -> nn.Sequential:
    layers: list[nn.Module] = []
    width_in = 2
    for _ in range(DEPTH):
        layers += [nn.Linear(width_in, WIDTH), nn.LeakyReLU(slope)]
        width_in = WIDTH
    return nn.Sequential(*layers, nn.Linear(WIDTH, CLASSES))


def init_params(seed: int) -> dict[str, jax.Array]:
    """PyTorch-default initial weights for one seed, keyed like state_dict()."""
    lucid_fx.random.seed(seed)
    return lucid_fx.functionalize(make_module(0.01))[1]


def forward(params, act: LeakyReLU, x):
    """Logits and every hidden pre-activation; ``act`` may hold a traced slope."""
    pre, h = [], x
    for i in range(DEPTH):
        z = F.linear(h, params[f"{2 * i}.weight"], params[f"{2 * i}.bias"])
        pre.append(z)
        h = act(z)
    return F.linear(h, params[f"{2 * DEPTH}.weight"], params[f"{2 * DEPTH}.bias"]), pre


def loss_fn(params, act, x, y):
    return F.cross_entropy(forward(params, act, x)[0], y)


def sgd_step(params, act, x, y):
    grads = jax.grad(loss_fn)(params, act, x, y)
    return jax.tree.map(lambda p, g: p - LEARNING_RATE * g, params, grads)


@jax.jit
def train_chunk(params, acts, x, y, batches):
    """``len(batches)`` SGD steps of every model, as one scan inside XLA."""

    def body(p, idx):
        return jax.vmap(sgd_step, in_axes=(0, 0, None, None))(
            p, acts, x[idx], y[idx]
        ), None

    return jax.lax.scan(body, params, batches)[0]


@jax.jit
def evaluate(params, acts, train, test):
    """Per model: train/test accuracy and loss, and the dead-unit mask."""

    def one(p, act):
        out = {}
        for name, (x, y) in (("train", train), ("test", test)):
            logits, pre = forward(p, act, x)
            out[f"{name}_acc"] = (logits.argmax(-1) == y).mean()
            out[f"{name}_loss"] = F.cross_entropy(logits, y)
        _, pre = forward(p, act, test[0])
        out["dead"] = jnp.stack([(z <= 0).all(axis=0) for z in pre])
        return out

    return jax.vmap(one)(params, acts)


# ------------------------------------------------------------- training
def run_study(args, train, test, batches) -> dict:
    """Train every (slope, seed) model together; record metrics per checkpoint."""
    models = [(float(s), seed) for s in args.slopes for seed in range(args.seeds)]
    inits = [init_params(seed) for seed in range(args.seeds)]
    params = lucid_fx.stack_params([inits[seed] for _, seed in models])
    acts = LeakyReLU(jnp.asarray([s for s, _ in models], jnp.float32))
    chunks = batches.reshape(-1, args.chunk, BATCH)
    history = [jax.device_get(evaluate(params, acts, train, test))]
    start = time.perf_counter()
    for chunk in tqdm(chunks, desc="training", unit="chunk"):
        params = train_chunk(params, acts, *train, jnp.asarray(chunk))
        history.append(jax.device_get(evaluate(params, acts, train, test)))
    seconds = time.perf_counter() - start
    dead = np.stack([h["dead"] for h in history])  # (checkpoints, models, ...)
    revived = (dead[:-1].any(axis=0) & ~dead[-1]).sum(axis=(1, 2))
    return dict(
        models=models,
        history=history,
        revived=revived,
        params=params,
        acts=acts,
        inits=inits,
        seconds=seconds,
    )


def train_stateful(study, train, batches, k: int) -> float:
    """Retrain model k through the stateful API on ``batches``; return its final
    train loss."""
    slope, seed = study["models"][k]
    model = make_module(slope)
    model.load_state_dict(study["inits"][seed])
    opt = optim.SGD(model.parameters(), lr=LEARNING_RATE)

    @lucid_fx.compile
    def train_step(model, opt, x, y):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        return loss

    x, y = (np.asarray(a) for a in train)
    for idx in batches:
        train_step(model, opt, Tensor(x[idx]), Tensor(y[idx]))
    return F.cross_entropy(model(Tensor(x)), Tensor(y)).item()


# --------------------------------------------------------------- reports
def model_records(study) -> list[dict]:
    final = study["history"][-1]
    records = []
    for k, (slope, seed) in enumerate(study["models"]):
        diverged = not np.isfinite(final["train_loss"][k])
        dead = [float(h["dead"][k].mean()) for h in study["history"]]
        records.append(
            dict(
                slope=slope,
                seed=seed,
                diverged=bool(diverged),
                train_acc=float(final["train_acc"][k]),
                test_acc=float(final["test_acc"][k]),
                train_loss=None if diverged else float(final["train_loss"][k]),
                test_loss=None if diverged else float(final["test_loss"][k]),
                dead_fraction=None if diverged else dead[-1],
                dead_fraction_history=None if diverged else dead,
                revived_units=None if diverged else int(study["revived"][k]),
            )
        )
    return records


def _mean_std(records: list[dict], key: str) -> list[float] | None:
    values = np.array([r[key] for r in records], np.float64)
    return [float(values.mean()), float(values.std())] if len(values) else None


def summarise(records: list[dict], slopes: list[float]) -> list[dict]:
    rows = []
    for slope in slopes:
        group = [r for r in records if r["slope"] == slope]
        alive = [r for r in group if not r["diverged"]]
        row = dict(slope=slope, models=len(group), diverged=len(group) - len(alive))
        for key in ("test_acc", "train_loss", "dead_fraction", "revived_units"):
            row[key] = _mean_std(alive, key)
        rows.append(row)
    return rows


def print_table(rows: list[dict]) -> None:
    def cell(pair, spec=".2f", scale=1.0):
        if pair is None:
            return "n/a".center(19)
        return f"{pair[0] * scale:8{spec}} ± {pair[1] * scale:8{spec}}"

    print(
        "\nslope | test acc %          | train loss          | dead units %"
        "        | revived units       | diverged"
    )
    for r in rows:
        print(
            f"{r['slope']:5.2f} | {cell(r['test_acc'], scale=100)} | "
            f"{cell(r['train_loss'], '.1e')} | "
            f"{cell(r['dead_fraction'], scale=100)} | "
            f"{cell(r['revived_units'], '.1f')} | {r['diverged']}/{r['models']}"
        )
    print("(mean ± std over the seeds that did not diverge)")


# ----------------------------------------------------------------- plots
def plot_all(out: pathlib.Path, study, records, rows, train, steps) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    checkpoints = np.linspace(0, steps, len(study["history"]))
    fig, ax = plt.subplots(figsize=(6, 4))
    for slope in sorted({r["slope"] for r in records}):
        curves = [
            r["dead_fraction_history"]
            for r in records
            if r["slope"] == slope and not r["diverged"]
        ]
        if curves:
            ax.plot(checkpoints, 100 * np.mean(curves, axis=0), label=f"{slope:g}")
    ax.set(
        xlabel="SGD step",
        ylabel="dead hidden units (%)",
        title="Dead units over training (mean over seeds)",
    )
    ax.legend(title="negative_slope")
    fig.tight_layout()
    fig.savefig(out / "dead_units.png", dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for r in records:
        ax.scatter(
            r["slope"],
            100 * r["test_acc"],
            color="tab:red" if r["diverged"] else "tab:blue",
            alpha=0.6,
            s=18,
        )
    means = [
        (row["slope"], 100 * row["test_acc"][0]) for row in rows if row["test_acc"]
    ]
    ax.plot(*zip(*means), color="black", label="mean (not diverged)")
    ax.set(
        xlabel="negative_slope",
        ylabel="final test accuracy (%)",
        title="Final test accuracy (red: diverged)",
    )
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "accuracy_vs_slope.png", dpi=110)
    plt.close(fig)

    # A diverged model has NaN logits and no decision regions: pick among the rest.
    trained = [k for k, r in enumerate(records) if not r["diverged"]]
    order = sorted(trained, key=lambda k: records[k]["test_acc"])
    picks = {"worst": order[0], "best": order[-1]}
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    grid = np.stack(
        np.meshgrid(np.linspace(-1.2, 1.2, 200), np.linspace(-1.2, 1.2, 200)), -1
    ).reshape(-1, 2)
    for ax, (name, k) in zip(axes, picks.items(), strict=True):
        params = jax.tree.map(lambda p, k=k: p[k], study["params"])
        act = LeakyReLU(study["acts"].negative_slope[k])
        logits = forward(params, act, jnp.asarray(grid, jnp.float32))[0]
        ax.contourf(
            grid[:, 0].reshape(200, 200),
            grid[:, 1].reshape(200, 200),
            np.asarray(logits.argmax(-1)).reshape(200, 200),
            alpha=0.3,
            levels=np.arange(CLASSES + 1) - 0.5,
            cmap="brg",
        )
        ax.scatter(*np.asarray(train[0]).T, c=np.asarray(train[1]), s=4, cmap="brg")
        r = records[k]
        ax.set_title(
            f"{name}: slope {r['slope']:g}, seed {r['seed']}, "
            f"test acc {100 * r['test_acc']:.1f}%"
        )
    fig.tight_layout()
    fig.savefig(out / "decision_regions.png", dpi=110)
    plt.close(fig)
    return ["dead_units.png", "accuracy_vs_slope.png", "decision_regions.png"]


# ------------------------------------------------------- paper (issue 18)
PAPER_SLOPES = (0.0, 0.01, 0.1, 0.3)
# The collapse study's training set: |x| on COLLAPSE_POINTS points of [-1, 1].
COLLAPSE_POINTS, COLLAPSE_LR = 32, 1e-2
# A dense grid decides "constant" only where no exact small grid does: ReLU with
# PyTorch's nonzero biases (see born_dead_grid).
DENSE_GRID = 65


def born_dead_grid(init: str, relu: bool) -> jax.Array:
    """The x points on [-1, 1] at which born_dead_counts tests the derivative.

    - Zero biases (He-normal): every layer is positively homogeneous, so the
      last hidden layer is ``|x| g(sign x)``: {-1, 1} decides "constant" exactly.
    - LeakyReLU, any biases: x -> leaky_relu(W h + b) is injective and its
      derivative act'(z) W t never vanishes (act' >= slope > 0, W invertible
      with probability 1), so no network is constant and any point shows it.
    - ReLU with PyTorch's biases: the net is piecewise linear with breakpoints
      anywhere; a dense grid of DENSE_GRID points can miss a live piece
      narrower than its spacing (1/32), so that series is a lower bound.
    """
    dense = init == "pytorch_default" and relu
    return jnp.linspace(-1.0, 1.0, DENSE_GRID if dense else 2, dtype=jnp.float32)


def born_dead_records(args, rng) -> list[dict]:
    """The born-dead sweep: one jitted, vmapped program per (width, init,
    activation family), every slope and network in it at once."""
    import born_dead as bd

    records = []
    sweeps = [(n, init) for init in bd.INITS for n in args.paper_widths]
    for width, init in tqdm(sweeps, desc="born dead", unit="sweep"):
        params = bd.draw_mlps(rng, args.paper_networks, width, args.paper_depth, init)
        if init == "he_normal_zero_bias":  # one grid serves every slope
            groups = [PAPER_SLOPES]
        else:
            groups = [PAPER_SLOPES[:1], PAPER_SLOPES[1:]]
        for slopes in groups:
            grid = born_dead_grid(init, relu=slopes[0] == 0.0)
            counts = np.asarray(
                bd.born_dead_counts(params, jnp.asarray(slopes, jnp.float32), grid)
            )
            for s, slope in enumerate(slopes):
                for depth in range(2, args.paper_depth + 1):
                    estimate = None
                    if slope > 0:
                        estimate = 0.0  # injective layers: never constant
                    elif init == "he_normal_zero_bias":
                        estimate = bd.single_input_estimate(width, depth)
                    records.append(
                        dict(
                            activation="relu" if slope == 0 else "leaky_relu",
                            negative_slope=slope,
                            init=init,
                            width=width,
                            depth=depth,
                            networks=args.paper_networks,
                            probability=float(counts[s, depth - 1])
                            / args.paper_networks,
                            estimate=estimate,
                        )
                    )
    return records


def collapse_records(args, rng) -> tuple[list[dict], dict]:
    """Train ``paper_seeds`` He-normal nets per config and slope on |x| with
    Adam, one program per (width, depth); count those ending at the mean."""
    import born_dead as bd

    slopes = jnp.asarray(PAPER_SLOPES, jnp.float32)
    x = jnp.linspace(-1.0, 1.0, COLLAPSE_POINTS, dtype=jnp.float32)
    y = jnp.abs(x)
    variance = float(np.var(np.abs(np.asarray(x, np.float64))))
    records, curves = [], {}
    for width, depth in tqdm(args.paper_collapse, desc="collapse", unit="config"):
        params = bd.draw_mlps(
            rng, args.paper_seeds, width, depth, "he_normal_zero_bias"
        )
        _, final, history = bd.train_collapse(
            params, slopes, x, y, steps=args.paper_steps, learning_rate=COLLAPSE_LR
        )
        near = np.abs(np.asarray(history, np.float64) - variance) <= 0.01 * variance
        curves[f"{width}x{depth}"] = near.mean(axis=2).T.tolist()  # (slopes, steps)
        collapsed = np.abs(np.asarray(final, np.float64) - variance) <= 0.01 * variance
        for s, slope in enumerate(PAPER_SLOPES):
            records.append(
                dict(
                    activation="relu" if slope == 0 else "leaky_relu",
                    negative_slope=slope,
                    width=width,
                    depth=depth,
                    seeds=args.paper_seeds,
                    collapsed_fraction=float(collapsed[s].mean()),
                )
            )
    return records, curves


def paper_study(args) -> dict:
    """Born-dead fractions at initialization and collapse after Adam training."""
    rng = np.random.default_rng(args.paper_seed)
    start = time.perf_counter()
    born = born_dead_records(args, rng)
    born_seconds = time.perf_counter() - start
    collapse, curves = collapse_records(args, rng)
    return dict(
        born_dead=born,
        collapse=collapse,
        collapse_curves=curves,
        paper_seconds=dict(
            born_dead=born_seconds,
            collapse=time.perf_counter() - start - born_seconds,
        ),
    )


def _se(p: float, n: int) -> float:
    return float(np.sqrt(p * (1 - p) / n))


def print_paper_table(paper: dict) -> None:
    print("\nborn dead, ReLU: measured ± binomial s.e. (estimate: our bound)")
    for r in paper["born_dead"]:
        if r["activation"] == "relu" and r["depth"] in (10, 20, 50):
            p, n = r["probability"], r["networks"]
            est = "" if r["estimate"] is None else f" (bound {r['estimate']:.4f})"
            print(
                f"{r['init']:19s} N={r['width']:2d} L={r['depth']:2d}: "
                f"{p:.4f} ± {_se(p, n):.4f}{est}"
            )
    leaky = [r for r in paper["born_dead"] if r["activation"] == "leaky_relu"]
    dead = sum(r["probability"] > 0 for r in leaky)
    print(f"LeakyReLU (width, depth, slope, init) cells with a born-dead net: {dead}")
    for r in paper["collapse"]:
        p, n = r["collapsed_fraction"], r["seeds"]
        print(
            f"collapse N={r['width']} L={r['depth']} slope {r['negative_slope']:g}:"
            f" {100 * p:.1f}% ± {100 * _se(p, n):.1f}% of {n} seeds"
        )
    secs = paper["paper_seconds"]
    print(
        f"paper study: born dead {secs['born_dead']:.1f} s, "
        f"collapse {secs['collapse']:.1f} s"
    )


def plot_paper(out: pathlib.Path, paper: dict) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    born = paper["born_dead"]
    widths = sorted({r["width"] for r in born})
    colors = dict(zip(widths, plt.cm.viridis(np.linspace(0, 0.9, len(widths)))))
    titles = {
        "he_normal_zero_bias": "He-normal, zero biases",
        "pytorch_default": "PyTorch default (uniform, with biases)",
    }
    fig, axes = plt.subplots(1, 2, figsize=(10, 4), sharey=True)
    for ax, (init, title) in zip(axes, titles.items(), strict=True):
        for n in widths:
            rows = [
                r
                for r in born
                if r["init"] == init and r["width"] == n and r["activation"] == "relu"
            ]
            depth = [r["depth"] for r in rows]
            ax.plot(depth, [r["probability"] for r in rows], color=colors[n])
            if rows and rows[0]["estimate"] is not None:
                ax.plot(
                    depth, [r["estimate"] for r in rows], "--", color=colors[n], lw=1
                )
            ax.plot([], [], color=colors[n], label=f"N = {n}")
        leaky = [
            r["probability"]
            for r in born
            if r["init"] == init and r["activation"] == "leaky_relu"
        ]
        ax.axhline(max(leaky, default=0.0), color="tab:red", lw=1, ls=":")
        ax.set(xlabel="depth L (hidden layers)", title=title)
    axes[0].plot([], [], "k--", lw=1, label="our bound 1-(1-2^-N)^L")
    axes[0].plot([], [], ":", color="tab:red", lw=1, label="LeakyReLU, any slope")
    axes[0].set_ylabel("P(born dead), ReLU")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "born_dead.png", dpi=80)
    plt.close(fig)

    collapse = paper["collapse"]
    configs = sorted({(r["width"], r["depth"]) for r in collapse})
    fig, ax = plt.subplots(figsize=(6, 3.5))
    bar = 0.8 / max(len(configs), 1)
    for i, (n, depth) in enumerate(configs):
        rows = [r for r in collapse if (r["width"], r["depth"]) == (n, depth)]
        p = np.array([r["collapsed_fraction"] for r in rows])
        se = np.sqrt(p * (1 - p) / rows[0]["seeds"])
        pos = np.arange(len(rows)) + (i - (len(configs) - 1) / 2) * bar
        ax.bar(pos, 100 * p, bar, yerr=200 * se, label=f"width {n}, depth {depth}")
    ax.set_xticks(
        range(len(PAPER_SLOPES)), ["ReLU"] + [f"{s:g}" for s in PAPER_SLOPES[1:]]
    )
    ax.set(
        xlabel="negative_slope",
        ylabel="collapsed to the mean (%)",
        title="Collapse after Adam on |x| (bars: ±2 s.e.)",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "collapse.png", dpi=80)
    plt.close(fig)
    return ["born_dead.png", "collapse.png"]


# ------------------------------------------------------------------- main
def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=pathlib.Path, default=pathlib.Path("runs/dying_relu")
    )
    parser.add_argument("--steps", type=int, default=3000)
    parser.add_argument("--chunk", type=int, default=100, help="steps per scan")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument(
        "--slopes", type=float, nargs="+", default=[0.0, 0.01, 0.05, 0.1, 0.2, 0.3]
    )
    parser.add_argument(
        "--quick", action="store_true", help="a small, fast run (smoke test)"
    )
    parser.add_argument(
        "--paper",
        action="store_true",
        help="accepted for old scripts: the paper study now runs by default",
    )
    parser.add_argument(
        "--no-paper",
        action="store_true",
        help="skip the born-dead sweep and the collapse study (issue 18)",
    )
    parser.add_argument("--paper-seed", type=int, default=0)
    parser.add_argument("--paper-networks", type=int, default=10_000)
    parser.add_argument("--paper-depth", type=int, default=50)
    parser.add_argument("--paper-widths", type=int, nargs="+", default=[2, 3, 4, 5, 10])
    parser.add_argument("--paper-seeds", type=int, default=1000)
    parser.add_argument("--paper-steps", type=int, default=200)
    args = parser.parse_args(argv)
    args.paper_collapse = [(2, 10), (3, 20)]
    if args.quick:
        args.steps, args.chunk, args.seeds = 200, 50, 2
        args.paper_networks, args.paper_depth, args.paper_widths = 500, 10, [2, 5]
        args.paper_seeds, args.paper_steps = 32, 120
        args.paper_collapse = [(2, 10)]
    if args.steps % args.chunk:
        parser.error("--steps must be a multiple of --chunk")
    return args


def main(argv=None) -> dict:
    args = parse_args(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    train_np, test_np = split(*spiral(400, rng), rng, test=0.25)
    train = tuple(map(jnp.asarray, train_np))
    test = tuple(map(jnp.asarray, test_np))
    batches = rng.integers(0, len(train_np[0]), (args.steps, BATCH))
    print(
        f"{len(args.slopes)} slopes x {args.seeds} seeds = "
        f"{len(args.slopes) * args.seeds} models, {args.steps} SGD steps each "
        f"(lr {LEARNING_RATE}, batch {BATCH}), {DEPTH}x{WIDTH} hidden units"
    )

    study = run_study(args, train, test, batches)
    records = model_records(study)
    rows = summarise(records, args.slopes)
    print_table(rows)

    # A leaky model if one trained without diverging, else any that did.
    candidates = [i for i, r in enumerate(records) if not r["diverged"]]
    k = next((i for i in candidates if records[i]["slope"] > 0), candidates[0])
    check_chunks = max(1, min(STATEFUL_STEPS, args.steps) // args.chunk)
    check_steps = check_chunks * args.chunk
    stateful = train_stateful(study, train, batches[:check_steps], k)
    functional = float(study["history"][check_chunks]["train_loss"][k])
    matches = abs(stateful - functional) <= STATEFUL_RTOL * abs(functional)
    print(
        f"\nstateful API (nn.Sequential + compile + backward + SGD), slope "
        f"{records[k]['slope']:g} seed {records[k]['seed']}, after {check_steps} "
        f"steps: train loss {stateful:.6f} vs functional {functional:.6f} "
        f"({'match' if matches else 'MISMATCH'}, rtol {STATEFUL_RTOL})"
    )

    plots = plot_all(args.out, study, records, rows, train_np, args.steps)
    results = dict(
        setting=dict(
            depth=DEPTH,
            width=WIDTH,
            learning_rate=LEARNING_RATE,
            batch=BATCH,
            steps=args.steps,
            seeds=args.seeds,
            slopes=args.slopes,
            kill_setting="large learning rate (SGD 0.3)",
            dead_unit="pre-activation <= 0 for every test input",
        ),
        summary=rows,
        models=records,
        train_seconds=study["seconds"],
        stateful_check=dict(
            slope=records[k]["slope"],
            seed=records[k]["seed"],
            steps=check_steps,
            stateful_loss=stateful,
            functional_loss=functional,
            rtol=STATEFUL_RTOL,
            matches=bool(matches),
        ),
        plots=plots,
    )
    if not args.no_paper:
        paper = paper_study(args)
        print_paper_table(paper)
        results.update(paper)
        plots += plot_paper(args.out, paper)
    (args.out / "results.json").write_text(json.dumps(results, indent=2))
    print(
        f"trained in {study['seconds']:.1f} s; wrote {args.out}/results.json and "
        f"{', '.join(plots)}"
    )
    if not matches:
        raise SystemExit("stateful and functional runs disagree")
    return results


if __name__ == "__main__":
    main()

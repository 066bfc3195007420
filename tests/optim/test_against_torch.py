"""Every optimizer and option: 50 steps on a small MLP equal PyTorch's."""

import copy

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

import lucid_fx
from lucid_fx import Tensor, optim
from lucid_fx.nn import LeakyReLU, Linear, Parameter, Sequential

RNG = np.random.default_rng(0)
X = RNG.normal(size=(16, 5)).astype(np.float32)
Y = RNG.normal(size=(16, 3)).astype(np.float32)
STEPS = 50

# (name, optimizer class name, options); every option of every optimizer.
CASES = [
    ("sgd", "SGD", dict(lr=0.05)),
    ("sgd_default_lr", "SGD", dict()),
    ("sgd_momentum", "SGD", dict(lr=0.05, momentum=0.9)),
    ("sgd_dampening", "SGD", dict(lr=0.05, momentum=0.9, dampening=0.5)),
    ("sgd_nesterov", "SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("sgd_weight_decay", "SGD", dict(lr=0.05, momentum=0.5, weight_decay=0.1)),
    ("sgd_maximize", "SGD", dict(lr=0.01, momentum=0.5, maximize=True)),
    ("adam", "Adam", dict(lr=0.01)),
    ("adam_betas_eps", "Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6)),
    ("adam_weight_decay", "Adam", dict(lr=0.01, weight_decay=0.1)),
    ("adam_amsgrad", "Adam", dict(lr=0.01, amsgrad=True)),
    ("adam_maximize", "Adam", dict(lr=0.01, maximize=True)),
    ("adamw", "AdamW", dict(lr=0.01)),
    ("adamw_amsgrad", "AdamW", dict(lr=0.01, weight_decay=0.5, amsgrad=True)),
    ("adamw_maximize", "AdamW", dict(lr=0.01, maximize=True)),
    ("rmsprop", "RMSprop", dict(lr=0.01)),
    ("rmsprop_alpha_eps", "RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6)),
    ("rmsprop_momentum", "RMSprop", dict(lr=0.01, momentum=0.9)),
    ("rmsprop_centered", "RMSprop", dict(lr=0.01, centered=True)),
    (
        "rmsprop_all",
        "RMSprop",
        dict(lr=0.01, momentum=0.5, centered=True, weight_decay=0.1, maximize=True),
    ),
    ("adagrad", "Adagrad", dict(lr=0.05)),
    ("adagrad_lr_decay", "Adagrad", dict(lr=0.05, lr_decay=0.1, weight_decay=0.1)),
    ("adagrad_init_acc", "Adagrad", dict(lr=0.05, initial_accumulator_value=0.5)),
    ("adagrad_maximize", "Adagrad", dict(lr=0.05, eps=1e-6, maximize=True)),
]


def _models():
    torch.manual_seed(0)
    reference = torch.nn.Sequential(
        torch.nn.Linear(5, 8), torch.nn.LeakyReLU(0.01), torch.nn.Linear(8, 3)
    )
    model = Sequential(Linear(5, 8), LeakyReLU(0.01), Linear(8, 3))
    model.load_state_dict(
        {k: v.detach().numpy() for k, v in reference.state_dict().items()}
    )
    return model, reference


def _groups(params, options, split):
    """Two param groups (first layer at half the lr) when ``split``."""
    if not split:
        return params
    params = list(params)
    lr = options.get("lr", 1e-3)
    return [{"params": params[:2], "lr": lr / 2}, {"params": params[2:]}]


def _close(ours, theirs32, theirs64, what):
    """Ours is as close to PyTorch's float64 run as PyTorch's own float32 run.

    Both float32 runs round differently (summation order, fused multiply-adds
    that differ by CPU), and 50 steps of an adaptive optimizer amplify that:
    RMSprop divides every step by sqrt(v), so an entry whose gradient stays
    near zero takes steps set by rounding. So the oracle is PyTorch in float64,
    and the allowance is a multiple of PyTorch float32's own distance from it
    (seen: up to ~9x on an AMD EPYC CPU; a wrong formula is off by ~lr = 1e-2,
    far beyond it), plus 1e-5 of the largest entry (which steps ran fused
    varies with background compile timing, and a fused program rounds
    differently from the walk).
    """
    truth = np.asarray(theirs64, np.float64)
    noise = float(np.abs(np.asarray(theirs32, np.float64) - truth).max())
    error = float(np.abs(np.asarray(ours, np.float64) - truth).max())
    allowed = 16 * noise + 1e-5 * max(1.0, float(np.abs(truth).max()))
    assert error <= allowed, f"{what}: off by {error:.3g} (allowed {allowed:.3g})"


def _run(model, opt, x, y):
    opt.zero_grad()
    ((model(x) - y) ** 2).mean().backward()
    opt.step()


@pytest.mark.parametrize("split", [False, True], ids=["one_group", "two_groups"])
@pytest.mark.parametrize("name,cls,options", CASES, ids=[c[0] for c in CASES])
def test_fifty_steps_match_pytorch(name, cls, options, split):
    model, reference = _models()
    reference64 = copy.deepcopy(reference).double()
    opt = getattr(optim, cls)(_groups(model.parameters(), options, split), **options)
    ref_opt, ref_opt64 = (
        getattr(torch.optim, cls)(_groups(m.parameters(), options, split), **options)
        for m in (reference, reference64)
    )
    tx, ty = torch.from_numpy(X), torch.from_numpy(Y)
    for _ in range(STEPS):
        _run(model, opt, Tensor(X), Tensor(Y))
        _run(reference, ref_opt, tx, ty)
        _run(reference64, ref_opt64, tx.double(), ty.double())
    want, want64 = reference.state_dict(), reference64.state_dict()
    for key, value in model.state_dict().items():
        _close(value.numpy(), want[key].numpy(), want64[key].numpy(), key)
    ours = opt.state_dict()["state"]
    theirs, theirs64 = ref_opt.state_dict()["state"], ref_opt64.state_dict()["state"]
    assert sorted(ours) == sorted(theirs)
    for i, entry in ours.items():
        assert sorted(entry) == sorted(k for k, v in theirs[i].items() if v is not None)
        for k, v in entry.items():
            _close(v, theirs[i][k].numpy(), theirs64[i][k].numpy(), f"state {i} {k}")


@pytest.mark.parametrize(
    "cls, options, dropped",
    [
        ("Adam", {"amsgrad": True}, ("amsgrad", "maximize")),
        ("AdamW", {}, ("maximize",)),
        ("SGD", {"momentum": 0.9, "nesterov": True}, ("nesterov", "maximize")),
        ("RMSprop", {"momentum": 0.5, "centered": True}, ("momentum", "centered")),
        ("Adagrad", {}, ("maximize",)),
    ],
)
def test_an_older_checkpoint_without_newer_options_loads_as_pytorch(
    cls, options, dropped
):
    # A group saved before an option existed: PyTorch's __setstate__ fills
    # in its fixed default (False, 0) whatever the constructor said.
    rng = np.random.default_rng(0)
    w0 = rng.normal(size=3).astype(np.float32)
    grads = rng.normal(size=(4, 3)).astype(np.float32)
    tp = torch.nn.Parameter(torch.from_numpy(w0.copy()))
    saved_opt = getattr(torch.optim, cls)([tp], lr=0.1)
    tp.grad = torch.from_numpy(grads[0])
    saved_opt.step()
    saved = saved_opt.state_dict()
    for group in saved["param_groups"]:
        for name in dropped:
            group.pop(name)
    theirs = getattr(torch.optim, cls)([tp], lr=0.3, **options)
    theirs.load_state_dict(copy.deepcopy(saved))
    p = Parameter(tp.detach().numpy().copy())
    ours = getattr(optim, cls)([p], lr=0.3, **options)
    ours.load_state_dict(
        {
            "state": {
                k: {n: v.numpy() for n, v in s.items()}
                for k, s in saved["state"].items()
            },
            "param_groups": copy.deepcopy(saved["param_groups"]),
        }
    )
    for name in dropped:
        assert ours.param_groups[0][name] == theirs.param_groups[0][name], name
    for g in grads[1:]:
        tp.grad = torch.from_numpy(g)
        theirs.step()
        p.grad = Tensor(g)
        ours.step()
        np.testing.assert_allclose(p.numpy(), tp.detach().numpy(), rtol=1e-5, atol=1e-6)


def test_a_saved_group_without_lr_is_named_and_changes_nothing():
    p = Parameter([1.0, 2.0])
    opt = optim.Adam([p], lr=0.5)
    saved = opt.state_dict()
    del saved["param_groups"][0]["lr"]
    with pytest.raises(
        ValueError, match=r"(?s)Adam.load_state_dict.*no option \[.lr.\]"
    ):
        opt.load_state_dict(saved)
    assert opt.param_groups[0]["lr"] == 0.5


# One case per optimizer, with the options that reach every hyper scalar.
FLOAT64_NAMES = (
    "sgd_nesterov",
    "sgd_dampening",
    "adam_amsgrad",
    "adamw",
    "rmsprop_all",
    "adagrad_lr_decay",
)
FLOAT64_CASES = [c for c in CASES if c[0] in FLOAT64_NAMES]


def _twenty_float64_steps(step, model, opt, reference, ref_opt):
    """20 steps of ours and PyTorch's in float64 (x64 on): equal to rounding."""
    x, y = X.astype(np.float64), Y.astype(np.float64)
    for _ in range(20):
        step(model, opt, Tensor(x), Tensor(y))
        _run(reference, ref_opt, torch.from_numpy(x), torch.from_numpy(y))
    want = reference.state_dict()
    for key, value in model.state_dict().items():
        assert value.dtype == np.float64
        np.testing.assert_allclose(
            value.numpy(), want[key].numpy(), rtol=1e-13, atol=1e-15, err_msg=key
        )


@pytest.mark.parametrize("compiled", [False, True], ids=["eager", "compiled"])
@pytest.mark.parametrize(
    "name,cls,options", FLOAT64_CASES, ids=[c[0] for c in FLOAT64_CASES]
)
def test_float64_training_matches_pytorch_float64(name, cls, options, compiled):
    # With JAX's 64-bit types on, a float64 model's options (lr, betas, eps,
    # ...) act in float64, as PyTorch's Python floats: 20 steps agree with
    # PyTorch's float64 run to rounding. Float32 options left them ~1e-7 off.
    with jax.enable_x64(True):
        model, reference = _models()
        model.to(dtype=jnp.float64)
        reference = reference.double()
        opt = getattr(optim, cls)(model.parameters(), **options)
        ref_opt = getattr(torch.optim, cls)(reference.parameters(), **options)
        step = lucid_fx.compile(_run) if compiled else _run
        _twenty_float64_steps(step, model, opt, reference, ref_opt)


def test_a_compiled_step_follows_x64_turned_on_between_calls():
    # The compiled step's cached view of the options ignored x64: after a
    # step with x64 off, a float64 model kept float32 options (3.7e-9 off).
    # (No momentum: PyTorch's buffer would stay float32 through .double().)
    model, reference = _models()
    opt = optim.SGD(model.parameters(), lr=0.1)
    ref_opt = torch.optim.SGD(reference.parameters(), lr=0.1)

    def still(model, opt, x):  # a step that moves nothing (zero gradients)
        opt.zero_grad()
        (model(x).sum() * 0.0).backward()
        opt.step()

    lucid_fx.compile(still)(model, opt, Tensor(X))
    still(reference, ref_opt, torch.from_numpy(X))
    step = lucid_fx.compile(_run)
    with jax.enable_x64(True):
        model.to(dtype=jnp.float64)
        reference.double()
        _twenty_float64_steps(step, model, opt, reference, ref_opt)

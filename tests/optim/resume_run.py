"""A training run that saves and resumes model + optimizer + scheduler.

Run by test_resume.py in-process and, for the second half, as
``python -m tests.optim.resume_run KIND COMPILED STEPS LOAD SAVE OUT`` in a
fresh process.
"""

import sys

import numpy as np

import lucid_fx
import lucid_fx.nn as nn
from lucid_fx import Tensor, optim
from lucid_fx.optim import lr_scheduler

TOTAL = 20


def build(kind):
    model = nn.Sequential(nn.Linear(4, 8), nn.LeakyReLU(0.125), nn.Linear(8, 2))
    rng = np.random.default_rng(0)
    model.load_state_dict(
        {
            k: rng.normal(size=p.shape).astype(np.float32)
            for k, p in model.state_dict().items()
        }
    )
    params = list(model.parameters())
    groups = [{"params": params[:2]}, {"params": params[2:], "lr": 0.02}]
    if kind == "adam":
        opt = optim.Adam(groups, lr=0.01, amsgrad=True, weight_decay=0.01)
        sched = lr_scheduler.OneCycleLR(opt, max_lr=[0.05, 0.02], total_steps=TOTAL)
    elif kind == "sgd":
        opt = optim.SGD(groups, lr=0.05, momentum=0.9, nesterov=True)
        sched = lr_scheduler.CosineAnnealingLR(opt, T_max=7, eta_min=0.001)
    else:
        opt = optim.RMSprop(groups, lr=0.01, momentum=0.5, centered=True)
        sched = lr_scheduler.StepLR(opt, step_size=3, gamma=0.5)
    return model, opt, sched


def _step(model, opt, x, y):
    opt.zero_grad()
    loss = ((model(x) - y) ** 2).mean()
    loss.backward()
    opt.step()
    return loss


def train(model, opt, sched, start, stop, compiled):
    step = lucid_fx.compile(_step) if compiled else _step
    for i in range(start, stop):
        rng = np.random.default_rng(100 + i)
        x = Tensor(rng.normal(size=(8, 4)).astype(np.float32))
        y = Tensor(rng.normal(size=(8, 2)).astype(np.float32))
        step(model, opt, x, y)
        sched.step()


def save(model, opt, sched, path):
    arrays = {"model." + k: v for k, v in model.state_dict().items()}
    o_arrays, o_meta = optim.flatten_state_dict(opt.state_dict(), "optim.")
    s_arrays, s_meta = optim.flatten_state_dict(sched.state_dict(), "sched.")
    lucid_fx.save({**arrays, **o_arrays, **s_arrays}, path, {**o_meta, **s_meta})


def load(model, opt, sched, path):
    ckpt = lucid_fx.load(path)
    model.load_state_dict(
        {k.removeprefix("model."): v for k, v in ckpt.items() if k.startswith("model.")}
    )
    opt.load_state_dict(optim.unflatten_state_dict(ckpt, ckpt.metadata, "optim."))
    sched.load_state_dict(optim.unflatten_state_dict(ckpt, ckpt.metadata, "sched."))


def params(model):
    return {k: p.numpy() for k, p in model.state_dict().items()}


if __name__ == "__main__":
    kind, compiled, steps, load_path, save_path, out = sys.argv[1:]
    model, opt, sched = build(kind)
    start = 0
    if load_path != "-":
        load(model, opt, sched, load_path)
        start = TOTAL - int(steps)
    train(model, opt, sched, start, start + int(steps), compiled == "1")
    if save_path != "-":
        save(model, opt, sched, save_path)
    np.savez(out, **params(model))

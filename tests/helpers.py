"""Shared test helpers."""

import importlib.util
import pathlib

import lucid_fx.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_example(name):
    """Import ``examples/<name>.py`` as a module (examples are not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / f"examples/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_step(model, opt, x, y):
    """The eager training step every compile test also runs compiled."""
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss

"""Shared test helpers."""

import lucid_fx.nn.functional as F


def train_step(model, opt, x, y):
    """The eager training step every compile test also runs compiled."""
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss

"""Optimizers (``SGD``, ``Adam``) over Parameters, built on optax."""

from lucid_fx.optim._optimizer import SGD, Adam, Optimizer

__all__ = ["SGD", "Adam", "Optimizer"]

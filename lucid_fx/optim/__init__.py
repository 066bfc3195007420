"""Optimizers over Parameters, as ``torch.optim``, built on optax."""

from lucid_fx.optim import lr_scheduler
from lucid_fx.optim._adam import Adam, AdamW
from lucid_fx.optim._optimizer import Optimizer
from lucid_fx.optim._rmsprop import Adagrad, RMSprop
from lucid_fx.optim._serialize import flatten_state_dict, unflatten_state_dict
from lucid_fx.optim._sgd import SGD

__all__ = [
    "SGD",
    "Adagrad",
    "Adam",
    "AdamW",
    "Optimizer",
    "RMSprop",
    "flatten_state_dict",
    "lr_scheduler",
    "unflatten_state_dict",
]

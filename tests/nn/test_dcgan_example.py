"""The DCGAN discriminator example trains eagerly, and equals functionalize+jit.

The compiled form (which carries BatchNorm's buffers through the program) is
checked in test_stateful_layers_transforms.py once the transforms support it.
"""

import importlib.util
import pathlib

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[2]


def _dcgan():
    spec = importlib.util.spec_from_file_location("dcgan", ROOT / "examples/dcgan.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_discriminator_has_the_dcgan_layout():
    model = _dcgan().discriminator(64)
    names = [type(m).__name__ for m in model]
    assert names == [
        "Conv2D",
        "LeakyReLU",
        "Conv2D",
        "BatchNorm2d",
        "LeakyReLU",
        "Flatten",
        "Linear",
        "Sigmoid",
    ]
    assert model[0].weight.shape == (64, 1, 4, 4)


def test_eager_training_learns_and_matches_functionalize_jit():
    dcgan = _dcgan()
    data = dcgan.batches(20, 16)
    eager = dcgan.train_eager(data, 8)
    functional = dcgan.train_functional(data, 8)
    assert eager[-1] < 0.5 * eager[0]
    np.testing.assert_allclose(functional, eager, rtol=1e-3, atol=1e-4)

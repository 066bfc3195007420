"""The DCGAN discriminator example has DCGAN's layout. That it trains equally
eagerly, compiled and as functionalize + jit is checked in
test_stateful_layers_transforms.py."""

from tests.helpers import load_example


def test_discriminator_has_the_dcgan_layout():
    model = load_example("dcgan").discriminator(64)
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

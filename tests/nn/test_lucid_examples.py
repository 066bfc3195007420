"""lucid 0.13's own examples for the nn pages run on lucid_fx, ``lucid = lucid_fx``.

The runner is ``tests/lucid_pages.py``, shared with the op pages' test
(``tests/ops/test_lucid_examples.py``). Prints whose numbers cannot be lucid's,
because lucid's page is wrong or the numbers are random draws, are listed in
``KNOWN`` with the reason; ``docs/nn/lucid_differences.rst`` lists the same.
"""

from __future__ import annotations

import pytest

from tests.lucid_pages import MISSING, check_page, pages

PAGES = pages("nn", only_examples=True)

_ACT = "nn/functions/activation/"
_MOD = "nn/modules/"
_WEIGHTS = "random draws: a new layer's weights are random; lucid prints round numbers"
_FROM_WEIGHTS = "random draws: follows from the layer's random weights"
_MODEL = "random draws: follows from the model's random weights"

# (page, n-th print on the page): why lucid's printed numbers are not ours.
KNOWN = {
    # Activations: gradients that contradict the page's own derivative.
    (_ACT + "gelu.rst", 1): "the derivative of the tanh GELU at [-1, 0, 1] is "
    "[-0.0830, 0.5, 1.0830] (PyTorch approximate='tanh'); lucid prints Phi(x)",
    (_MOD + "activation/GELU.rst", 1): "the derivative at [-1, 0, 1, 2] is "
    "[-0.0830, 0.5, 1.0830, 1.0861]; lucid prints Phi(x) and 1.0",
    (_ACT + "leaky_relu.rst", 1): "the gradient at x == 0 is negative_slope = "
    "0.1 (the page's rule: slope where x <= 0); lucid prints 0.0",
    (_MOD + "activation/LeakyReLU.rst", 3): "the gradient at x == 0 is "
    "negative_slope = 0.1; lucid prints 0.0",
    (_ACT + "selu.rst", 0): "selu(-1) = scale * alpha * (exp(-1) - 1) = -1.1113; "
    "lucid prints -scale * alpha = -1.7581, the limit at -inf",
    (_ACT + "selu.rst", 1): "the gradient at [-1, 0, 2] is [0.6468, 1.7581, "
    "1.0507] (scale * alpha * exp(x) where x <= 0); lucid prints [0.3679, "
    "1.0507, 1.0507]",
    (_MOD + "activation/SELU.rst", 0): "selu([-1, 2, -0.5, 3]) is [-1.1113, "
    "2.1014, -0.6918, 3.1521]; lucid leaves out the scale on positives",
    (_MOD + "activation/SELU.rst", 1): "the gradient is [0.6468, 1.0507, "
    "1.0663, 1.0507]; lucid prints [0.2547, 1.0, 0.2324, 1.0]",
    (_ACT + "sigmoid.rst", 1): "sigmoid'(3) = s(3) * (1 - s(3)) = 0.0452; lucid "
    "prints 1 - s(3) = 0.0474",
    (_MOD + "activation/ELU.rst", 2): "elu(-3) with alpha 0.5 is 0.5 * (exp(-3) "
    "- 1) = -0.4751; lucid prints -0.4979",
    (_MOD + "activation/ELU.rst", 3): "the gradient at [-2, 0, 1.5, -3] is "
    "alpha * exp(x) where x <= 0: [0.0677, 0.5, 1.0, 0.0249]; lucid prints "
    "[0.4323, 0.0, 1.0, 0.2512]",
    # Convolutions and unfold.
    ("nn/functions/conv/conv1d.rst", 1): "kernel [1, 0.5] dilated by 2 over "
    "[1, 2, 3, 4] gives [1 + 1.5, 2 + 2] = [2.5, 4.0]; lucid prints [1.0, 4.0]",
    ("nn/functions/conv/conv1d.rst", 2): "the second group is [5, 6, 7, 8] with "
    "kernel [0.5, 1]: [8.5, 10.0, 11.5]; lucid prints [5.5, 7.0, 8.5]",
    ("nn/functions/conv/conv2d.rst", 0): "[[1, 2], [3, 4]] with kernel [[1, "
    "0.5], [0.5, 1]] is 1 + 1 + 1.5 + 4 = 7.5; lucid prints 10.0",
    ("nn/functions/conv/conv2d.rst", 1): "the kernel dilated by 2 meets the "
    "corners 1, 3, 7, 9: 1 + 1.5 + 3.5 + 9 = 15.0; lucid prints 6.0",
    ("nn/functions/conv/conv2d.rst", 2): "the groups give 7.5 and 19.5; lucid "
    "prints 10.0 and 19.0",
    ("nn/functions/conv/conv3d.rst", 1): "the (1, 2, 2) kernel dilated by 2 spans "
    "(1, 3, 3), more than the 2x2x2 input: there is no output position, an "
    "error here as in PyTorch (REWRITES pads H and W by 1 so it runs); lucid "
    "prints [[[[[1.0]]]]]",
    ("nn/functions/conv/conv3d.rst", 2): "with the weight's missing bracket "
    "restored (REWRITES) the groups give [7.5, 19.5] and [7.5, 19.5] over the "
    "two depths; lucid prints 10.0 and 19.0",
    ("nn/functions/conv/unfold.rst", 1): "a 2x2 kernel dilated by 2 fits a 3x3 "
    "image once: the (1, 4, 1) column [1, 3, 7, 9], the shape lucid's comment "
    "gives; lucid prints six numbers",
    (_MOD + "conv/Conv1D.rst", 0): _WEIGHTS,
    (_MOD + "conv/Conv1D.rst", 2): _FROM_WEIGHTS,
    (_MOD + "conv/Conv1D.rst", 3): "the (1, 1, 2) weight's gradient is "
    "[1 + 2 + 3, 2 + 3 + 4] = [6, 9]; lucid prints three numbers [1, 2, 3]",
    (_MOD + "conv/Conv1D.rst", 4): _WEIGHTS,
    (_MOD + "conv/Conv1D.rst", 5): _WEIGHTS,
    (_MOD + "conv/Conv1D.rst", 6): _FROM_WEIGHTS,
    (_MOD + "conv/Conv1D.rst", 7): "each kernel tap sums its input over 2 "
    "samples and 3 positions: [27, 33, 39] per channel; lucid prints [[1, 2, "
    "3], [4, 5, 6]]",
    (_MOD + "conv/Conv1D.rst", 8): "bias.grad counts 2 samples x 3 positions = "
    "[6, 6]; lucid prints [2, 2]",
    (_MOD + "conv/Conv2D.rst", 0): _WEIGHTS,
    (_MOD + "conv/Conv2D.rst", 1): _FROM_WEIGHTS,
    (_MOD + "conv/Conv2D.rst", 2): "the 2x2 weight's gradient sums each tap "
    "over the 2x2 output positions: [[12, 16], [24, 28]]; lucid prints [[1, "
    "2], [4, 5]]",
    (_MOD + "conv/Conv2D.rst", 3): _WEIGHTS,
    (_MOD + "conv/Conv2D.rst", 4): _WEIGHTS,
    (_MOD + "conv/Conv2D.rst", 5): _FROM_WEIGHTS,
    (_MOD + "conv/Conv2D.rst", 6): "each tap sums its input over 2 samples and "
    "2x3 positions: [[120, 132], [168, 180]] per channel; lucid prints [[1, 2], "
    "[3, 4]]",
    (_MOD + "conv/Conv2D.rst", 7): "bias.grad counts 2 samples x 6 positions = "
    "[12, 12]; lucid prints [2, 2]",
    (_MOD + "conv/Conv3D.rst", 0): _WEIGHTS,
    (_MOD + "conv/Conv3D.rst", 1): _FROM_WEIGHTS,
    (_MOD + "conv/Conv3D.rst", 2): _FROM_WEIGHTS,
    (_MOD + "conv/Conv3D.rst", 3): "with one output position the weight's "
    "gradient is the input, 1..8; lucid prints [1, 2, 3, 4] twice",
    (_MOD + "conv/Conv3D.rst", 4): _WEIGHTS,
    (_MOD + "conv/Conv3D.rst", 5): _WEIGHTS,
    # Linear and bilinear.
    ("nn/functions/linear/linear.rst", 1): "input_.grad is ones(1, 2) @ weight "
    "= [[11, 13, 15]], shape (1, 3); lucid prints the (2, 3) weight",
    ("nn/functions/linear/linear.rst", 3): "[3, 4] @ [[5, 7], [6, 8]] + [9, 10] "
    "= [48, 63]; lucid prints [48, 75]",
    ("nn/functions/linear/linear.rst", 4): "input_.grad is ones(2, 2) @ weight "
    "= [[12, 14], [12, 14]]; lucid prints the weight",
    ("nn/functions/linear/linear.rst", 5): "weight.grad is ones(2, 2).T @ "
    "input_ = [[4, 6], [4, 6]]; lucid prints the input",
    ("nn/functions/linear/bilinear.rst", 1): "input_1.grad is [5*3 + 6*4, 7*3 "
    "+ 8*4] = [39, 53], as the page's own sum says; lucid prints 27 for 39",
    ("nn/functions/linear/bilinear.rst", 5): "input_1.grad is W @ x2 per row: "
    "[[105, 127], [143, 173]]; lucid prints [[45, 82], [119, 170]]",
    ("nn/functions/linear/bilinear.rst", 6): "input_2.grad is W.T @ x1 per row: "
    "[[31, 34], [71, 78]]; lucid prints [[31, 34], [57, 62]]",
    ("nn/functions/linear/bilinear.rst", 7): "weight.grad sums the outer "
    "products over the batch: [[[26, 30], [38, 44]]], shape (1, 2, 2); lucid "
    "prints a (2, 2, 2) per-sample stack",
    ("nn/functions/linear/bilinear.rst", 8): "the (1, 1) bias gets the sum over "
    "2 samples: [[2.0]]; lucid prints [[1], [1]], shape (2, 1)",
    (_MOD + "linear/Linear.rst", 0): _WEIGHTS,
    (_MOD + "linear/Linear.rst", 1): _FROM_WEIGHTS,
    (_MOD + "linear/Linear.rst", 2): _FROM_WEIGHTS,
    (_MOD + "linear/Linear.rst", 4): _WEIGHTS,
    (_MOD + "linear/Linear.rst", 5): _WEIGHTS,
    (_MOD + "linear/Linear.rst", 6): _FROM_WEIGHTS,
    (_MOD + "linear/Linear.rst", 7): _FROM_WEIGHTS,
    (_MOD + "linear/Linear.rst", 8): "weight.grad is ones(2, 2).T @ input = "
    "[[4, 6], [4, 6]]; lucid prints the input",
    (_MOD + "linear/Linear.rst", 9): "bias.grad counts 2 samples: [2, 2]; "
    "lucid prints [1, 1]",
    (_MOD + "linear/Bilinear.rst", 0): _WEIGHTS,
    (_MOD + "linear/Bilinear.rst", 4): "weight.grad is the outer product of "
    "[1, 2] and [3, 4]: [[3, 4], [6, 8]]; lucid prints [[3, 4], [3, 4]]",
    (_MOD + "linear/Bilinear.rst", 5): _WEIGHTS,
    (_MOD + "linear/Bilinear.rst", 6): _WEIGHTS,
    (_MOD + "linear/Bilinear.rst", 11): "bias.grad counts 2 samples: [2, 2]; "
    "lucid prints [1, 1]",
    # Small models built from layers with random weights.
    (_MOD + "activation/SELU.rst", 2): _MODEL,
    (_MOD + "activation/SELU.rst", 3): _MODEL,
    (_MOD + "activation/Sigmoid.rst", 2): _MODEL,
    (_MOD + "activation/Sigmoid.rst", 3): _MODEL,
    (_MOD + "activation/Sigmoid.rst", 4): _MODEL,
    (_MOD + "activation/Sigmoid.rst", 5): _MODEL,
    (_MOD + "activation/Tanh.rst", 2): _MODEL,
    (_MOD + "activation/Tanh.rst", 3): _MODEL,
    (_MOD + "activation/Tanh.rst", 4): _MODEL,
    (_MOD + "activation/Tanh.rst", 5): _MODEL,
}
# Code that cannot run as lucid wrote it -> what runs instead.
REWRITES = {
    # The dilated kernel spans more than the input: an error, as in PyTorch.
    "F.conv3d(input_, weight, bias, stride=1, padding=0, dilation=2, groups=1)": (
        "F.conv3d(input_, weight, bias, stride=1, padding=(0, 1, 1), dilation=2)"
    ),
    # lucid 0.13 has randn in lucid.random only.
    "lucid.randn(": "lucid.random.randn(",
    # The second kernel lacks a bracket level (a ragged nested list); with it
    # the weight is (2, 1, 1, 2, 2).
    "[[[[[1.0, 0.5], [0.5, 1.0]]]], [[[0.5, 1.0], [1.0, 0.5]]]]": (
        "[[[[[1.0, 0.5], [0.5, 1.0]]]], [[[[0.5, 1.0], [1.0, 0.5]]]]]"
    ),
    # The input is (1, 1, 4, 4), not the (1, 3, 4, 4) its comment says, and the
    # model's Linear(32 * 16 * 16, 10) needs a 32x32 image: (1, 3, 32, 32).
    "], requires_grad=True)  # Shape: (1, 3, 4, 4)": "], requires_grad=True)\n"
    "input_data = lucid.random.randn(1, 3, 32, 32, requires_grad=True)",
    # The input is (1, 1, 3, 3), not (1, 1, 3, 3, 3); the model's unpadded
    # conv2, pool and Linear(16 * 4 * 4 * 4, 10) need (1, 1, 10, 10, 10).
    "], requires_grad=True)  # Shape: (1, 1, 3, 3, 3)": "], requires_grad=True)\n"
    "input_data = lucid.random.randn(1, 1, 10, 10, 10, requires_grad=True)",
    # The input is (1, 2, 2, 2), one unbatched channel, not the (1, 2, 2, 2, 2)
    # its comment says; a 2-channel layer cannot take it, a 1-channel one can.
    "nn.Conv3D(in_channels=2, out_channels=1, kernel_size=2, bias=False)": (
        "nn.Conv3D(in_channels=1, out_channels=1, kernel_size=2, bias=False)"
    ),
}


def test_lucid_nn_pages_are_present():
    # Without this an absent checkout would parametrize nothing and pass.
    assert len(PAGES) >= 46, MISSING


@pytest.mark.parametrize("page", PAGES)
def test_lucid_nn_examples_run_and_print_lucids_numbers(page):
    check_page(page, KNOWN, REWRITES)

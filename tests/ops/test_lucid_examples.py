"""lucid 0.13's own examples for the op pages run on lucid_fx, ``lucid = lucid_fx``.

The runner is ``tests/lucid_pages.py``: each page's ``>>>`` lines run in one
namespace, every ``print`` is compared with the numbers lucid's page prints
after it. Where lucid's printed numbers are wrong (they contradict the page's
own math, NumPy and PyTorch) or cannot match by design (random draws), the
print is listed in ``KNOWN`` with the reason; ``docs/ops/lucid_differences.rst``
lists the same. A KNOWN entry that starts matching fails too, so the list stays
true.
"""

from __future__ import annotations

import pytest

import lucid_fx
from tests.lucid_pages import MISSING, check_page, pages

PAGES = pages("tensor/operations", "tensor/utilities", "linalg", "random")

# (page, n-th print on the page): why lucid's printed numbers are not ours.
KNOWN = {
    ("tensor/operations/bfunc/dot.rst", 4): "a.grad of a@b with ones is ones@b.T = "
    "[[11, 15], [11, 15]]; lucid prints [[5, 7], [5, 7]]",
    ("tensor/operations/bfunc/dot.rst", 5): "b.grad is a.T@ones = [[4, 4], [6, 6]]; "
    "lucid prints [[1, 3], [2, 4]]",
    ("tensor/operations/bfunc/inner.rst", 3): "inner of 2x2 matrices is 2x2 "
    "[[17, 23], [39, 53]]; lucid prints its diagonal [17, 53]",
    ("tensor/operations/bfunc/inner.rst", 4): "follows from the above: a.grad is "
    "[[12, 14], [12, 14]]",
    ("tensor/operations/bfunc/inner.rst", 5): "b.grad is [[4, 6], [4, 6]]",
    ("tensor/operations/bfunc/outer.rst", 2): "b.grad of outer(a, b) with ones is "
    "sum(a) = [3, 3]; lucid prints [3, 9]",
    ("tensor/operations/bfunc/matmul.rst", 1): "[[1, 2], [3, 4]] @ [[9, 10], [11, "
    "12]] is [[31, 34], [71, 78]]; lucid prints [[31, 34], [67, 74]]",
    ("tensor/operations/bfunc/power.rst", 2): "b.grad is a**b ln a = [5.545, 9.888, "
    "5.545] (4 ln 4 = 5.545); lucid prints 2.772 for the last",
    ("linalg/operations/qr.rst", 1): "R[1, 1] is -0.6325 (NumPy, PyTorch and the "
    "printed Q: Q @ R must give a); lucid prints +0.6325",
    ("tensor/operations/bfunc/outer.rst", 5): "b.grad is sum(a) = 10 per element; "
    "lucid prints [[10, 26], [18, 34]]",
    ("tensor/operations/ufunc/sum.rst", 2): "sum over axes (0, 2) of the 2x2x2 "
    "example is [[[14], [22]]]; lucid prints [[[6]] [8]]",
    ("tensor/operations/ufunc/trace.rst", 1): "the traces of [[1, 2], [3, 4]] and "
    "[[5, 6], [7, 8]] are 5 and 13; lucid prints [5 15]",
    ("tensor/operations/ufunc/mean.rst", 2): "mean over axes (0, 2) of 1..8 is "
    "[[[3.5], [5.5]]]; lucid prints [[[4.]]]",
    ("tensor/operations/ufunc/var.rst", 2): "var over axes (0, 2) of 1..8 is "
    "[[[4.25], [4.25]]]; lucid prints [[[2.]]]",
    ("tensor/operations/ufunc/tan.rst", 0): "tan(float32(pi/2)) is -22877332, not "
    "inf (pi/2 is not exactly representable)",
    ("tensor/utilities/tile.rst", 0): "tile([1, 2, 3], 2) is [1, 2, 3, 1, 2, 3] "
    "(NumPy, PyTorch); lucid prints repeat's output",
    ("tensor/utilities/tile.rst", 2): "tile of [[1, 2], [3, 4]] by (2, 3) is 4x6 "
    "with rows [1, 2, 1, 2, 1, 2]; lucid prints repeat-like rows",
    ("tensor/utilities/tile.rst", 3): "every element appears 6 times: a.grad is "
    "[[6, 6], [6, 6]]; lucid prints [[3, 3], [7, 7]]",
    ("tensor/utilities/repeat.rst", 3): "each element repeated 3 times: a.grad is "
    "[[3, 3], [3, 3]]; lucid prints [[3, 3], [6, 6]]",
    ("linalg/operations/eig.rst", 1): "the eigenvector for eigenvalue 2 of "
    "[[4, -2], [1, 1]] is [0.7071, 0.7071]; lucid prints [-0.7071, 0.7071], which "
    "is not an eigenvector",
    ("random/functions/rand.rst", 0): "random draws: JAX's generator, not NumPy's",
    ("random/functions/randn.rst", 0): "random draws: JAX's generator, not NumPy's",
    ("random/functions/randint.rst", 0): "random draws: JAX's generator, not NumPy's",
    ("random/functions/seed.rst", 0): "random draws: JAX's generator, not NumPy's",
    ("random/functions/seed.rst", 1): "random draws: JAX's generator, not NumPy's",
}
# Code that cannot run as lucid wrote it -> what runs instead.
REWRITES = {
    # Integer tensors cannot require grad (PyTorch's rule; see random.randint).
    "lucid.random.randint(1, 5, (3, 2), requires_grad=True)": (
        "lucid.random.randint(1, 5, (3, 2)).float().requires_grad_()"
        if hasattr(lucid_fx.Tensor, "requires_grad_")
        else "lucid_fx.Tensor(lucid.random.randint(1, 5, (3, 2)).float().data, True)"
    ),
}


def test_lucid_pages_are_present():
    # Without this an absent checkout would parametrize nothing and pass.
    assert len(PAGES) >= 60, MISSING


@pytest.mark.parametrize("page", PAGES)
def test_lucid_examples_run_and_print_lucids_numbers(page):
    check_page(page, KNOWN, REWRITES)

"""lucid 0.13's keyword names of ``nn.functional`` (``input_``, ``input_1``) are
accepted beside PyTorch's (``input``, ``input1``), read off lucid's own pages."""

import ast
import inspect
import re

import pytest

import lucid_fx.nn.functional as F
from tests.lucid_pages import LUCID, MISSING

_PAGES = sorted((LUCID / "nn" / "functions").rglob("*.rst"))


def _lucid_signatures():
    out = {}
    for page in _PAGES:
        found = re.search(r"def ([a-z_0-9]+)\((.*?)\)\s*->", page.read_text(), re.S)
        if found:
            args = ast.parse(f"def f({found.group(2)}): pass").body[0].args
            out[found.group(1)] = [a.arg for a in args.args + args.kwonlyargs]
    return out


def test_the_lucid_pages_are_there():
    assert _PAGES, MISSING


@pytest.mark.parametrize("name, lucid_names", sorted(_lucid_signatures().items()))
def test_every_lucid_parameter_name_is_a_keyword_here(name, lucid_names):
    fn = getattr(F, name)
    ours = list(inspect.signature(fn).parameters)
    renames = {"input_": "input", "input_1": "input1", "input_2": "input2"}
    for lucid_name in lucid_names:
        assert renames.get(lucid_name, lucid_name) in ours, (name, lucid_name)


def test_lucid_keywords_call_the_same_function():
    import numpy as np

    from lucid_fx import Tensor

    x = Tensor([[-1.0, 2.0]])
    np.testing.assert_array_equal(F.relu(input_=x).numpy(), F.relu(x).numpy())
    loss = F.mse_loss(input_=x, target=Tensor([[0.0, 0.0]]))
    assert loss.item() == F.mse_loss(x, Tensor([[0.0, 0.0]])).item() == 2.5
    w = Tensor(np.ones((1, 2, 2), np.float32))
    out = F.bilinear(input_1=x, input_2=x, weight=w)
    np.testing.assert_array_equal(out.numpy(), F.bilinear(x, x, w).numpy())
    with pytest.raises(TypeError, match="relu: got both input_="):
        F.relu(input_=x, input=x)

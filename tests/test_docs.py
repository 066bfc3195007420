"""Every public object documents itself with a runnable example, and the docs
pages follow the spec's layout (their examples run via --doctest-glob)."""

import importlib
import inspect
import pathlib

import pytest

PACKAGES = (
    "lucid_fx",
    "lucid_fx.functional",
    "lucid_fx.layers",
    "lucid_fx._tensor",
    "lucid_fx.nn",
    "lucid_fx.nn.functional",
    "lucid_fx.optim",
    "lucid_fx.random",
    "lucid_fx.io",
    "lucid_fx.transforms",
)
DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs"
SPEC_PAGES = ("functional/leaky_relu.rst", "layers/LeakyReLU.rst", "nn/LeakyReLU.rst")


def _public():
    seen = {}
    for package in PACKAGES:
        module = importlib.import_module(package)
        for name in module.__all__:
            obj = getattr(module, name)
            if not inspect.ismodule(obj) and not name.startswith("__"):
                seen.setdefault(id(obj), (f"{package}.{name}", obj))
    return sorted(seen.values(), key=lambda item: item[0])


@pytest.mark.parametrize(
    "name,obj", _public(), ids=lambda v: v if isinstance(v, str) else ""
)
def test_public_object_has_a_doctested_example(name, obj):
    doc = inspect.getdoc(obj) or ""
    assert doc.strip(), f"{name} has no docstring"
    assert ">>>" in doc, f"{name} has no example"


@pytest.mark.parametrize("page", SPEC_PAGES)
def test_spec_pages_keep_the_spec_layout(page):
    text = (DOCS / page).read_text()
    sections = [
        "Parameters",
        "Forward Calculation",
        "Backward Gradient Calculation",
        "Examples",
    ]
    positions = [text.index(f"\n{s}\n") for s in sections]
    assert positions == sorted(positions)
    assert "Signature" in text and ">>>" in text

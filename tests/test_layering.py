"""Each layer imports only leftward: functional <- layers <- _tensor <- nn <- ...

See STYLE.md section 2. Any rightward import (or a relative import) fails here.
"""

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "lucid_fx"
ORDER = (
    "functional",
    "layers",
    "_tensor",
    "linalg",
    "random",
    "nn",
    "optim",
    "io",
    "transforms",
)
SHARED = {"_typing", "_validate"}


def _layer_of(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "lucid_fx" or len(parts) < 2:
        return None
    return parts[1]


def _files():
    return sorted(p for p in PACKAGE.rglob("*.py") if p.parent != PACKAGE)


def _imports(path: pathlib.Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                yield "." * node.level + (node.module or "")
            elif node.module:
                yield node.module
                yield from (f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names)


def test_every_layer_is_known():
    layers = {p.relative_to(PACKAGE).parts[0] for p in _files()}
    assert layers <= set(ORDER), layers - set(ORDER)


@pytest.mark.parametrize("path", _files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_only_leftward(path):
    own = ORDER.index(path.relative_to(PACKAGE).parts[0])
    for module in _imports(path):
        assert not module.startswith("."), f"{path}: relative import {module!r}"
        layer = _layer_of(module)
        if layer is None or layer in SHARED or layer not in ORDER:
            continue
        assert ORDER.index(layer) <= own, f"{path} imports {module} (rightward)"


def test_top_level_modules_only_shared_helpers():
    for name in SHARED:
        for module in _imports(PACKAGE / f"{name}.py"):
            assert _layer_of(module) in (None, *SHARED), (name, module)

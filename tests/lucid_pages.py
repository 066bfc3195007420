"""Run lucid 0.13's own ``>>>`` doc examples on lucid_fx, ``lucid = lucid_fx``.

Shared by ``tests/ops/test_lucid_examples.py`` and ``tests/nn/test_lucid_examples.py``.
Each page's ``>>>`` lines run in one namespace. Every ``print`` is captured and
its numbers compared with the numbers lucid's page prints after it (the text
formats differ: lucid prints NumPy's style). A test names the prints where
lucid's printed numbers are wrong or cannot match by design in a ``known`` dict
(page, n-th print) -> reason, and code that cannot run as lucid wrote it in a
``rewrites`` dict (lucid's code -> what runs instead). A known entry that starts
matching fails too, so the lists stay true.
"""

from __future__ import annotations

import math
import os
import pathlib
import re
import warnings

import numpy as np

import lucid_fx
import lucid_fx.nn
import lucid_fx.nn.functional


def _lucid_docs() -> pathlib.Path:
    # lucid 0.13's doc sources (MIT), not vendored in this repository: they sit
    # in a shared/ folder beside or above the checkout (a git worktree may be
    # nested one level deeper than the main checkout).
    if "LUCID_DOCS" in os.environ:
        return pathlib.Path(os.environ["LUCID_DOCS"])
    here = pathlib.Path(__file__).resolve()
    for folder in here.parents:
        candidate = folder / "shared" / "seed" / "lucid-0.13"
        if candidate.is_dir():
            return candidate
    return here.parents[2] / "shared" / "seed" / "lucid-0.13"


LUCID = _lucid_docs()
MISSING = (
    f"lucid 0.13's docs not found under {LUCID}: set LUCID_DOCS to the folder "
    "holding tensor/, linalg/, random/ and nn/."
)

_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?|[-+]?inf|nan")
_NOISE = re.compile(r"dtype=\w+|grad=None|requires_grad=\w+|\b(?:float|int)\d+\b")
_ARITHMETIC = re.compile(r"[\d)]\s*[*+/]\s*[\d(]")


def pages(*folders: str, only_examples: bool = False) -> list[str]:
    """The pages under ``folders``: all, or those with ``>>>`` examples."""
    found = [
        p
        for folder in folders
        for p in (LUCID / folder).rglob("*.rst")
        if p.name != "index.rst"
    ]
    return sorted(
        str(p.relative_to(LUCID))
        for p in found
        if not only_examples or ">>>" in p.read_text()
    )


def _blocks(text: str) -> list[tuple[str, str | None]]:
    """(code, expected output or None) for every >>> statement of a page."""
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        s = lines[i].strip()
        if not s.startswith(">>>"):
            i += 1
            continue
        code = [s[4:]]
        i += 1
        while i < len(lines) and (
            lines[i].strip().startswith("...") or _unclosed("\n".join(code))
        ):
            # lucid sometimes continues a statement on a plain or a >>> line.
            line = lines[i].strip()
            code.append(line[4:] if line.startswith((">>>", "...")) else line)
            i += 1
        expected = []
        while (
            i < len(lines)
            and lines[i].strip()
            and not lines[i].strip().startswith((">>>", ".."))
        ):
            expected.append(lines[i].split("#")[0])
            i += 1
        out.append(("\n".join(code), "\n".join(expected) or None))
    return out


def _unclosed(code: str) -> bool:
    try:
        compile(code, "<page>", "exec")
    except SyntaxError as error:
        return "never closed" in str(error)
    return False


def _lucid_numbers(expected: str) -> list[float]:
    """The numbers of lucid's output, less any worked derivation before it.

    Some pages show ``[[(5*3 + 6*4), ...]]`` and then the value: each
    bracket-balanced piece holding arithmetic is the derivation, not output.
    """
    pieces, piece = [], ""
    for line in expected.splitlines():
        piece += line + "\n"
        if sum(piece.count(c) for c in "([{") == sum(piece.count(c) for c in ")]}"):
            pieces.append(piece)
            piece = ""
    kept = "".join(p for p in [*pieces, piece] if not _ARITHMETIC.search(p))
    return [float(v) for v in _NUMBER.findall(_NOISE.sub("", kept))]


def _numbers_of(obj) -> list[float] | None:
    if isinstance(obj, bool | str) or obj is None:
        return None
    array = np.asarray(obj)
    if array.dtype.kind not in "biufc":
        return None
    return [float(v) for v in np.real(array).ravel()]


def _lucid_tensor(data, *args, **kwargs):
    # lucid makes Python lists float32 (issue 14; helper "tensor" makes this
    # lucid_fx.Tensor's own default). Until then the examples get it here.
    if isinstance(data, list | int | float):
        data = np.asarray(data, np.float32)
    return lucid_fx.Tensor(data, *args, **kwargs)


def _run_page(page: str, rewrites: dict[str, str]):
    printed: list[tuple] = []
    namespace = {
        "lucid": lucid_fx,
        "lucid_fx": lucid_fx,
        "nn": lucid_fx.nn,
        "F": lucid_fx.nn.functional,
        "np": np,
        "math": math,
        "Tensor": _lucid_tensor,
        "print": lambda *args, **kw: printed.append(args),
    }
    lucid_fx_tensor = lucid_fx.Tensor
    results = []
    for code, expected in _blocks((LUCID / page).read_text()):
        code = code.replace("lucid.Tensor(", "Tensor(")
        for old, new in rewrites.items():
            code = code.replace(old, new)
        if code.startswith("import "):
            continue
        before = len(printed)
        with warnings.catch_warnings():
            # float64 without jax_enable_x64 becomes float32 with JAX's warning.
            warnings.filterwarnings("ignore", message=".*float64.*not available")
            exec(compile(code, page, "single" if expected else "exec"), namespace)
        if len(printed) > before and expected is not None:
            results.append((printed[-1], expected))
    assert lucid_fx.Tensor is lucid_fx_tensor
    return results


def check_page(page: str, known: dict, rewrites: dict[str, str]) -> None:
    """Run ``page`` and compare each print with lucid's, ``known`` excepted."""
    for k, (args, expected) in enumerate(_run_page(page, rewrites)):
        ours = [_numbers_of(a) for a in args]
        if any(n is None for n in ours):
            continue
        theirs = _lucid_numbers(expected)
        if not theirs and (page, k) not in known:
            continue  # lucid shows no value ("Tensor(...)", a comment only)
        flat = [v for n in ours for v in n]
        same = len(flat) == len(theirs) and np.allclose(
            flat, theirs, rtol=2e-3, atol=1e-3, equal_nan=True
        )
        if (page, k) in known:
            assert not same, f"{page} print {k} now matches lucid: drop it from KNOWN"
        else:
            assert same, f"{page} print {k}: ours {flat}, lucid's {theirs}"

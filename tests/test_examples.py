"""Smoke tests: the examples run as a user runs them and print what they claim."""

import pathlib
import subprocess
import sys

EXAMPLES = pathlib.Path(__file__).resolve().parents[1] / "examples"


def _run(name, *args):
    done = subprocess.run(
        [sys.executable, str(EXAMPLES / name), *args],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_quickstart_prints_the_spec_examples():
    out = _run("quickstart.py")
    assert "output:   [[-0.01, 2.0, -0.005, 3.0]]" in out
    assert "gradient: [[0.01, 1.0, 0.01, 1.0]]" in out
    assert "output:   [[-0.2, 0.0, 1.5, -0.3]]" in out
    assert "gradient: [[0.1, 0.1, 1.0, 0.1]]" in out

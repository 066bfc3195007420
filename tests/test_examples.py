"""Smoke tests: the examples run as a user runs them and print what they claim."""

import json
import math
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


def test_dying_relu_quick_writes_finite_results(tmp_path):
    out = _run("dying_relu.py", "--quick", "--out", str(tmp_path))
    assert "match" in out and "MISMATCH" not in out
    results = json.loads((tmp_path / "results.json").read_text())
    assert {"born_dead.png", "collapse.png"} <= set(results["plots"])
    for name in results["plots"]:
        assert (tmp_path / name).stat().st_size > 1000
    assert len(results["models"]) == 12
    trained = [m for m in results["models"] if not m["diverged"]]
    assert trained
    for m in trained:
        values = [m["train_acc"], m["test_acc"], m["train_loss"], m["dead_fraction"]]
        assert all(math.isfinite(v) for v in values), m
        assert 0.0 <= m["dead_fraction"] <= 1.0
    assert results["stateful_check"]["matches"]
    _check_paper_records(results)


def _check_paper_records(results):
    """The issue-18 records, which the default (and --quick) run now writes."""
    keys = {"activation", "negative_slope", "init", "width", "depth", "networks"}
    keys |= {"probability", "estimate"}
    assert results["born_dead"]
    for r in results["born_dead"]:
        assert set(r) == keys, r
        assert 0.0 <= r["probability"] <= 1.0
        if r["activation"] == "leaky_relu":
            assert r["probability"] == 0.0 and r["estimate"] == 0.0
    relu = {
        (r["width"], r["depth"]): r
        for r in results["born_dead"]
        if r["activation"] == "relu" and r["init"] == "he_normal_zero_bias"
    }
    assert relu[(2, 10)]["probability"] > relu[(5, 10)]["probability"]
    assert relu[(2, 10)]["estimate"] == 1 - 0.75**10
    ckeys = {"activation", "negative_slope", "width", "depth", "seeds"}
    ckeys |= {"collapsed_fraction"}
    assert len(results["collapse"]) == 4
    for r in results["collapse"]:
        assert set(r) == ckeys and 0.0 <= r["collapsed_fraction"] <= 1.0


def test_dying_relu_still_accepts_paper_flag():
    # --paper used to switch the study on; old scripts keep working.
    out = _run("dying_relu.py", "--help")
    assert "--paper" in out and "--no-paper" in out


def test_data_parallel_runs_on_one_device():
    out = _run("data_parallel.py", "--steps", "3")
    assert "devices: 1" in out


def test_benchmark_quick_smoke(tmp_path):
    _run("benchmark.py", "--quick", "--only", "memory", "eager", "--out", str(tmp_path))
    results = json.loads((tmp_path / "benchmark.json").read_text())
    f32 = results["memory"]["float32"]
    assert f32["lucid_fx_bytes"] == f32["no_activation_bytes"]
    assert results["eager"]["microseconds"]["lucid_fx"] > 0

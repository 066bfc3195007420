"""Small constants (zeros, ones, eye) come from one bounded shared cache:
sharing is invisible (in-place ops, optimizer steps, compiled traces)."""

import jax
import numpy as np

import lucid_fx
from lucid_fx import nn
from lucid_fx._tensor import _generators


def test_the_cache_is_bounded_and_skips_big_arrays(monkeypatch):
    monkeypatch.setattr(_generators, "MAX_CONSTANTS", 4)
    _generators._constants.clear()
    for n in range(1, 10):
        np.testing.assert_array_equal(lucid_fx.zeros(n).numpy(), np.zeros(n))
    assert len(_generators._constants) == 4
    big = _generators.MAX_CONSTANT_BYTES // 4 + 1  # float32 elements
    np.testing.assert_array_equal(lucid_fx.ones(big).numpy(), np.ones(big))
    assert all(key[1] != (big,) for key in _generators._constants)
    _generators._constants.clear()


def test_in_place_changes_do_not_leak_into_the_next_tensor():
    a = lucid_fx.zeros(3)
    a += 1.0
    a.fill_(5.0)
    b = lucid_fx.zeros(3)
    np.testing.assert_array_equal(b.numpy(), np.zeros(3))
    np.testing.assert_array_equal(a.numpy(), np.full(3, 5.0))


def test_an_optimizer_step_never_deletes_the_shared_constant():
    p = nn.Parameter(lucid_fx.zeros(3))
    opt = lucid_fx.optim.SGD([p], lr=0.5)
    for _ in range(2):
        p.grad = lucid_fx.ones(3)
        opt.step()
    np.testing.assert_array_equal(p.numpy(), np.full(3, -1.0))
    np.testing.assert_array_equal(lucid_fx.zeros(3).numpy(), np.zeros(3))


def test_constants_made_inside_a_trace_are_not_cached():
    _generators._constants.clear()

    @jax.jit
    def f(x):
        return x + lucid_fx.zeros(7).data

    np.testing.assert_array_equal(f(np.ones(7, np.float32)), np.ones(7))
    assert not _generators._constants
    np.testing.assert_array_equal(lucid_fx.zeros(7).numpy(), np.zeros(7))

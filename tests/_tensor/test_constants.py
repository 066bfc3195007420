"""Small constants (zeros, ones, eye) come from bounded pools: each array is
handed out once, so users may donate or delete it like any array of theirs."""

import warnings

import jax
import numpy as np

import lucid_fx
from lucid_fx import nn
from lucid_fx._tensor import _generators


def _pooled(kind, shape):
    return [k for k in _generators._pools if k[0] == kind and k[1] == shape]


def test_every_array_is_new_even_from_a_pool():
    arrays = [lucid_fx.zeros(3).data for _ in range(3 * _generators.BATCH)]
    assert len({a.unsafe_buffer_pointer() for a in arrays}) == len(arrays)
    for a in arrays:
        np.testing.assert_array_equal(a, np.zeros(3))


def test_threads_taking_from_one_pool_never_share_an_array():
    # Arrays are taken from a pool without a lock (list.pop is atomic): four
    # threads emptying the same pool at once still get distinct buffers.
    import threading

    lucid_fx.zeros(7)  # the kind is known: the next request fills a pool
    got: list[list] = [[] for _ in range(4)]
    start = threading.Barrier(4)

    def take(out):
        start.wait()
        out.extend(lucid_fx.zeros(7).data for _ in range(4 * _generators.BATCH))

    threads = [threading.Thread(target=take, args=(out,)) for out in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    arrays = [a for out in got for a in out]
    assert len(arrays) == 16 * _generators.BATCH
    assert len({a.unsafe_buffer_pointer() for a in arrays}) == len(arrays)
    for a in arrays[:: _generators.BATCH // 2]:
        np.testing.assert_array_equal(a, np.zeros(7))


def test_a_donated_or_deleted_array_never_breaks_the_next_one():
    for _ in range(3):
        lucid_fx.zeros(5)  # the kind is pooled now
    x = lucid_fx.zeros(5)
    jax.jit(lambda a: a + 1, donate_argnums=0)(x.data)
    lucid_fx.zeros(5).data.delete()
    for _ in range(_generators.BATCH + 2):
        np.testing.assert_array_equal(lucid_fx.zeros(5).numpy(), np.zeros(5))


def test_pools_are_bounded_and_big_arrays_are_not_pooled(monkeypatch):
    monkeypatch.setattr(_generators, "MAX_POOLS", 4)
    _generators._pools.clear()
    for n in range(1, 10):
        for _ in range(2):
            np.testing.assert_array_equal(lucid_fx.ones(n).numpy(), np.ones(n))
    assert len(_generators._pools) == 4
    assert all(
        sum(a.size * a.dtype.itemsize for a in pool) <= _generators.POOL_BYTES
        for pool in _generators._pools.values()
    )
    big = _generators.POOL_BYTES // 4  # float32 elements: a batch of one
    for _ in range(3):
        np.testing.assert_array_equal(lucid_fx.zeros(big).numpy(), np.zeros(big))
    assert not _pooled("zeros", (big,))
    _generators._pools.clear()


def test_x64_and_default_device_are_part_of_the_kind():
    with jax.enable_x64(True):
        for _ in range(3):
            assert lucid_fx.zeros(2, dtype="float64").dtype == np.float64
    assert lucid_fx.zeros(2).dtype == np.float32
    with jax.enable_x64(True):
        assert lucid_fx.eye(2, dtype="float64").dtype == np.float64


def test_an_optimizer_step_on_a_pooled_parameter():
    p = nn.Parameter(lucid_fx.zeros(3))
    opt = lucid_fx.optim.SGD([p], lr=0.5)
    for _ in range(2):
        p.grad = lucid_fx.ones(3)
        opt.step()
    np.testing.assert_array_equal(p.numpy(), np.full(3, -1.0))
    np.testing.assert_array_equal(lucid_fx.zeros(3).numpy(), np.zeros(3))


def test_constants_made_inside_a_trace_are_not_pooled():
    _generators._pools.clear()

    @jax.jit
    def f(x):
        return x + lucid_fx.zeros(7).data + lucid_fx.zeros(7).data

    np.testing.assert_array_equal(f(np.ones(7, np.float32)), np.ones(7))
    assert not _generators._pools
    np.testing.assert_array_equal(lucid_fx.zeros(7).numpy(), np.zeros(7))


def _pool_of(kind, shape, dtype, device, x64):
    return _generators._pools.get((kind, shape, dtype, 0, device, x64))


def _f64_off(make, shape):
    """``make(shape, dtype="float64")`` with x64 off (JAX warns: float32)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return make(shape, dtype="float64")


def test_a_global_x64_switch_never_gets_an_array_pooled_before_it():
    # dtype="float64" without x64 makes float32 arrays; their pool must not
    # serve the same call once x64 is on (globally, then by context).
    for _ in range(3):
        assert _f64_off(lucid_fx.zeros, 6).dtype == np.float32
    assert _pool_of("zeros", (6,), "float64", None, False)
    try:
        jax.config.update("jax_enable_x64", True)
        for _ in range(_generators.BATCH + 2):
            assert lucid_fx.zeros(6, dtype="float64").dtype == np.float64
    finally:
        jax.config.update("jax_enable_x64", False)
    assert _f64_off(lucid_fx.zeros, 6).dtype == np.float32
    with jax.enable_x64(True):
        assert lucid_fx.ones(6, dtype="float64").dtype == np.float64
        assert lucid_fx.zeros(6, dtype="float64").dtype == np.float64


def test_a_default_device_set_globally_or_by_context_has_its_own_pool():
    cpu = jax.devices("cpu")[0]
    for _ in range(3):
        lucid_fx.zeros(9)
    pooled = _pool_of("zeros", (9,), np.float32, None, False)
    before = {a.unsafe_buffer_pointer() for a in pooled}
    got = []
    with jax.default_device(cpu):
        got += [lucid_fx.zeros(9).data for _ in range(3)]
    try:
        jax.config.update("jax_default_device", cpu)
        got += [lucid_fx.zeros(9).data for _ in range(3)]
    finally:
        jax.config.update("jax_default_device", None)
    assert {a.unsafe_buffer_pointer() for a in pooled} == before
    assert not before & {a.unsafe_buffer_pointer() for a in got}
    assert len(_pool_of("zeros", (9,), np.float32, cpu, False)) > 0


def test_a_context_in_one_thread_does_not_reach_another_threads_calls():
    import threading

    for _ in range(3):  # both kinds pooled
        _f64_off(lucid_fx.zeros, 11)
        with jax.enable_x64(True):
            lucid_fx.zeros(11, dtype="float64")
    inside, done = threading.Event(), threading.Event()
    seen = {}

    def in_context():
        with jax.enable_x64(True):
            inside.set()
            done.wait(60)
            seen["context"] = lucid_fx.zeros(11, dtype="float64").dtype

    thread = threading.Thread(target=in_context)
    thread.start()
    try:
        assert inside.wait(60)
        seen["plain"] = _f64_off(lucid_fx.zeros, 11).dtype
    finally:
        done.set()
        thread.join()
    assert seen == {"plain": np.float32, "context": np.float64}


def test_the_fast_path_keeps_the_checks_and_the_flags():
    import pytest

    for _ in range(3):
        lucid_fx.zeros(4, dtype="int32")
    with pytest.raises(TypeError, match="only floating tensors"):
        lucid_fx.zeros(4, dtype="int32", requires_grad=True)
    with pytest.raises(ValueError):
        lucid_fx.ones(-1)
    with pytest.raises(TypeError):
        lucid_fx.zeros(2.0)
    t = lucid_fx.zeros(4, requires_grad=True)
    assert t.requires_grad and t.is_leaf and t.grad is None
    assert not lucid_fx.ones(4).requires_grad
    kept = lucid_fx.ones((2, 2), requires_grad=True, keep_grad=True)
    assert kept.keep_grad and kept.requires_grad and kept.shape == (2, 2)
    assert lucid_fx.ones(3, dtype=np.float16, requires_grad=True).requires_grad

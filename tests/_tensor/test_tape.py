"""The tape: tiered fusion, bounded caches, all-or-nothing and thread-safe
backward, keep_grad, and in-place changes to values a graph used."""

import functools
import signal
import threading
import warnings

import jax
import numpy as np
import pytest
import torch

from lucid_fx import Tensor, nn, no_grad
from lucid_fx._tensor import _fused, _interp, _tape, lift_inplace

double_ = lift_inplace(lambda x: x * 2.0, "double_")


def _unique_chain(x, length):
    # A chain with a diamond every 5th op: a wiring no other test builds.
    h = x
    for k in range(length):
        h = h * 0.9 if k % 5 else h * h + h
    return h.sum()


def _chain_grad(xv, length):
    # float64 forward-mode by hand: d h / d x along the same chain.
    h, dh = xv.astype(np.float64), np.ones_like(xv, dtype=np.float64)
    for k in range(length):
        h, dh = (h * 0.9, dh * 0.9) if k % 5 else (h * h + h, (2 * h + 1) * dh)
    return dh


class TestTiering:
    def test_first_sights_run_node_by_node_then_the_wiring_is_fused(self):
        xv = np.array([0.1, -0.2, 0.3], np.float32)
        want = _chain_grad(xv, 23)
        for sight in range(1, _fused.FUSE_AFTER + 2):
            x = Tensor(xv, requires_grad=True)
            loss = _unique_chain(x, 23)
            before = _fused._program.cache_info()
            loss.backward()
            assert _fused.wait(timeout=120)  # the background compile, if any
            after = _fused._program.cache_info()
            np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-4)
            if sight < _fused.FUSE_AFTER:
                # the fused-program cache was not even consulted: no compile
                assert after == before, sight
            elif sight == _fused.FUSE_AFTER:
                assert after.misses == before.misses + 1
                fused = _fused._program.__wrapped__  # the builder, uncached
                assert fused is not None
            else:
                assert after.hits == before.hits + 1
                assert after.misses == before.misses

    def test_fused_program_compiles_once_and_is_reused(self):
        xv = np.array([0.5, -1.5], np.float32)
        calls = []
        for _ in range(_fused.FUSE_AFTER + 3):
            x = Tensor(xv, requires_grad=True)
            loss = _unique_chain(x, 17)
            # (no list of the graph's tensors kept: holding one would make
            # every value "held", and the program one that returns them)
            plan = _tape._plan(loss, False)[0]
            loss.backward()
            assert _fused.wait(timeout=120)
            calls.append(plan)
        assert len(set(calls)) == 1
        compiled = _fused._program(calls[0])
        assert compiled._cache_size() == 1  # one executable for all fused sights

    def test_the_fusing_sight_compiles_in_the_background(self, monkeypatch):
        # The FUSE_AFTER-th sight walks node by node while a thread compiles;
        # the next sight after the compile runs the fused program.
        started = []
        real_compile = _fused._compile

        def spy(plan, fused, arguments, done):
            started.append(threading.current_thread() is not threading.main_thread())
            real_compile(plan, fused, arguments, done)

        monkeypatch.setattr(_fused, "_compile", spy)
        # Only the wiring's program: no interpreter of the op set (it is
        # compiled the same way, at its own FUSE_AFTER-th sight).
        monkeypatch.setattr(_interp, "MAX_STEPS", 0)
        xv = np.array([0.3, -0.1], np.float32)
        for _ in range(_fused.FUSE_AFTER):
            x = Tensor(xv, requires_grad=True)
            loss = _unique_chain(x, 19)  # held, as below: the same wiring
            loss.backward()
            np.testing.assert_allclose(x.grad.numpy(), _chain_grad(xv, 19), rtol=1e-4)
        assert _fused.wait(timeout=120)
        assert started == [True]
        x = Tensor(xv, requires_grad=True)
        loss = _unique_chain(x, 19)
        plan = _tape._plan(loss, False)[0]
        assert _fused.program(plan) is not None  # ready: no more compiles
        loss.backward()
        np.testing.assert_allclose(x.grad.numpy(), _chain_grad(xv, 19), rtol=1e-4)

    def test_the_last_ready_wiring_is_found_without_the_lru(self, monkeypatch):
        monkeypatch.setattr(_fused, "BACKGROUND", False)
        plan = ("last ready", 1)
        for _ in range(_fused.FUSE_AFTER):
            _fused.program(plan, lambda: ())
        ready = _fused.program(plan)  # ready: found in the LRU, and remembered
        assert ready is not None
        before = _fused._program.cache_info()
        # an equal wiring (another object): the same program, no LRU lookup
        assert _fused.program(tuple(["last ready", 1])) is ready
        assert _fused._program.cache_info() == before
        assert _fused.program(("last ready", 2)) is None  # another wiring
        _fused.failed(("last ready", 2))  # a failure anywhere forgets it
        assert _fused.program(plan) is ready
        assert _fused._program.cache_info().hits == before.hits + 1
        _fused.clear()  # so does clear: counted afresh
        assert _fused.program(plan) is None

    def test_synchronous_when_background_is_off(self, monkeypatch):
        monkeypatch.setattr(_fused, "BACKGROUND", False)
        plan = object()
        for _ in range(_fused.FUSE_AFTER - 1):
            assert _fused.program(plan, lambda: ()) is None
        assert _fused.program(plan, lambda: ()) is not None

    def test_a_failed_compile_stays_node_by_node(self):
        plan = object()

        def broken(*args):
            raise ValueError("no")

        done = threading.Event()
        _fused._sights[plan] = _fused.FUSE_AFTER
        _fused._compiling[plan] = done
        _fused._compile(plan, broken, (), done)
        assert done.is_set() and _fused.program(plan) is None
        assert _fused.wait(timeout=1)

    def test_an_evicted_program_compiles_again_in_the_background(self, monkeypatch):
        started = []

        def spy(plan, fused, arguments, done):
            started.append(plan)
            done.set()
            _fused._compiling.pop(plan, None)

        monkeypatch.setattr(_fused, "_compile", spy)

        @functools.lru_cache(maxsize=1)
        def build(plan):
            return lambda: plan

        a, b = object(), object()
        for plan in (a, b):  # a compiled, then evicted by b
            for _ in range(_fused.FUSE_AFTER):
                assert _fused.program(plan, lambda: (), build) is None
            assert _fused.wait(timeout=10)
        assert _fused.program(b, lambda: (), build) is not None
        assert started == [a, b]
        # a's next sight does not compile in the caller: a thread does.
        assert _fused.program(a, lambda: (), build) is None
        assert _fused.wait(timeout=10) and started == [a, b, a]
        assert _fused.program(a, lambda: (), build)() is a

    def test_caches_are_bounded_lrus(self, monkeypatch):
        assert _fused._program.cache_info().maxsize == _fused.MAX_PROGRAMS
        monkeypatch.setattr(_fused, "MAX_SIGHTS", 2)
        a, b, c = object(), object(), object()
        assert _fused.program(a) is None
        assert _fused.program(b) is None
        assert _fused.program(a) is None  # a is now the most recent
        assert _fused.program(c) is None  # evicts b, the least recent
        assert b not in _fused._sights and _fused._sights[a] == 2
        assert len(_fused._sights) <= 2

    def test_long_graph_past_the_node_limit_is_never_fused(self, monkeypatch):
        monkeypatch.setattr(_tape, "MAX_FUSED_NODES", 10)
        xv = np.array([0.2, 0.4], np.float32)
        before = _fused._program.cache_info()
        for _ in range(_fused.FUSE_AFTER + 1):
            x = Tensor(xv, requires_grad=True)
            _unique_chain(x, 12).backward()
            np.testing.assert_allclose(x.grad.numpy(), _chain_grad(xv, 12), rtol=1e-4)
        assert _fused._program.cache_info() == before


class TestAllOrNothing:
    def test_interrupt_during_install_is_held_until_all_grads_are_new(self):
        fired = []

        class Interrupting(Tensor):
            # Ctrl-C lands right after the first grad is written.
            __slots__ = ("_store",)

            @property
            def _grad(self):
                return getattr(self, "_store", None)

            @_grad.setter
            def _grad(self, value):
                self._store = value
                if value is not None and not fired:
                    fired.append(True)
                    signal.raise_signal(signal.SIGINT)

        a = Interrupting(np.array([1.0, 2.0], np.float32), requires_grad=True)
        b = Interrupting(np.array([3.0], np.float32), requires_grad=True)
        with pytest.raises(KeyboardInterrupt):
            (a * b).sum().backward()
        assert fired
        np.testing.assert_array_equal(a.grad.numpy(), [3.0, 3.0])
        np.testing.assert_array_equal(b.grad.numpy(), [3.0])

    def test_interrupt_before_install_leaves_every_grad_old(self, monkeypatch):
        fired = []
        wrap = Tensor._wrap

        def interrupting(array, node=None):
            if node is None and not fired:  # making the first new grad
                fired.append(True)
                signal.raise_signal(signal.SIGINT)
            return wrap(array, node)

        a = Tensor(np.array([1.0, 2.0], np.float32), requires_grad=True)
        b = Tensor(np.array([3.0], np.float32), requires_grad=True)
        loss = (a * b).sum()
        monkeypatch.setattr(Tensor, "_wrap", interrupting)
        with pytest.raises(KeyboardInterrupt):
            loss.backward()
        assert fired and a.grad is None and b.grad is None

    def test_a_parameters_grad_is_a_plain_tensor_as_pytorchs(self):
        model = nn.Linear(2, 1)
        model(Tensor([[1.0, 2.0]])).sum().backward()
        assert type(model.weight.grad) is Tensor
        model.saved = model.weight.grad  # a plain attribute, no new parameter
        assert [n for n, _ in model.named_parameters()] == ["weight", "bias"]

    def test_error_before_install_leaves_every_grad_unchanged(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        w = Tensor([3.0, 4.0], requires_grad=True)
        (x * w).sum().backward()
        a = x * 1.0
        y = (a * w).sum()
        double_(a)
        with pytest.raises(RuntimeError, match="modified by an in-place"):
            y.backward()
        np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])
        np.testing.assert_array_equal(w.grad.numpy(), [1.0, 2.0])


def test_two_threads_of_300_backward_accumulate_exactly_600():
    import lucid_fx.nn as nn

    model = nn.Linear(3, 2)
    x = Tensor(np.ones((1, 3), np.float32))
    barrier = threading.Barrier(2)

    def train():
        barrier.wait()
        for _ in range(300):
            model(x).sum().backward()

    threads = [threading.Thread(target=train) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    np.testing.assert_array_equal(model.bias.grad.numpy(), [600.0, 600.0])
    np.testing.assert_array_equal(model.weight.grad.numpy(), np.full((2, 3), 600.0))


class TestKeepGrad:
    @staticmethod
    def _torch(xv):
        x = torch.tensor(xv, dtype=torch.float64, requires_grad=True)
        h = x * x
        h.retain_grad()
        u = h * 3.0 + x
        u.retain_grad()
        u.sum().backward(retain_graph=True)
        first = (x.grad.clone(), h.grad.clone(), u.grad.clone())
        u.sum().backward()
        return first, (x.grad, h.grad, u.grad)

    def test_backward_keep_grad_matches_torch_retain_grad(self):
        xv = np.array([1.0, -2.0, 0.5])
        first, second = self._torch(xv)
        x = Tensor(xv.astype(np.float32), requires_grad=True)
        h = x * x
        u = h * 3.0 + x
        root = u.sum()
        root.backward(retain_graph=True, keep_grad=True)
        for got, want in zip((x.grad, h.grad, u.grad), first, strict=True):
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)
        assert root.grad.item() == 1.0
        root.backward(keep_grad=True)  # accumulates, as retain_grad does
        for got, want in zip((x.grad, h.grad, u.grad), second, strict=True):
            np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)

    def test_default_keeps_only_leaf_grads(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        h = x * x
        h.sum().backward()
        assert h.grad is None
        np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])

    def test_keep_grad_attribute_keeps_that_tensor_only(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        h = x * x
        kept = h * 2.0
        kept.keep_grad = True
        other = x * 5.0
        (kept * other).sum().backward()
        # d/d kept = other = 5x; other does not keep its grad
        np.testing.assert_allclose(kept.grad.numpy(), [5.0, 10.0])
        assert other.grad is None and h.grad is None

    def test_second_backward_still_raises_freed_graph(self):
        x = Tensor([1.0], requires_grad=True)
        y = (x * x).sum()
        y.backward(keep_grad=True)
        with pytest.raises(RuntimeError, match="retain_graph=True"):
            y.backward(keep_grad=True)

    def test_keep_grad_must_be_a_bool(self):
        x = Tensor([1.0], requires_grad=True)
        with pytest.raises(TypeError, match="backward: keep_grad"):
            (x * x).sum().backward(keep_grad="yes")
        assert x.grad is None


class TestInPlaceSinceUse:
    def test_non_leaf_modified_after_use_raises_like_torch(self):
        tx = torch.tensor([1.0, 2.0], requires_grad=True)
        ta = tx * 1.0
        ty = (ta * ta).sum()
        ta.mul_(2.0)
        with pytest.raises(RuntimeError, match="modified by an inplace"):
            ty.backward()
        x = Tensor([1.0, 2.0], requires_grad=True)
        a = x * 1.0
        y = (a * a).sum()
        double_(a)
        with pytest.raises(
            RuntimeError,
            match=r"version is 1, the graph recorded version 0",
        ):
            y.backward()
        assert x.grad is None

    def test_leaf_modified_under_no_grad_after_use_raises(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        y = (x * x).sum()
        with no_grad():
            double_(x)
        with pytest.raises(RuntimeError, match="modified by an in-place"):
            y.backward()
        assert x.grad is None

    def test_the_error_nearest_the_root_is_raised(self):
        # Two tensors modified after use: the step nearest the root reports
        # its input (shape (), not the (2,) one further down), as PyTorch's
        # walk from the root meets it first.
        x = Tensor([1.0, 2.0], requires_grad=True)
        a = x * 1.0
        b = (a * a).sum()
        y = b * b
        double_(a)
        double_(b)
        with pytest.raises(RuntimeError, match=r"shape \(\) that this graph"):
            y.backward()
        assert x.grad is None

    def test_the_error_comes_before_any_deferred_value_is_computed(self):
        # y's deferred op reads a deferred value from outside its graph (a is
        # no longer differentiated), so backward would compute it; the
        # in-place check fails first, and nothing was computed or changed.
        from lucid_fx._tensor._pending import Pending

        x = Tensor([1.0, 2.0], requires_grad=True)
        w = Tensor([3.0, 4.0], requires_grad=True)
        a = x * 2.0
        # Not through the setter: turning off a non-leaf's flag raises now
        # (PyTorch's rule); the tape must still cope with such a value.
        a._requires_grad = False
        y = (a * w).sum()
        assert type(a._data) is Pending and a._data.value is None
        with no_grad():
            double_(w)
        with pytest.raises(RuntimeError, match="modified by an in-place"):
            y.backward()
        assert type(a._data) is Pending and a._data.value is None
        assert w.grad is None
        np.testing.assert_allclose(a.numpy(), [2.0, 4.0])

    def test_augmented_item_assignment_in_the_graph_raises_not_cycles(self):
        # y[0] += 1 reads y[0] (recorded on y), then writes into y: the read's
        # node would route its gradient into y's new history (a cycle). It
        # raises, as documented in docs/tensor.rst, where PyTorch's views
        # let it through; nothing is accumulated.
        x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
        y = x * 2.0
        y[0] += 1.0
        with pytest.raises(RuntimeError, match="modified by an in-place"):
            y.sum().backward()
        assert x.grad is None

    def test_in_place_before_use_is_fine(self):
        x = Tensor([1.0, 2.0], requires_grad=True)
        a = x * 1.0
        double_(a)  # a = 2x, recorded
        (a * a).sum().backward()  # d/dx (2x)^2 = 8x
        np.testing.assert_allclose(x.grad.numpy(), [8.0, 16.0])


class TestLiftCaches:
    def test_each_op_keeps_a_bounded_lru_of_programs(self, monkeypatch):

        from lucid_fx._tensor import _ops

        monkeypatch.setattr(_ops, "MAX_OP_PROGRAMS", 2)

        def scaled(x, *, k):
            return x * k

        op = _ops.lift(scaled)
        programs, recording = op._caches
        x = Tensor([1.0, 2.0], requires_grad=True)
        for k in (1.0, 2.0, 1.0, 3.0):  # 1.0 used again: 2.0 is least recent
            op(x, k=k).sum().backward()
        # Recording calls use the flat-residual programs only.
        assert len(recording.entries) == 2 and len(programs.entries) == 0
        assert [key[0][0] for key in recording.entries] == [
            _ops.static_key({"k": 1.0}),
            _ops.static_key({"k": 3.0}),
        ]
        x.grad = None
        op(x, k=2.0).sum().backward()  # evicted earlier: rebuilt, still right
        np.testing.assert_array_equal(x.grad.numpy(), [2.0, 2.0])
        assert len(recording.entries) == 2
        with no_grad():  # plain forwards: the other LRU, bounded the same way
            for k in (4.0, 5.0, 4.0, 6.0):
                np.testing.assert_array_equal(op(x, k=k).numpy(), [k, 2 * k])
        assert [key[0] for key in programs.entries] == [
            _ops.static_key({"k": 4.0}),
            _ops.static_key({"k": 6.0}),
        ]

    def test_python_numbers_keep_their_value_and_sign(self):
        from lucid_fx._tensor import _ops

        x = Tensor([1.0, -2.0])
        np.testing.assert_array_equal(np.signbit((x * -0.0).numpy()), [True, False])
        np.testing.assert_array_equal(np.signbit((x * 0.0).numpy()), [False, True])
        assert np.isnan((x * float("nan")).numpy()).all()
        np.testing.assert_array_equal((x * 0.5).numpy(), [0.5, -1.0])
        assert (float, 0.5, False) in _ops._scalars  # cached as a device scalar
        assert (x * 3).dtype == np.float32  # an int stays weakly typed

    def test_a_number_cached_with_x64_on_is_not_reused_with_it_off(self):
        # 0.5 was cached as a float64 scalar under x64 and then fed to float32
        # programs: power traced float64 zeros (a UserWarning), and x ** 0.5
        # with x float32 came out as float64.
        with jax.enable_x64(True):
            assert (Tensor(np.array([4.0])) ** 0.75).dtype == np.float64
        x = Tensor(np.array([4.0, 9.0], np.float32))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            y = x**0.75
        assert y.dtype == np.float32 and y.data.dtype == np.float32
        np.testing.assert_allclose(y.numpy(), [4.0**0.75, 9.0**0.75], rtol=1e-6)

    def test_flat_and_pytree_residual_paths_agree(self):
        # A numpy operand takes the pytree path; a Tensor one the flat path.
        wv = np.array([0.5, -1.5], np.float32)
        a = Tensor([1.0, 2.0], requires_grad=True)
        b = Tensor([1.0, 2.0], requires_grad=True)
        ((a * wv) * a).sum().backward()
        ((b * Tensor(wv)) * b).sum().backward()
        np.testing.assert_allclose(a.grad.numpy(), 2 * wv * np.array([1.0, 2.0]))
        np.testing.assert_array_equal(a.grad.numpy(), b.grad.numpy())


def test_a_traced_backward_never_compiles_in_the_background(monkeypatch):
    # Inside a trace the residuals are tracers: a background thread could not
    # use them (and would mark the wiring as failing). The program is inlined.

    started = []
    monkeypatch.setattr(_fused, "_compile", lambda *a: started.append(a))

    def step(v):
        x = Tensor(v, requires_grad=True)
        for _ in range(_fused.FUSE_AFTER + 1):
            x.grad = None
            _unique_chain(x, 29).backward()
        return x.grad.data

    got = jax.jit(step)(np.array([0.1, 0.2], np.float32))
    np.testing.assert_allclose(got, _chain_grad(np.array([0.1, 0.2]), 29), rtol=1e-4)
    assert started == []


def test_inplace_op_cache_is_bounded():
    import jax.numpy as jnp

    from lucid_fx._tensor import lift_inplace
    from lucid_fx._tensor._ops import MAX_OP_PROGRAMS

    def clip(x, *, hi):
        return jnp.minimum(x, hi)

    clip_ = lift_inplace(clip, "clip_")
    t = Tensor([1.0, 5.0])
    for i in range(MAX_OP_PROGRAMS + 10):
        clip_(t, hi=float(100 - i))
    (cache,) = clip_._caches
    assert len(cache.entries) == MAX_OP_PROGRAMS
    assert t.tolist() == [1.0, 5.0]


def test_exit_during_a_background_compile_is_clean():
    """Python exits while a fused backward is still compiling: the process
    waits for it instead of aborting inside XLA (a daemon thread did, in CI)."""
    import subprocess
    import sys
    import textwrap

    code = textwrap.dedent(
        """
        import numpy as np
        from lucid_fx import Tensor
        from lucid_fx._tensor import _fused
        x = Tensor(np.ones(4, np.float32), requires_grad=True)
        for _ in range(_fused.FUSE_AFTER):
            h = x
            for _ in range(40):
                h = h * 1.0001
            h.sum().backward()
        """
    )
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[2]
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code],
        cwd=root,
        env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_default_backward_seeds_are_a_bounded_cache(monkeypatch):
    from lucid_fx._tensor import _tensor

    monkeypatch.setattr(_tensor, "MAX_SEEDS", 3)
    monkeypatch.setattr(_tensor, "_ONES", {})
    for n in range(1, 8):
        x = Tensor(np.arange(n, dtype=np.float32), requires_grad=True)
        (x * 2.0).backward()  # a non-scalar root: seeded with ones, as lucid
        np.testing.assert_array_equal(x.grad.numpy(), np.full(n, 2.0))
        assert len(_tensor._ONES) <= 3


def test_set_grad_is_the_unchecked_write_the_grad_setter_validates():
    t = Tensor([1.0, 2.0], requires_grad=True)
    t.set_grad(jax.numpy.array([3.0, 4.0]))
    assert type(t.grad) is Tensor and t.grad.tolist() == [3.0, 4.0]
    t.set_grad(None)
    assert t.grad is None
    with pytest.raises(ValueError, match="shape"):
        t.grad = np.zeros(3, np.float32)  # the public setter still checks

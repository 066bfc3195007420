"""The interpreter of first-sight graphs: one compiled program per op set runs
any new wiring of those ops, with the node-by-node walk's results up to the
last bit (XLA may fuse a multiply-add inside one program)."""

import itertools

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import lucid_fx.nn.functional as F
from lucid_fx import Tensor, no_grad
from lucid_fx._tensor import _fused, _interp

_wirings = itertools.count(1)


@pytest.fixture
def ran(monkeypatch):
    """Compile synchronously, and list each backward's interpreter result
    (None: it walked node by node)."""
    monkeypatch.setattr(_fused, "BACKGROUND", False)
    results = []
    real = _interp.backward

    def spy(*args):
        out = real(*args)
        results.append(out is not None)
        return out

    monkeypatch.setattr(_interp, "backward", spy)
    return results


L = 8  # steps of 2 ops each: every wiring of _graph has 2 * L + 4 ops


def _graph(x, c, wiring, lib=None, between=None):
    # One op set, a new wiring per `wiring` (bit k picks step k's two ops):
    # multiply by a Python scalar and by a tensor, add, tanh, leaky_relu, sum.
    # Returns the loss and every intermediate value. `between(values)` runs
    # after the first step.
    leaky = torch.nn.functional.leaky_relu if lib is torch else F.leaky_relu
    h = leaky(x * c, 0.1) * 1.5
    values = [h]
    if between is not None:
        between(values)
    for k in range(L):
        h = h + h * c if (wiring >> k) & 1 else (h * 1.5).tanh()
        values.append(h)
    return h.sum(), values


def _fresh():
    """A wiring no test has built yet (of L bits)."""
    return next(_wirings) % (1 << L)


def _warm(c):
    """Make the op set's interpreter ready: FUSE_AFTER new wirings."""
    for _ in range(_fused.FUSE_AFTER):
        x = Tensor(_values(), requires_grad=True)
        _graph(x, c, _fresh())[0].backward()


def _torch_grad(xv, c, wiring, old=None):
    """PyTorch's gradient of _graph at xv, added to ``old`` if given."""
    xt = torch.tensor(xv, requires_grad=True)
    if old is not None:
        xt.grad = torch.tensor(old)
    _graph(xt, torch.tensor(c.numpy()), wiring, lib=torch)[0].backward()
    return xt.grad.numpy()


def _close(a, b, rtol=1e-5):
    # The walk's results up to rounding: NaN where it has NaN, the same
    # infinities, finite values within a few ulps (a fused multiply-add).
    np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-30)


def _values():
    return np.array([0.3, -1.2, 0.0, 2.5], np.float32)


def _c():
    return Tensor(np.array([0.5, -0.25, 2.0, 1.0], np.float32))


class TestInterpreter:
    def test_first_sights_of_an_op_set_compile_nothing(self, ran):
        c = Tensor(np.full(4, 0.75, np.float32))  # a new op set: new shapes
        c = c.reshape(2, 2)
        before = _interp._program.cache_info()
        for sight in range(1, _fused.FUSE_AFTER + 2):
            x = Tensor(_values().reshape(2, 2), requires_grad=True)
            _graph(x, c, _fresh())[0].backward()
            after = _interp._program.cache_info()
            if sight < _fused.FUSE_AFTER:
                assert after.misses == before.misses and not ran[-1], sight
        # the FUSE_AFTER-th sight compiled it (synchronously here) and ran it
        assert after.misses == before.misses + 1 and ran[-2:] == [True, True]

    @pytest.mark.parametrize("repeat", range(3))
    def test_matches_the_walk_and_torch(self, ran, monkeypatch, repeat):
        c = _c()
        _warm(c)
        wiring = _fresh()
        x = Tensor(_values(), requires_grad=True)
        loss, values = _graph(x, c, wiring)
        loss.backward()
        assert ran[-1]
        # The same graph walked node by node (its second sight: not fused).
        monkeypatch.setattr(_interp, "MAX_STEPS", 0)
        x2 = Tensor(_values(), requires_grad=True)
        loss2, values2 = _graph(x2, c, wiring)
        loss2.backward()
        assert not ran[-1]
        _close(x.grad.numpy(), x2.grad.numpy())
        for v, v2 in zip([loss, *values], [loss2, *values2], strict=True):
            _close(v.numpy(), v2.numpy())
        xt = torch.tensor(_values(), requires_grad=True)
        lt, values_t = _graph(xt, torch.tensor(c.numpy()), wiring, lib=torch)
        lt.backward()
        for v, vt in zip([loss, *values], [lt, *values_t], strict=True):
            np.testing.assert_allclose(v.numpy(), vt.detach(), rtol=1e-3, atol=1e-6)
        np.testing.assert_allclose(x.grad.numpy(), xt.grad, rtol=1e-3, atol=1e-6)

    @settings(max_examples=20, deadline=None)
    @given(
        arrays(
            np.float32,
            4,
            # Extremes, but no finite value whose product overflows in one
            # path and not in the other (a fused multiply-add never rounds
            # the product).
            elements=st.one_of(
                st.floats(-(2.0**60), 2.0**60, width=32),
                st.sampled_from([np.inf, -np.inf, np.nan, -0.0, 1e-45, -1e-40]),
            ),
        )
    )
    def test_extreme_values_match_the_walk(self, xv):
        # (no fixture: hypothesis runs this many times; patch by hand)
        c = _c()
        background, _fused.BACKGROUND = _fused.BACKGROUND, False
        steps = _interp.MAX_STEPS
        try:
            _warm(c)
            wiring = _fresh()
            grads, values = [], []
            hits = _interp._program.cache_info().hits
            for _interp.MAX_STEPS in (steps, 0):
                x = Tensor(xv, requires_grad=True)
                loss, vs = _graph(x, c, wiring)
                loss.backward()
                grads.append(x.grad.numpy())
                values.append([v.numpy() for v in [loss, *vs]])
            used = _interp._program.cache_info().hits - hits
        finally:
            _fused.BACKGROUND, _interp.MAX_STEPS = background, steps
        assert used == 1  # the interpreter ran the first, the walk the second
        _close(*grads)
        for v, v2 in zip(*values, strict=True):
            _close(v, v2)

    def test_values_are_read_after_backward_and_the_loss_is_its_own(self, ran):
        c = _c()
        _warm(c)
        x = Tensor(_values(), requires_grad=True)
        loss, values = _graph(x, c, _fresh())
        loss.backward()
        assert ran[-1]
        # The loss holds its own array (keeping it keeps no register file);
        # the other values are rows, read when needed.
        assert loss._data.value is not None and loss._data.inputs is None
        assert values[3]._data.value is None
        # float64 reference of the same values
        h = np.maximum(_values() * c.numpy().astype(np.float64), 0)
        h = np.where(_values() * c.numpy() < 0, 0.1 * _values() * c.numpy(), h) * 1.5
        np.testing.assert_allclose(values[0].numpy(), h, rtol=1e-6)
        np.testing.assert_allclose(loss.item(), values[-1].numpy().sum(), rtol=1e-6)
        np.testing.assert_allclose((values[3] * 2.0).numpy(), 2 * values[3].numpy())

    def test_negative_zero_cotangent_kept(self, ran):
        # The leaf's only cotangent is c * ... = -0.0 where c is -0.0.
        c = Tensor(np.array([-0.0, 0.0, -0.0, 1.0], np.float32))
        _warm(c)
        x = Tensor(_values(), requires_grad=True)
        wiring = _fresh()
        _graph(x, c, wiring)[0].backward()
        assert ran[-1]
        grad = _torch_grad(_values(), c, wiring)
        want = np.signbit(grad)
        assert np.any(want & (grad == 0))  # a -0.0 that a +0.0 start would lose
        np.testing.assert_array_equal(np.signbit(x.grad.numpy()), want)

    def test_old_grads_accumulate_and_keep_grad(self, ran):
        def keep(values):
            values[0].keep_grad = True

        c = _c()
        for _ in range(_fused.FUSE_AFTER):  # the op set with a kept grad
            x = Tensor(_values(), requires_grad=True)
            _graph(x, c, _fresh(), between=keep)[0].backward()
        wiring = _fresh()
        x = Tensor(_values(), requires_grad=True)
        loss, values = _graph(x, c, wiring, between=keep)
        loss.backward()
        assert ran[-1]
        x.grad, first = Tensor(np.ones(4, np.float32)), x.grad.numpy()
        kept = values[0].grad.numpy()
        for _ in range(_fused.FUSE_AFTER):  # the op set with an old grad
            x2 = Tensor(_values(), requires_grad=True)
            x2.grad = Tensor(np.ones(4, np.float32))
            wiring2 = _fresh()
            _graph(x2, c, wiring2)[0].backward()
        assert ran[-1]
        xt = torch.tensor(_values(), requires_grad=True)
        lt, values_t = _graph(xt, torch.tensor(c.numpy()), wiring, lib=torch)
        values_t[0].retain_grad()
        lt.backward()
        np.testing.assert_allclose(first, xt.grad, rtol=1e-3, atol=1e-6)
        np.testing.assert_allclose(kept, values_t[0].grad, rtol=1e-3, atol=1e-6)
        want = _torch_grad(_values(), c, wiring2, old=np.ones(4, np.float32))
        np.testing.assert_allclose(x2.grad.numpy(), want, rtol=1e-3, atol=1e-6)

    def test_second_backward_raises_freed_and_retain_graph_walks(self, ran):
        c = _c()
        _warm(c)
        x = Tensor(_values(), requires_grad=True)
        wiring = _fresh()
        loss = _graph(x, c, wiring)[0]
        loss.backward()
        assert ran[-1]
        with pytest.raises(RuntimeError, match="already used by a backward"):
            loss.backward()
        once = x.grad.numpy()
        x.grad = None
        loss = _graph(x, c, wiring)[0]
        calls = len(ran)
        loss.backward(retain_graph=True)  # values computed first: the walk
        loss.backward()
        assert len(ran) == calls
        np.testing.assert_allclose(x.grad.numpy(), 2 * once, rtol=1e-5)

    def test_in_place_change_after_recording_still_raises(self, ran):
        c = _c()
        _warm(c)
        x = Tensor(_values(), requires_grad=True)
        loss, values = _graph(x, c, _fresh())
        with no_grad():
            values[1] += 1.0
        with pytest.raises(RuntimeError, match="modified by an in-place"):
            loss.backward()

    def test_python_zero_operand_walks_node_by_node(self, ran):
        # 0.0 is not cached as a device scalar: a constant of the op.
        for _ in range(_fused.FUSE_AFTER + 1):
            x = Tensor(_values(), requires_grad=True)
            h = x
            for _ in range(_fresh() % 5 + 2):
                h = h * 2.0 + 0.0
            h.sum().backward()
            assert not ran[-1]
            assert np.all(x.grad.numpy() > 0)

    def test_bfloat16_matches_the_walk(self, ran, monkeypatch):
        c = _c().astype("bfloat16")
        x = Tensor(_values()).astype("bfloat16")
        for _ in range(_fused.FUSE_AFTER):
            _graph(x.detach().requires_grad_(), c, _fresh())[0].backward()
        wiring = _fresh()
        grads = []
        for steps in (_interp.MAX_STEPS, 0):
            monkeypatch.setattr(_interp, "MAX_STEPS", steps)
            x2 = x.detach().requires_grad_()
            _graph(x2, c, wiring)[0].backward()
            grads.append(np.asarray(x2.grad.data, np.float32))
        assert ran[-2:] == [True, False]
        _close(*grads, rtol=2e-2)  # bfloat16: 8 bits; one rounding apart

    def test_big_values_walk_node_by_node(self, ran, monkeypatch):
        monkeypatch.setattr(_interp, "MAX_BYTES", 64)
        _warm(_c())
        assert not any(ran)

    def test_an_op_set_it_cannot_run_walks_node_by_node(self, ran, monkeypatch):
        def unfit(*args, **kwargs):
            raise _interp.Unfit("interpreter: a value of another type")

        monkeypatch.setattr(_interp, "_check", unfit)
        c = Tensor(np.full(4, 1.25, np.float32)).reshape(4, 1)  # a new op set
        for _ in range(_fused.FUSE_AFTER + 1):
            x = Tensor(_values().reshape(4, 1), requires_grad=True)
            wiring = _fresh()
            _graph(x, c, wiring)[0].backward()
            assert not ran[-1]
        want = _torch_grad(_values().reshape(4, 1), c, wiring)
        np.testing.assert_allclose(x.grad.numpy(), want, rtol=1e-3, atol=1e-6)

    def test_replaced_leaf_data_walks_node_by_node(self, ran):
        # .data = ... does not bump the version: each op keeps what it captured.
        c = _c()

        def loss(x, wiring, replace, lib=None):
            def between(values):
                if replace:
                    with torch.no_grad():
                        x.data = x.data * 3.0

            t = torch.tensor(c.numpy()) if lib is torch else c
            first = _graph(x * 1.0, t, wiring, lib=lib, between=between)[0]
            return first + (x * t).sum()  # x used again, with its new data

        for _ in range(_fused.FUSE_AFTER + 1):  # the last: the interpreter
            loss(Tensor(_values(), requires_grad=True), _fresh(), False).backward()
        assert ran[-1]
        wiring = _fresh()
        x = Tensor(_values(), requires_grad=True)
        z = loss(x, wiring, True)
        z.backward()
        assert not ran[-1]
        xt = torch.tensor(_values(), requires_grad=True)
        zt = loss(xt, wiring, True, lib=torch)
        zt.backward()
        np.testing.assert_allclose(z.item(), zt.item(), rtol=1e-5)
        np.testing.assert_allclose(x.grad.numpy(), xt.grad, rtol=1e-5, atol=1e-7)

    def test_a_first_subnormal_cotangent_is_kept(self, ran):
        # Additions only: the walk gives x the seed exactly. XLA's CPU add
        # flushes subnormals, so the first cotangent must be stored, not added.
        def adds(x, c, wiring):
            h = c + (x + c)  # both argument orders in every wiring
            for k in range(L):
                h = h + c if (wiring >> k) & 1 else c + h
            return h

        seed = np.array([1e-45, -1e-40, 1.0, 3e-39], np.float32)
        c = _c()
        for _ in range(_fused.FUSE_AFTER + 1):
            x = Tensor(_values(), requires_grad=True)
            adds(x, c, _fresh()).backward(Tensor(seed))
        assert ran[-1]
        np.testing.assert_array_equal(x.grad.numpy(), seed)
        assert np.all(np.signbit(x.grad.numpy()) == np.signbit(seed))

    def test_leaves_reached_in_another_order_share_the_program(self, ran):
        # a (float32[4]) and b (float32[]) live in two register files; the
        # walk reaches them in the order of the root's operands.
        c = _c()

        def loss(first):
            a = Tensor(_values(), requires_grad=True)
            b = Tensor(0.5).requires_grad_()
            parts = [_graph(a, c, _fresh())[0], b * 2.0]
            return parts[0] + parts[1] if first else parts[1] + parts[0]

        for _ in range(_fused.FUSE_AFTER):
            loss(True).backward()
        misses = _interp._program.cache_info().misses
        loss(False).backward()  # b is reached first
        assert ran[-1] and _interp._program.cache_info().misses == misses

    def test_programs_are_a_bounded_lru(self):
        assert _interp._program.cache_info().maxsize == _interp.MAX_PROGRAMS

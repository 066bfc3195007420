"""Deferred forward (``_pending``): recorded ops run when a value is needed,
with the results, errors and in-place semantics of ops that ran at once."""

import copy
import pickle
import threading

import jax
import numpy as np
import pytest
import torch

import lucid_fx
from lucid_fx import Tensor, nn
from lucid_fx._tensor import _fused, _pending
from lucid_fx._tensor._pending import Pending

XV = np.array([0.5, -1.5, 2.0], np.float32)


def _deferred(t):
    return type(t._data) is Pending and t._data.value is None


def _torch_grad(fn, xv):
    x = torch.tensor(xv.astype(np.float64), requires_grad=True)
    fn(x).sum().backward()
    return x.grad.numpy()


def test_recorded_ops_defer_and_compute_on_read():
    x = Tensor(XV, requires_grad=True)
    y = (x * 3.0).exp()
    assert _deferred(y)
    assert y.shape == (3,) and y.dtype == np.float32  # known without running
    assert _deferred(y)
    np.testing.assert_allclose(y.numpy(), np.exp(XV.astype(np.float64) * 3), 1e-6)
    assert isinstance(y._data, jax.Array)


def test_no_grad_and_committed_inputs_run_at_once():
    x = Tensor(XV, requires_grad=True)
    with lucid_fx.no_grad():
        assert isinstance((x * 2.0)._data, jax.Array)
    placed = Tensor(jax.device_put(XV, jax.devices()[0]), requires_grad=True)
    assert isinstance((placed * 2.0)._data, jax.Array)


def test_shape_error_is_raised_at_the_op_line():
    x = Tensor(XV, requires_grad=True)
    with pytest.raises((TypeError, ValueError)):
        x * Tensor(np.ones(4, np.float32))


@pytest.mark.parametrize("sights", [1, _fused.FUSE_AFTER + 2])
def test_gradients_match_torch_node_by_node_and_fused(sights, monkeypatch):
    monkeypatch.setattr(_fused, "BACKGROUND", False)

    def fn(h):
        for k in range(7):
            h = h * 0.9 + h.tanh() if k % 2 else (h * h).sin()
        return h

    want = _torch_grad(fn, XV)
    for _ in range(sights):
        x = Tensor(XV, requires_grad=True)
        y = fn(x)
        assert _deferred(y)
        y.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), want, rtol=2e-5, atol=1e-6)
        # the forward values were computed by the backward
        assert isinstance(y._data, jax.Array)
        ref = fn(torch.tensor(XV.astype(np.float64))).numpy()
        np.testing.assert_allclose(y.numpy(), ref, rtol=2e-5, atol=1e-6)


def test_same_results_with_deferral_off(monkeypatch):
    def run():
        x = Tensor(XV, requires_grad=True)
        h = (x * x).exp() - x
        h.sum().backward()
        return h.numpy(), x.grad.numpy()

    on = run()
    monkeypatch.setattr(_pending, "DEFER", False)
    off = run()
    for a, b in zip(on, off, strict=True):
        np.testing.assert_array_equal(a, b)


def test_an_input_changed_in_place_later_does_not_change_the_value():
    x = Tensor(XV, requires_grad=True)
    a = Tensor([1.0, 2.0, 3.0])
    y = x * a
    a += 10.0  # after the op was recorded: y keeps the old a, as if it had run
    np.testing.assert_array_equal(y.numpy(), XV * np.array([1, 2, 3], np.float32))


def test_modified_input_still_raises_at_backward():
    x = Tensor(XV, requires_grad=True)
    h = x * 2.0
    y = h * h
    h.mul_(3.0)
    with pytest.raises(RuntimeError, match="modified by an in-place"):
        y.sum().backward()


def test_retain_graph_and_keep_grad_on_deferred_tensors():
    x = Tensor(XV, requires_grad=True)
    h = x * x
    loss = (h * 3.0).sum()
    loss.backward(retain_graph=True, keep_grad=True)
    loss.backward(retain_graph=True, keep_grad=True)
    np.testing.assert_allclose(x.grad.numpy(), 2 * 6 * XV, rtol=1e-6)
    np.testing.assert_allclose(h.grad.numpy(), [6.0, 6.0, 6.0])
    np.testing.assert_allclose(h.numpy(), XV * XV)


def test_a_deep_chain_resolves_without_recursion():
    x = Tensor(np.array([1.0], np.float32), requires_grad=True)
    h = x
    for _ in range(20_000):
        h = h * 1.0
    assert _deferred(h)
    assert h.item() == 1.0
    h.sum().backward()
    assert x.grad.item() == 1.0


def test_a_pending_op_keeps_its_input_when_the_optimizer_steps():
    # The captured input holds a reference: the step must not donate it.
    p = nn.Parameter(Tensor(XV))
    y = p * 2.0
    opt = lucid_fx.optim.SGD([p], lr=0.5)
    p.grad = Tensor(np.ones(3, np.float32))
    opt.step()
    np.testing.assert_array_equal(y.numpy(), XV * 2)
    np.testing.assert_array_equal(p.numpy(), XV - 0.5)


def test_setting_data_from_a_deferred_tensor():
    x = Tensor(XV, requires_grad=True)
    w = Tensor(np.zeros(3, np.float32))
    w.data = x * 2.0
    np.testing.assert_array_equal(w.numpy(), XV * 2)


def test_a_deferred_value_read_inside_a_trace_stays_concrete():
    w = Tensor([2.0], requires_grad=True)
    c = w * 3.0
    out = jax.jit(lambda a: a * c.data)(np.ones(1, np.float32))
    np.testing.assert_array_equal(out, [6.0])
    assert c.item() == 6.0  # not a leaked tracer
    c.sum().backward()
    assert w.grad.item() == 3.0


def test_a_compiled_step_using_a_deferred_tensor_made_before_it():
    w = Tensor([2.0], requires_grad=True)
    c = w * 3.0
    m = nn.Linear(1, 1)
    opt = lucid_fx.optim.SGD(m.parameters(), lr=0.1)

    @lucid_fx.compile
    def step(model, opt, x):
        opt.zero_grad()
        loss = (model(x) * c.detach()).sum()
        loss.backward()
        opt.step()
        return loss

    for _ in range(3):
        step(m, opt, Tensor([[1.0]]))
    assert c.item() == 6.0


def test_a_thread_reading_values_while_backward_runs(monkeypatch):
    monkeypatch.setattr(_fused, "BACKGROUND", False)
    rng = np.random.default_rng(0)
    w = Tensor(rng.standard_normal((16, 16)).astype(np.float32) * 0.1, True)
    x = Tensor(np.ones((4, 16), np.float32))
    for _ in range(30):
        h, hs = x, []
        for _ in range(4):
            h = (h @ w).tanh()
            hs.append(h)
        reader = threading.Thread(target=lambda hs=hs: [u.numpy() for u in hs])
        reader.start()
        w.grad = None
        (h * h).sum().backward()
        reader.join()
        assert np.isfinite(w.grad.numpy()).all()


def test_an_op_under_another_jax_configuration_runs_at_once():
    x = Tensor(np.ones((3, 2), np.float32), requires_grad=True)
    b = Tensor(np.ones(2, np.float32))
    (x + b).data  # noqa: B018  (the op's program exists already)
    with jax.numpy_rank_promotion("raise"), pytest.raises(ValueError):
        x + b


def test_requires_grad_turned_off_on_a_deferred_intermediate(monkeypatch):
    monkeypatch.setattr(_fused, "BACKGROUND", False)
    for _ in range(_fused.FUSE_AFTER + 1):
        x = Tensor([1.0, 2.0], requires_grad=True)
        w = Tensor([3.0, 4.0], requires_grad=True)
        h = x * 2.0
        z = (h * w).sum()
        # PyTorch's rule: only a leaf's flag can be turned off; the deferred
        # graph is left as it was and backward runs through h.
        with pytest.raises(RuntimeError, match="only a leaf tensor's flag"):
            h.requires_grad = False
        assert h.requires_grad
        z.backward()
        np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0])
        np.testing.assert_array_equal(x.grad.numpy(), [6.0, 8.0])


def test_deepcopy_and_pickle_of_a_deferred_tensor_follow_pytorch():
    import torch

    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0  # deferred, and a result of recorded ops
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    ty = tx * 2.0
    # A copy of the graph would send gradients to hidden copies of x.
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(ty)
    with pytest.raises(RuntimeError, match=r"Tensor.__deepcopy__: only a leaf"):
        copy.deepcopy(y)
    # pickle keeps values and flags, not the graph: it loads as a leaf
    loaded, tloaded = pickle.loads(pickle.dumps(y)), pickle.loads(pickle.dumps(ty))
    np.testing.assert_array_equal(loaded.numpy(), tloaded.detach().numpy())
    assert (loaded.requires_grad, loaded.is_leaf) == (True, True)
    assert (tloaded.requires_grad, tloaded.is_leaf) == (True, True)
    (loaded * loaded).sum().backward()
    np.testing.assert_array_equal(loaded.grad.numpy(), [4.0, 8.0])
    assert x.grad is None  # nothing reached the original
    np.testing.assert_array_equal(copy.deepcopy(y.detach()).numpy(), [2.0, 4.0])


def test_deepcopy_of_a_leaf_copies_its_grad_and_pickle_drops_it_as_pytorch():
    import torch

    x = Tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    (tx * tx).sum().backward()
    ours, theirs = copy.deepcopy(x), copy.deepcopy(tx)
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    assert ours.grad is not x.grad and ours.requires_grad == theirs.requires_grad
    ours.grad.data = ours.grad.data * 0.0  # a copy: the original keeps its grad
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])
    loaded, tloaded = pickle.loads(pickle.dumps(x)), pickle.loads(pickle.dumps(tx))
    assert loaded.grad is None and tloaded.grad is None
    assert loaded.requires_grad and tloaded.requires_grad


class _HeldFlags:
    """Stands in for ``_tape._plan`` and records, per backward, which
    deferred values the plan has the fused program return."""

    def __init__(self):
        from lucid_fx._tensor import _tape

        self.plan, self.flags = _tape._plan, []

    def __call__(self, *args):
        found = self.plan(*args)
        self.flags.append([w[3][2] for w in found[0][0] if w[3] is not None])
        return found


def _fused_sight(fn, x, monkeypatch):
    """Run fn(x)'s loss backward, held as the last sight holds it, until its
    wiring's fused program is ready; return the last, fused, sight's (loss,
    held values) and the plan's "held" flags."""
    from lucid_fx._tensor import _tape

    for _ in range(_fused.FUSE_AFTER + 1):
        loss, held = fn(x)
        loss.backward()
    assert _fused.wait(timeout=120)
    spy = _HeldFlags()
    monkeypatch.setattr(_tape, "_plan", spy)
    found = []  # what the tape got from the program cache: the fused program
    program = _tape.program

    def found_program(*args):
        found.append(program(*args))
        return found[-1]

    monkeypatch.setattr(_tape, "program", found_program)
    x.grad = None
    loss, held = fn(x)
    loss.backward()
    assert len(found) == 1 and found[0] is not None
    return loss, held, spy.flags[-1]


def _exp_of_square(x, hold):
    h = (x * x).exp()  # two deferred intermediates: x * x, and h
    return h.sum(), (h if hold else None)


def test_fused_backward_returns_only_values_someone_holds(monkeypatch):
    want = np.exp(XV.astype(np.float64) ** 2)
    x = Tensor(XV, requires_grad=True)
    loss, h, flags = _fused_sight(lambda x: _exp_of_square(x, True), x, monkeypatch)
    # root (the loss), h (held by the test), x * x (held by nothing else)
    assert flags == [True, True, False]
    assert isinstance(h._data, jax.Array)  # computed by the backward itself
    np.testing.assert_allclose(h.numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(loss.item(), want.sum(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), 2 * XV * want, rtol=1e-5)
    x = Tensor(XV, requires_grad=True)
    loss, _, flags = _fused_sight(lambda x: _exp_of_square(x, False), x, monkeypatch)
    assert flags == [True, False, False]
    np.testing.assert_allclose(loss.item(), want.sum(), rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), 2 * XV * want, rtol=1e-5)


def test_a_held_result_no_longer_keeps_the_graph_alive_after_backward():
    # As in PyTorch: backward frees the graph, so a loss kept for logging does
    # not keep the intermediates (or the arrays they read) alive.
    import weakref

    for sights in (1, _fused.FUSE_AFTER + 2):  # node by node, then fused
        x = Tensor(XV, requires_grad=True)
        for _ in range(sights):
            h = (x * 2.0).tanh()
            ref = weakref.ref(h)
            loss = h.sum()
            del h
            loss.backward()
            _fused.wait(timeout=120)
        assert ref() is None, sights
        np.testing.assert_allclose(
            loss.item(), np.tanh(2.0 * XV.astype(np.float64)).sum(), rtol=1e-6
        )
        with pytest.raises(RuntimeError, match="already used by a backward"):
            loss.backward()


def test_a_value_the_count_missed_is_computed_when_read(monkeypatch):
    # If the reference count ever misses a holder, the value was not returned
    # by the fused program; it is computed, right, when read.
    from lucid_fx._tensor import _tape

    monkeypatch.setattr(_tape, "_GRAPH_REFS", 1000)  # nothing looks held
    x = Tensor(XV, requires_grad=True)
    loss, h, flags = _fused_sight(lambda x: _exp_of_square(x, True), x, monkeypatch)
    assert flags == [True, False, False]
    assert _deferred(h)
    want = np.exp(XV.astype(np.float64) ** 2)
    np.testing.assert_allclose(h.numpy(), want, rtol=1e-6)
    np.testing.assert_allclose(x.grad.numpy(), 2 * XV * want, rtol=1e-5)
    with pytest.raises(RuntimeError, match="already used by a backward"):
        (h * 2.0).sum().backward()


def test_backward_on_a_temporary_does_not_compute_its_value(monkeypatch):
    # loss_fn(out, y).backward(): nobody can read that loss afterwards.
    from lucid_fx._tensor import _tape

    spy = _HeldFlags()
    monkeypatch.setattr(_tape, "_plan", spy)
    flags = spy.flags
    x = Tensor(XV, requires_grad=True)
    for _ in range(_fused.FUSE_AFTER + 1):  # fused from then on
        (x * 3.0).sum().backward()
        assert _fused.wait(timeout=120)
    (x * 3.0).sum().backward()
    loss = (x * 3.0).sum()
    loss.backward()
    assert flags[-2] == [False, False]  # the temporary's value: not computed
    assert flags[-1] == [True, False]  # the held loss's: computed
    np.testing.assert_allclose(loss.item(), 3.0 * XV.astype(np.float64).sum(), 1e-6)
    np.testing.assert_allclose(
        x.grad.numpy(), np.full(3, 3.0 * (_fused.FUSE_AFTER + 3))
    )


class _Tagged(Tensor):
    """A user's Tensor subclass with an attribute of its own."""


def test_a_tensor_subclass_keeps_its_attributes_through_pickle_and_deepcopy():
    t = _Tagged([1.0, 2.0])
    t.tag = {"name": "probe"}
    for copied in (pickle.loads(pickle.dumps(t)), copy.deepcopy(t)):
        assert type(copied) is _Tagged and copied.tag == {"name": "probe"}
        np.testing.assert_array_equal(copied.numpy(), [1.0, 2.0])
    assert copy.deepcopy(t).tag is not t.tag

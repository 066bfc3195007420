"""Compiled steps and keyed ``functionalize`` calls in threads: while one
thread traces, the global generator never holds its tracer key, so other
threads draw and compile as usual."""

import threading

import jax
import numpy as np
import pytest

import lucid_fx
import lucid_fx.nn as nn
from lucid_fx import Tensor, optim
from tests.helpers import train_step

RNG = np.random.default_rng(5)
X = RNG.normal(size=(8, 4)).astype(np.float32)
Y = RNG.integers(0, 3, 8).astype(np.int32)


def _in_thread(fn):
    """``fn()``'s result or exception, run in another thread."""
    out = {}

    def run():
        try:
            out["value"] = fn()
        except Exception as e:  # noqa: BLE001 - handed back to the test
            out["error"] = e

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in out:
        raise out["error"]
    return out["value"]


def _in_threads(fn, n):
    """Run ``fn(k)`` for k in range(n), each in its own thread; the
    exceptions they raised."""
    errors = []

    def run(k):
        try:
            fn(k)
        except Exception as e:  # noqa: BLE001 - handed back to the test
            errors.append(e)

    threads = [threading.Thread(target=run, args=(k,)) for k in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def _global_key_and_draw():
    key = lucid_fx.random.get_rng_state_data()
    return key, np.asarray(lucid_fx.random.randn(3).data)


def test_other_threads_see_a_concrete_global_key_while_a_step_traces():
    seen = []

    def step(model, opt, x, y):
        seen.append(_in_thread(_global_key_and_draw))  # runs while tracing
        return train_step(model, opt, x, y)

    lucid_fx.random.seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.Dropout(0.5), nn.Linear(6, 3))
    opt = optim.SGD(model.parameters(), lr=0.1)
    compiled = lucid_fx.compile(step)
    compiled(model, opt, Tensor(X), Tensor(Y))
    ((key, sample),) = seen
    assert not isinstance(key, jax.core.Tracer) and key.dtype == np.uint32
    assert np.isfinite(sample).all() and sample.shape == (3,)


class _Probe(nn.Module):
    """Reads the global key from another thread during the forward."""

    def __init__(self, seen):
        super().__init__()
        self.seen = seen

    def forward(self, x):
        self.seen.append(_in_thread(_global_key_and_draw))
        return x


def test_other_threads_see_a_concrete_global_key_in_a_keyed_apply():
    seen = []
    model = nn.Sequential(nn.Linear(4, 6), nn.Dropout(0.5), _Probe(seen))
    apply, params = lucid_fx.functionalize(model)
    jax.jit(lambda p, key: apply(p, X, key=key).sum())(params, jax.random.key(1))
    ((key, _),) = seen
    assert not isinstance(key, jax.core.Tracer)


def test_separate_models_train_in_threads_as_alone():
    # Each thread its own model, optimizer and compiled step (no dropout: the
    # result is then independent of how the threads interleave).
    def make():
        lucid_fx.random.seed(0)
        model = nn.Sequential(nn.Linear(4, 6), nn.LeakyReLU(0.1), nn.Linear(6, 3))
        return model, optim.SGD(model.parameters(), lr=0.1)

    def train(model, opt):
        step = lucid_fx.compile(train_step)
        for _ in range(5):
            step(model, opt, Tensor(X), Tensor(Y))
        return [np.asarray(p.data) for p in model.parameters()]

    alone = train(*make())
    runs = [make() for _ in range(3)]
    results = [None] * 3

    def run(k):
        results[k] = train(*runs[k])

    assert _in_threads(run, 3) == []
    for result in results:
        for ours, theirs in zip(result, alone, strict=True):
            np.testing.assert_array_equal(ours, theirs)


def _served(model, compiled, x):
    with lucid_fx.no_grad():
        return compiled(model, x).numpy()


def test_one_compiled_function_serves_one_model_from_threads():
    # A model served from a thread pool, first calls at once: each thread
    # gets its own batch's result, and no call finds a tracer or a buffer
    # another call gave to XLA.
    lucid_fx.random.seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.LeakyReLU(0.1), nn.Linear(6, 3))
    compiled = lucid_fx.compile(lambda model, x: model(x))
    shapes = [(8, 4), (8, 4), (5, 4), (3, 4)]  # two shapes compile meanwhile
    batches = [Tensor(RNG.normal(size=s).astype(np.float32)) for s in shapes]
    with lucid_fx.no_grad():
        expected = [model(x).numpy() for x in batches]
    wrong = []
    start = threading.Barrier(len(batches))

    def serve(k):
        start.wait()
        for _ in range(50):
            if not np.array_equal(_served(model, compiled, batches[k]), expected[k]):
                wrong.append(k)

    assert _in_threads(serve, len(batches)) == [] and wrong == []


def test_a_call_never_reads_another_threads_batch(monkeypatch):
    # Thread A pauses between taking its arguments and reading their arrays;
    # thread B calls the same function on another batch meanwhile: B waits
    # for A's call, and each gets its own batch's result.
    from lucid_fx.transforms import _state

    lucid_fx.random.seed(0)
    model = nn.Sequential(nn.Linear(4, 6), nn.LeakyReLU(0.1), nn.Linear(6, 3))
    compiled = lucid_fx.compile(lambda model, x: model(x))
    a, b = (Tensor(RNG.normal(size=(8, 4)).astype(np.float32)) for _ in range(2))
    with lucid_fx.no_grad():
        expected = {"a": model(a).numpy(), "b": model(b).numpy()}
    _served(model, compiled, b)  # traced and compiled: both calls reuse it
    paused, resume = threading.Event(), threading.Event()
    arrays = _state.Collected.arrays

    def pausing(self, *args):
        if threading.current_thread().name == "A" and not paused.is_set():
            paused.set()
            assert resume.wait(60)
        return arrays(self, *args)

    monkeypatch.setattr(_state.Collected, "arrays", pausing)
    out = {}
    thread_a = threading.Thread(
        target=lambda: out.update(a=_served(model, compiled, a)), name="A"
    )
    thread_b = threading.Thread(
        target=lambda: out.update(b=_served(model, compiled, b)), name="B"
    )
    thread_a.start()
    assert paused.wait(60)
    thread_b.start()
    thread_b.join(0.2)  # B waits for A's call (on old code it ran through)
    resume.set()
    thread_a.join()
    thread_b.join()
    for k in "ab":
        np.testing.assert_array_equal(out[k], expected[k])


def _chain(raw, n):
    """The generator's key after ``n`` draws from ``raw``: each draw keeps the
    first half of a split, whatever the order the threads drew in."""
    key = jax.random.wrap_key_data(raw)
    for _ in range(n):
        key = jax.random.split(key)[0]
    return np.asarray(jax.random.key_data(key))


def test_another_threads_draw_during_a_step_is_neither_reused_nor_undone(
    monkeypatch,
):
    model = nn.Sequential(nn.Linear(4, 6), nn.Dropout(0.5), nn.Linear(6, 3))
    opt = optim.SGD(model.parameters(), lr=0.1)
    step = lucid_fx.compile(train_step)
    x, y = Tensor(X), Tensor(Y)
    lucid_fx.random.seed(0)
    start = lucid_fx.random.get_rng_state_data()
    step(model, opt, x, y)  # traces, then runs once: how far one step moves it
    moved = next(
        n for n in range(1, 10)
        if (_chain(start, n) == np.asarray(lucid_fx.random.get_rng_state_data())).all()
    )  # fmt: skip
    lucid_fx.random.seed(1)
    start = lucid_fx.random.get_rng_state_data()
    put_back = lucid_fx.random.set_rng_state_data

    others = []

    def late(raw):  # another thread draws while the step runs (deterministic)
        other = threading.Thread(target=lambda: lucid_fx.random.randn(2))
        other.start()
        other.join(timeout=0.5)
        others.append(other.is_alive())  # it waits for the step's new key
        put_back(raw)
        others.append(other)

    monkeypatch.setattr(lucid_fx.random, "set_rng_state_data", late)
    step(model, opt, x, y)
    monkeypatch.undo()
    waited, other = others
    other.join(timeout=60)
    assert waited and not other.is_alive()
    # The step's draws, then the other thread's one from the step's new key.
    np.testing.assert_array_equal(
        np.asarray(lucid_fx.random.get_rng_state_data()), _chain(start, moved + 1)
    )


def test_a_step_retracing_inside_its_call_lets_other_threads_draw():
    # JAX's caches cleared: the call retraces while the step would hold the
    # generator, and the traced code waits on a thread that draws.
    model = nn.Sequential(nn.Linear(4, 6), nn.Dropout(0.5), nn.Linear(6, 3))
    opt = optim.SGD(model.parameters(), lr=0.1)
    finished = []

    def step(model, opt, x, y):
        other = threading.Thread(target=lambda: lucid_fx.random.randn(2))
        other.start()
        other.join(timeout=30)
        finished.append(not other.is_alive())
        return train_step(model, opt, x, y)

    compiled = lucid_fx.compile(step)
    x, y = Tensor(X), Tensor(Y)
    compiled(model, opt, x, y)  # no grads yet: one program
    compiled(model, opt, x, y)  # with grads: another
    assert finished == [True, True]
    jax.clear_caches()
    compiled(model, opt, x, y)  # that one again, retraced inside the call
    assert finished == [True, True, True]


class _DrawsElsewhere(nn.Module):
    """Draws nothing itself; while its forward runs, another thread draws."""

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 3)

    def forward(self, x):
        other = threading.Thread(target=lambda: lucid_fx.random.randn(2))
        other.start()
        other.join(timeout=30)
        return self.fc(x)


def _expected(model):
    w, b = (np.asarray(p.data, np.float64) for p in (model.fc.weight, model.fc.bias))
    return X @ w.T + b


@pytest.mark.filterwarnings("error")  # no fallback to eager
def test_another_threads_draw_while_a_compiled_module_traces_is_its_own():
    # It was taken for the forward's (the module then ran eagerly, warning)
    # and undone.
    model = _DrawsElsewhere()
    lucid_fx.random.seed(2)
    start = lucid_fx.random.get_rng_state_data()
    out = lucid_fx.compile(model)(Tensor(X))  # traced: one draw elsewhere
    np.testing.assert_allclose(out.numpy(), _expected(model), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(
        np.asarray(lucid_fx.random.get_rng_state_data()), _chain(start, 1)
    )


def test_another_threads_draw_while_functionalize_traces_is_its_own():
    # It was taken for the forward's: "drew random numbers without a key".
    model = _DrawsElsewhere()
    apply, params = lucid_fx.functionalize(model)
    lucid_fx.random.seed(3)
    start = lucid_fx.random.get_rng_state_data()
    out = jax.jit(apply)(params, X)
    np.testing.assert_allclose(out, _expected(model), rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(
        np.asarray(lucid_fx.random.get_rng_state_data()), _chain(start, 1)
    )


class _DropsThenWaits(nn.Module):
    """Draws a dropout mask, then waits on another thread that reads the
    global key."""

    def __init__(self):
        super().__init__()
        self.drop = nn.Dropout(0.5)
        self.other = None

    def forward(self, x):
        out = self.drop(x)
        self.other = _in_thread(lambda: lucid_fx.random.get_rng_state_data())
        return out


def test_a_closed_over_functionalize_call_under_jit_leaks_no_tracer_key():
    # With params and x closed over, nothing passed in was traced: the draw
    # went to the global generator, which held a tracer key while the call
    # ran (another thread reading it failed) and was then put back.
    model = _DropsThenWaits()
    apply, params = lucid_fx.functionalize(model)
    x = jax.numpy.ones((2, 3))
    lucid_fx.random.seed(4)
    start = np.asarray(lucid_fx.random.get_rng_state_data())
    with pytest.raises(ValueError, match="key"):
        jax.jit(lambda: apply(params, x))()
    np.testing.assert_array_equal(np.asarray(model.other), start)  # concrete
    np.testing.assert_array_equal(
        np.asarray(lucid_fx.random.get_rng_state_data()), start
    )

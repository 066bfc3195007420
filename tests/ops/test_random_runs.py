"""Repeated small draws come from runs computed ahead (``lucid_fx.random._runs``):
the values and the generator state stay bitwise those of one split and one draw at
a time, checked against ``jax.random`` called directly."""

import contextlib
import threading
from collections import Counter, OrderedDict
from types import SimpleNamespace

import hypothesis.strategies as st
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given, settings

import lucid_fx
from lucid_fx import Tensor, nn, random
from lucid_fx.random import _runs, _sampling


class Reference:
    """The documented contract, written with jax.random: each draw splits the
    key, the generator keeps the first half and the draw uses the second."""

    def __init__(self, seed):
        self.key = jax.random.key(seed)

    def sub(self):
        self.key, sub = jax.random.split(self.key)
        return sub

    def randn(self, *shape):
        return np.asarray(jax.random.normal(self.sub(), shape, jnp.float32))

    def rand(self, *shape):
        return np.asarray(jax.random.uniform(self.sub(), shape, jnp.float32))

    def randint(self, lo, hi, shape):
        return np.asarray(jax.random.randint(self.sub(), shape, lo, hi))

    def next_key(self):
        return np.asarray(jax.random.key_data(self.sub()))

    def state(self):
        return np.asarray(jax.random.key_data(self.key))


def ours(name, *args):
    if name == "next_key":
        return np.asarray(jax.random.key_data(random.next_key()))
    return getattr(random, name)(*args).numpy()


def assert_same(a, b):
    """Bitwise: the same dtype, shape and bytes."""
    assert a.dtype == b.dtype and a.shape == b.shape
    assert a.tobytes() == b.tobytes()


def assert_state(ref):
    assert_same(np.asarray(random.get_rng_state_data()), ref.state())


@pytest.fixture(autouse=True)
def synchronous(monkeypatch):
    """Run programs compile at the draw that needs them, so which draw starts
    a run is deterministic; the background tests below turn it back on."""
    monkeypatch.setattr(_runs, "BACKGROUND", False)


@pytest.fixture
def batches(monkeypatch):
    """Counts the compiled run calls (the batch function)."""
    calls = []
    run = _sampling._split_and_draw_run

    def counted(state, spec, n):
        calls.append((spec[:4], n))
        return run(state, spec, n)

    monkeypatch.setattr(_sampling, "_split_and_draw_run", counted)
    return calls


def check(seed, script):
    """Run ``script`` ((name, args) pairs) on lucid_fx and on the reference."""
    random.seed(seed)
    ref = Reference(seed)
    for name, args in script:
        assert_same(ours(name, *args), getattr(ref, name)(*args))
    assert_state(ref)


def test_one_spec_drawn_for_more_than_three_runs(batches):
    check(5, [("randn", (4,))] * 100)
    assert len(batches) == 4  # the first draw alone, then runs of 32


def test_alternating_specs_never_start_a_run(batches):
    check(6, [("randn", (4,)), ("randn", (5,))] * 20)
    assert not batches


@pytest.mark.parametrize("length", [2, 3, 33, 40])
def test_blocks_of_specs_in_turn(length):
    check(7, ([("randn", (4,))] * length + [("rand", (4,))] * length) * 2)


def test_randn_rand_randint_mixed():
    check(
        8,
        [("randn", (2, 3))] * 5
        + [("randint", (0, 10, (3,)))] * 5
        + [("rand", ())] * 40
        + [("randint", (-7, 1_000_003, (2, 2)))] * 35
        + [("randint", (0, 10, (3,))), ("randn", (2, 3))] * 3,
    )


def test_same_shape_other_bounds_is_another_spec():
    check(9, [("randint", (0, 10, (4,)))] * 3 + [("randint", (0, 11, (4,)))] * 3)


def test_next_key_in_the_middle_of_a_run():
    check(10, ([("randn", (4,))] * 5 + [("next_key", ())]) * 3)


def test_state_reads_and_writes_in_the_middle_of_a_run():
    random.seed(11)
    ref = Reference(11)
    for _ in range(5):
        assert_same(ours("randn", 3), ref.randn(3))
    key = random.get_rng_state()  # settles the run's implicit key
    assert_same(np.asarray(jax.random.key_data(key)), ref.state())
    saved = ref.key
    for _ in range(5):
        assert_same(ours("randn", 3), ref.randn(3))
    assert_state(ref)
    assert_same(ours("randn", 3), ref.randn(3))
    random.set_rng_state(key)  # drops the run
    ref.key = saved
    for _ in range(40):
        assert_same(ours("randn", 3), ref.randn(3))
    assert_same(np.asarray(random.next_key_data()), ref.next_key())
    for _ in range(4):
        assert_same(ours("randn", 3), ref.randn(3))
    random.set_rng_state_data(jax.random.key_data(jax.random.key(99)))
    ref = Reference(99)
    for _ in range(4):
        assert_same(ours("randn", 3), ref.randn(3))
    random.seed(12)
    ref = Reference(12)
    for _ in range(4):
        assert_same(ours("randn", 3), ref.randn(3))
    assert_state(ref)


def test_a_read_key_stays_the_key_until_the_next_draw():
    random.seed(13)
    for _ in range(4):
        random.randn(2)
    key = random.get_rng_state()
    assert random.get_rng_state() is key  # compile's "did it draw?" test
    random.randn(2)
    assert random.get_rng_state() is not key


@settings(max_examples=30, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    script=st.lists(
        st.sampled_from(
            [("randn", (3,)), ("rand", (3,)), ("randint", (0, 5, (2,)))]
            + [("next_key", ())]
        ).flatmap(lambda step: st.lists(st.just(step), min_size=1, max_size=40)),
        max_size=6,
    ),
)
def test_any_interleaving_matches_the_reference(seed, script):
    check(seed, [step for block in script for step in block])


def test_a_big_shape_gets_no_run(batches):
    big = _runs.RUN_BYTES // 4  # float32: a run of one sample
    check(14, [("randn", (big,))] * 3)
    assert not batches


def test_the_first_draw_of_a_spec_issues_no_batch(batches):
    random.seed(15)
    random.randn(6)
    random.randn(7)
    random.randn(6)
    assert not batches  # each spec drawn once in a row so far
    random.randn(6)
    assert batches == [(("normal", (6,), 0, 0), _runs.RUN_LENGTH)]
    random.next_key()
    random.randn(6)
    assert len(batches) == 1


def test_one_bounded_run_is_held():
    random.seed(16)
    for shape in [(3,), (1024,), (2, 5)]:
        for _ in range(3):
            random.rand(*shape)
        run = _runs._run
        nbytes = 4 * int(np.prod(shape))
        n = min(_runs.RUN_LENGTH, _runs.RUN_BYTES // nbytes)
        assert run.spec[1] == shape and run.states.shape == (n + 1, 2)
        assert len(run.samples) == n - 2  # two of this run are issued
        assert len(run.samples) * nbytes <= _runs.RUN_BYTES
    random.get_rng_state_data()
    assert _runs._run is None


def test_a_used_up_run_hands_on_its_last_state_without_a_dispatch(monkeypatch):
    # A run holds its last chain state apart: the next run of the spec, and a
    # key read once every sample is issued, need no _row call (a key read in
    # the middle of a run still makes one). The values stay the reference's.
    rows = []
    row = _runs._row
    monkeypatch.setattr(_runs, "_row", lambda *a: rows.append(1) or row(*a))
    random.seed(25)
    ref = Reference(25)
    for _ in range(1 + 3 * _runs.RUN_LENGTH):  # one alone, then three runs
        assert_same(ours("rand", 6), ref.rand(6))
    assert_state(ref)
    assert rows == []
    for _ in range(3):
        assert_same(ours("rand", 6), ref.rand(6))
    assert_state(ref)
    assert rows == [1]


@pytest.mark.parametrize("how", ["global", "context"])
def test_an_x64_or_device_switch_mid_run_changes_the_spec(how):
    # The spec reads the default device and x64 at every draw: a switch in the
    # middle of a run, by jax.config.update or a context, never gets a sample
    # of the run drawn before it, and the sequence goes on.
    cpu = jax.devices("cpu")[0]
    random.seed(26)
    ref = Reference(26)
    for _ in range(5):
        assert_same(ours("randint", 0, 9, (2,)), ref.randint(0, 9, (2,)))
    assert _runs._run is not None
    for name, value, off in [
        ("jax_enable_x64", True, False),
        ("jax_default_device", cpu, None),
    ]:
        if how == "global":
            scope = contextlib.ExitStack()
            jax.config.update(name, value)
            scope.callback(jax.config.update, name, off)
        else:
            switch = jax.enable_x64 if name == "jax_enable_x64" else jax.default_device
            scope = switch(value)
        with scope:
            with jax.enable_x64(jax.config.jax_enable_x64):  # the reference's
                for _ in range(3):
                    got = ours("randint", 0, 9, (2,))
                    assert_same(got, ref.randint(0, 9, (2,)))
                for _ in range(3):
                    assert_same(ours("randn", 2), ref.randn(2))
                config = jax.config.jax_default_device, jax.config.jax_enable_x64
                assert _runs._run.spec[4:] == config
            assert got.dtype == (np.int64 if name == "jax_enable_x64" else np.int32)
        for _ in range(3):
            assert_same(ours("randint", 0, 9, (2,)), ref.randint(0, 9, (2,)))
    assert_state(ref)


def test_requires_grad_draws_continue_the_sequence():
    random.seed(17)
    ref = Reference(17)
    for i in range(40):
        x = random.randn(4, requires_grad=i % 3 == 0)
        assert_same(x.numpy(), ref.randn(4))
        assert x.requires_grad is (i % 3 == 0)
    (x * 2.0).sum().backward()
    np.testing.assert_array_equal(x.grad, np.full(4, 2.0, np.float32))
    assert_state(ref)


def test_samples_are_distinct_buffers_that_may_be_donated_or_deleted():
    random.seed(18)
    ref = Reference(18)
    arrays = [random.randn(5).data for _ in range(70)]
    assert len({a.unsafe_buffer_pointer() for a in arrays}) == len(arrays)
    jax.jit(lambda a: a + 1, donate_argnums=0)(random.randn(5).data)
    random.randn(5).data.delete()
    for a in arrays:
        assert_same(np.asarray(a), ref.randn(5))
    ref.randn(5), ref.randn(5)
    for _ in range(40):
        assert_same(ours("randn", 5), ref.randn(5))


def test_draws_inside_jit_from_a_threaded_key_then_eagerly_after():
    @jax.jit
    def three_draws(raw):
        saved = random.get_rng_state_data()
        random.set_rng_state_data(raw)
        values = [random.randn(4).data for _ in range(3)]
        raw = random.get_rng_state_data()
        random.set_rng_state_data(saved)  # no tracer left in the generator
        return values, raw

    random.seed(19)
    ref = Reference(19)
    for _ in range(5):
        assert_same(ours("randn", 4), ref.randn(4))
    values, raw = three_draws(random.get_rng_state_data())
    for v in values:
        assert_same(np.asarray(v), ref.randn(4))
    assert_same(np.asarray(raw), ref.state())
    random.set_rng_state_data(raw)
    for _ in range(5):
        assert_same(ours("randn", 4), ref.randn(4))
    assert_state(ref)


def test_a_compiled_step_with_dropout_continues_the_sequence():
    model = nn.Dropout(0.5)
    step = lucid_fx.compile(lambda m, x: m(x))
    x = Tensor(np.ones(64, np.float32))
    random.seed(20)
    ref = Reference(20)
    masks = []
    for _ in range(3):
        for _ in range(4):
            assert_same(ours("randn", 4), ref.randn(4))
        before = random.get_rng_state()
        masks.append(step(model, x).numpy())
        ref.next_key()  # the dropout's split, threaded through the program
        assert_state(ref)
        random.set_rng_state(before)
        assert_same(model(x).numpy(), masks[-1])  # eagerly: the same mask
    assert not np.array_equal(masks[0], masks[1])
    for _ in range(4):
        assert_same(ours("randn", 4), ref.randn(4))
    assert_state(ref)


def test_two_threads_never_get_the_same_sample():
    random.seed(21)
    ref = Reference(21)
    want = Counter(ref.randn(3).tobytes() for _ in range(1000))
    got = [[], []]
    start = threading.Barrier(2)

    def draw(out):
        start.wait()
        out.extend(random.randn(3).data for _ in range(500))

    threads = [threading.Thread(target=draw, args=(out,)) for out in got]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    arrays = got[0] + got[1]
    assert len({id(a) for a in arrays}) == len(arrays) == 1000
    assert Counter(np.asarray(a).tobytes() for a in arrays) == want
    assert_state(ref)


# ---------------------------------------------------------------- background
@pytest.fixture
def background(monkeypatch):
    """Background compiles on, with empty records (no spec compiled before)."""
    assert _runs.wait(timeout=120)  # an earlier test's compile, if any
    monkeypatch.setattr(_runs, "BACKGROUND", True)
    monkeypatch.setattr(_runs, "_compiled", OrderedDict())
    monkeypatch.setattr(_runs, "_compiling", {})
    yield
    assert _runs.wait(timeout=120)


@pytest.fixture
def compiles(monkeypatch):
    """Records each compile (spec, in a thread?) and holds it until ``release``
    is set; ``fail`` makes it raise."""
    real = _sampling._compile_run
    record = SimpleNamespace(
        specs=[], threads=[], started=threading.Event(), release=threading.Event()
    )
    record.fail = False

    def held(like, spec, n):
        record.specs.append(spec[:4])
        record.threads.append(threading.current_thread() is not threading.main_thread())
        record.started.set()
        assert record.release.wait(60), "the test never released the compile"
        if record.fail:
            raise RuntimeError("compile failed")
        real(like, spec, n)

    monkeypatch.setattr(_sampling, "_compile_run", held)
    return record


def test_the_second_draw_does_not_wait_for_the_run_compile(background, compiles):
    random.seed(30)
    ref = Reference(30)
    for _ in range(2):  # the second draw starts the compile, held
        assert_same(ours("randn", 7, 3), ref.randn(7, 3))
    assert compiles.started.wait(10)
    assert compiles.threads == [True]
    assert not _runs.wait(timeout=0.01)
    for _ in range(10):  # single draws while it compiles
        assert_same(ours("randn", 7, 3), ref.randn(7, 3))
        assert _runs._run is None
    compiles.release.set()
    assert _runs.wait(timeout=120)
    assert_same(ours("randn", 7, 3), ref.randn(7, 3))
    assert _runs._run is not None and _runs._run.spec[1] == (7, 3)
    for _ in range(40):
        assert_same(ours("randn", 7, 3), ref.randn(7, 3))
    assert_state(ref)
    assert compiles.specs == [("normal", (7, 3), 0, 0)]  # one compile per spec


def test_a_failed_compile_leaves_single_draws(background, compiles):
    compiles.fail = True
    compiles.release.set()
    random.seed(31)
    ref = Reference(31)
    for _ in range(3):
        assert_same(ours("rand", 5, 5), ref.rand(5, 5))
    assert _runs.wait(timeout=120)
    for _ in range(40):
        assert_same(ours("rand", 5, 5), ref.rand(5, 5))
        assert _runs._run is None
    assert_state(ref)
    assert compiles.specs == [("uniform", (5, 5), 0, 0)]  # never retried


def test_one_spec_compiles_at_a_time(background, compiles):
    random.seed(32)
    ref = Reference(32)
    for _ in range(5):
        assert_same(ours("randn", 11), ref.randn(11))
    assert compiles.started.wait(10)
    for _ in range(5):  # another spec waits for the compile slot
        assert_same(ours("randint", 0, 9, (2, 3, 4)), ref.randint(0, 9, (2, 3, 4)))
    assert compiles.specs == [("normal", (11,), 0, 0)]
    compiles.release.set()
    assert _runs.wait(timeout=120)
    for _ in range(5):  # its next draw in a row starts its compile
        assert_same(ours("randint", 0, 9, (2, 3, 4)), ref.randint(0, 9, (2, 3, 4)))
    assert _runs.wait(timeout=120)
    for _ in range(3):
        assert_same(ours("randint", 0, 9, (2, 3, 4)), ref.randint(0, 9, (2, 3, 4)))
    assert _runs._run is not None
    assert_state(ref)
    assert compiles.specs[1:] == [("randint", (2, 3, 4), 0, 9)]


def test_the_record_of_compiled_specs_is_a_bounded_lru(background, monkeypatch):
    seen = []
    monkeypatch.setattr(
        _sampling, "_compile_run", lambda like, spec, n: seen.append(spec[1])
    )
    monkeypatch.setattr(_runs, "MAX_SPECS", 2)
    for shape in [(1, 9), (2, 9), (1, 9), (3, 9), (2, 9)]:
        random.rand(*shape)
        random.rand(*shape)
        assert _runs.wait(timeout=120)
    # (1, 9) was used again before (3, 9) came, so (2, 9) went and came back.
    assert seen == [(1, 9), (2, 9), (3, 9), (2, 9)]
    assert [spec[1] for spec in _runs._compiled] == [(3, 9), (2, 9)]


@pytest.mark.parametrize("context", ["default", "device", "x64"])
def test_the_background_compile_is_the_one_the_draw_uses(background, context):
    # Compiled in the thread under the drawing thread's default device and
    # x64 setting, with a key like the generator's: the run finds it in jit's
    # cache instead of compiling again.
    scope = {
        "default": contextlib.nullcontext(),
        "device": jax.default_device(jax.devices("cpu")[0]),
        "x64": jax.enable_x64(True),
    }[context]
    with scope:
        random.seed(33)
        random.randint(0, 7, (3, 5))
        random.randint(0, 7, (3, 5))
        assert _runs.wait(timeout=120)
        size = _sampling._split_and_draw_run._cache_size()
        random.randint(0, 7, (3, 5))
        assert _runs._run is not None
        assert _sampling._split_and_draw_run._cache_size() == size

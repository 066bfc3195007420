"""functionalize carries buffers (running statistics) and random keys as state."""

import chex
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lucid_fx
import lucid_fx.nn as nn
from lucid_fx import Tensor, random

MOMENTUM, EPS = 0.1, 1e-5
X = np.random.default_rng(0).normal(size=(8, 3)).astype(np.float32)
BUFFERS = ["1.running_mean", "1.running_var", "1.num_batches_tracked"]


def _bn_model():
    random.seed(1)
    return nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Linear(4, 2))


def _running_stats(h, mean, var, m=MOMENTUM):
    """PyTorch's rule in float64: biased stats normalize, unbiased are kept."""
    h = np.asarray(h, np.float64)
    new_mean = (1 - m) * np.asarray(mean, np.float64) + m * h.mean(0)
    new_var = (1 - m) * np.asarray(var, np.float64) + m * h.var(0, ddof=1)
    return new_mean, new_var


def _bn_eval(h, mean, var, weight, bias):
    h = np.asarray(h, np.float64)
    return (h - mean) / np.sqrt(np.asarray(var, np.float64) + EPS) * weight + bias


def _linear(x, params, name):
    x = np.asarray(x, np.float64)
    return x @ np.asarray(params[f"{name}.weight"], np.float64).T + np.asarray(
        params[f"{name}.bias"], np.float64
    )


def _snapshot(model):
    return {k: np.asarray(v.data) for k, v in model.state_dict(keep_vars=True).items()}


def _assert_unchanged_and_concrete(model, before):
    for name, tensor in model.state_dict(keep_vars=True).items():
        assert not isinstance(tensor.data, jax.core.Tracer), name
        np.testing.assert_array_equal(np.asarray(tensor.data), before[name])


def _keys_equal(a, b):
    return bool((jax.random.key_data(a) == jax.random.key_data(b)).all())


class BatchNormStateTest(chex.TestCase):
    @chex.variants(with_jit=True, without_jit=True)
    def test_training_returns_running_stats_of_the_batch(self):
        model = _bn_model()
        before = _snapshot(model)
        apply, params = lucid_fx.functionalize(model)
        assert list(params) == list(model.state_dict())
        out, new = self.variant(apply)(params, jnp.asarray(X))
        assert out.shape == (8, 2)
        assert sorted(new) == sorted(BUFFERS)
        h = _linear(X, params, "0")
        mean, var = _running_stats(h, params[BUFFERS[0]], params[BUFFERS[1]])
        np.testing.assert_allclose(new[BUFFERS[0]], mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(new[BUFFERS[1]], var, rtol=1e-5, atol=1e-6)
        assert int(new[BUFFERS[2]]) == 1
        _assert_unchanged_and_concrete(model, before)

    @chex.variants(with_jit=True, without_jit=True)
    def test_training_buffers_equal_the_eager_module_after_the_same_call(self):
        model = _bn_model()
        apply, params = lucid_fx.functionalize(model)
        out, new = self.variant(apply)(params, jnp.asarray(X))
        eager = model(Tensor(X))
        np.testing.assert_allclose(out, eager.numpy(), rtol=1e-5, atol=1e-6)
        for name in BUFFERS:
            np.testing.assert_allclose(
                new[name], model.state_dict()[name].numpy(), rtol=1e-6
            )

    @chex.variants(with_jit=True, without_jit=True)
    def test_eval_uses_the_given_buffers_and_returns_them_unchanged(self):
        model = _bn_model().eval()
        before = _snapshot(model)
        apply, params = lucid_fx.functionalize(model)
        params = dict(params)
        params[BUFFERS[0]] = jnp.array([0.5, -1.0, 2.0, 0.0], jnp.float32)
        params[BUFFERS[1]] = jnp.array([4.0, 0.25, 1.0, 9.0], jnp.float32)
        params[BUFFERS[2]] = jnp.array(7, jnp.int32)
        out, new = self.variant(apply)(params, jnp.asarray(X))
        for name in BUFFERS:
            np.testing.assert_array_equal(new[name], params[name])
        h = _bn_eval(
            _linear(X, params, "0"),
            params[BUFFERS[0]],
            params[BUFFERS[1]],
            params["1.weight"],
            params["1.bias"],
        )
        np.testing.assert_allclose(out, _linear(h, params, "2"), rtol=1e-4, atol=1e-5)
        _assert_unchanged_and_concrete(model, before)


def test_return_form_is_fixed_by_the_module_structure():
    apply, params = lucid_fx.functionalize(nn.Sequential(nn.Linear(3, 2)))
    assert isinstance(apply(params, X), jax.Array)
    apply, params = lucid_fx.functionalize(_bn_model().eval())
    out, new = apply(params, X)
    assert out.shape == (8, 2) and sorted(new) == sorted(BUFFERS)


def test_non_persistent_buffers_are_not_state():
    model = nn.Linear(2, 2)
    model.register_buffer("scratch", Tensor([0.0]), persistent=False)
    apply, params = lucid_fx.functionalize(model)
    assert sorted(params) == ["bias", "weight"]
    assert isinstance(apply(params, jnp.ones((1, 2))), jax.Array)


def test_grad_of_split_params_equals_eager_backward():
    model = _bn_model()
    apply, state = lucid_fx.functionalize(model)
    trainable = dict(model.named_parameters())
    params = {k: v for k, v in state.items() if k in trainable}
    buffers = {k: v for k, v in state.items() if k not in trainable}

    def loss(params, buffers):
        out, new = apply({**params, **buffers}, jnp.asarray(X))
        return (out**2).mean(), new

    grads, new = jax.jit(jax.grad(loss, has_aux=True))(params, buffers)
    (model(Tensor(X)) ** 2).mean().backward()
    for name, p in trainable.items():
        np.testing.assert_allclose(grads[name], p.grad.numpy(), rtol=1e-4, atol=1e-6)
    assert int(new[BUFFERS[2]]) == 1


def test_scan_carries_the_buffers_through_steps():
    model = _bn_model()
    apply, state = lucid_fx.functionalize(model)
    xs = jnp.stack([jnp.asarray(X) + i for i in range(3)])

    def step(state, x):
        _, new = apply(state, x)
        return {**state, **new}, new[BUFFERS[0]]

    final, means = jax.lax.scan(step, state, xs)
    assert int(final[BUFFERS[2]]) == 3
    for x in np.asarray(xs):
        model(Tensor(x))
    np.testing.assert_allclose(
        final[BUFFERS[0]], model[1].running_mean.numpy(), rtol=1e-5, atol=1e-6
    )
    assert means.shape == (3, 4)


class _Rebinds(nn.Module):
    """Counts calls by rebinding its buffer rather than assigning ``.data``."""

    def __init__(self):
        super().__init__()
        self.register_buffer("calls", Tensor(jnp.zeros((), jnp.float32)))

    def forward(self, x):
        self.calls = Tensor(self.calls.data + 1.0)
        return x * 2.0


def test_a_rebound_buffer_is_returned_and_the_module_keeps_its_tensor():
    model = _Rebinds()
    original = model.calls
    apply, params = lucid_fx.functionalize(model)
    out, new = jax.jit(apply)(params, jnp.ones(2))
    np.testing.assert_array_equal(out, [2.0, 2.0])
    assert float(new["calls"]) == 1.0
    assert model.calls is original and float(original.item()) == 0.0


class _Counter(nn.Module):
    """An EMA and a count kept in buffers, updated the usual PyTorch ways: in
    place (``add_``, ``mul_``, ``+=``, ``copy_``) or by rebinding."""

    def __init__(self, how):
        super().__init__()
        self.how = how
        self.lin = nn.Linear(2, 2)
        self.register_buffer("ema", Tensor(jnp.zeros((2,), jnp.float32)))
        self.register_buffer("count", Tensor(jnp.zeros((), jnp.float32)))
        self.register_buffer(
            "seen", Tensor(jnp.zeros((), jnp.float32)), persistent=False
        )

    def forward(self, x):
        y = self.lin(x)
        mean = y.mean(axis=0)
        if self.how == "in place":
            self.ema.mul_(0.5).add_(mean * 0.5)
            self.count += 1.0
        elif self.how == "copy_":
            self.ema.copy_(self.ema * 0.5 + mean * 0.5)
            self.count.add_(1.0)
        else:  # rebinding
            self.ema = self.ema * 0.5 + mean * 0.5
            self.count = self.count + 1.0
        self.seen.data = self.seen.data + 1.0  # non-persistent: not state
        return y


@pytest.mark.parametrize("how", ["in place", "copy_", "rebinding"])
@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
def test_buffers_updated_in_place_or_rebound_are_returned_as_eager(how, jit):
    # PyTorch's torch.func.functional_call runs these forwards; so must apply,
    # returning the new buffers and leaving the module (and its non-persistent
    # buffer) as it was, with no tracer in it.
    model = _Counter(how)
    twin = _Counter(how)
    twin.load_state_dict(model.state_dict())
    apply, state = lucid_fx.functionalize(model)
    run = jax.jit(apply) if jit else apply
    x = jnp.asarray(X[:, :2])
    for step in range(1, 3):
        out, new = run(state, x)
        state = {**state, **new}
        expected = twin(Tensor(x))
        np.testing.assert_allclose(out, expected.numpy(), rtol=1e-6)
        np.testing.assert_allclose(new["ema"], twin.ema.numpy(), rtol=1e-6)
        assert float(new["count"]) == step == twin.count.item()
    assert sorted(new) == ["count", "ema"]
    assert model.count.item() == 0.0 and model.seen.item() == 0.0
    model(Tensor(x))  # the module itself still works eagerly
    assert model.seen.item() == 1.0


@pytest.mark.parametrize("how", ["in place", "copy_", "rebinding"])
def test_a_compiled_step_updates_buffers_in_place_as_eager(how):
    model, twin = _Counter(how), _Counter(how)
    twin.load_state_dict(model.state_dict())
    step = lucid_fx.compile(lambda model, x: model(x))
    x = Tensor(X[:, :2])
    for _ in range(3):
        np.testing.assert_allclose(step(model, x).numpy(), twin(x).numpy(), rtol=1e-6)
    np.testing.assert_allclose(model.ema.numpy(), twin.ema.numpy(), rtol=1e-6)
    assert model.count.item() == twin.count.item() == 3.0


class _LocalInPlace(nn.Module):
    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(2, 3)

    def forward(self, x):
        z = lucid_fx.zeros((x.shape[0], 3))
        z.add_(self.lin(x))  # a local Tensor changed in place
        z *= 2.0
        return z


def test_a_compiled_module_runs_in_place_ops_on_local_tensors():
    model = _LocalInPlace()
    x = Tensor(X[:, :2])
    out = lucid_fx.compile(model)(x)
    out.sum().backward()
    grads = [p.grad.numpy() for p in model.parameters()]
    model.zero_grad()
    expected = model(x)
    expected.sum().backward()
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)
    for g, p in zip(grads, model.parameters(), strict=True):
        np.testing.assert_allclose(g, p.grad.numpy(), rtol=1e-6)


class _FailsAfterBatchNorm(nn.Module):
    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(3)
        self.drop = nn.Dropout(0.5)

    def forward(self, x):
        self.drop(self.bn(x))
        raise ArithmeticError("boom")


@pytest.mark.parametrize("jit", [False, True], ids=["eager", "jit"])
@pytest.mark.parametrize("keyed", [False, True], ids=["no_key", "key"])
def test_an_exception_in_the_forward_restores_params_buffers_and_generator(jit, keyed):
    model = _FailsAfterBatchNorm()
    before = _snapshot(model)
    apply, params = lucid_fx.functionalize(model)
    params = jax.tree.map(lambda v: v + 1, params)
    key = jax.random.key(4) if keyed else None
    random.seed(2)
    rng = random.get_rng_state()
    with pytest.raises(ArithmeticError, match="boom"):
        (jax.jit(apply) if jit else apply)(params, jnp.ones((4, 3)), key=key)
    _assert_unchanged_and_concrete(model, before)
    if keyed or jit:
        assert random.get_rng_state() is rng
    else:  # an eager draw without a key advances the global generator
        assert _keys_equal(random.get_rng_state(), _rng_after_one_draw())


def _rng_after_one_draw():
    random.seed(2)
    random.next_key()
    return random.get_rng_state()


class DropoutKeyTest(chex.TestCase):
    def setUp(self):
        super().setUp()
        self.model = nn.Sequential(nn.Linear(4, 64), nn.Dropout(0.5))
        self.apply, self.params = lucid_fx.functionalize(self.model)
        self.x = jnp.ones((16, 4))

    def _run(self, key):
        return np.asarray(
            self.variant(lambda p, x, k: self.apply(p, x, key=k))(
                self.params, self.x, key
            )
        )

    @chex.variants(with_jit=True, without_jit=True)
    def test_same_key_same_mask_different_keys_different_masks(self):
        a, b = self._run(jax.random.key(0)), self._run(jax.random.key(0))
        c = self._run(jax.random.key(1))
        np.testing.assert_array_equal(a, b)
        assert not np.array_equal(a == 0, c == 0)

    @chex.variants(with_jit=True, without_jit=True)
    def test_key_draws_as_the_global_generator_set_to_it(self):
        key = jax.random.key(5)
        out = self._run(key)
        random.set_rng_state(key)
        eager = self.model(Tensor(self.x)).numpy()
        np.testing.assert_allclose(out, eager, rtol=1e-6)

    @chex.variants(with_jit=True, without_jit=True)
    def test_mask_fraction_and_scale_match_p(self):
        out = self._run(jax.random.key(7))
        kept = out != 0
        assert abs(kept.mean() - 0.5) < 0.05
        full = np.asarray(self.model.eval()(self.x))
        np.testing.assert_allclose(out[kept], 2.0 * full[kept], rtol=1e-5)

    @chex.variants(with_jit=True, without_jit=True)
    def test_a_keyed_call_leaves_the_global_generator_as_it_was(self):
        random.seed(11)
        before = random.get_rng_state()
        self._run(jax.random.key(3))
        assert random.get_rng_state() is before


def test_vmap_over_keys_gives_each_key_its_own_mask():
    model = nn.Sequential(nn.Linear(4, 64), nn.Dropout(0.5))
    apply, params = lucid_fx.functionalize(model)
    x = jnp.ones((2, 4))
    keys = jax.random.split(jax.random.key(0), 3)
    many = jax.jit(jax.vmap(lambda k: apply(params, x, key=k)))(keys)
    assert many.shape == (3, 2, 64)
    for i in range(3):
        np.testing.assert_allclose(many[i], apply(params, x, key=keys[i]), rtol=1e-6)
    assert not np.array_equal(many[0] == 0, many[1] == 0)


def test_an_eager_call_without_key_draws_from_the_global_generator():
    model = nn.Dropout(0.5)
    apply, params = lucid_fx.functionalize(model)
    x = jnp.ones(64)
    random.seed(9)
    a = apply(params, x)
    random.seed(9)
    np.testing.assert_array_equal(a, model(Tensor(x)).numpy())


@pytest.mark.parametrize(
    "transform",
    [jax.jit, lambda f: jax.grad(lambda p, x: f(p, x).sum())],
    ids=["jit", "grad"],
)
def test_drawing_under_a_transformation_without_key_raises(transform):
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5))
    before_state = _snapshot(model)
    apply, params = lucid_fx.functionalize(model)
    random.seed(4)
    before = random.get_rng_state()
    with pytest.raises(
        ValueError, match=r"apply: the module drew random numbers.*key="
    ):
        transform(apply)(params, jnp.ones((2, 4)))
    assert random.get_rng_state() is before
    _assert_unchanged_and_concrete(model, before_state)


def test_no_key_is_needed_when_nothing_is_drawn():
    model = nn.Sequential(nn.Linear(4, 8), nn.Dropout(0.5)).eval()
    apply, params = lucid_fx.functionalize(model)
    random.seed(4)
    before = random.get_rng_state()
    out = jax.jit(apply)(params, jnp.ones((2, 4)))
    np.testing.assert_allclose(out, model(jnp.ones((2, 4))), rtol=1e-6)
    assert random.get_rng_state() is before


class TestErrors:
    def test_missing_buffers_are_named_with_the_merge_hint(self):
        model = _bn_model()
        apply, state = lucid_fx.functionalize(model)
        params = {k: v for k, v in state.items() if k not in BUFFERS}
        with pytest.raises(KeyError, match=r"missing \['1.running_mean'.*\*\*buffers"):
            apply(params, X)

    def test_misshapen_buffer(self):
        apply, state = lucid_fx.functionalize(_bn_model())
        bad = dict(state, **{"1.running_var": jnp.ones(3)})
        with pytest.raises(ValueError, match=r"'1.running_var': got shape \(3,\)"):
            apply(bad, X)

    @pytest.mark.parametrize(
        ("key", "match"),
        [
            (jax.random.PRNGKey(0), "wrap_key_data"),
            (jax.random.split(jax.random.key(0), 2), r"shape \(2,\).*jax.vmap"),
            (3, "got int"),
        ],
        ids=["raw", "batched", "int"],
    )
    def test_key_must_be_one_typed_key(self, key, match):
        apply, params = lucid_fx.functionalize(nn.Dropout(0.5))
        with pytest.raises(TypeError, match=f"apply: key must be a typed.*{match}"):
            apply(params, jnp.ones(4), key=key)

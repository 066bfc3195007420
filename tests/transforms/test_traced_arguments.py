"""Python numbers passed to a compiled step are traced: the APIs that need them
as Python values fall back to eager (one warning), those that only compute
with them stay compiled; a compiled module's forward must return one array."""

import jax
import numpy as np
import pytest
import torch

import lucid_fx
import lucid_fx.functional as core
import lucid_fx.nn as nn
import lucid_fx.nn.functional as F
from lucid_fx import Tensor, optim

RNG = np.random.default_rng(7)
X = RNG.normal(size=(6, 8)).astype(np.float32)
T = RNG.normal(size=(6, 8)).astype(np.float32)
LABELS = RNG.integers(0, 3, 6).astype(np.int32)


def _torch(a):
    return torch.tensor(np.asarray(a))


# Each case: (the step, its number argument, the torch/numpy reference).
FALLBACK_CASES = {
    "elu_alpha": (
        lambda x, alpha: F.elu(x, alpha),
        0.75,
        lambda x, v: torch.nn.functional.elu(_torch(x), v).numpy(),
        "elu: alpha",
    ),
    "layer_norm_eps": (
        lambda x, eps: F.layer_norm(x, (8,), eps=eps),
        0.25,
        lambda x, v: torch.nn.functional.layer_norm(_torch(x), (8,), eps=v).numpy(),
        "layer_norm: eps",
    ),
    "huber_loss_delta": (
        lambda x, delta: F.huber_loss(x, Tensor(T), delta=delta),
        0.5,
        lambda x, v: torch.nn.functional.huber_loss(
            _torch(x), _torch(T), delta=v
        ).numpy(),
        "huber_loss: delta",
    ),
    "softmax_dim": (
        lambda x, d: F.softmax(x, d),
        1,
        lambda x, v: torch.softmax(_torch(x), v).numpy(),
        "softmax: dim",
    ),
    "reshape_size": (
        lambda x, n: x.reshape(n, -1),
        3,
        lambda x, v: np.reshape(x, (v, -1)),
        "reshape: shape",
    ),
}


@pytest.mark.parametrize("case", sorted(FALLBACK_CASES))
def test_number_needed_as_python_value_falls_back_with_one_warning(case):
    fn, value, reference, api = FALLBACK_CASES[case]
    compiled = lucid_fx.compile(fn)
    with pytest.warns(RuntimeWarning, match=f"{api} must be a concrete") as caught:
        out = compiled(Tensor(X), value)
    assert len(caught) == 1 and "static_argnames" in str(caught[0].message)
    np.testing.assert_allclose(out.numpy(), reference(X, value), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(out.numpy(), fn(Tensor(X), value).numpy())
    again = compiled(Tensor(X), value)  # eager from now on: no second warning
    np.testing.assert_allclose(again.numpy(), out.numpy())


def test_dropout_p_argument_gives_the_eager_mask_under_the_same_seed():
    compiled = lucid_fx.compile(lambda x, p: F.dropout(x, p, training=True))
    lucid_fx.random.seed(3)
    eager = [F.dropout(Tensor(X), p).numpy() for p in (0.5, 0.25)]
    lucid_fx.random.seed(3)
    with pytest.warns(RuntimeWarning, match="dropout: p must be a concrete"):
        first = compiled(Tensor(X), 0.5)
    second = compiled(Tensor(X), 0.25)
    np.testing.assert_array_equal(first.numpy(), eager[0])
    np.testing.assert_array_equal(second.numpy(), eager[1])
    assert set(np.unique(first.numpy() / X)) == {0.0, 2.0}


def test_range_of_a_traced_number_is_checked_by_the_eager_fallback():
    compiled = lucid_fx.compile(lambda x, p: F.dropout(x, p))
    with pytest.warns(RuntimeWarning, match="dropout: p"):
        with pytest.raises(ValueError, match=r"dropout: p must be in \[0, 1\]"):
            compiled(Tensor(X), 1.5)


def test_under_jax_jit_a_traced_number_is_a_type_error_naming_static_argnames():
    key = jax.random.key(0)
    jitted = jax.jit(lambda x, p: core.dropout(x, key, p))
    with pytest.raises(TypeError, match="dropout: p must be a concrete.*static_arg"):
        jitted(X, 0.5)
    with pytest.raises(TypeError, match="elu: alpha must be a concrete"):
        jax.jit(core.elu)(X, 0.5)
    with pytest.raises(TypeError, match="softmax: axis must be a concrete"):
        jax.jit(core.softmax)(X, 0)
    # Concrete calls are as before: right values, and non-numbers still raise
    # the plain TypeError naming the argument, also inside a compiled step.
    np.testing.assert_array_equal(
        jax.jit(core.dropout, static_argnames="p")(X, key, 0.0), X
    )
    for bad in ("0.5", None):
        with pytest.raises(TypeError, match="dropout: p must be a real number"):
            F.dropout(Tensor(X), bad)
        with pytest.raises(TypeError, match="dropout: p must be a real number"):
            lucid_fx.compile(lambda x, p: F.dropout(x, p))(Tensor(X), bad)
    with pytest.raises(TypeError, match="clip_grad_norm_: max_norm must be a number"):
        nn.utils.clip_grad_norm_([nn.Parameter([1.0])], "1.0")


def _torch_steps(model, clip, values):
    """PyTorch's SGD steps on ``model``'s weights, clipping with each value."""
    ref = torch.nn.Linear(8, 3)
    with torch.no_grad():
        ref.weight.copy_(_torch(model.weight.numpy()))
        ref.bias.copy_(_torch(model.bias.numpy()))
    opt = torch.optim.SGD(ref.parameters(), lr=0.5)
    for value in values:
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(ref(_torch(X)), _torch(LABELS).long())
        loss.backward()
        clip(ref.parameters(), value)
        opt.step()
    return [ref.weight.detach().numpy(), ref.bias.detach().numpy()]


@pytest.mark.parametrize(
    "ours, theirs",
    [
        (nn.utils.clip_grad_norm_, torch.nn.utils.clip_grad_norm_),
        (nn.utils.clip_grad_value_, torch.nn.utils.clip_grad_value_),
    ],
    ids=["clip_grad_norm_", "clip_grad_value_"],
)
def test_clip_bound_argument_stays_compiled_in_one_program(ours, theirs):
    traces = []

    def step(model, opt, x, y, bound):
        traces.append(1)  # runs only while tracing
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        ours(model.parameters(), bound)
        opt.step()

    values = (0.05, 0.02, 1e-3, 0.01)
    lucid_fx.random.seed(0)
    model = nn.Linear(8, 3)
    eager = nn.Linear(8, 3)
    eager.load_state_dict(model.state_dict())
    expected = _torch_steps(model, theirs, values)
    compiled = lucid_fx.compile(step)
    opt = optim.SGD(model.parameters(), 0.5)
    eager_opt = optim.SGD(eager.parameters(), 0.5)
    x, y = Tensor(X), Tensor(LABELS)
    new_traces = []
    for value in values:  # filterwarnings=error: a fallback would fail here
        before = len(traces)
        compiled(model, opt, x, y, value)
        new_traces.append(len(traces) - before)
        step(eager, eager_opt, x, y, value)
    # Traced without grads, then with them (the .grad slots are state); the
    # later values reuse that program.
    assert new_traces == [1, 1, 0, 0]
    for p, e, t in zip(model.parameters(), eager.parameters(), expected, strict=True):
        np.testing.assert_allclose(p.numpy(), e.numpy(), rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(p.numpy(), t, rtol=1e-5, atol=1e-6)


class _Two(nn.Module):
    def __init__(self, as_dict=False):
        super().__init__()
        self.fc = nn.Linear(8, 3)
        self.as_dict = as_dict

    def forward(self, x):
        h = self.fc(x)
        return {"h": h, "total": h.sum()} if self.as_dict else (h, h.sum())


@pytest.mark.parametrize(
    "as_dict, what",
    [(False, "a tuple of 2 items"), (True, r"a dict with keys \['h', 'total'\]")],
)
def test_compiled_module_returning_a_pytree_raises_naming_the_fix(as_dict, what):
    model = _Two(as_dict)
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    compiled = lucid_fx.compile(model)
    message = f"lucid_fx.compile: _Two.forward returned {what}.*@lucid_fx.compile"
    for x in (Tensor(X), Tensor(X, requires_grad=True)):
        with pytest.raises(TypeError, match=message):
            compiled(x)
    for k, v in model.state_dict().items():  # the module is left as it was
        np.testing.assert_array_equal(v.numpy(), before[k])
        assert not isinstance(v.data, jax.core.Tracer)
    assert all(p.grad is None for p in model.parameters())
    # The fix the message names: compile a function taking the model.
    out = lucid_fx.compile(lambda m, x: m(x))(model, Tensor(X))
    eager = model(Tensor(X))
    for got, want in zip(jax.tree.leaves(out), jax.tree.leaves(eager), strict=True):
        np.testing.assert_allclose(got.numpy(), want.numpy(), rtol=1e-6)


def test_compiled_module_keyword_arguments_raise_naming_the_fix():
    model = nn.Linear(8, 2)
    fast = lucid_fx.compile(model)
    with pytest.raises(TypeError, match=r"positional inputs only, got keyword"):
        fast(Tensor(X), scale=2.0)
    np.testing.assert_array_equal(fast(Tensor(X)).numpy(), model(Tensor(X)).numpy())

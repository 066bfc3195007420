"""Random sequences of public calls, checking invariants after every step.

A hypothesis state machine creates inputs, runs and trains a model eagerly and
compiled, saves, loads and loads corrupted bytes. After every step: only the
documented exceptions, parameters finite unless fed non-finite data, and any
failed call leaves the state exactly as before.
"""

import math
import pathlib
import tempfile

import numpy as np
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

import lucid_fx
import lucid_fx.nn as nn
from lucid_fx import Tensor, optim
from tests.fingerprint import fingerprint
from tests.helpers import train_step

# One compiled step serves every example (programs are shared between equal
# models), and the machine sets random slopes, each a module config of its own
# program: past 8 programs compile warns, as documented (tested in
# tests/transforms). Here that warning is expected, not a failure: with it an
# error, hypothesis seed 6 failed (a flaky test, at the ninth session's code too).
pytestmark = pytest.mark.filterwarnings(
    "ignore:lucid_fx.compile.*has been compiled:RuntimeWarning"
)

DOCUMENTED = (TypeError, ValueError, KeyError, RuntimeError, FileNotFoundError)
VALUES = st.one_of(st.floats(-10, 10, width=32), st.sampled_from([0.0, -0.0]))


_step = train_step
_compiled_step = lucid_fx.compile(train_step)


class LibraryMachine(RuleBasedStateMachine):
    @initialize(seed=st.integers(0, 3), slope=st.sampled_from([0.0, 0.01, 0.3]))
    def setup(self, seed, slope):
        lucid_fx.random.seed(seed)
        self.model = nn.Sequential(
            nn.Linear(3, 5), nn.LeakyReLU(slope), nn.Linear(5, 2)
        )
        self.opt = optim.SGD(self.model.parameters(), lr=0.05, momentum=0.5)
        self.dir = pathlib.Path(tempfile.mkdtemp())
        self.x = Tensor(np.zeros((4, 3), np.float32))
        self.y = Tensor(np.zeros(4, np.int32))
        self.fed_non_finite = False

    def _guarded(self, call):
        """Run a call; if it raises, it must be documented and change nothing."""
        before = fingerprint([self.model, self.opt])
        try:
            call()
        except DOCUMENTED:
            assert fingerprint([self.model, self.opt]) == before
            return False
        return True

    @rule(
        data=st.lists(VALUES, min_size=12, max_size=12),
        labels=st.lists(st.integers(0, 1), min_size=4, max_size=4),
        poison=st.booleans(),
    )
    def new_batch(self, data, labels, poison):
        x = np.array(data, np.float32).reshape(4, 3)
        if poison:
            x[0, 0] = np.inf
            self.fed_non_finite = True
        self.x, self.y = Tensor(x), Tensor(np.array(labels, np.int32))

    @rule(compiled=st.booleans())
    def train_step(self, compiled):
        step = _compiled_step if compiled else _step
        loss = step(self.model, self.opt, self.x, self.y)
        assert loss.shape == ()

    @rule()
    def forward_backward(self):
        self.model(Tensor(self.x.numpy(), requires_grad=True)).sum().backward()

    @rule()
    def zero_grad(self):
        self.model.zero_grad()
        assert all(p.grad is None for p in self.model.parameters())

    @rule(bad_width=st.integers(1, 6))
    def maybe_wrong_input(self, bad_width):
        self._guarded(lambda: self.model(Tensor(np.ones((2, bad_width), np.float32))))

    @rule()
    def save_and_load(self):
        path = self.dir / "m.safetensors"
        lucid_fx.save(self.model, path)
        before = fingerprint(self.model)
        self.model.load_state_dict(lucid_fx.load(path))
        assert fingerprint(self.model) == before  # a bit-exact round trip

    @rule(cut=st.integers(0, 200), junk=st.binary(max_size=16))
    def load_corrupted(self, cut, junk):
        path = self.dir / "bad.safetensors"
        good = self.dir / "good.safetensors"
        lucid_fx.save(self.model, good)
        path.write_bytes(good.read_bytes()[:cut] + junk)
        self._guarded(lambda: self.model.load_state_dict(lucid_fx.load(path)))

    # Valid slopes stay moderate (a slope of 1e38 overflows any network); the
    # invalid ones (NaN, inf, strings) must be rejected without a change.
    @rule(
        slope=st.one_of(
            st.floats(-2, 2),
            st.sampled_from([float("nan"), float("inf"), -float("inf")]),
            st.text(max_size=3),
        )
    )
    def set_slope(self, slope):
        self._guarded(lambda: setattr(self.model[1], "negative_slope", slope))

    @invariant()
    def parameters_finite_unless_fed_non_finite(self):
        if getattr(self, "fed_non_finite", True):
            return
        for name, p in self.model.named_parameters():
            assert np.isfinite(p.numpy()).all(), name

    @invariant()
    def slope_is_a_finite_float(self):
        if hasattr(self, "model"):
            assert math.isfinite(self.model[1].negative_slope)


TestLibraryMachine = LibraryMachine.TestCase
TestLibraryMachine.settings = settings(
    max_examples=15, stateful_step_count=12, deadline=None
)

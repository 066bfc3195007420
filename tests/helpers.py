"""Shared test helpers."""

import importlib.util
import os
import pathlib
import sys
import threading
import time
from signal import SIGINT

import pytest

import lucid_fx.nn.functional as F

ROOT = pathlib.Path(__file__).resolve().parents[1]


def load_example(name):
    """Import ``examples/<name>.py`` as a module (examples are not a package)."""
    spec = importlib.util.spec_from_file_location(name, ROOT / f"examples/{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def train_step(model, opt, x, y):
    """The eager training step every compile test also runs compiled."""
    opt.zero_grad()
    loss = F.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return loss


class CtrlC:
    """Press Ctrl-C (SIGINT to this process) ``delay`` seconds after entry,
    from a timer thread, and again whenever CPython dropped it.

    CPython drops an exception raised where it cannot propagate (it reports
    it as unraisable): in a ``gc.callbacks`` function (JAX registers one,
    ``_xla_gc_callback``), a weakref callback (several of JAX's caches are
    weak-keyed: a full collection that frees their keys runs their
    callbacks), a ``__del__``. A Ctrl-C whose handler happens to run
    there is lost, in any JAX program; the user presses Ctrl-C again. A long
    full collection makes it likely: the timer thread waits for the GIL until
    the collection first runs Python code, which is one of those callbacks.
    ``poll()``, called at each iteration of the interrupted loop, does the
    same, and fails the test if the Ctrl-C was lost any other way
    (``deadline`` seconds with neither a KeyboardInterrupt nor a dropped one).
    Other unraisable errors go to pytest's hook.
    """

    def __init__(self, delay, deadline=30.0):
        self.delay, self.deadline = delay, deadline
        self.dropped = []  # KeyboardInterrupts CPython dropped as unraisable
        self.again = 0  # presses after the first

    def _unraisable(self, info):
        if issubclass(info.exc_type, KeyboardInterrupt):
            self.dropped.append(info.object)
        else:
            self._previous(info)

    def __enter__(self):
        self._previous, sys.unraisablehook = sys.unraisablehook, self._unraisable
        self._timer = threading.Timer(self.delay, os.kill, (os.getpid(), SIGINT))
        self._until = time.monotonic() + self.delay + self.deadline
        try:
            self._timer.start()  # a short delay can fire while start() waits
        except BaseException:
            self.__exit__()
            raise
        return self

    def poll(self):
        if self.dropped:
            self.dropped.clear()
            self.again += 1
            self._until = time.monotonic() + self.deadline
            os.kill(os.getpid(), SIGINT)
        elif time.monotonic() > self._until:
            pytest.fail(f"a Ctrl-C was lost, never raised ({self.again} resent)")

    def __exit__(self, *exc):
        if self._timer.ident is not None:  # started
            self._timer.join()
        sys.unraisablehook = self._previous
        return False

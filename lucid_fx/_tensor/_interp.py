"""First-sight graphs in one call: a compiled interpreter of tape steps.

A graph whose wiring is new (``_fused`` has not compiled it) runs node by
node: one compiled call per deferred op's forward and one per VJP. When every
op of the graph is deferred (``_pending``) and its values are small, the graph
runs instead as *data* through an interpreter compiled once per **op set**:
the ops the graph uses (each op's forward for its input signature,
``_ops._Flat``) and the shapes of its values, not how they are wired. Any
wiring of the same ops of similar size (a loop whose length depends on the
data, a new pattern every iteration) shares one program: steps, registers per
file and inputs per file are rounded up to powers of two. It is compiled
at the op set's ``FUSE_AFTER``-th sight, in the background as a wiring's
fused program is (``_fused.program``); until it is ready, or if it fails to
compile, the graph runs node by node. A wiring that recurs gets its own fused
program, which is faster still: from its ``FUSE_AFTER``-th sight on, its
sights no longer count for the op set.

How: every value lives in a *register file*, one array per abstract value
(shape, dtype, weak type) with one row per register. The graph's inputs are
loaded into their registers; a loop runs the ops forward (a ``lax.switch``
over the op set), each reading its inputs' rows and writing its output's row;
a second loop runs them backward in the walk's order, each recomputing its
forward for the VJP (no residuals to store) and accumulating cotangents per
register. The arguments are the int32 code (per step: op, output register,
input registers), the input arrays, the seed and the old gradients; the
results are the register files, the root's value and the new gradients. A
deferred tensor's value is then a row of its file, read (one call) only if
someone reads it (``_pending.in_row``).

Results are the node-by-node walk's up to rounding: the same functions and
VJP rules run in the same order, and cotangents are summed in the same order
(a register's first cotangent is stored as is, later ones added); but XLA
compiles an op inside the loop as part of a larger program, where it may
contract a product and a sum into one fused multiply-add or divide by a
scalar as a product with its reciprocal, so a result may differ from the
walk's in the last bit (the wiring's fused program does the same). A leaf
whose ``.data`` was replaced between two of its ops (the ops captured
different arrays for it) walks node by node. The root's value (the loss) is
an output of its own, so reading it costs no call; the register files live as
long as a tensor of the graph does (the loss too, through its node's
parents), as the walk's activations do.

Bounds: at most ``MAX_STEPS`` ops; register files of at most ``MAX_BYTES``
together (values and cotangents: each loop step copies them); an LRU of
``MAX_PROGRAMS`` programs.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Hashable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from lucid_fx._tensor import _fused
from lucid_fx._tensor._pending import in_row

MAX_STEPS = 2048
# Each loop step copies the files it carries (XLA's conditional returns them
# whole), so the interpreter wins only while they are small. Measured on the
# 2-core CPU, first-sight backward against the walk, by total file bytes:
# 66 KiB (4 floats, 1,203 ops) 3.0x faster, 128 KiB (32 floats, 403 ops;
# 64 floats, 203 ops) 1.9-2.1x faster, 512 KiB (256 floats, 241 ops) 1.2x
# slower, 0.8 MiB (96 floats, 801 ops) 1.8x slower.
MAX_BYTES = 128 * 2**10
MAX_PROGRAMS = 64
_MIN_ROWS = 8
_ARRAY = type(jnp.zeros(()))


def _rows(count: int) -> int:
    """Rows of a file (or steps of the code) for ``count``: powers of two, so
    graphs of similar size share a program."""
    return max(_MIN_ROWS, 1 << (count - 1).bit_length())


def _file_order(aval: Any) -> tuple:
    return (str(aval.dtype), aval.shape, aval.weak_type)


def backward(
    plan: Any, args: tuple, order: list[Any], seed: jax.Array, old: tuple
) -> tuple[jax.Array, ...] | None:
    """Run ``plan`` (every step a deferred op; ``args`` its steps' array
    inputs, from ``_tape._plan``) through the interpreter of its op set: its
    values become rows (``in_row``), and the targets' new gradients (old ones
    added) are returned. None to walk node by node: the graph is not one the
    interpreter runs, or its program is not ready.

    Examples:
      >>> from lucid_fx import Tensor
      >>> from lucid_fx._tensor import _fused, _interp
      >>> x = Tensor([1.0, 2.0], requires_grad=True)
      >>> def chain(n):  # n products: a new wiring for each n, one op set
      ...     h = x
      ...     for _ in range(n):
      ...         h = h * 3.0
      ...     return h.sum()
      >>> for n in range(1, _fused.FUSE_AFTER + 1):  # the 3rd compiles it
      ...     chain(n).backward()
      >>> _fused.wait(60.0)
      True
      >>> x.grad = None
      >>> chain(4).backward()  # first sight of this wiring: one call
      >>> x.grad
      Tensor([81.0, 81.0])
    """
    wiring, target_positions = plan
    n = len(wiring)
    if n > MAX_STEPS:
        return None
    count: dict[Any, int] = {}  # registers per file (by abstract value)
    loads: dict[Any, list] = {}  # per file: (row, array) of the inputs
    of_position: dict[int, tuple] = {}  # a leaf or a step: (file, row)
    of_array: dict[int, tuple] = {}  # a constant input (by id): (file, row)
    leaves: dict[int, Any] = {}  # a leaf's position: the array ops captured
    steps = []
    for k in range(n - 1, -1, -1):  # inputs before outputs
        i, parents, _, forward = wiring[k]
        data = order[i]._data
        flat = data.flat
        given = iter(args[k])
        registers = []
        for s, aval, d in zip(forward[1], flat.avals, flat.parent, strict=True):
            if s >= 0:  # computed by a step of this graph
                if d >= 0 and parents[d] < 0:
                    return None  # an input detached since: walk node by node
                registers.append(of_position[s])
                continue
            x = next(given)
            if x is None:  # an optional operand left out
                registers.append(None)
                continue
            if type(x) is not _ARRAY:  # a Python number: a constant of the op
                return None
            if d >= 0 and parents[d] >= 0:  # a leaf: its cotangent is kept
                key, table = parents[d], of_position
                if leaves.setdefault(key, x) is not x:
                    return None  # its .data was replaced between two ops
            else:
                key, table = id(x), of_array
            register = table.get(key)
            if register is None:
                row = count.get(aval, 0)
                count[aval] = row + 1
                register = table[key] = (aval, row)
                loads.setdefault(aval, []).append((row, x))
            registers.append(register)
        aval = flat.out
        row = count.get(aval, 0)
        count[aval] = row + 1
        of_position[i] = register = (aval, row)
        steps.append((flat, register, registers, data))
    try:
        targets = [of_position[t] for t in target_positions]
        root = of_position[wiring[0][0]]
    except KeyError:  # pragma: no cover - every target is a leaf or a step
        return None
    files = sorted(count, key=_file_order)
    size = {a: _rows(count[a]) for a in files}
    if 2 * sum(size[a] * a.size * a.dtype.itemsize for a in files) > MAX_BYTES:
        return None
    index = {a: f for f, a in enumerate(files)}
    flats = sorted({id(s[0]): s[0] for s in steps}.values(), key=id)
    branch = {id(f): b for b, f in enumerate(flats)}
    width = 2 + max(len(f.avals) for f in flats)
    length = _rows(n)
    code = [n]
    for flat, out, registers, _ in steps:
        code += [branch[id(flat)], out[1]]
        code += [0 if r is None else r[1] for r in registers]
        code += [0] * (width - 2 - len(registers))
    code += [0] * (width * (length - n))
    inputs = []
    loaded = []
    for a in files:
        rows = loads.get(a, ())
        if not rows:
            loaded.append(0)
            inputs.append(())
            continue
        padded = _rows(len(rows))
        rows = rows + [rows[0]] * (padded - len(rows))
        code += [r for r, _ in rows]
        inputs.append(tuple(x for _, x in rows))
        loaded.append(padded)
    # Targets in a canonical order (by file, then whether an old gradient is
    # added), so graphs that reach their leaves in another order share a key.
    by = sorted(
        range(len(targets)), key=lambda t: (index[targets[t][0]], old[t] is None)
    )
    targets = [targets[t] for t in by]
    old = tuple(old[t] for t in by)
    code += [r[1] for r in targets]
    code.append(root[1])
    key = (
        tuple((a, size[a], m) for a, m in zip(files, loaded, strict=True)),
        tuple(
            (f, tuple(None if a is None else index[a] for a in f.avals), index[f.out])
            for f in flats
        ),
        length,
        width,
        tuple(index[r[0]] for r in targets),
        index[root[0]],
        tuple(g is None for g in old),
    )
    meta = np.asarray(code, np.int32)
    inputs = tuple(inputs)
    program = _fused.program(key, lambda: (meta, inputs, seed, old), _program)
    if program is None:
        return None
    try:
        registers, value, grads = program(meta, inputs, seed, old)
    except Unfit:  # compiled here (BACKGROUND off) and found unfit: the walk
        _fused.failed(key)
        return None
    new = [None] * len(grads)
    for t, g in zip(by, grads, strict=True):
        new[t] = g
    *steps, (_, _, _, data) = steps
    for flat, (aval, row), _, pending in steps:
        in_row(pending, registers[index[aval]], row)
    # The root (the loss, usually read to log) holds its own array: reading
    # it costs no call.
    data.done(value)
    return new


@functools.lru_cache(maxsize=MAX_PROGRAMS)
def _program(key: Hashable) -> Callable:
    """The interpreter of one op set (``key``, see :func:`backward`)."""
    return jax.jit(functools.partial(_interpret, key))


def _zeros(aval: Any, rows: int) -> jax.Array:
    """A file of ``rows`` zeros of ``aval``, weakly typed if ``aval`` is."""
    shape = (rows, *aval.shape)
    if not aval.weak_type:
        return jnp.zeros(shape, aval.dtype)
    zero = aval.dtype.type(0).item()  # a Python number: lax.full keeps it weak
    file = lax.full(shape, zero)
    _check(file[0], aval, "a weakly typed file")
    return file


class Unfit(TypeError):
    """An op set the interpreter cannot run: a value is not of the abstract
    value its op was traced for (e.g. a weakly typed output stored in a
    strongly typed file). Raised while tracing, so the program never exists."""


def _check(value: Any, aval: Any, what: str, weak: bool = True) -> None:
    """Fail the trace (the graph then runs node by node) if ``value`` is not
    of ``aval`` (its weak type too, if ``weak``): the program must see exactly
    what the ops were traced for."""
    got = jax.typeof(value)
    if (got.shape, got.dtype) != (aval.shape, aval.dtype) or (
        weak and got.weak_type != aval.weak_type
    ):
        raise Unfit(f"interpreter: {what} is {got}, expected {aval}")


def _interpret(
    key: Hashable, meta: jax.Array, inputs: tuple, seed: jax.Array, old: tuple
) -> tuple[tuple, tuple]:
    files, branches, length, width, target_files, root_file, _ = key
    n = meta[0]
    code = meta[1 : 1 + length * width].reshape(length, width)
    at = 1 + length * width
    values = []
    for (aval, rows, loaded), arrays in zip(files, inputs, strict=True):
        file = _zeros(aval, rows)
        if loaded:
            file = file.at[meta[at : at + loaded]].set(jnp.stack(arrays))
            at += loaded
        values.append(file)
    target_rows = meta[at : at + len(target_files)]
    root_row = meta[at + len(target_files)]

    avals = [aval for aval, _, _ in files]
    # Loop carries: only the files a step writes (values forward; cotangents
    # backward); the others are read from outside the loop.
    written = sorted({out for _, _, out in branches})
    graded = sorted(
        {out for _, _, out in branches}
        | {kinds[j] for flat, kinds, _ in branches for j in flat.diff}
    )

    def read(carried: dict, kinds: tuple, row: jax.Array) -> tuple:
        return tuple(
            None
            if f is None
            else (carried[f] if f in carried else values[f])[row[2 + j]]
            for j, f in enumerate(kinds)
        )

    def forward(branch: tuple) -> Callable:
        flat, kinds, out = branch

        def step(row: jax.Array, carried: dict) -> dict:
            args = read(carried, kinds, row)
            for a, f in zip(args, kinds, strict=True):
                if f is not None:
                    _check(a, avals[f], "an input")
            y = flat.vjp_of(args)[0]
            _check(y, avals[out], "an output")
            return {**carried, out: carried[out].at[row[1]].set(y)}

        return step

    steps = [forward(b) for b in branches]
    carried = lax.fori_loop(
        0,
        n,
        lambda s, c: lax.switch(code[s, 0], steps, code[s], c),
        {f: values[f] for f in written},
    )
    values = [carried.get(f, v) for f, v in enumerate(values)]

    def backward(branch: tuple) -> Callable:
        flat, kinds, out = branch

        def step(row: jax.Array, carry: tuple) -> tuple:
            grads, seen = dict(carry[0]), dict(carry[1])
            _, vjp_fn = flat.vjp_of(read({}, kinds, row))
            cotangents = vjp_fn(grads[out][row[1]])
            for j, ct in zip(flat.diff, cotangents, strict=True):
                f, r = kinds[j], row[2 + j]
                _check(ct, avals[f], "a cotangent", weak=False)
                # The first cotangent is stored as is, later ones added, as
                # the walk does (XLA's CPU add flushes subnormals to zero).
                grads[f] = (
                    grads[f]
                    .at[r]
                    .set(jnp.where(seen[f][r], jnp.add(grads[f][r], ct), ct))
                )
                seen[f] = seen[f].at[r].set(True)
            return grads, seen

        return step

    grads = {
        f: jnp.zeros((files[f][1], *avals[f].shape), avals[f].dtype) for f in graded
    }
    seen = {f: jnp.zeros(files[f][1], bool) for f in graded}
    grads[root_file] = grads[root_file].at[root_row].set(seed)
    seen[root_file] = seen[root_file].at[root_row].set(True)
    steps = [backward(b) for b in branches]
    grads, _ = lax.fori_loop(
        0,
        n,
        lambda j, c: lax.switch(code[n - 1 - j, 0], steps, code[n - 1 - j], c),
        (grads, seen),
    )
    new = tuple(
        grads[f][r] if g is None else jnp.add(g, grads[f][r])
        for f, r, g in zip(target_files, target_rows, old, strict=True)
    )
    return tuple(values), values[root_file][root_row], new

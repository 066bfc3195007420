"""Parameters tied by ``.data``: several Parameters holding one ``jax.Array``.

``b.weight.data = a.weight.data`` makes two Parameters share one array, as it
makes two PyTorch parameters share one storage. PyTorch's step updates that
storage in place once per parameter, in ``params`` order, each update from
that parameter's own grad and state and from the storage as the previous
update left it (which weight decay reads). An eager step chains the tied
parameters' updates the same way and installs the one result in every holder,
so they stay tied.
"""

from __future__ import annotations


def shared(ids: list[int]) -> tuple[tuple[int, ...], ...]:
    """The groups of positions whose ids repeat, each in order, in order of
    first position. Call it only when ``len(set(ids)) != len(ids)``.

    Examples:
      >>> from lucid_fx.optim._ties import shared
      >>> shared([7, 8, 7, 9, 8, 7])
      ((0, 2, 5), (1, 4))
    """
    groups: dict[int, list[int]] = {}
    for i, key in enumerate(ids):
        groups.setdefault(key, []).append(i)
    return tuple(tuple(g) for g in groups.values() if len(g) > 1)


def live_ties(
    groups: tuple[tuple[int, ...], ...], live: list[int]
) -> tuple[tuple[int, ...], ...]:
    """``groups`` (of parameter indices) as positions in ``live``, keeping the
    groups with two or more live members: those a step has to chain.

    Examples:
      >>> from lucid_fx.optim._ties import live_ties
      >>> live_ties(((0, 2, 5), (1, 4)), [0, 1, 2, 5])
      ((0, 2, 3),)
    """
    position = {i: j for j, i in enumerate(live)}
    ties = (tuple(position[i] for i in g if i in position) for g in groups)
    return tuple(t for t in ties if len(t) > 1)

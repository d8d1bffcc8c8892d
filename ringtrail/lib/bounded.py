"""A dict kept to its newest entries: the per-process memories of the DNI hot path (recent grants,
leases not written yet, first touches, visitors written) hold minutes of visitors each, no more.

Each memory is a ``Memory``, made when its module is imported, so that the server's processes
freeze it with everything else they loaded (``gc.freeze`` in ``ringtrail/wsgi.py`` and
``visits/recorder.run``), and CPython's cyclic collector never walks it, however many entries it
holds. A dict subclass is tracked from its making and never untracked, so frozen it stays frozen;
its entries, exact tuples of plain values, leave the collector's walk at the first collection that
sees them. A plain dict was untracked by each full collection (its entries by then all untracked)
and tracked again, as a new object, by the next entry put in it: the next young collections walked
all its entries (up to 100 000) and so did the next full one (docs/benchmarks.md)."""

from __future__ import annotations

import contextlib
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memory(dict[K, V]):
    """A per-process memory: a dict the collector does not walk once frozen (see the module)."""


def put_bounded(mapping: dict[K, V], key: K, value: V, most: int) -> None:
    """Set ``key``, then drop the oldest entries (insertion order) beyond ``most``. Threads share
    these dicts without a lock: when another thread changes one meanwhile, this trim stops and the
    next put finishes it."""
    mapping[key] = value
    if len(mapping) > most:
        with contextlib.suppress(RuntimeError, StopIteration):
            while len(mapping) > most:
                mapping.pop(next(iter(mapping)), None)

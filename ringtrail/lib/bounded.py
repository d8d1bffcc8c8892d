"""A dict kept to its newest entries: the per-process memories of the DNI hot path (recent grants,
leases not written yet, first touches, visitors written) hold minutes of visitors each, no more."""

from __future__ import annotations

import contextlib
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


def put_bounded(mapping: dict[K, V], key: K, value: V, most: int) -> None:
    """Set ``key``, then drop the oldest entries (insertion order) beyond ``most``. Threads share
    these dicts without a lock: when another thread changes one meanwhile, this trim stops and the
    next put finishes it."""
    mapping[key] = value
    if len(mapping) > most:
        with contextlib.suppress(RuntimeError, StopIteration):
            while len(mapping) > most:
                mapping.pop(next(iter(mapping)), None)

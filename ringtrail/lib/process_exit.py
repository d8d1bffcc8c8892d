"""Work a process must finish before it ends: write-behind buffers handing over what they hold.

``atexit`` is not enough. Granian's workers are multiprocessing children, which end with
``os._exit``: no atexit handler runs there, only multiprocessing's finalizers, and a child starts
with none of its parent's. A buffer that relied on ``atexit`` lost its last interval on every stop
of the server (page views, leases handed out but not written, rate-limit hits). Here each callback
runs once per process, at whichever of the two comes first.
"""

from __future__ import annotations

import atexit
import contextlib
import multiprocessing.util
import os
import threading
from collections.abc import Callable

# Before multiprocessing's own finalizers of the same process (priority 0 and below).
EXIT_PRIORITY = 10

_callbacks: list[Callable[[], None]] = []
_lock = threading.Lock()
_ran_in: set[int] = set()  # pids whose callbacks ran


def at_process_exit(callback: Callable[[], None]) -> None:
    """Run ``callback`` when this process ends, or any process forked from it later; an exception
    it raises is swallowed (the database, Redis or logging may be gone by then)."""
    with _lock:
        if callback not in _callbacks:
            _callbacks.append(callback)


def run_exit_callbacks() -> None:
    """Run the callbacks in the order they were registered, once per process."""
    with _lock:
        if os.getpid() in _ran_in:
            return
        _ran_in.add(os.getpid())
        callbacks = list(_callbacks)
    for callback in callbacks:
        with contextlib.suppress(Exception):
            callback()


class _Registry:
    """What ``register_after_fork`` keeps (weakly): this module's lifetime."""


def _finalize_in_this_process(_: object = None) -> None:
    multiprocessing.util.Finalize(None, run_exit_callbacks, exitpriority=EXIT_PRIORITY)


_registry = _Registry()
atexit.register(run_exit_callbacks)
_finalize_in_this_process()
multiprocessing.util.register_after_fork(_registry, _finalize_in_this_process)

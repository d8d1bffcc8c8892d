"""A per-process cache for read-mostly configuration, invalidated across processes.

Every process keeps its own dict; a version token in the shared Django cache says when any process
changed the configuration. A process looks at that token at most every ``recheck`` seconds (so other
processes see a change within that time; the writing process at once), and each entry also expires
after ``ttl`` seconds, which bounds staleness if a change slips past the version bump. When an entry
has only outlived its ``ttl`` (the version is unchanged), a thread reloads it while every caller,
the one that found it expired too, keeps the copy it has: a large configuration takes a while to
load, and every thread of a process reloading it at once stalled all of that process's requests.
If the shared cache is unreachable, the loader is called every time: slower, never stale.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable
from typing import Generic, TypeVar

from django.core.cache import cache
from django.db import connection, connections, transaction

log = logging.getLogger(__name__)
V = TypeVar("V")
MAX_ENTRIES = 100_000


class VersionedLocalCache(Generic[V]):
    def __init__(self, version_key: str, ttl: float = 30.0, recheck: float = 1.0) -> None:
        self.version_key = version_key
        self.ttl = ttl
        self.recheck = recheck
        self._entries: dict[str, tuple[float, V]] = {}
        self._version: str | None = None
        self._version_read_at = -float("inf")
        self._lock = threading.Lock()
        self._reloading: set[str] = set()

    def get(self, key: str, load: Callable[[], V]) -> V:
        now = time.monotonic()
        if now - self._version_read_at < self.recheck and self._version is not None:
            version: str | None = self._version
        else:
            version = self._shared_version()
            self._version_read_at = now
        if version is None:
            return load()
        with self._lock:
            if version != self._version or len(self._entries) > MAX_ENTRIES:
                self._entries.clear()
                self._version = version
            hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self.ttl:
            return hit[1]
        if hit is not None:
            with self._lock:
                if key not in self._reloading:
                    self._reloading.add(key)
                    threading.Thread(target=self._reload, args=(key, load, version), daemon=True).start()
            return hit[1]
        return self._load(key, load, version, now)

    def _load(self, key: str, load: Callable[[], V], version: str, now: float) -> V:
        try:
            value = load()
        finally:
            with self._lock:
                self._reloading.discard(key)
        with self._lock:
            if self._version == version:
                self._entries[key] = (now, value)
        return value

    def _reload(self, key: str, load: Callable[[], V], version: str) -> None:
        """Reload an entry that outlived its ``ttl`` behind the page views, which keep the copy they
        have meanwhile: a large account's DNI configuration took a quarter of a second to load."""
        try:
            self._load(key, load, version, time.monotonic())
        except Exception:  # the old copy stays; the next lookup tries again
            log.exception("reloading %s failed", key)
        finally:
            connections.close_all()  # this thread's own connections

    def invalidate_everywhere(self) -> None:
        """Called after a configuration write: every process drops its copy on its next read.

        Inside a transaction, again once it commits: a process that reloaded between the first bump
        and the commit read the configuration as it was, and would keep it until its ``ttl``."""
        self._bump()
        if connection.in_atomic_block:
            transaction.on_commit(self._bump)

    def _bump(self) -> None:
        try:
            cache.set(self.version_key, uuid.uuid4().hex, timeout=None)
        except Exception:
            log.exception(
                "could not bump %s; processes may serve config up to %ss old", self.version_key, self.ttl
            )
        self.clear()

    def clear(self) -> None:
        """Forget this process's copies and re-read the shared version on the next lookup."""
        with self._lock:
            self._entries.clear()
            self._version = None
            self._version_read_at = -float("inf")

    def _shared_version(self) -> str | None:
        try:
            version = cache.get(self.version_key)
            if version is None:
                cache.add(self.version_key, uuid.uuid4().hex, timeout=None)
                version = cache.get(self.version_key)
        except Exception:
            log.exception("shared cache unreachable; reading %s uncached", self.version_key)
            return None
        return str(version) if version is not None else None

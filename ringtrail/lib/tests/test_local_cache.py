"""The per-process config cache: hits, cross-process invalidation, expiry, and a missing shared cache."""

from __future__ import annotations

import threading
import time
from typing import Any

from django.core.cache import cache
from django.db import transaction

from ringtrail.lib.local_cache import VersionedLocalCache


class Loader:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self) -> int:
        self.calls += 1
        return self.calls


def test_second_read_is_a_hit() -> None:
    local: VersionedLocalCache[int] = VersionedLocalCache("test:v", recheck=0)
    load = Loader()
    assert local.get("k", load) == local.get("k", load) == 1


def test_another_process_bumping_the_version_drops_this_copy() -> None:
    local: VersionedLocalCache[int] = VersionedLocalCache("test:v", recheck=0)
    load = Loader()
    local.get("k", load)
    cache.set("test:v", "changed-elsewhere")
    assert local.get("k", load) == 2


def test_version_is_only_rechecked_after_the_interval() -> None:
    local: VersionedLocalCache[int] = VersionedLocalCache("test:v", recheck=3600)
    load = Loader()
    local.get("k", load)
    cache.set("test:v", "changed-elsewhere")
    assert local.get("k", load) == 1  # within the interval: still this process's copy
    local.clear()
    assert local.get("k", load) == 2


def test_an_entry_past_its_ttl_is_reloaded_behind_the_caller() -> None:
    local: VersionedLocalCache[int] = VersionedLocalCache("test:v", ttl=0, recheck=3600)
    load = Loader()
    assert local.get("k", load) == 1  # nothing to serve: loaded by the caller
    assert local.get("k", load) == 1  # expired: the caller keeps the old copy, a thread reloads
    deadline = time.monotonic() + 10
    while "k" in local._reloading and time.monotonic() < deadline:
        time.sleep(0.01)
    assert local.get("k", load) == 2


def test_unreachable_shared_cache_means_no_caching(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "ringtrail.lib.tests.broken_cache.BrokenCache"}}
    local: VersionedLocalCache[int] = VersionedLocalCache("test:v", recheck=0)
    load = Loader()
    assert (local.get("k", load), local.get("k", load)) == (1, 2)


def test_while_one_caller_reloads_an_expired_entry_the_others_keep_the_old_copy() -> None:
    local: VersionedLocalCache[int] = VersionedLocalCache("test:v", ttl=0, recheck=3600)
    local.get("k", Loader())
    seen_meanwhile: list[int] = []
    started, finish = threading.Event(), threading.Event()

    def slow_load() -> int:
        started.set()
        finish.wait(5)
        return 2

    reloader = threading.Thread(target=local.get, args=("k", slow_load))
    reloader.start()
    started.wait(5)
    seen_meanwhile.append(local.get("k", lambda: 99))  # not a second load: the old copy
    finish.set()
    reloader.join()
    assert seen_meanwhile == [1]


def test_a_changed_version_is_never_served_from_the_old_copy() -> None:
    local: VersionedLocalCache[int] = VersionedLocalCache("test:v", ttl=0, recheck=0)
    local.get("k", Loader())
    cache.set("test:v", "changed-elsewhere")
    assert local.get("k", lambda: 7) == 7


def test_a_change_inside_a_transaction_is_announced_again_once_it_commits(
    db: None, django_capture_on_commit_callbacks: Any
) -> None:
    """Another process may reload between the first announcement and the commit: it read the
    configuration as it was, and without a second one would keep it until the entry's ttl."""
    writer: VersionedLocalCache[int] = VersionedLocalCache("test:v", recheck=0)
    other: VersionedLocalCache[int] = VersionedLocalCache("test:v", recheck=0)
    load = Loader()
    other.get("k", load)
    with django_capture_on_commit_callbacks(execute=True) as callbacks, transaction.atomic():
        writer.invalidate_everywhere()
        assert other.get("k", load) == 2  # reloaded before the commit: the old rows
    assert len(callbacks) == 1
    assert other.get("k", load) == 3  # told again after it


def test_outside_a_transaction_a_change_is_announced_once(django_capture_on_commit_callbacks: Any) -> None:
    local: VersionedLocalCache[int] = VersionedLocalCache("test:v", recheck=0)
    with django_capture_on_commit_callbacks() as callbacks:
        local.invalidate_everywhere()
    assert callbacks == []

"""The per-process config cache: hits, cross-process invalidation, expiry, and a missing shared cache."""

from __future__ import annotations

from typing import Any

from django.core.cache import cache

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


def test_entries_expire_after_ttl() -> None:
    local: VersionedLocalCache[int] = VersionedLocalCache("test:v", ttl=0, recheck=0)
    load = Loader()
    local.get("k", load)
    assert local.get("k", load) == 2


def test_unreachable_shared_cache_means_no_caching(settings: Any) -> None:
    settings.CACHES = {"default": {"BACKEND": "ringtrail.lib.tests.broken_cache.BrokenCache"}}
    local: VersionedLocalCache[int] = VersionedLocalCache("test:v", recheck=0)
    load = Loader()
    assert (local.get("k", load), local.get("k", load)) == (1, 2)

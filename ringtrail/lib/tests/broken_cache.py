"""A cache backend whose server is down (every call raises), for failure-path tests."""

from __future__ import annotations

from typing import Any

from django.core.cache.backends.base import BaseCache


class BrokenCache(BaseCache):
    def __init__(self, location: str, params: dict[str, Any]) -> None:
        super().__init__(params)

    def get(self, key: Any, default: Any = None, version: Any = None) -> Any:
        raise ConnectionError("cache server unreachable")

    def add(self, key: Any, value: Any, timeout: Any = None, version: Any = None) -> bool:
        raise ConnectionError("cache server unreachable")

    def set(self, key: Any, value: Any, timeout: Any = None, version: Any = None) -> None:
        raise ConnectionError("cache server unreachable")

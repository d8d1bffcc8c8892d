from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
import redis

from ringtrail.dni.tests.support import Site, make_site


@pytest.fixture
def site(db: None) -> Site:
    return make_site()


@pytest.fixture
def sends(monkeypatch: pytest.MonkeyPatch) -> Callable[[], int]:
    """How many times this thread has written to any Redis (every command and pipeline does)."""
    sent: list[int] = []
    real = redis.connection.Connection.send_packed_command

    def counted(self: redis.connection.Connection, *args: Any, **kwargs: Any) -> None:
        if threading.current_thread() is threading.main_thread():
            sent.append(1)
        real(self, *args, **kwargs)

    monkeypatch.setattr(redis.connection.Connection, "send_packed_command", counted)
    return lambda: len(sent)

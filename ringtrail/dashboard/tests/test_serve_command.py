"""`ringtrail serve` hands Granian its layout and a bound on how long a stopping worker may take."""

from __future__ import annotations

from typing import Any

import granian
import pytest
from django.core.management import call_command

from ringtrail.lib import sqlite_writes


class _Granian:
    """Stands in for Granian's server: keeps what it was given, serves nothing."""

    made: list[dict[str, Any]] = []

    def __init__(self, target: str, **options: Any) -> None:
        self.made.append({"target": target, **options})

    def serve(self) -> None:
        pass


@pytest.fixture
def granian_made(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    monkeypatch.setattr(granian, "Granian", _Granian)
    monkeypatch.setattr(sqlite_writes, "stop_checkpointers", lambda: None)  # this process goes on
    monkeypatch.delenv("WEB_WORKERS_KILL_TIMEOUT", raising=False)
    _Granian.made = []
    return _Granian.made


def test_a_worker_that_does_not_stop_is_killed_after_the_timeout(granian_made: list[dict[str, Any]]) -> None:
    """Ctrl-C reaches the workers besides Granian's stop signal, and a worker now and then never
    exited: without a bound the server waited for it for ever."""
    call_command("serve", "--port", "8123", "--workers", "3", "--threads", "1")
    (made,) = granian_made
    assert made["target"] == "ringtrail.wsgi:application"
    assert (made["port"], made["workers"], made["blocking_threads"]) == (8123, 3, 1)
    assert made["workers_kill_timeout"] == 20


def test_the_kill_timeout_comes_from_the_environment_and_zero_waits_for_ever(
    granian_made: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WEB_WORKERS_KILL_TIMEOUT", "45")
    call_command("serve")
    call_command("serve", "--workers-kill-timeout", "0")
    assert [made["workers_kill_timeout"] for made in granian_made] == [45, None]

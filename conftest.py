"""Test-wide isolation: each test gets its own cache, counters and spool, so no state leaks between tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _isolated_cache_and_spool(settings: Any, tmp_path: Path) -> None:
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": str(tmp_path)},
    }
    from ringtrail.lib.ratelimit import forget_local_counts

    forget_local_counts()
    settings.SPOOL_DIR = tmp_path / "spool"
    # Counters and leases in a developer's Redis would leak between tests; tests that want Redis say so.
    settings.REDIS_URL = ""
    settings.DNI_LEASE_STORE = "sql"
    # Page views are written inline so tests can assert on rows; visits/tests cover the buffer.
    settings.DNI_RECORD_FLUSH_SECONDS = 0
    from ringtrail.numbers.routes import forget_local_copies

    forget_local_copies()  # each test has a fresh cache and database; no snapshot may outlive it
    from ringtrail.dni.config import forget_local_copies as forget_dni_config
    from ringtrail.dni.leases import forget_recent_grants

    forget_dni_config()
    forget_recent_grants()  # pool ids repeat across test databases
    from ringtrail.flows.loading import forget_local_copies as forget_flows

    forget_flows()  # parsed versions and account facts are keyed by ids the next database reuses
    from ringtrail.calls.flow_calls import forget_local_turns

    forget_local_turns()
    from ringtrail.visits.buffer import buffer

    buffer.discard()  # hits left by an earlier test belong to a database that is gone
    from ringtrail.visits.actions import forget_local_first_sources, forget_written_visitors

    forget_local_first_sources()  # keyed by account pk, which the next test's database reuses
    forget_written_visitors()  # likewise: a visitor row written in an earlier test's database

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ringtrail.screening import config


@pytest.fixture(autouse=True)
def _fresh_screening_cache() -> Iterator[None]:
    # Test rows are rolled back without delete signals, and SQLite reuses their ids: never let one
    # test's cached rules answer for another test's account.
    config.forget_local_copies()
    yield
    config.forget_local_copies()

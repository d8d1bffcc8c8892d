"""Property-based fuzzing of every REST operation from the OpenAPI schema: no input may cause a 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from ringtrail.accounts.actions import create_api_key
from ringtrail.testing import wired_account
from ringtrail.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", application)


@pytest.fixture
def keep_test_connection() -> Iterator[None]:
    """Calls go straight to the WSGI app, so stop Django closing the test's connection per request
    (what Django's own test client does); otherwise PostgreSQL loses the test transaction."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def api_headers(db: None, keep_test_connection: None) -> dict[str, str]:
    wired = wired_account()
    return {"Authorization": f"Bearer {create_api_key(wired.account, 'fuzz', 'admin', None)[1]}"}


@schema.parametrize()
@settings(max_examples=20, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_operation_answers_5xx(case: Any, api_headers: dict[str, str]) -> None:
    response = case.call(headers=api_headers)
    case.validate_response(response, checks=[not_a_server_error])

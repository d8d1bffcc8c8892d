"""When our database fails mid-call, the caller is still connected and nothing is lost."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from defusedxml import ElementTree
from django.db import OperationalError, connection
from django.test import Client

from ringtrail.calls import spool
from ringtrail.calls.models import Call, CallEvent
from ringtrail.carriers.twilio.tests.helpers import callback_params, signed_post, voice_params
from ringtrail.testing import wired_account
from ringtrail.testing_wsgi import FRONTS, front_client

pytestmark = pytest.mark.django_db


@pytest.fixture(params=FRONTS)
def client(request: pytest.FixtureRequest) -> Any:
    """Through Django's test client, and through the WSGI application the server runs."""
    return front_client(request.param)


@contextmanager
def database_down() -> Iterator[None]:
    """Every query fails the way a lost connection does (Django's own query instrumentation hook)."""

    def refuse(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        raise OperationalError("server closed the connection unexpectedly")

    with connection.execute_wrapper(refuse):
        yield


def test_caller_is_connected_from_the_cache_and_the_call_written_later(client: Client) -> None:
    wired = wired_account()
    with database_down():
        response = signed_post(client, wired, "/carriers/twilio/voice", voice_params(wired))
        status = callback_params(wired, CallStatus="completed", SequenceNumber="2", CallDuration="30")
        assert signed_post(client, wired, "/carriers/twilio/status", status).status_code == 204
    assert response.status_code == 200
    number = ElementTree.fromstring(response.content).find("Dial/Number")
    assert number is not None and number.text == wired.receiving.number
    assert not Call.objects.exists() and len(spool.pending()) == 2
    assert spool.replay() == 2
    call = Call.objects.get()
    assert call.source == wired.source and call.routing_note == "database down"
    assert CallEvent.objects.get().call == call and call.carrier_status == "completed"
    assert spool.pending() == []


def test_unknown_to_the_cache_goes_to_the_configured_fallback(client: Client, settings: Any) -> None:
    from django.core.cache import cache

    wired = wired_account()
    cache.delete(f"rt:route:{wired.tracking.number}")
    settings.FALLBACK_FORWARD_TO = "+14155550188"
    with database_down():
        response = signed_post(client, wired, "/carriers/twilio/voice", voice_params(wired))
    number = ElementTree.fromstring(response.content).find("Dial/Number")
    assert number is not None and number.text == "+14155550188"
    spool.replay()
    assert Call.objects.get().routing_note.startswith("forwarded to fallback")

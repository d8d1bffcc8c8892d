"""When our database fails mid-call, a Telnyx caller is still connected: the cached connection carries the
public key, so the signature is still checked, and the spooled call is written later."""

from __future__ import annotations

from typing import Any

import pytest
from defusedxml import ElementTree
from django.core.cache import cache
from django.test import Client

from ringtrail.calls import spool
from ringtrail.calls.models import Call, CallEvent
from ringtrail.carriers.telnyx.tests.helpers import (
    callback_params,
    new_key_pair,
    signed_post,
    telnyx_account,
    voice_params,
)
from ringtrail.carriers.twilio.tests.test_database_down import database_down
from ringtrail.numbers.routes import forget_local_copies
from ringtrail.testing_wsgi import FRONTS, front_client

pytestmark = pytest.mark.django_db


@pytest.fixture(params=FRONTS)
def client(request: pytest.FixtureRequest) -> Any:
    """Through Django's test client, and through the WSGI application the server runs."""
    return front_client(request.param)


def test_caller_is_connected_from_the_cache_and_the_call_written_later(client: Client) -> None:
    telnyx = telnyx_account()
    forget_local_copies()  # make the webhook go to the database (and fail), not a per-process copy
    with database_down():
        response = signed_post(client, telnyx, "/carriers/telnyx/voice", voice_params(telnyx))
        status = callback_params(telnyx, CallStatus="completed", SequenceNumber="2", CallDuration="30")
        assert signed_post(client, telnyx, "/carriers/telnyx/status", status).status_code == 204
    assert response.status_code == 200
    number = ElementTree.fromstring(response.content).find("Dial/Number")
    assert number is not None and number.text == telnyx.wired.receiving.number
    assert not Call.objects.exists() and len(spool.pending()) == 2
    assert spool.replay() == 2
    call = Call.objects.get()
    assert (call.carrier, call.source, call.routing_note) == ("telnyx", telnyx.wired.source, "database down")
    assert CallEvent.objects.get().call == call and call.carrier_status == "completed"


def test_forgery_is_still_refused_while_the_database_is_down(client: Client) -> None:
    telnyx = telnyx_account()
    forget_local_copies()
    assert cache.get(f"rt:conn:telnyx:{telnyx.account_sid}")["webhook_public_key"] == telnyx.keys.public_b64
    with database_down():
        forged = signed_post(
            client, telnyx, "/carriers/telnyx/voice", voice_params(telnyx), seed_b64=new_key_pair().seed_b64
        )
    assert forged.status_code == 403 and spool.pending() == []

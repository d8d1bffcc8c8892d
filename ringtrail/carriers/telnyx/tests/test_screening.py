"""Spam screening on Telnyx calls: SHAKEN fields screened like Twilio's StirVerstat, and the
"press 1" challenge answered through /carriers/telnyx/screen, signed like every Telnyx request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from defusedxml import ElementTree
from django.test import Client

from ringtrail.calls.models import Call
from ringtrail.carriers.telnyx.tests.helpers import (
    CALL_SID,
    TelnyxAccount,
    signed_post,
    telnyx_account,
    voice_params,
)
from ringtrail.screening import config
from ringtrail.screening.models import ScreeningPolicy

pytestmark = pytest.mark.django_db
GATEWAY_ONLY = {"ShakenStirAttestation": "C", "ShakenStirValidated": "true"}  # unverified caller


@pytest.fixture(autouse=True)
def _fresh_screening_cache() -> Iterator[None]:
    config.forget_local_copies()
    yield
    config.forget_local_copies()


@pytest.fixture
def telnyx() -> TelnyxAccount:
    account = telnyx_account()
    ScreeningPolicy.objects.create(
        account=account.wired.account, stir_failed="reject", stir_unverified="challenge"
    )
    return account


def verbs(body: bytes) -> list[str]:
    return [element.tag for element in ElementTree.fromstring(body)]


def press(client: Client, telnyx: TelnyxAccount, digits: str, reference: str = CALL_SID) -> Any:
    params = voice_params(telnyx, Digits=digits, CallStatus="in-progress")
    return signed_post(client, telnyx, f"/carriers/telnyx/screen?call={reference}", params)


def test_failed_shaken_is_rejected(client: Client, telnyx: TelnyxAccount) -> None:
    params = voice_params(telnyx, ShakenStirAttestation="A", ShakenStirValidated="false")
    assert verbs(signed_post(client, telnyx, "/carriers/telnyx/voice", params).content) == ["Reject"]
    assert Call.objects.get(carrier_call_id=CALL_SID).is_spam


def test_unverified_caller_is_challenged_and_connected_on_1(client: Client, telnyx: TelnyxAccount) -> None:
    response = signed_post(client, telnyx, "/carriers/telnyx/voice", voice_params(telnyx, **GATEWAY_ONLY))
    root = ElementTree.fromstring(response.content)
    assert [e.tag for e in root] == ["Gather", "Hangup"]
    action = urlsplit(root[0].get("action", ""))
    assert action.path == "/carriers/telnyx/screen" and parse_qs(action.query) == {"call": [CALL_SID]}
    assert root[0].get("method") is None
    answer = press(client, telnyx, "1")
    assert answer.status_code == 200 and verbs(answer.content) == ["Say", "Dial"]
    assert not Call.objects.get(carrier_call_id=CALL_SID).is_spam


def test_wrong_digit_hangs_up(client: Client, telnyx: TelnyxAccount) -> None:
    signed_post(client, telnyx, "/carriers/telnyx/voice", voice_params(telnyx, **GATEWAY_ONLY))
    assert verbs(press(client, telnyx, "7").content) == ["Say", "Hangup"]
    assert Call.objects.get(carrier_call_id=CALL_SID).is_spam


def test_reference_to_another_call_is_403(client: Client, telnyx: TelnyxAccount) -> None:
    signed_post(client, telnyx, "/carriers/telnyx/voice", voice_params(telnyx, **GATEWAY_ONLY))
    assert press(client, telnyx, "1", reference="v3:someone-else").status_code == 403
    assert Call.objects.get(carrier_call_id=CALL_SID).is_spam


def test_unsigned_answer_is_403(client: Client, telnyx: TelnyxAccount) -> None:
    signed_post(client, telnyx, "/carriers/telnyx/voice", voice_params(telnyx, **GATEWAY_ONLY))
    response = client.post(f"/carriers/telnyx/screen?call={CALL_SID}", voice_params(telnyx, Digits="1"))
    assert response.status_code == 403 and Call.objects.get(carrier_call_id=CALL_SID).is_spam

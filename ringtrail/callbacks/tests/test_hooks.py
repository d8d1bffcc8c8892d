"""The carrier hook of a call-back, hostile first: reference, account and call must all agree."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from django.test import Client
from django.utils import timezone

from ringtrail.callbacks import ref
from ringtrail.callbacks.models import CallbackRequest
from ringtrail.calls.models import Call
from ringtrail.carriers.telnyx.tests import helpers as telnyx
from ringtrail.carriers.twilio.tests.helpers import signed_post
from ringtrail.testing import WiredAccount

pytestmark = pytest.mark.django_db
SID = "CA" + "7" * 32
VISITOR = "+12125550143"


def pending(wired: WiredAccount, call_sid: str = SID, status: str = "calling_business") -> CallbackRequest:
    return CallbackRequest.objects.create(
        account=wired.account,
        phone=VISITOR,
        name="<script>x</script>",
        page="https://acme.test/pricing?secret=1",
        consent_at=timezone.now(),
        status=status,
        carrier=wired.connection.kind,
        carrier_call_id=call_sid,
        tracking_number=wired.tracking,
        receiving_number=wired.receiving,
        business_number=wired.receiving.number,
    )


def hook(request_id: int, step: str, kind: str = "twilio") -> str:
    return f"/carriers/{kind}/callback?{urlencode({'ref': ref.sign(request_id, step)})}"


def leg(wired: WiredAccount, call_sid: str = SID, **fields: str) -> dict[str, str]:
    return {
        "CallSid": call_sid,
        "AccountSid": wired.connection.account_sid,
        "From": wired.tracking.number,
        "To": wired.receiving.number,
        "CallStatus": "in-progress",
        "Direction": "outbound-api",
        **fields,
    }


def test_business_leg_gets_the_whisper_and_the_call_is_stored(client: Client, acme: WiredAccount) -> None:
    request = pending(acme)
    response = signed_post(client, acme, hook(request.pk, "start"), leg(acme))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Web lead from pricing. Press 1 to connect." in body and "secret" not in body
    assert 'numDigits="1"' in body and "/carriers/twilio/callback?ref=" in body
    call = Call.objects.get(carrier_call_id=SID)
    assert (call.call_type, call.attribution, call.customer_phone_number) == ("callback", "", VISITOR)
    assert call.touch == {"converting_page": "https://acme.test/pricing?secret=1"}
    # A repeated webhook stores nothing new.
    assert signed_post(client, acme, hook(request.pk, "start"), leg(acme)).status_code == 200
    assert Call.objects.count() == 1


def test_pressing_1_dials_the_visitor_with_the_tracking_number(client: Client, acme: WiredAccount) -> None:
    request = pending(acme)
    response = signed_post(client, acme, hook(request.pk, "answer"), leg(acme, Digits="1"))
    body = response.content.decode()
    assert f'callerId="{acme.tracking.number}"' in body and f"<Number>{VISITOR}</Number>" in body
    assert 'record="record-from-answer-dual"' in body  # the tracking number records its calls
    request.refresh_from_db()
    assert request.status == "calling_visitor"


@pytest.mark.parametrize(
    "reference",
    ["", "1.start", "1.start:forged-signature", "x" * 300],
)
def test_forged_or_missing_reference_is_403(client: Client, acme: WiredAccount, reference: str) -> None:
    pending(acme)
    path = "/carriers/twilio/callback" + (f"?{urlencode({'ref': reference})}" if reference else "")
    response = signed_post(client, acme, path, leg(acme, Digits="1"))
    assert response.status_code == 403
    assert CallbackRequest.objects.get().status == "calling_business"


def test_another_accounts_request_is_403(client: Client, acme: WiredAccount, rival: WiredAccount) -> None:
    theirs = pending(rival, call_sid=SID)
    response = signed_post(client, acme, hook(theirs.pk, "answer"), leg(acme, Digits="1"))
    assert response.status_code == 403 and b"does not match" in response.content
    theirs.refresh_from_db()
    assert theirs.status == "calling_business"


def test_another_call_is_403(client: Client, acme: WiredAccount) -> None:
    request = pending(acme)
    response = signed_post(client, acme, hook(request.pk, "answer"), leg(acme, "CA" + "8" * 32, Digits="1"))
    assert response.status_code == 403


def test_first_hook_binds_the_call_when_the_task_has_not(client: Client, acme: WiredAccount) -> None:
    request = pending(acme, call_sid="")
    assert signed_post(client, acme, hook(request.pk, "start"), leg(acme)).status_code == 200
    request.refresh_from_db()
    assert request.carrier_call_id == SID
    other = leg(acme, "CA" + "9" * 32, Digits="1")
    assert signed_post(client, acme, hook(request.pk, "answer"), other).status_code == 403


def test_unsigned_hook_is_403(client: Client, acme: WiredAccount) -> None:
    request = pending(acme)
    response = client.post(hook(request.pk, "answer"), leg(acme, Digits="1"))
    assert response.status_code == 403


def test_a_replayed_key_cannot_dial_a_finished_request_again(client: Client, acme: WiredAccount) -> None:
    request = pending(acme, status="declined")
    body = signed_post(client, acme, hook(request.pk, "answer"), leg(acme, Digits="1")).content.decode()
    assert "<Dial" not in body and "<Hangup/>" in body
    start = signed_post(client, acme, hook(request.pk, "start"), leg(acme)).content.decode()
    assert "<Gather" not in start


def test_telnyx_legs_are_checked_by_the_reference_too(client: Client) -> None:
    account = telnyx.telnyx_account()
    request = pending(account.wired, call_sid=telnyx.CALL_SID)
    params = telnyx.callback_params(account, Digits="1", Direction="outbound-api")
    forged = f"/carriers/telnyx/callback?{urlencode({'ref': f'{request.pk}.answer:nope'})}"
    assert telnyx.signed_post(client, account, forged, params).status_code == 403
    answered = telnyx.signed_post(client, account, hook(request.pk, "answer", "telnyx"), params)
    assert answered.status_code == 200 and f"<Number>{VISITOR}</Number>" in answered.content.decode()
    assert "/carriers/telnyx/callback?ref=" in answered.content.decode()


def test_api_and_pages_show_the_call_back_escaped(client: Client, acme: WiredAccount) -> None:
    from ringtrail.accounts.actions import create_api_key
    from ringtrail.testing import member

    request = pending(acme)
    signed_post(client, acme, hook(request.pk, "start"), leg(acme))
    call = Call.objects.get(carrier_call_id=SID)
    key = create_api_key(acme.account, "k", "read_only", None)[1]
    body = client.get(f"/api/v1/calls/{call.pk}", HTTP_AUTHORIZATION=f"Bearer {key}").json()
    assert (body["call_type"], body["converting_page"]) == ("callback", "https://acme.test/pricing?secret=1")
    assert body["customer_name"] == "<script>x</script>"
    client.force_login(member(acme.account).user)
    detail = client.get(f"/calls/{call.pk}/").content.decode()
    assert "call-back</span>" in detail and "Converting page" in detail
    assert "<script>x</script>" not in detail and "&lt;script&gt;x&lt;/script&gt;" in detail
    log = client.get("/calls/").content.decode()
    assert "callback-badge" in log and "<script>x</script>" not in log


def test_the_task_finds_a_visit_written_after_the_form(acme: WiredAccount) -> None:
    from ringtrail.callbacks import actions
    from ringtrail.visits.models import Session

    request = pending(acme, call_sid="", status="queued")
    CallbackRequest.objects.filter(pk=request.pk).update(session_id="s_late_visit_1")
    Session.objects.create(account=acme.account, visitor_id="v_1234567890", session_id="s_late_visit_1")
    actions.place(request.pk)  # the visit showed no number and nothing is configured: it stops there
    request.refresh_from_db()
    assert request.visit_session is not None and request.visit_session.session_id == "s_late_visit_1"
    assert request.status == "failed" and request.error.startswith("no number to call from")

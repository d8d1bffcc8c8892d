"""End to end: the carrier simulator signs as Telnyx and calls the real server over real HTTP."""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx
import pytest
from pytest_django.live_server_helper import LiveServer

from ringtrail.calls.models import Call, CallEvent
from ringtrail.carriers.simulator import CallResult, CallScenario, Credentials, Simulator
from ringtrail.carriers.simulator.signing import telnyx_headers
from ringtrail.carriers.simulator.transport import CarrierHttp
from ringtrail.carriers.telnyx import signature
from ringtrail.carriers.telnyx.tests.helpers import TelnyxAccount, new_key_pair, telnyx_account

TRACKING = "+14155550123"
CALLER = "+15125550111"
NOW = 1_763_800_000


def test_simulator_headers_verify_with_the_server_check() -> None:
    keys = new_key_pair()
    body = b"AccountSid=a&CallSid=b"
    headers = telnyx_headers(keys.seed_b64, body, timestamp=NOW)
    assert headers["telnyx-timestamp"] == str(NOW)
    assert signature.is_valid(keys.public_b64, body, headers["telnyx-signature-ed25519"], str(NOW), now=NOW)


def test_credentials_refuse_a_secret_that_is_not_an_ed25519_seed() -> None:
    with pytest.raises(ValueError, match="Ed25519"):
        Credentials("telnyx", "acct", "not-a-key")
    assert new_key_pair().seed_b64 not in repr(Credentials("telnyx", "acct", new_key_pair().seed_b64))


def test_transport_signs_the_wire_body_and_uses_telnyx_paths() -> None:
    keys = new_key_pair()
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    params = {"AccountSid": "acct", "CallSid": "v3:x", "CallerId": "Zoë & Co = ok"}
    with httpx.Client(transport=httpx.MockTransport(server)) as client:
        http = CarrierHttp(client, Credentials("telnyx", "acct", keys.seed_b64), "http://127.0.0.1:8000")
        assert http.post("/carriers/twilio/status?x=1", params).ok
        assert http.resolve("/carriers/other/path") == "http://127.0.0.1:8000/carriers/other/path"
    request = seen[0]
    assert request.url.path == "/carriers/telnyx/status" and request.url.query == b"x=1"
    assert dict(parse_qsl(request.content.decode())) == params
    stamp = request.headers["telnyx-timestamp"]
    signed = request.headers["telnyx-signature-ed25519"]
    assert signature.is_valid(keys.public_b64, request.content, signed, stamp, now=int(stamp))
    assert "X-Twilio-Signature" not in request.headers


@pytest.fixture
def telnyx(live_server: LiveServer) -> TelnyxAccount:
    return telnyx_account(tracking=TRACKING, receiving="+14155550188", whisper_text="Google Ads")


def simulator(live_server: LiveServer, telnyx: TelnyxAccount, seed_b64: str | None = None) -> Simulator:
    credentials = Credentials("telnyx", telnyx.account_sid, seed_b64 or telnyx.keys.seed_b64)
    return Simulator(live_server.url, credentials)


def place(sim: Simulator, **scenario: object) -> CallResult:
    fields: dict[str, object] = {"to": TRACKING, "from_": CALLER} | scenario
    return sim.place_call(CallScenario(**fields))  # type: ignore[arg-type]


@pytest.mark.django_db(transaction=True)
def test_answered_call_through_the_simulator_is_stored_as_telnyx(
    live_server: LiveServer, telnyx: TelnyxAccount
) -> None:
    result = place(simulator(live_server, telnyx), answer_after=3, talk=42)
    assert result.errors == [], "\n".join(result.story_lines())
    assert result.outcome == "answered"
    assert any(step.text == 'callee hears Say "Google Ads"' for step in result.story)
    call = Call.objects.get(carrier="telnyx", carrier_call_id=result.call_sid)
    assert (call.outcome, call.carrier_status) == ("answered", "completed")
    # The bridged leg also carries the whisper, which the simulator times with the real request.
    assert 42 <= (call.talk_seconds or 0) <= 43
    assert call.recording_urls and call.tracking_number_id == telnyx.wired.tracking.pk


@pytest.mark.django_db(transaction=True)
def test_duplicated_shuffled_callbacks_fold_into_one_consistent_call(
    live_server: LiveServer, telnyx: TelnyxAccount
) -> None:
    sim = simulator(live_server, telnyx)
    calm = place(sim, answer_after=2, talk=30, seed=1234)
    chaos = place(sim, answer_after=2, talk=30, chaos=True, seed=1234)
    assert calm.errors == chaos.errors == [], "\n".join(chaos.story_lines())
    first, second = (Call.objects.get(carrier_call_id=r.call_sid) for r in (calm, chaos))
    fields = ("outcome", "carrier_status", "talk_seconds", "ring_seconds", "recording_urls")
    assert [getattr(second, f) for f in fields[:4]] == [getattr(first, f) for f in fields[:4]]
    events = CallEvent.objects.filter(call=second)
    # Every callback arrived twice; each was stored once.
    assert events.count() == CallEvent.objects.filter(call=first).count()


@pytest.mark.django_db(transaction=True)
def test_unanswered_call_leaves_voicemail(live_server: LiveServer, telnyx: TelnyxAccount) -> None:
    result = place(simulator(live_server, telnyx), outcome="no-answer", voicemail_seconds=12)
    assert result.errors == [], "\n".join(result.story_lines())
    call = Call.objects.get(carrier="telnyx", carrier_call_id=result.call_sid)
    assert (result.outcome, call.outcome) == ("voicemail", "voicemail")


@pytest.mark.django_db(transaction=True)
def test_a_simulator_with_another_key_is_refused(live_server: LiveServer, telnyx: TelnyxAccount) -> None:
    result = place(simulator(live_server, telnyx, seed_b64=new_key_pair().seed_b64))
    assert result.outcome == "failed"
    assert any("HTTP 403" in error for error in result.errors)
    assert not Call.objects.exists() and not CallEvent.objects.exists()

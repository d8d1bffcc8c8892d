"""The Calls REST API stand-in over real local HTTP; the calls it places go to a fake TwiML server."""

from __future__ import annotations

import io
import wave
from collections.abc import Iterator

import httpx
import pytest

from ringtrail.carriers.simulator import Callee, RestStandIn
from ringtrail.carriers.simulator.tests.fake_server import (
    ACCOUNT_SID,
    BASE_URL,
    CREDENTIALS,
    TOKEN,
    FakeServer,
    twiml,
)

BUSINESS, VISITOR, TRACKING = "+15551230001", "+15557654321", "+15550001111"
CALLS = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls.json"
STATUS = "/callback/status"
# A call-back as Ringtrail will build it: the business hears who asked, presses 1, the visitor is dialled.
START = twiml(
    "<Gather numDigits='1' action='/callback/accept' timeout='5'><Say>Web call-back request. Press 1.</Say>"
    "</Gather><Hangup/>"
)
ACCEPT = twiml(f"<Dial callerId='{TRACKING}' action='/callback/dial'><Number>{VISITOR}</Number></Dial>")


@pytest.fixture
def carrier() -> FakeServer:
    return FakeServer(
        {
            "/callback/start": START,
            "/callback/accept": ACCEPT,
            "/callback/dial": httpx.Response(204),
            STATUS: httpx.Response(204),
            "/callback/recording": httpx.Response(204),
        }
    )


@pytest.fixture
def api(carrier: FakeServer) -> Iterator[RestStandIn]:
    client = httpx.Client(transport=httpx.MockTransport(carrier))
    callees = {BUSINESS: Callee(answer_after=4, inputs=("1",)), VISITOR: Callee(answer_after=6, talk=90)}
    with RestStandIn(BASE_URL, CREDENTIALS, callees=callees, client=client) as stand_in:
        yield stand_in


def create(
    api: RestStandIn, auth: tuple[str, str] = (ACCOUNT_SID, TOKEN), **params: str | list[str]
) -> httpx.Response:
    form: dict[str, str | list[str]] = {
        "To": BUSINESS,
        "From": TRACKING,
        "Url": f"{BASE_URL}/callback/start",
        "StatusCallback": f"{BASE_URL}{STATUS}",
    } | params
    return httpx.post(api.url + CALLS, data=form, auth=auth)


def test_create_answers_like_twilio_and_places_the_call(api: RestStandIn, carrier: FakeServer) -> None:
    response = create(api, StatusCallbackEvent=["initiated", "ringing", "answered", "completed"])
    assert response.status_code == 201
    call = response.json()
    assert (call["status"], call["direction"], call["to"], call["from"]) == (
        "queued",
        "outbound-api",
        BUSINESS,
        TRACKING,
    )
    assert call["account_sid"] == ACCOUNT_SID and call["sid"].startswith("CA")
    assert call["uri"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{call['sid']}.json"
    assert call["date_created"].endswith("+0000")
    assert api.wait_idle(10)

    (result,) = api.results
    assert (result.call_sid, result.direction, result.errors, result.answered_by) == (
        call["sid"],
        "outbound-api",
        [],
        VISITOR,
    )
    start = carrier.to("/callback/start")[0].params  # the fake server checked the signature
    assert (start["Direction"], start["CallStatus"], start["To"], start["From"]) == (
        "outbound-api",
        "in-progress",
        BUSINESS,
        TRACKING,
    )
    assert carrier.to("/callback/accept")[0].params["Digits"] == "1"
    dial = carrier.to("/callback/dial")[0].params
    assert (dial["DialCallStatus"], dial["DialCallDuration"]) == ("completed", "90")
    statuses = [r.params for r in carrier.to(STATUS)]
    assert [s["CallStatus"] for s in statuses] == ["initiated", "ringing", "in-progress", "completed"]
    # Durations of an API call count from the pick-up: prompt 2.4 s + key 1.5 s + ring 6 s + talk 90 s.
    assert statuses[-1]["CallDuration"] == str(round(2.4 + 1.5 + 6 + 90))
    assert statuses[-1]["Direction"] == "outbound-api"
    fetched = httpx.get(api.url + call["uri"], auth=(ACCOUNT_SID, TOKEN)).json()
    assert (fetched["sid"], fetched["status"]) == (call["sid"], "completed")


def test_default_status_event_is_completed_only(api: RestStandIn, carrier: FakeServer) -> None:
    assert create(api).status_code == 201
    assert api.wait_idle(10)
    assert [r.params["CallStatus"] for r in carrier.to(STATUS)] == ["completed"]


def test_unanswered_call_never_fetches_the_url(api: RestStandIn, carrier: FakeServer) -> None:
    api.callees["+15559990000"] = Callee(outcome="no-answer")
    api.callees["+15559990001"] = Callee(outcome="busy")
    assert (
        create(api, To="+15559990000", Timeout="20", StatusCallbackEvent="ringing completed").status_code
        == 201
    )
    assert create(api, To="+15559990001").status_code == 201
    assert api.wait_idle(10)
    assert carrier.to("/callback/start") == []
    assert [(r.params["To"], r.params["CallStatus"]) for r in carrier.to(STATUS)] == [
        ("+15559990000", "ringing"),
        ("+15559990000", "no-answer"),
        ("+15559990001", "busy"),
    ]
    assert [r.outcome for r in api.results] == ["missed", "busy"]
    assert [r.status for r in api.results] == ["no-answer", "busy"]


def test_declined_call_back_ends_without_dialling(api: RestStandIn, carrier: FakeServer) -> None:
    api.callees[BUSINESS] = Callee(inputs=(None,))
    assert create(api).status_code == 201
    assert api.wait_idle(10)
    assert carrier.to("/callback/accept") == []
    assert api.results[0].answered_by is None


def test_record_sends_a_recording_callback_with_fetchable_audio(
    api: RestStandIn, carrier: FakeServer
) -> None:
    assert (
        create(api, Record="true", RecordingStatusCallback=f"{BASE_URL}/callback/recording").status_code
        == 201
    )
    assert api.wait_idle(10)
    (recording,) = carrier.to("/callback/recording")
    assert recording.params["RecordingSource"] == "OutboundAPI"
    audio = httpx.get(recording.params["RecordingUrl"])
    with wave.open(io.BytesIO(audio.content)) as wav:
        assert wav.getnframes() / wav.getframerate() == int(recording.params["RecordingDuration"])


@pytest.mark.parametrize(
    "auth",
    [(ACCOUNT_SID, "wrong-token"), ("AC" + "1" * 32, TOKEN), (ACCOUNT_SID, "")],
)
def test_wrong_credentials_are_401(api: RestStandIn, auth: tuple[str, str]) -> None:
    response = create(api, auth=auth)
    assert response.status_code == 401
    assert response.json() == {
        "code": 20003,
        "message": "Authenticate",
        "more_info": "https://www.twilio.com/docs/errors/20003",
        "status": 401,
    }
    assert response.headers["www-authenticate"].startswith("Basic")
    no_auth = httpx.post(api.url + CALLS, data={"To": BUSINESS})
    assert no_auth.status_code == 401
    other_account = httpx.post(
        api.url + CALLS.replace(ACCOUNT_SID, "AC" + "1" * 32),
        data={"To": BUSINESS},
        auth=(ACCOUNT_SID, TOKEN),
    )
    assert other_account.status_code == 401
    assert api.results == [] and api.calls == {}


@pytest.mark.parametrize(
    ("params", "code", "message"),
    [
        ({"To": ""}, 21201, "No 'To' number"),
        ({"From": ""}, 21213, "No 'From' number"),
        ({"To": "555-CALL-ME"}, 21211, "Invalid 'To' Phone Number"),
        ({"From": "<script>"}, 21212, "Invalid 'From' Phone Number"),
        ({"Url": ""}, 21200, "'Url' is required"),
        ({"Url": "/relative/path"}, 21205, "'Url' is not a valid absolute URL"),
        ({"Url": "javascript:alert(1)"}, 21205, "not a valid absolute URL"),
        ({"StatusCallback": "ftp://x"}, 21200, "'StatusCallback' is not a valid"),
        ({"StatusCallbackEvent": "hung-up"}, 21200, "StatusCallbackEvent"),
        ({"Timeout": "0"}, 21200, "Timeout"),
        ({"Timeout": "601"}, 21200, "Timeout"),
        ({"Record": "yes"}, 21200, "Record"),
    ],
)
def test_bad_requests_are_400_with_twilios_error_body(
    api: RestStandIn, params: dict[str, str], code: int, message: str
) -> None:
    response = create(api, **params)
    assert response.status_code == 400
    body = response.json()
    assert (body["code"], body["status"], body["more_info"]) == (
        code,
        400,
        f"https://www.twilio.com/docs/errors/{code}",
    )
    assert message in body["message"]
    assert api.calls == {}


def test_other_methods_and_paths(api: RestStandIn) -> None:
    auth = (ACCOUNT_SID, TOKEN)
    assert httpx.get(api.url + CALLS, auth=auth).status_code == 405
    assert (
        httpx.get(api.url + CALLS.replace(".json", "/CA" + "0" * 32 + ".json"), auth=auth).status_code == 404
    )
    assert httpx.get(api.url + CALLS.replace(".json", "/nonsense.json"), auth=auth).status_code == 404
    assert httpx.get(api.url + "/2010-04-01/Accounts.json", auth=auth).status_code == 404
    not_form = httpx.post(api.url + CALLS, content=b"\xff\xfe", auth=auth)
    assert not_form.status_code == 400
    huge = httpx.post(api.url + CALLS, content=b"To=" + b"1" * 70_000, auth=auth)
    assert huge.status_code == 413


def test_signalwire_compatibility_path_is_the_same_resource(api: RestStandIn, carrier: FakeServer) -> None:
    form = {"To": BUSINESS, "From": TRACKING, "Url": f"{BASE_URL}/callback/start"}
    response = httpx.post(f"{api.url}/api/laml{CALLS}", data=form, auth=(ACCOUNT_SID, TOKEN))
    assert response.status_code == 201
    assert api.wait_idle(10)
    assert len(carrier.to("/callback/start")) == 1

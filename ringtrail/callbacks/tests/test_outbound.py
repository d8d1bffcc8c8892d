"""The outbound seam against Twilio's and Telnyx's documented payloads (both APIs live outside this machine).

Twilio: the Calls resource's create example (201 with the Call, ``sid``) and error body
``{code, message, more_info, status}``. Telnyx: the TeXML Calls API, ``Authorization: Bearer``, a JSON
body, ``{from, to, status}`` with ``call_sid``, and errors as ``{"errors": [{code, title, detail}]}``.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest

from ringtrail.carriers.models import CarrierConnection
from ringtrail.carriers.outbound import OutboundError, place_call

pytestmark = pytest.mark.django_db

SID = "AC" + "a" * 32
TOKEN = "twilio-auth-token"
CALL = {"to": "+14155550199", "from_": "+14155550100"}
URL = "https://rt.example.com/carriers/twilio/callback?ref=1.start%3Asig"
STATUS = "https://rt.example.com/carriers/twilio/callback?ref=1.status%3Asig"
# Twilio's documented create response, trimmed to what matters.
TWILIO_CREATED = {
    "sid": "CAe1644a7eed5088b159577c5802d8be38",
    "account_sid": SID,
    "from": "+14155550100",
    "to": "+14155550199",
    "status": "queued",
    "direction": "outbound-api",
    "uri": f"/2010-04-01/Accounts/{SID}/Calls/CAe1644a7eed5088b159577c5802d8be38.json",
}
TWILIO_ERROR = {
    "code": 21211,
    "message": "Invalid 'To' Phone Number: +1415555",
    "more_info": "https://www.twilio.com/docs/errors/21211",
    "status": 400,
}


def connection(kind: str, secret: str = TOKEN, api_base_url: str = "", sid: str = SID) -> CarrierConnection:
    row = CarrierConnection(kind=kind, account_sid=sid, api_base_url=api_base_url)
    row.set_secret(secret)
    return row


def client_answering(status: int, body: object, seen: list[httpx.Request]) -> httpx.Client:
    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(status, json=body)

    return httpx.Client(transport=httpx.MockTransport(handle))


def place(row: CarrierConnection, client: httpx.Client, app_id: str = "") -> str:
    return place_call(row, url=URL, status_callback=STATUS, app_id=app_id, client=client, **CALL)


def test_twilio_posts_the_calls_resource_with_basic_auth() -> None:
    seen: list[httpx.Request] = []
    assert place(connection("twilio"), client_answering(201, TWILIO_CREATED, seen)) == TWILIO_CREATED["sid"]
    (request,) = seen
    assert str(request.url) == f"https://api.twilio.com/2010-04-01/Accounts/{SID}/Calls.json"
    assert request.headers["authorization"] == "Basic " + base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    form = parse_qs(request.content.decode())
    assert form["To"] == ["+14155550199"] and form["From"] == ["+14155550100"]
    assert form["Url"] == [URL] and form["StatusCallback"] == [STATUS] and form["Method"] == ["POST"]
    assert form["StatusCallbackEvent"] == ["initiated", "ringing", "answered", "completed"]


def test_signalwire_uses_its_space_and_the_laml_path() -> None:
    seen: list[httpx.Request] = []
    row = connection("signalwire", api_base_url="https://acme.signalwire.com/", sid="PJ-1")
    place(row, client_answering(201, TWILIO_CREATED, seen))
    assert str(seen[0].url) == "https://acme.signalwire.com/api/laml/2010-04-01/Accounts/PJ-1/Calls.json"
    with pytest.raises(OutboundError, match="space URL"):
        place(connection("signalwire"), client_answering(201, TWILIO_CREATED, []))


def test_api_base_url_points_twilio_elsewhere() -> None:
    seen: list[httpx.Request] = []
    place(
        connection("twilio", api_base_url="http://127.0.0.1:9/"), client_answering(201, TWILIO_CREATED, seen)
    )
    assert str(seen[0].url) == f"http://127.0.0.1:9/2010-04-01/Accounts/{SID}/Calls.json"


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (400, TWILIO_ERROR, "(400, error 21211): Invalid 'To' Phone Number"),
        (401, {"code": 20003, "message": "Authenticate", "status": 401}, "error 20003): Authenticate"),
        (500, "not json", "(500): Internal Server Error"),
        (201, {"status": "queued"}, "without a call sid"),
    ],
)
def test_twilio_refusals_carry_twilios_words(status: int, body: object, message: str) -> None:
    with pytest.raises(OutboundError) as error:
        place(connection("twilio"), client_answering(status, body, []))
    assert message in str(error.value)


def test_unreachable_carrier_is_an_outbound_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    with pytest.raises(OutboundError, match=r"could not reach api\.twilio\.com: ConnectError"):
        place(connection("twilio"), httpx.Client(transport=httpx.MockTransport(refuse)))


def test_telnyx_posts_texml_calls_with_a_bearer_key_and_json() -> None:
    seen: list[httpx.Request] = []
    created = {
        "call_sid": "v3:abc-call-control-id",
        "from": "+14155550100",
        "to": "+14155550199",
        "status": "queued",
    }
    row = connection("telnyx", secret="KEY0123", sid="f5586561-8ff0-4291-a51b-c7dfe4139ff9")
    assert place(row, client_answering(200, created, seen), app_id="1234567890") == "v3:abc-call-control-id"
    (request,) = seen
    assert (
        str(request.url)
        == "https://api.telnyx.com/v2/texml/Accounts/f5586561-8ff0-4291-a51b-c7dfe4139ff9/Calls"
    )
    assert request.headers["authorization"] == "Bearer KEY0123"
    body = json.loads(request.content)
    assert body["ApplicationSid"] == "1234567890" and (body["To"], body["From"]) == (
        "+14155550199",
        "+14155550100",
    )
    assert (body["Url"], body["StatusCallback"], body["Method"]) == (URL, STATUS, "POST")


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ({"data": {"call_sid": "v3:in-data"}}, "v3:in-data"),
        # The account-scoped resource's documented example names no call: the first webhook binds it.
        ({"from": "+14155550100", "to": "+14155550199", "status": "queued"}, ""),
    ],
)
def test_telnyx_call_id_flat_wrapped_or_absent(answer: dict[str, object], expected: str) -> None:
    assert place(connection("telnyx"), client_answering(200, answer, []), app_id="app") == expected


def test_telnyx_errors_and_missing_application() -> None:
    errors = {
        "errors": [{"code": "10015", "title": "Bad Request", "detail": "The 'To' parameter is invalid"}]
    }
    with pytest.raises(
        OutboundError, match="Telnyx refused the call \\(422\\): 10015 — Bad Request — The 'To'"
    ):
        place(connection("telnyx"), client_answering(422, errors, []), app_id="app")
    with pytest.raises(OutboundError, match="TeXML application id"):
        place(connection("telnyx"), client_answering(200, {}, []))


def test_unknown_kind_is_refused() -> None:
    row: Callable[[], CarrierConnection] = lambda: connection("pigeon")  # noqa: E731
    with pytest.raises(OutboundError, match="cannot place calls"):
        place(row(), client_answering(201, {}, []))

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx
import pytest
from twilio.request_validator import RequestValidator

from ringtrail.carriers.simulator import Credentials, compute_signature, signature_headers
from ringtrail.carriers.simulator.transport import CarrierHttp

TOKEN = "12345abcdef"
PARAMS = {
    "CallSid": "CA1234567890ABCDE",
    "Caller": "+12349013030",
    "Digits": "1234",
    "From": "+12349013030",
    "To": "+18005551212",
    "FromCity": "SAINT PAUL",
    "CallerName": "Zoë Ünïcode & Co = ok",
}


@pytest.mark.parametrize(
    "url",
    [
        "https://mycompany.com/myapp.php",
        "https://mycompany.com/myapp.php?foo=1&bar=2",
        "http://127.0.0.1:8000/carriers/twilio/voice",
        "http://localhost:8081/carriers/twilio/dial?call=7&leg=b%20c",
    ],
)
def test_signature_matches_the_twilio_oracle(url: str) -> None:
    assert compute_signature(TOKEN, url, PARAMS) == RequestValidator(TOKEN).compute_signature(url, PARAMS)


def test_signature_without_params_matches_the_oracle() -> None:
    url = "https://example.com/x?y=1"
    assert compute_signature(TOKEN, url, {}) == RequestValidator(TOKEN).compute_signature(url, {})


def test_twilio_sends_one_header_and_signalwire_both() -> None:
    twilio = signature_headers(Credentials("twilio", "AC1", TOKEN), "https://h/x", PARAMS)
    signalwire = signature_headers(Credentials("signalwire", "p-1", TOKEN), "https://h/x", PARAMS)
    assert set(twilio) == {"X-Twilio-Signature"}
    assert (
        signalwire["X-SignalWire-Signature"]
        == signalwire["X-Twilio-Signature"]
        == twilio["X-Twilio-Signature"]
    )


def test_credentials_keep_the_secret_out_of_repr() -> None:
    assert TOKEN not in repr(Credentials("twilio", "AC1", TOKEN))
    with pytest.raises(ValueError, match="unknown carrier"):
        Credentials("plivo", "x", "y")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("base_url", "path"),
    [
        ("http://127.0.0.1:8000", "/carriers/twilio/voice"),
        ("http://localhost:80", "/carriers/twilio/dial?x=1&y=a b"),
        ("https://ringtrail.example", "https://ringtrail.example/carriers/twilio/status"),
    ],
)
def test_the_url_on_the_wire_is_the_url_signed(base_url: str, path: str) -> None:
    seen: list[httpx.Request] = []

    def server(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    with httpx.Client(transport=httpx.MockTransport(server)) as client:
        http = CarrierHttp(client, Credentials("twilio", "AC1", TOKEN), base_url)
        assert http.post(path, PARAMS).ok
    request = seen[0]
    assert request.method == "POST"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    params = dict(parse_qsl(request.content.decode(), keep_blank_values=True))
    assert params == PARAMS
    # What a server reconstructs from the Host header and request target must verify.
    host = request.headers["host"]
    rebuilt = f"{request.url.scheme}://{host}{request.url.raw_path.decode()}"
    assert RequestValidator(TOKEN).validate(rebuilt, params, request.headers["X-Twilio-Signature"])

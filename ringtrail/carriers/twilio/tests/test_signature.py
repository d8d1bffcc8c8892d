"""Our signature check against the official `twilio` package as oracle."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from twilio.request_validator import RequestValidator

from ringtrail.carriers.twilio.signature import compute_signature, is_valid, url_spellings

TOKEN = "12345678901234567890123456789012"
URLS = [
    "https://example.com/carriers/twilio/voice",
    "https://example.com:443/carriers/twilio/voice",
    "http://127.0.0.1:8000/carriers/twilio/dial?tn=4",
    "https://example.com/carriers/twilio/recording?purpose=call&x=%20y",
]


@pytest.mark.parametrize("url", URLS)
def test_signature_matches_twilio_oracle(url: str) -> None:
    params = {"CallSid": "CA123", "From": "+14155550100", "To": "+14155550101", "Caller": "+14155550100"}
    assert compute_signature(TOKEN, url, params.items()) == RequestValidator(TOKEN).compute_signature(
        url, params
    )


@given(st.dictionaries(st.text(min_size=1, max_size=12), st.text(max_size=40), max_size=8))
def test_any_params_match_the_oracle(params: dict[str, str]) -> None:
    url = "https://ringtrail.example/carriers/twilio/voice"
    ours = compute_signature(TOKEN, url, params.items())
    assert ours == RequestValidator(TOKEN).compute_signature(url, params)
    assert is_valid(TOKEN, url, params.items(), ours)


def test_signed_with_or_without_default_port() -> None:
    params = {"CallSid": "CA1"}
    with_port = compute_signature(TOKEN, "https://example.com:443/v", params.items())
    without = compute_signature(TOKEN, "https://example.com/v", params.items())
    assert is_valid(TOKEN, "https://example.com/v", params.items(), with_port)
    assert is_valid(TOKEN, "https://example.com:443/v", params.items(), without)
    assert url_spellings("http://h:8000/v") == ["http://h:8000/v"]


def test_wrong_token_altered_param_and_empty_signature_fail() -> None:
    url, params = "https://example.com/v", {"CallSid": "CA1", "To": "+14155550100"}
    good = compute_signature(TOKEN, url, params.items())
    assert not is_valid("another-token-entirely", url, params.items(), good)
    assert not is_valid(TOKEN, url, {**params, "To": "+14155550101"}.items(), good)
    assert not is_valid(TOKEN, url, params.items(), "")
    assert not is_valid("", url, params.items(), good)

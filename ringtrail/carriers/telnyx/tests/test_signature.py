"""Ed25519 webhook verification: RFC 8032 vectors, a generated key pair, tampering and the replay window."""

from __future__ import annotations

import base64

import pytest

from ringtrail.carriers.telnyx.signature import (
    TIMESTAMP_TOLERANCE_SECONDS,
    is_valid,
    public_key_from_base64,
    sign,
    signature_matches,
    signed_message,
    timestamp_is_fresh,
)
from ringtrail.carriers.telnyx.tests.helpers import new_key_pair


def b64(hex_text: str) -> str:
    return base64.b64encode(bytes.fromhex(hex_text)).decode()


# RFC 8032 §7.1, TEST 1 and TEST 2 (secret key, public key, message, signature).
RFC8032 = [
    pytest.param(
        "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
        "",
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        id="TEST 1",
    ),
    pytest.param(
        "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
        "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
        "72",
        "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        id="TEST 2",
    ),
]
NOW = 1_763_800_000
BODY = b"AccountSid=f5586561&CallSid=v3%3Aabc&From=%2B12125550143&To=%2B14155550100"


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032)
def test_rfc8032_vectors_verify(secret: str, public: str, message: str, signature: str) -> None:
    assert signature_matches(b64(public), bytes.fromhex(message), b64(signature))


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032)
def test_rfc8032_vectors_fail_when_anything_changes(
    secret: str, public: str, message: str, signature: str
) -> None:
    raw = bytearray(bytes.fromhex(signature))
    raw[0] ^= 1
    assert not signature_matches(b64(public), bytes.fromhex(message), base64.b64encode(raw).decode())
    assert not signature_matches(b64(public), bytes.fromhex(message) + b"x", b64(signature))
    assert not signature_matches(new_key_pair().public_b64, bytes.fromhex(message), b64(signature))


@pytest.mark.parametrize(("secret", "public", "message", "signature"), RFC8032)
def test_webhooks_signed_with_an_rfc8032_secret_verify_with_its_public_key(
    secret: str, public: str, message: str, signature: str
) -> None:
    stamp = str(NOW)
    assert signed_message(stamp, BODY) == stamp.encode() + b"|" + BODY
    assert is_valid(b64(public), BODY, sign(b64(secret), BODY, stamp), stamp, now=NOW)


def test_generated_key_pair_round_trip() -> None:
    keys = new_key_pair()
    stamp = str(NOW)
    assert is_valid(keys.public_b64, BODY, sign(keys.seed_b64, BODY, stamp), stamp, now=NOW)


def test_body_changed_after_signing_is_refused() -> None:
    keys = new_key_pair()
    signature = sign(keys.seed_b64, BODY, str(NOW))
    assert not is_valid(keys.public_b64, BODY.replace(b"%2B1212", b"%2B1999"), signature, str(NOW), now=NOW)


def test_timestamp_is_part_of_the_signed_message() -> None:
    keys = new_key_pair()
    signature = sign(keys.seed_b64, BODY, str(NOW))
    assert not is_valid(keys.public_b64, BODY, signature, str(NOW + 1), now=NOW)


def test_wrong_key_is_refused() -> None:
    signer, other = new_key_pair(), new_key_pair()
    assert not is_valid(other.public_b64, BODY, sign(signer.seed_b64, BODY, str(NOW)), str(NOW), now=NOW)


@pytest.mark.parametrize(
    "offset, fresh",
    [
        (0, True),
        (-TIMESTAMP_TOLERANCE_SECONDS, True),
        (TIMESTAMP_TOLERANCE_SECONDS, True),
        (-TIMESTAMP_TOLERANCE_SECONDS - 1, False),  # stale: a replay
        (TIMESTAMP_TOLERANCE_SECONDS + 1, False),  # from the future
    ],
)
def test_replay_window(offset: int, fresh: bool) -> None:
    keys = new_key_pair()
    stamp = str(NOW + offset)
    assert is_valid(keys.public_b64, BODY, sign(keys.seed_b64, BODY, stamp), stamp, now=NOW) is fresh


@pytest.mark.parametrize("stamp", ["", "abc", "-5", "1.5", "\uff11\uff12\uff13", "9" * 40, " 1763800000"])
def test_garbled_timestamps_are_not_fresh(stamp: str) -> None:
    assert not timestamp_is_fresh(stamp, now=NOW)


@pytest.mark.parametrize("signature", ["", "not base64!", "AAAA", base64.b64encode(b"x" * 65).decode()])
def test_garbled_signatures_are_refused(signature: str) -> None:
    keys = new_key_pair()
    assert not is_valid(keys.public_b64, BODY, signature, str(NOW), now=NOW)


@pytest.mark.parametrize(
    "key", ["", "short", base64.b64encode(b"k" * 31).decode(), base64.b64encode(b"k" * 33).decode(), "***"]
)
def test_malformed_public_keys_are_not_keys(key: str) -> None:
    assert public_key_from_base64(key) is None
    keys = new_key_pair()
    assert not is_valid(key, BODY, sign(keys.seed_b64, BODY, str(NOW)), str(NOW), now=NOW)

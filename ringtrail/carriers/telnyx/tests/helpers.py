"""Telnyx-signed requests through Django's test client, with a key pair made for the test."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.test import Client

from ringtrail.carriers.telnyx.signature import sign
from ringtrail.testing import WiredAccount, wired_account

FORM = "application/x-www-form-urlencoded"
# The shape of a Telnyx user id, which TeXML sends as AccountSid.
ACCOUNT_SID = "f5586561-8ff0-4291-a51b-c7dfe4139ff9"
CALL_SID = "v3:9X2vxPDFY2RHSJ1EdMS0RHRksMTg7ldNxdjWbVr9zBjbGjGsSe-aiQ"


@dataclass(frozen=True)
class KeyPair:
    seed_b64: str  # what Telnyx keeps (and the simulator's Credentials.secret)
    public_b64: str  # what the connection stores


def new_key_pair() -> KeyPair:
    key = Ed25519PrivateKey.generate()
    seed = key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return KeyPair(base64.b64encode(seed).decode(), base64.b64encode(public).decode())


@dataclass
class TelnyxAccount:
    wired: WiredAccount
    keys: KeyPair

    @property
    def account_sid(self) -> str:
        return self.wired.connection.account_sid


def telnyx_account(account_sid: str = ACCOUNT_SID, **options: Any) -> TelnyxAccount:
    wired = wired_account(kind="telnyx", **options)
    keys = new_key_pair()
    wired.connection.account_sid = account_sid
    wired.connection.webhook_public_key = keys.public_b64
    wired.connection.save()
    return TelnyxAccount(wired, keys)


def signed_post(
    client: Client,
    telnyx: TelnyxAccount,
    path: str,
    params: dict[str, str],
    timestamp: int | None = None,
    seed_b64: str | None = None,
    **extra: Any,
) -> Any:
    body = urlencode(params).encode()
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    signature = sign(seed_b64 or telnyx.keys.seed_b64, body, stamp)
    return client.post(
        path,
        body,
        content_type=FORM,
        HTTP_TELNYX_SIGNATURE_ED25519=signature,
        HTTP_TELNYX_TIMESTAMP=stamp,
        **extra,
    )


def voice_params(telnyx: TelnyxAccount, call_sid: str = CALL_SID, **overrides: str) -> dict[str, str]:
    """What TeXML instruction fetching always sends (texml-instruction-fetching, "Request Parameters")."""
    params = {
        "AccountSid": telnyx.account_sid,
        "CallSid": call_sid,
        "CallSidLegacy": call_sid,
        "From": "+12125550143",
        "To": telnyx.wired.tracking.number,
        "ConnectionId": "1568109700606592442",
        "ApiVersion": "2010-04-01",
        "CallStatus": "ringing",
        "Direction": "inbound",
    }
    params.update(overrides)
    return params


def callback_params(telnyx: TelnyxAccount, call_sid: str = CALL_SID, **fields: str) -> dict[str, str]:
    return {"AccountSid": telnyx.account_sid, "CallSid": call_sid, "CallSidLegacy": call_sid, **fields}

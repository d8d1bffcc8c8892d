"""Flow positions as hook params, plain or signed.

A carrier calls us back at the position a decision named (a menu's gather, a dial's result …). The
params travel through the carrier, so the wiring layer signs them: an HMAC binds the position to the
account, the call and the flow version, and a caller who edits the URL, replays another call's
reference or a reference of another flow version is refused with a typed error. The hop counter inside
the position lets the wiring refuse a reference older than the last one it served (``require_fresh``).

Params (all short, since they ride in every callback URL):
  fp  the position: ``step.hop.phase.attempt.index.entered_at``
  fv  the flow version id
  fc  a tag of (account, call): 11 characters of an HMAC
  fs  the signature over fv, fc and fp: 22 characters (132 bits) of HMAC-SHA256
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from ringtrail.flows.context import Phase, Position

_POSITION = re.compile(r"^([A-Za-z0-9_-]{1,40})\.(\d{1,6})\.([a-z]{0,4})\.(\d{1,4})\.(\d{1,4})\.(\d{1,12})$")
_PHASES = {phase.value: phase for phase in Phase}


class ReferenceRefused(ValueError):
    """A flow reference the wiring layer must not act on (answer 403, or a polite hang-up)."""


class MalformedReference(ReferenceRefused):
    pass


class TamperedReference(ReferenceRefused):
    pass


class WrongCall(ReferenceRefused):
    """A genuine reference, issued for another call (or another account's call)."""


class WrongFlowVersion(ReferenceRefused):
    pass


class StaleReference(ReferenceRefused):
    """A reference older than the last one served for this call: a replay."""


@dataclass(frozen=True)
class FlowReference:
    version_id: int
    position: Position


def derive_key(secret_key: str) -> bytes:
    """A key for flow references only, so it is useless for anything else signed with SECRET_KEY."""
    return hmac.new(secret_key.encode(), b"ringtrail.flows.position", hashlib.sha256).digest()


def encode_position(position: Position) -> str:
    return ".".join(
        (
            position.step,
            str(position.hop),
            position.phase.value,
            str(position.attempt),
            str(position.index),
            str(position.entered_at),
        )
    )


def decode_position(text: str) -> Position:
    match = _POSITION.match(text or "")
    if not match or match.group(3) not in _PHASES:
        raise MalformedReference("not a flow position")
    step, hop, phase, attempt, index, entered_at = match.groups()
    return Position(
        step=step,
        hop=int(hop),
        phase=_PHASES[phase],
        attempt=int(attempt),
        index=int(index),
        entered_at=int(entered_at),
    )


def plain_params(position: Position) -> dict[str, str]:
    """Unsigned params: the engine's default, for tests and the simulator's own bookkeeping."""
    return {"fp": encode_position(position)}


def signer(
    key: bytes, account_id: int, call_id: str, version_id: int
) -> Callable[[Position], dict[str, str]]:
    """The ``hook_params`` function the wiring layer passes to ``engine.decide`` for one call."""
    tag = _call_tag(key, account_id, call_id)
    version = str(version_id)

    def sign(position: Position) -> dict[str, str]:
        fp = encode_position(position)
        return {"fp": fp, "fv": version, "fc": tag, "fs": _signature(key, version, tag, fp)}

    return sign


def verify(
    params: Mapping[str, str],
    key: bytes,
    *,
    account_id: int,
    call_id: str,
    version_id: int | None = None,
) -> FlowReference:
    """The position a signed reference names, after checking it was issued for this very call.

    ``version_id``, when given, is the version the call is known to run; otherwise the version named in
    the (authenticated) reference is returned for the wiring to load.
    """
    fp, fv, fc, fs = (str(params.get(name, "")) for name in ("fp", "fv", "fc", "fs"))
    if not (fv.isdigit() and len(fv) <= 18 and 0 < len(fc) <= 16 and 0 < len(fs) <= 32):
        raise MalformedReference("incomplete flow reference")
    position = decode_position(fp)
    if not hmac.compare_digest(fs, _signature(key, fv, fc, fp)):
        raise TamperedReference("bad flow reference signature")
    if not hmac.compare_digest(fc, _call_tag(key, account_id, call_id)):
        raise WrongCall("flow reference issued for another call")
    if version_id is not None and int(fv) != version_id:
        raise WrongFlowVersion("flow reference issued for another flow version")
    return FlowReference(version_id=int(fv), position=position)


def require_fresh(position: Position, last_served_hop: int | None) -> None:
    """Refuse a caller-leg reference the wiring has already moved past.

    Answering-party legs (whisper, accept) are exempt: every ringing leg asks, in any order.
    """
    if position.is_leg or last_served_hop is None:
        return
    if position.hop <= last_served_hop:
        raise StaleReference(f"flow reference for hop {position.hop} after hop {last_served_hop}")


def _call_tag(key: bytes, account_id: int, call_id: str) -> str:
    return _mac(key, f"call|{account_id}|{call_id}")[:11]


def _signature(key: bytes, version: str, tag: str, fp: str) -> str:
    return _mac(key, f"pos|{version}|{tag}|{fp}")[:22]


def _mac(key: bytes, message: str) -> str:
    digest = hmac.new(key, message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")

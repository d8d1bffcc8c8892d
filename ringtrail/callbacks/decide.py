"""What each leg of a call-back hears: pure functions from facts to a carrier-neutral ``CallDecision``.

The business answers first and hears the whisper inside a one-key ``Gather``; 1 dials the visitor with
the tracking number as caller id, anything else (or silence, through the ``Redirect``) ends politely.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from ringtrail.callbacks.states import Status
from ringtrail.carriers.base import (
    CallDecision,
    Dial,
    DialTarget,
    Gather,
    Hangup,
    Hook,
    HookRef,
    Redirect,
    Say,
)

ACCEPT_KEY = "1"
GATHER_TIMEOUT_SECONDS = 6
VISITOR_RING_SECONDS = 30
MAX_PAGE_WORDS = 8
HOME_PAGE = "the home page"
_WORDS = re.compile(r"[A-Za-z0-9]+")
_EXTENSION = re.compile(r"\.(html?|php|aspx?|jsp)$", re.IGNORECASE)

DECLINED = "Okay, the web lead was not connected. Goodbye."
VISITOR_MISSED = "The web lead did not answer. Goodbye."
CONNECTING = "Connecting you now."


@dataclass(frozen=True)
class BusinessLeg:
    whisper: str
    answer: HookRef  # where the key (or the silence) goes


@dataclass(frozen=True)
class VisitorLeg:
    visitor: str  # E.164
    caller_id: str  # the tracking number, so the visitor sees the number the site showed
    dial_result: HookRef
    record: bool = False
    recording_callback: HookRef | None = None


def page_label(url: str) -> str:
    """Words a text-to-speech voice can say for a page: its path, never its query or host."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return HOME_PAGE
    segments = [_EXTENSION.sub("", unquote(part)) for part in path.split("/") if part]
    words = _WORDS.findall(" ".join(segments[-2:]))
    if not words or [w.lower() for w in words] in (["index"], ["home"]):
        return HOME_PAGE
    return " ".join(words[:MAX_PAGE_WORDS])


def whisper_text(template: str, page_url: str) -> str:
    return template.replace("{page}", page_label(page_url))[:300]


def business_answered(leg: BusinessLeg) -> CallDecision:
    gather = Gather(
        action=leg.answer,
        prompt=(Say(leg.whisper),),
        num_digits=1,
        timeout_seconds=GATHER_TIMEOUT_SECONDS,
    )
    # Silence falls through the Gather: the redirect reports it as "no key", which declines.
    return CallDecision((gather, Redirect(leg.answer)))


def business_pressed(digits: str, leg: VisitorLeg) -> CallDecision:
    if digits != ACCEPT_KEY:
        return CallDecision((Say(DECLINED), Hangup()))
    dial = Dial(
        targets=(DialTarget(leg.visitor),),
        caller_id=leg.caller_id,
        timeout_seconds=VISITOR_RING_SECONDS,
        record=leg.record,
        action=leg.dial_result,
        recording_callback=leg.recording_callback,
    )
    return CallDecision((Say(CONNECTING), dial))


def after_visitor_dial(dial_status: str) -> CallDecision:
    if dial_status == "completed":
        return CallDecision((Hangup(),))
    return CallDecision((Say(VISITOR_MISSED), Hangup()))


def status_after_key(digits: str) -> Status:
    return Status.CALLING_VISITOR if digits == ACCEPT_KEY else Status.DECLINED


def status_after_dial(dial_status: str, bridged: str = "") -> Status:
    """The visitor leg's end: ``DialCallStatus`` (and ``DialBridged`` where the carrier sends it)."""
    if dial_status == "completed" and bridged.lower() != "false":
        return Status.BRIDGED
    if dial_status == "failed":
        return Status.FAILED
    return Status.NO_ANSWER


def status_after_call_status(call_status: str, current: str) -> Status | None:
    """The business leg's final status, while nobody had pressed a key yet; None: nothing changes."""
    if current not in (Status.QUEUED, Status.CALLING_BUSINESS):
        return None  # the key (or the visitor leg) already decided
    if call_status in ("no-answer", "busy", "canceled"):
        return Status.NO_ANSWER
    if call_status == "failed":
        return Status.FAILED
    if call_status == "completed":
        return Status.DECLINED  # answered, then hung up during the whisper
    return None


def callback_hook(ref: str) -> HookRef:
    return HookRef(Hook.CALLBACK, {"ref": ref})

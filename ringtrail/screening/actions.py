"""Writes about spam: people marking and unmarking calls, and callers answering the challenge."""

from __future__ import annotations

from django.db import transaction

from ringtrail.calls import attribution
from ringtrail.calls.models import Call
from ringtrail.numbers.routes import RouteSnapshot
from ringtrail.screening.step import FAILED_PREFIX, PENDING_PREFIX, REASON_LENGTH

MARKED_BY_MEMBER = "marked as spam by a member"


def mark_spam(call: Call, reason: str = MARKED_BY_MEMBER) -> None:
    """Leave the call out of reports. Its visit link is kept, so unmarking restores it as it was."""
    call.is_spam = True
    call.spam_reason = reason[:REASON_LENGTH]
    call.save(update_fields=["is_spam", "spam_reason", "updated_at"])


def unmark_spam(call: Call) -> None:
    """The call rejoins reports. A screened call was never attributed; that is not recomputed."""
    call.is_spam = False
    call.spam_reason = ""
    call.save(update_fields=["is_spam", "spam_reason", "updated_at"])


def pass_challenge(call: Call, route: RouteSnapshot | None) -> None:
    """The caller pressed 1: a person. Clear the flag and attribute the call as if never screened."""
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        if not locked.spam_reason.startswith(PENDING_PREFIX):
            return  # answered already (a repeated request), or a member decided meanwhile
        found = attribution.attribute(
            route, locked.account_id, locked.customer_phone_number, locked.start_time
        )
        for name, value in found.call_fields().items():
            setattr(locked, name, value)
        locked.is_spam = False
        locked.spam_reason = ""
        locked.routing_note = "passed the screening challenge"
        locked.save()


def fail_challenge(call: Call, digits: str) -> None:
    """Any other key (or none): keep it as spam, saying why."""
    with transaction.atomic():
        locked = Call.objects.select_for_update().get(pk=call.pk)
        if not locked.spam_reason.startswith(PENDING_PREFIX):
            return
        pressed = f"pressed {digits[:8]!r}" if digits else "pressed nothing"
        reason = locked.spam_reason.removeprefix(PENDING_PREFIX)
        locked.spam_reason = f"{FAILED_PREFIX}{pressed}; {reason}"[:REASON_LENGTH]
        locked.save(update_fields=["spam_reason", "updated_at"])

"""A call-back request's states (no database needed, so the pure decisions can use them)."""

from __future__ import annotations

from django.db.models import TextChoices


class Status(TextChoices):
    QUEUED = "queued", "Queued"
    CALLING_BUSINESS = "calling_business", "Calling the business"
    CALLING_VISITOR = "calling_visitor", "Calling the visitor"
    BRIDGED = "bridged", "Bridged"
    DECLINED = "declined", "Declined by the business"
    NO_ANSWER = "no_answer", "No answer"
    FAILED = "failed", "Failed"


FINAL = frozenset({Status.BRIDGED, Status.DECLINED, Status.NO_ANSWER, Status.FAILED})

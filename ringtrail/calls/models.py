"""Calls and the carrier events that shaped them."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from ringtrail.accounts.models import Account
from ringtrail.numbers.models import ReceivingNumber, TrackingNumber
from ringtrail.sources.models import Source


class Outcome(models.TextChoices):
    IN_PROGRESS = "in_progress", "In progress"
    ANSWERED = "answered", "Answered"
    MISSED = "missed", "Missed"
    BUSY = "busy", "Busy"
    FAILED = "failed", "Failed"
    VOICEMAIL = "voicemail", "Voicemail"


class Attribution(models.TextChoices):
    EXACT = "exact", "Exact (one visit held the number)"
    AMBIGUOUS = "ambiguous", "Ambiguous (several candidate visits)"
    CALLER_HISTORY = "caller_history", "Caller history (repeat caller's earlier visit)"
    OVERFLOW = "overflow", "Overflow (pool exhausted: source known, visit unknown)"
    STATIC = "static", "Static (offline source)"
    NONE = "", "Not attributed"


class CallType(models.TextChoices):
    INBOUND = "inbound", "Inbound"
    CALLBACK = "callback", "Call-back (web form)"


class Call(models.Model):
    # Every index costs each incoming call a page written (and on SQLite a WAL frame): the account
    # is the first column of both composite indexes below, so it needs none of its own.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="calls", db_index=False)
    carrier = models.CharField(max_length=16)
    carrier_call_id = models.CharField(max_length=64)
    tracking_number = models.ForeignKey(TrackingNumber, null=True, blank=True, on_delete=models.SET_NULL)
    tracking_phone_number = models.CharField(max_length=32)
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL)
    source_name = models.CharField(max_length=120, blank=True)
    medium = models.CharField(max_length=60, blank=True)
    receiving_number = models.ForeignKey(ReceivingNumber, null=True, blank=True, on_delete=models.SET_NULL)
    business_phone_number = models.CharField(max_length=255, blank=True)
    customer_phone_number = models.CharField(max_length=64)
    customer_name = models.CharField(max_length=200, blank=True)
    customer_city = models.CharField(max_length=120, blank=True)
    customer_state = models.CharField(max_length=120, blank=True)
    customer_zip = models.CharField(max_length=20, blank=True)
    customer_country = models.CharField(max_length=120, blank=True)
    customer_time_zone = models.CharField(max_length=64, blank=True)
    caller_area_origin = models.CharField(max_length=16, blank=True)
    start_time = models.DateTimeField(default=timezone.now, db_index=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ring_seconds = models.PositiveIntegerField(null=True, blank=True)
    talk_seconds = models.PositiveIntegerField(null=True, blank=True)
    total_seconds = models.PositiveIntegerField(null=True, blank=True)
    carrier_status = models.CharField(max_length=32, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.IN_PROGRESS)
    first_call = models.BooleanField(default=True)
    recording_urls = models.JSONField(default=list, blank=True)
    voicemail_url = models.CharField(max_length=500, blank=True)
    routing_note = models.CharField(max_length=200, blank=True)
    call_type = models.CharField(max_length=16, choices=CallType.choices, default=CallType.INBOUND)
    # Screened as spam before it was answered (or marked by a person); spam is kept, listed on the
    # spam page, and left out of attribution and reports until someone unmarks it.
    # The call flow version the call runs on (the current one when it started), the last flow hop
    # served (older references are replays and refused), and its round-robin turn.
    flow_version = models.ForeignKey(
        "flows.FlowVersion",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,  # partial index below
    )
    flow_hop = models.IntegerField(default=0)
    flow_rotation = models.IntegerField(default=0)
    is_spam = models.BooleanField(default=False)
    spam_reason = models.CharField(max_length=200, blank=True)
    attribution = models.CharField(max_length=16, choices=Attribution.choices, blank=True)
    visit_session = models.ForeignKey(
        "visits.Session",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="calls",
        db_index=False,  # partial index below
    )
    # Session ids that could have made an ambiguous call, most likely first.
    attribution_candidates = models.JSONField(default=list, blank=True)
    # Snapshots, so the call keeps its story even after visits are pruned.
    touch = models.JSONField(default=dict, blank=True)
    first_touch = models.JSONField(default=dict, blank=True)
    # The exact response we gave, so a repeated webhook gets the same answer.
    response_body = models.TextField(blank=True)
    response_content_type = models.CharField(max_length=64, default="text/xml")
    raw_payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-start_time", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["carrier", "carrier_call_id"], name="one_call_per_carrier_id")
        ]
        indexes = [
            models.Index(fields=["account", "-start_time"]),
            # A caller's history, newest first: first-call check, caller-history attribution,
            # sticky round robin and repeated-short-call screening all read it.
            models.Index(fields=["account", "customer_phone_number", "-start_time"]),
            # Most calls have no visit session (offline sources) or no flow: partial indexes skip
            # them, and still serve every lookup by value (``= x`` and ``IN`` imply NOT NULL).
            models.Index(
                fields=["visit_session"], condition=Q(visit_session__isnull=False), name="call_visit_session"
            ),
            models.Index(
                fields=["flow_version"], condition=Q(flow_version__isnull=False), name="call_flow_version"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.customer_phone_number} → {self.tracking_phone_number}"

    @property
    def answered(self) -> bool:
        return self.outcome == Outcome.ANSWERED

    @property
    def voicemail(self) -> bool:
        return self.outcome == Outcome.VOICEMAIL


class CallEvent(models.Model):
    """One carrier callback, stored once per (carrier, call id, kind, sequence) and kept for audit."""

    carrier = models.CharField(max_length=16)
    carrier_call_id = models.CharField(max_length=64, db_index=True)
    # Null while the call itself is not stored yet (its webhook was spooled); linked on arrival.
    call = models.ForeignKey(Call, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(max_length=16)
    sequence = models.IntegerField()
    status = models.CharField(max_length=32, blank=True)
    occurred_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    call_duration = models.PositiveIntegerField(null=True, blank=True)
    dial_duration = models.PositiveIntegerField(null=True, blank=True)
    recording_url = models.CharField(max_length=500, blank=True)
    recording_purpose = models.CharField(max_length=16, blank=True)
    payload = models.JSONField(default=dict)

    class Meta:
        ordering = ["sequence", "received_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["carrier", "carrier_call_id", "kind", "sequence"], name="one_event_per_sequence"
            )
        ]

    def __str__(self) -> str:
        return f"{self.carrier_call_id} {self.kind}#{self.sequence} {self.status}"

"""Call-back requests from website forms, and each account's call-back settings."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from ringtrail.accounts.models import Account
from ringtrail.callbacks.states import Status
from ringtrail.numbers.models import ReceivingNumber, TrackingNumber

DEFAULT_WHISPER = "Web lead from {page}. Press 1 to connect."


class CallbackSettings(models.Model):
    """Where a call-back rings when the visit's own tracking number does not say (one per account)."""

    account = models.OneToOneField(Account, on_delete=models.CASCADE, related_name="callback_settings")
    enabled = models.BooleanField(default=True)
    # The number the business sees calling, and the visitor's caller id once bridged.
    tracking_number = models.ForeignKey(
        TrackingNumber, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    receiving_number = models.ForeignKey(
        ReceivingNumber, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    whisper_template = models.CharField(max_length=300, default=DEFAULT_WHISPER)
    # Telnyx places TeXML calls through a TeXML application (its connection id); unused for Twilio.
    carrier_app_id = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"call-back settings of {self.account_id}"


class CallbackRequest(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="callback_requests")
    visitor_id = models.CharField(max_length=64, blank=True)
    session_id = models.CharField(max_length=64, blank=True)
    # Null when the visit is not (yet) written, or was pruned; session_id keeps the reference.
    visit_session = models.ForeignKey(
        "visits.Session", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    phone = models.CharField(max_length=20)
    name = models.CharField(max_length=100, blank=True)
    page = models.TextField(blank=True)
    consent_at = models.DateTimeField()
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.QUEUED)
    # Chosen when the call is placed: the number calling the business (and shown to the visitor),
    # and the business number it rings.
    tracking_number = models.ForeignKey(
        TrackingNumber, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    receiving_number = models.ForeignKey(
        ReceivingNumber, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    business_number = models.CharField(max_length=255, blank=True)
    carrier = models.CharField(max_length=16, blank=True)
    carrier_call_id = models.CharField(max_length=64, blank=True)
    call = models.ForeignKey(
        "calls.Call", null=True, blank=True, on_delete=models.SET_NULL, related_name="callback_requests"
    )
    error = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["account", "session_id", "created_at"]),
            models.Index(fields=["account", "phone", "created_at"]),
        ]

    def __str__(self) -> str:
        return f"call-back {self.pk} to {self.phone} ({self.status})"

"""Tracking numbers (what callers dial) and receiving numbers (where calls ring)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from ringtrail.accounts.models import Account
from ringtrail.carriers.models import CarrierConnection
from ringtrail.sources.models import Source


class ReceivingNumber(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="receiving_numbers")
    label = models.CharField(max_length=120)
    # E.164 (+15551234567) or a SIP URI (sip:desk@pbx.example.com).
    number = models.CharField(max_length=255)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["label"]

    def __str__(self) -> str:
        return f"{self.label} ({self.number})"


class NumberState(models.TextChoices):
    ACTIVE = "active", "Active"
    DRAINING = "draining", "Draining"  # still routes calls, no longer shown to visitors
    RELEASED = "released", "Released"  # given back to the carrier; calls get the polite message


class TrackingNumber(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tracking_numbers")
    number = models.CharField(max_length=20)
    connection = models.ForeignKey(
        CarrierConnection, on_delete=models.PROTECT, related_name="tracking_numbers"
    )
    source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="numbers"
    )
    receiving_number = models.ForeignKey(
        ReceivingNumber, null=True, blank=True, on_delete=models.SET_NULL, related_name="tracking_numbers"
    )
    whisper_text = models.CharField(max_length=500, blank=True)
    record_calls = models.BooleanField(default=False)
    # The call flow for calls to this number; wins over the source's flow. Neither: the static forward.
    flow = models.ForeignKey(
        "flows.Flow", null=True, blank=True, on_delete=models.RESTRICT, related_name="tracking_numbers"
    )
    # Pool numbers are handed to website visitors by DNI; static numbers (no pool) belong to one source.
    pool = models.ForeignKey(
        "dni.Pool", null=True, blank=True, on_delete=models.SET_NULL, related_name="numbers"
    )
    # When the number's current (or last) DNI lease ends; kept by the SQL lease store so picking the
    # least-recently-released free number is one indexed query, however long the lease history grows.
    lease_ends_at = models.DateTimeField(null=True, blank=True, editable=False)
    state = models.CharField(max_length=16, choices=NumberState.choices, default=NumberState.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(
                fields=["number"], condition=~Q(state="released"), name="one_live_owner_per_number"
            )
        ]
        # A free pool number is the first entry: never leased (NULL) in id order, then by lease end.
        # The id is explicit for PostgreSQL (SQLite appends the rowid to every index anyway).
        indexes = [
            models.Index(fields=["pool", "lease_ends_at", "id"], name="number_pool_free"),
            # PostgreSQL sorts the never-leased numbers by id unless an index holds them in id order.
            models.Index(
                fields=["pool", "id"], condition=Q(lease_ends_at__isnull=True), name="number_pool_fresh"
            ),
        ]

    def __str__(self) -> str:
        return self.number


class SwapTarget(models.Model):
    """A business number printed on the customer's website, which the tracking script replaces."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="swap_targets")
    number = models.CharField(max_length=20)
    label = models.CharField(max_length=120, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["account", "number"], name="swap_target_unique_per_account")
        ]

    def __str__(self) -> str:
        return self.number

"""Number pools and the leases that hand their numbers to website visitors."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from ringtrail.accounts.models import Account
from ringtrail.numbers.models import TrackingNumber
from ringtrail.sources.models import Source


class Pool(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="pools")
    source = models.OneToOneField(Source, on_delete=models.CASCADE, related_name="pool")
    # Shown when every pool number is held: the call's source is known, the visit is not.
    fallback_number = models.ForeignKey(
        TrackingNumber, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    hold_minutes = models.PositiveIntegerField(default=15)
    cooldown_minutes = models.PositiveIntegerField(default=5)
    # Opt-in: when exhausted, take the number held longest instead of the fallback; matches become ambiguous.
    recycle_oldest = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"pool for {self.source}"


class Lease(models.Model):
    """A visitor session's hold on a pool number, from ``started_at`` until ``ends_at``."""

    # Every index is written by each new visitor's lease; the composite indexes below lead with
    # these keys, so none needs an index of its own.
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="+", db_index=False)
    pool = models.ForeignKey(Pool, on_delete=models.CASCADE, related_name="leases", db_index=False)
    tracking_number = models.ForeignKey(
        TrackingNumber, on_delete=models.CASCADE, related_name="leases", db_index=False
    )
    visitor_id = models.CharField(max_length=64)
    session_id = models.CharField(max_length=64)
    started_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    # Heartbeats push this forward; a recycled lease is cut short when its number is taken.
    ends_at = models.DateTimeField()
    recycled = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["pool", "ends_at"]),
            models.Index(fields=["tracking_number", "started_at"]),
            # Stickiness: the visitor's latest live lease in a pool is one index probe.
            models.Index(fields=["pool", "visitor_id", "ends_at"], name="lease_pool_visitor_ends"),
            # Heartbeats find the session's leases (the account index scanned all of its leases).
            models.Index(fields=["account", "session_id"], name="lease_account_session"),
        ]

    def __str__(self) -> str:
        return f"{self.tracking_number} → {self.session_id}"

"""Website visitors and their sessions: where they came from, which number they saw."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from ringtrail.accounts.models import Account
from ringtrail.numbers.models import TrackingNumber
from ringtrail.sources.models import Source


class Visitor(models.Model):
    """A browser (first-party cookie id) and its first touch, kept for the account's cookie window."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="visitors")
    visitor_id = models.CharField(max_length=64)
    first_seen_at = models.DateTimeField(default=timezone.now)
    first_source = models.ForeignKey(
        Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    first_touch = models.JSONField(default=dict)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "visitor_id"], name="one_visitor_per_id")]

    def __str__(self) -> str:
        return self.visitor_id


class Session(models.Model):
    """One visit: its touch (landing page, referrer, utm, click ids, GA ids) and the number it was shown."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="visit_sessions")
    visitor_id = models.CharField(max_length=64)
    session_id = models.CharField(max_length=64)
    started_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    source = models.ForeignKey(Source, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source_name = models.CharField(max_length=120, blank=True)
    medium = models.CharField(max_length=60, blank=True)
    landing_url = models.TextField(blank=True)
    referrer = models.TextField(blank=True)
    utm = models.JSONField(default=dict)
    click_ids = models.JSONField(default=dict)
    ga_client_id = models.CharField(max_length=64, blank=True)
    ga_session_id = models.CharField(max_length=64, blank=True)
    tracking_number = models.ForeignKey(
        TrackingNumber, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    overflow = models.BooleanField(default=False)
    page_views = models.PositiveIntegerField(default=1)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["account", "session_id"], name="one_session_per_id")]
        indexes = [models.Index(fields=["account", "visitor_id"])]

    def __str__(self) -> str:
        return self.session_id


class PageView(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="pages")
    url = models.TextField()
    viewed_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.url

"""Tracking sources: the marketing buckets calls are credited to."""

from __future__ import annotations

from django.db import models
from django.utils import timezone

from ringtrail.accounts.models import Account


class SourceKind(models.TextChoices):
    OFFLINE = "offline", "Offline (static number)"
    ONLINE = "online", "Online (number pool)"


class Source(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="sources")
    name = models.CharField(max_length=120)
    medium = models.CharField(max_length=60, blank=True)
    kind = models.CharField(max_length=16, choices=SourceKind.choices, default=SourceKind.OFFLINE)
    # Online sources are tried in this order; the first whose rule matches a new visit wins.
    position = models.PositiveIntegerField(default=0)
    # By default the first touch sticks for the cookie window; such a source takes over a returning visitor.
    last_touch_wins = models.BooleanField(default=False)
    # The call flow for this source's numbers, unless a number has its own.
    flow = models.ForeignKey(
        "flows.Flow", null=True, blank=True, on_delete=models.RESTRICT, related_name="sources"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="source_name_unique_per_account")
        ]

    def __str__(self) -> str:
        return self.name


class RuleKind(models.TextChoices):
    LANDING_PARAM = "landing_param", "Landing URL parameter (name or name=value)"
    LANDING_CONTAINS = "landing_contains", "Landing URL contains"
    LANDING_REGEX = "landing_regex", "Landing URL matches regex"
    REFERRER_DOMAIN = "referrer_domain", "Referrer domain"
    REFERRER_GROUP = "referrer_group", "Referrer group (search, social, email, referral)"
    UTM_SOURCE = "utm_source", "utm_source equals"
    UTM_MEDIUM = "utm_medium", "utm_medium equals"
    UTM_CAMPAIGN = "utm_campaign", "utm_campaign equals"
    CLICK_ID = "click_id", "Click id present (gclid, fbclid, …)"
    DIRECT = "direct", "Direct (no referrer, no campaign)"


class SourceRule(models.Model):
    source = models.ForeignKey(Source, on_delete=models.CASCADE, related_name="rules")
    kind = models.CharField(max_length=24, choices=RuleKind.choices)
    value = models.CharField(max_length=200, blank=True)
    position = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.value}"

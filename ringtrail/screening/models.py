"""Screening configuration: block rules and policies, per account or per tracking number."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone

from ringtrail.accounts.models import Account
from ringtrail.numbers.models import TrackingNumber
from ringtrail.screening.rules import Action, RuleKind

ACTION_CHOICES = [(action.value, action.value.capitalize()) for action in Action]


class BlockRule(models.Model):
    """Calls matching a rule are rejected before they are answered, and logged as spam."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="block_rules")
    # Null: every number of the account; else only calls to this tracking number.
    tracking_number = models.ForeignKey(
        TrackingNumber, null=True, blank=True, on_delete=models.CASCADE, related_name="block_rules"
    )
    kind = models.CharField(max_length=16, choices=[(kind.value, kind.value) for kind in RuleKind])
    pattern = models.CharField(max_length=100)
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "pattern", "id"]
        indexes = [models.Index(fields=["account", "kind"])]

    def __str__(self) -> str:
        return f"{self.kind} {self.pattern}"


class ScreeningPolicy(models.Model):
    """What to do with suspicious calls. One per account (tracking_number null), and optionally one
    per tracking number that replaces the account's for calls to that number."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="screening_policies")
    tracking_number = models.ForeignKey(
        TrackingNumber, null=True, blank=True, on_delete=models.CASCADE, related_name="screening_policies"
    )
    stir_failed = models.CharField(max_length=16, choices=ACTION_CHOICES, default=Action.ALLOW.value)
    stir_unverified = models.CharField(max_length=16, choices=ACTION_CHOICES, default=Action.ALLOW.value)
    stir_absent = models.CharField(max_length=16, choices=ACTION_CHOICES, default=Action.ALLOW.value)
    short_calls_action = models.CharField(max_length=16, choices=ACTION_CHOICES, default=Action.ALLOW.value)
    short_calls_count = models.PositiveSmallIntegerField(default=3)
    short_calls_window_minutes = models.PositiveIntegerField(default=60)
    short_calls_max_seconds = models.PositiveIntegerField(default=10)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["account"],
                condition=Q(tracking_number__isnull=True),
                name="one_screening_policy_per_account",
            ),
            models.UniqueConstraint(
                fields=["account", "tracking_number"],
                condition=Q(tracking_number__isnull=False),
                name="one_screening_policy_per_number",
            ),
        ]

    def __str__(self) -> str:
        return f"screening policy for {self.tracking_number_id or 'account'}"

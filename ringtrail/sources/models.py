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
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="source_name_unique_per_account")
        ]

    def __str__(self) -> str:
        return self.name

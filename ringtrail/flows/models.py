"""Call flows: a named flow per account, and its immutable, numbered versions.

A call runs on the version that was current when it started (its flow references name the version), so
editing a flow never moves a caller who is already in it.
"""

from __future__ import annotations

from typing import Any

from django.db import models
from django.utils import timezone

from ringtrail.accounts.models import Account
from ringtrail.flows.schema import FlowDocument


class Flow(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="flows")
    name = models.CharField(max_length=120)
    current_version = models.ForeignKey(
        "FlowVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="flow_name_unique_per_account")
        ]

    def __str__(self) -> str:
        return self.name


class ImmutableVersion(Exception):
    pass


class FlowVersion(models.Model):
    flow = models.ForeignKey(Flow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    # A validated ``flows.schema.FlowDocument`` as JSON; validated again when loaded, so a document that
    # a later schema no longer accepts is caught at load time rather than mid-call.
    document = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["flow", "-number"]
        constraints = [models.UniqueConstraint(fields=["flow", "number"], name="flow_version_number_unique")]

    def __str__(self) -> str:
        return f"{self.flow_id} v{self.number}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None and not self._state.adding:
            raise ImmutableVersion("flow versions are immutable; save a new version instead")
        super().save(*args, **kwargs)

    def flow_document(self) -> FlowDocument:
        """The stored document as the engine's input (it was validated when it was saved)."""
        return FlowDocument.model_validate(self.document)

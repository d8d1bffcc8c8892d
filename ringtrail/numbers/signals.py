"""Keep the routing snapshot (used when the database is down) in step with configuration."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ringtrail.carriers.models import CarrierConnection
from ringtrail.numbers.models import ReceivingNumber, TrackingNumber
from ringtrail.sources.models import Source


@receiver([post_save, post_delete], sender=TrackingNumber)
@receiver([post_save, post_delete], sender=ReceivingNumber)
@receiver([post_save, post_delete], sender=Source)
@receiver([post_save, post_delete], sender=CarrierConnection)
def refresh_routing_snapshot(sender: type, instance: Any, **kwargs: Any) -> None:
    from ringtrail.numbers.routing_cache import refresh_for_account

    refresh_for_account(instance.account_id)

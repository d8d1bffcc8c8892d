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
    from ringtrail.numbers.routes import refresh_for_account

    refresh_for_account(instance.account_id)


@receiver(post_delete, sender=TrackingNumber)
def drop_deleted_route(sender: type, instance: TrackingNumber, **kwargs: Any) -> None:
    from ringtrail.numbers.routes import forget_route

    forget_route(instance.number)

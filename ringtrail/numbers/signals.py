"""Keep the routing snapshot (used when the database is down) in step with configuration.

Each save refreshes only the snapshots it can change, so editing one number in an account with
thousands costs one cache write, not thousands.
"""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ringtrail.carriers.models import CarrierConnection
from ringtrail.numbers import routes
from ringtrail.numbers.models import ReceivingNumber, TrackingNumber
from ringtrail.sources.models import Source


@receiver([post_save, post_delete], sender=TrackingNumber)
def tracking_number_changed(sender: type, instance: TrackingNumber, **kwargs: Any) -> None:
    routes.refresh_number(instance.number)


@receiver(post_save, sender=CarrierConnection)
def connection_saved(sender: type, instance: CarrierConnection, **kwargs: Any) -> None:
    routes.refresh_connection(instance)


@receiver(post_delete, sender=CarrierConnection)
def connection_deleted(sender: type, instance: CarrierConnection, **kwargs: Any) -> None:
    routes.refresh_connection(instance, deleted=True)


@receiver(post_save, sender=ReceivingNumber)
def receiving_number_saved(sender: type, instance: ReceivingNumber, **kwargs: Any) -> None:
    routes.refresh_numbers_using(instance.account_id, receiving_number_id=instance.pk)


@receiver(post_save, sender=Source)
def source_saved(sender: type, instance: Source, **kwargs: Any) -> None:
    routes.refresh_numbers_using(instance.account_id, source_id=instance.pk)


@receiver(post_delete, sender=ReceivingNumber)
@receiver(post_delete, sender=Source)
def reference_deleted(sender: type, instance: ReceivingNumber | Source, **kwargs: Any) -> None:
    routes.refresh_numbers_using(instance.account_id)

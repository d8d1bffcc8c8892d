"""Pool changes alter how their numbers' calls are attributed: refresh those routing snapshots."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ringtrail.dni.models import Pool
from ringtrail.numbers import routes
from ringtrail.numbers.models import TrackingNumber


@receiver([post_save, post_delete], sender=Pool)
def pool_changed(sender: type, instance: Pool, **kwargs: Any) -> None:
    numbers = set(TrackingNumber.objects.filter(pool_id=instance.pk).values_list("number", flat=True))
    if instance.fallback_number_id:
        numbers |= set(
            TrackingNumber.objects.filter(pk=instance.fallback_number_id).values_list("number", flat=True)
        )
    for number in numbers:
        routes.refresh_number(number)

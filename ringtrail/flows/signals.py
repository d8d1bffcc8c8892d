"""A new flow version reaches the routing snapshots of every number that runs the flow."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ringtrail.accounts.models import Account
from ringtrail.flows import loading
from ringtrail.flows.models import Flow
from ringtrail.numbers import routes
from ringtrail.numbers.models import ReceivingNumber


@receiver(post_save, sender=Flow)
def flow_saved(sender: type, instance: Flow, **kwargs: Any) -> None:
    # Attached directly, or through the number's source (a number's own flow wins; the snapshot
    # works that out again, so refreshing both sets is safe).
    routes.refresh_numbers_using(instance.account_id, flow_id=instance.pk)
    routes.refresh_numbers_using(instance.account_id, source__flow_id=instance.pk)


@receiver([post_save, post_delete], sender=ReceivingNumber)
@receiver(post_save, sender=Account)
def account_facts_changed(sender: type, **kwargs: Any) -> None:
    loading.account_facts_changed()

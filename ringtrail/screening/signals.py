"""Any change to screening configuration drops every process's cached copy (see ``config``)."""

from __future__ import annotations

from typing import Any

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from ringtrail.screening import config
from ringtrail.screening.models import BlockRule, ScreeningPolicy


@receiver([post_save, post_delete], sender=BlockRule)
@receiver([post_save, post_delete], sender=ScreeningPolicy)
def screening_changed(sender: type, instance: BlockRule | ScreeningPolicy, **kwargs: Any) -> None:
    config.invalidate()

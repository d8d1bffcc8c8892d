"""Writes of flows: every save validates the document against the account and adds a version."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from ringtrail.accounts.models import Account
from ringtrail.flows.models import Flow, FlowVersion
from ringtrail.flows.validation import validate_flow
from ringtrail.numbers.models import ReceivingNumber


def account_receiving_ids(account: Account) -> set[int]:
    return set(ReceivingNumber.objects.filter(account=account).values_list("pk", flat=True))


def checked_document(account: Account, document: Any) -> dict[str, Any]:
    """The document as it will be stored (defaults filled in); raises ``FlowInvalid``."""
    flow = validate_flow(document, account_receiving_ids(account))
    return flow.model_dump(mode="json", exclude_none=True)


@transaction.atomic
def create_flow(account: Account, name: str, document: Any) -> Flow:
    stored = checked_document(account, document)
    flow = Flow.objects.create(account=account, name=name)
    flow.current_version = FlowVersion.objects.create(flow=flow, number=1, document=stored)
    flow.save(update_fields=["current_version"])
    return flow


@transaction.atomic
def update_flow(flow: Flow, name: str | None = None, document: Any = None) -> Flow:
    """Rename and/or add a version; the row lock makes concurrent saves number versions in turn."""
    locked = Flow.objects.select_for_update().get(pk=flow.pk)
    if name is not None:
        locked.name = name
    if document is not None:
        stored = checked_document(locked.account, document)
        last = locked.versions.aggregate(last=Max("number"))["last"] or 0
        locked.current_version = FlowVersion.objects.create(flow=locked, number=last + 1, document=stored)
    locked.updated_at = timezone.now()
    locked.save()
    return locked

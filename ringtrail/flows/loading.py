"""Reading flows for a call: which flow applies, its current version, and the parsed document.

Versions are immutable, so a parsed document can be kept per process for as long as we like: no
invalidation is needed, and a call never re-parses its flow on every hop.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from ringtrail.flows.models import Flow, FlowVersion
from ringtrail.flows.schema import FlowDocument
from ringtrail.numbers.models import ReceivingNumber, TrackingNumber

_PARSED: OrderedDict[int, tuple[int, FlowDocument]] = OrderedDict()  # version id → (account id, doc)
_PARSED_MAX = 512
_LOCK = threading.Lock()


def flow_id_for(number: TrackingNumber) -> int | None:
    """A number's own flow wins over its source's; None means the static forward."""
    if number.flow_id is not None:
        return number.flow_id
    return number.source.flow_id if number.source is not None else None


def current_version_id(flow_id: int, account_id: int) -> int | None:
    row = Flow.objects.filter(pk=flow_id, account_id=account_id).values_list("current_version_id", flat=True)
    return row.first()


def version_document(version_id: int, account_id: int) -> FlowDocument | None:
    """The parsed document of a version of one of the account's flows; None if there is no such version."""
    with _LOCK:
        cached = _PARSED.get(version_id)
    if cached is None:
        row = FlowVersion.objects.filter(pk=version_id).values_list("flow__account_id", "document").first()
        if row is None:
            return None
        cached = (row[0], FlowDocument.model_validate(row[1]))
        with _LOCK:
            _PARSED[version_id] = cached
            while len(_PARSED) > _PARSED_MAX:
                _PARSED.popitem(last=False)
    # A version's flow never changes account, so the owner can be cached with the document.
    owner, document = cached
    return document if owner == account_id else None


def receiving_addresses(account_id: int) -> dict[int, str]:
    """The ``CallContext.receiving_numbers`` of an account: id → E.164 number or sip: URI."""
    return dict(ReceivingNumber.objects.filter(account_id=account_id).values_list("pk", "number"))

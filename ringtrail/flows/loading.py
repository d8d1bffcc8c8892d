"""Reading flows for a call: which flow applies, its current version, and the parsed document.

Versions are immutable, so a parsed document can be kept per process for as long as we like: no
invalidation is needed, and a call never re-parses its flow on every hop.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

from ringtrail.accounts.models import Account
from ringtrail.flows.models import Flow, FlowVersion
from ringtrail.flows.schema import FlowDocument, ForwardStep
from ringtrail.lib.local_cache import VersionedLocalCache
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


@dataclass(frozen=True)
class AccountFacts:
    """What every flow of an account reads: its time zone and its receiving numbers."""

    time_zone: str
    receiving: dict[int, str]


_FACTS: VersionedLocalCache[AccountFacts] = VersionedLocalCache("rt:flow-account-version", ttl=60)


def account_facts(account_id: int) -> AccountFacts:
    return _FACTS.get(str(account_id), lambda: _load_facts(account_id))


def _load_facts(account_id: int) -> AccountFacts:
    time_zone = Account.objects.filter(pk=account_id).values_list("time_zone", flat=True).first()
    return AccountFacts(time_zone or "UTC", receiving_addresses(account_id))


def account_facts_changed() -> None:
    _FACTS.invalidate_everywhere()


def forget_local_copies() -> None:
    _FACTS.clear()
    with _LOCK:
        _PARSED.clear()


def has_sticky(document: FlowDocument) -> bool:
    return any(isinstance(step, ForwardStep) and step.sticky for step in document.steps.values())


def has_round_robin(document: FlowDocument) -> bool:
    return any(
        isinstance(step, ForwardStep) and step.strategy == "round_robin" for step in document.steps.values()
    )

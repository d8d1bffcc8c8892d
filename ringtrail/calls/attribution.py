"""Which visit made the phone ring, and how sure we are (issue 3, point 6).

Pool numbers are matched to the session whose lease covered the moment of the call; a repeat caller
whose number was free by then is matched by caller history; a pool's fallback number knows only the
source (overflow); a static number belongs to its offline source.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from ringtrail.calls.models import Attribution, Call
from ringtrail.dni.leases import lease_store
from ringtrail.numbers.routes import RouteSnapshot
from ringtrail.visits import actions as visit_actions
from ringtrail.visits.buffer import flush_pending
from ringtrail.visits.models import Session, Visitor

RECENT_HOLDERS = 3


@dataclass(frozen=True)
class Found:
    kind: str
    session: Session | None = None
    candidates: list[str] = field(default_factory=list)

    def call_fields(self) -> dict[str, Any]:
        return {
            "attribution": self.kind,
            "visit_session": self.session,
            "attribution_candidates": self.candidates,
            "touch": touch_of(self.session) if self.session else {},
            "first_touch": first_touch_of(self.session) if self.session else {},
        }


def attribute(route: RouteSnapshot | None, account_id: int, caller: str, at: dt.datetime) -> Found:
    if route is None or not route.tracking_number_id:
        return Found(Attribution.NONE)
    if route.fallback_of_pool_id is not None:
        return Found(Attribution.OVERFLOW)
    if route.pool_id is None:
        return Found(Attribution.STATIC)
    # Page views are written behind (visits/buffer.py); this process's own must be in before matching.
    flush_pending()
    holders = lease_store().holders(route.tracking_number_id, at)
    if len(holders) == 1 and not holders[0].recycled:
        return Found(Attribution.EXACT, _session(account_id, holders[0].session_id), [holders[0].session_id])
    if holders:
        return Found(Attribution.AMBIGUOUS, None, [h.session_id for h in reversed(holders)])
    earlier = _earlier_visit_of(account_id, caller)
    if earlier is not None:
        return Found(Attribution.CALLER_HISTORY, earlier, [earlier.session_id])
    return Found(Attribution.AMBIGUOUS, None, _recent_holders(route.tracking_number_id, at))


def _session(account_id: int, session_id: str) -> Session | None:
    sessions = Session.objects.filter(account_id=account_id, session_id=session_id)
    return sessions.select_related("account").first()  # first_touch_of reads its cookie window


def _earlier_visit_of(account_id: int, caller: str) -> Session | None:
    if not caller.startswith("+"):
        return None
    call = (
        Call.objects.filter(account_id=account_id, customer_phone_number=caller, visit_session__isnull=False)
        .select_related("visit_session__account")
        .order_by("-start_time")
        .first()
    )
    return call.visit_session if call else None


def _recent_holders(number_id: int, at: dt.datetime) -> list[str]:
    """The sessions that held the number last before the call: a late caller is probably one of them."""
    return lease_store().recent_holders(number_id, at, RECENT_HOLDERS)


def touch_of(session: Session) -> dict[str, Any]:
    return {
        "session_id": session.session_id,
        "landing_url": session.landing_url,
        "referrer": session.referrer,
        "utm": session.utm,
        "click_ids": session.click_ids,
        "ga_client_id": session.ga_client_id,
        "ga_session_id": session.ga_session_id,
        "source_name": session.source_name,
        "medium": session.medium,
        "pages": list(session.pages.order_by("viewed_at").values_list("url", flat=True)[:50]),
    }


def first_touch_of(session: Session) -> dict[str, Any]:
    """The visitor's first touch as it stood for this visit: the one recorded on its first visit
    while that is within the account's cookie window; past the window, its earliest visit within
    it (the visitor row keeps its first touch forever, so the window is applied here)."""
    since = session.started_at - dt.timedelta(days=session.account.cookie_window_days)
    mine = {"account_id": session.account_id, "visitor_id": session.visitor_id}
    visitor = Visitor.objects.filter(**mine, first_seen_at__gte=since).first()
    if visitor is not None:
        return dict(visitor.first_touch)
    earliest = Session.objects.filter(**mine, started_at__gte=since).order_by("started_at", "pk").first()
    return visit_actions.first_touch_of_session(earliest or session)

"""Every write about call-backs: the request, placing the call, and each leg's progress."""

from __future__ import annotations

import datetime as dt
import hmac
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx
from django.conf import settings
from django.db import IntegrityError, transaction

from ringtrail.accounts.models import Account
from ringtrail.callbacks import decide, ref
from ringtrail.callbacks.form import CallbackForm
from ringtrail.callbacks.models import CallbackRequest, CallbackSettings
from ringtrail.callbacks.states import Status
from ringtrail.calls import caller_area
from ringtrail.calls.actions import refold
from ringtrail.calls.attribution import first_touch_of, touch_of
from ringtrail.calls.models import Attribution, Call, CallEvent, CallType
from ringtrail.carriers import outbound
from ringtrail.lib import clock
from ringtrail.numbers.models import NumberState, TrackingNumber
from ringtrail.visits.buffer import flush_pending
from ringtrail.visits.models import Session

log = logging.getLogger(__name__)
HOUR = dt.timedelta(hours=1)


class NoRoute(Exception):
    """Nothing says which number to call from or which business number to ring."""


@dataclass(frozen=True)
class Route:
    tracking: TrackingNumber
    business: str


def settings_of(account_id: int) -> CallbackSettings | None:
    return (
        CallbackSettings.objects.select_related("tracking_number__connection", "receiving_number")
        .filter(account_id=account_id)
        .first()
    )


def over_limit(account: Account, form: CallbackForm, now: dt.datetime) -> str | None:
    """Why this request is one too many in the last hour, or None.

    Counted from the stored requests, so the limit is exact across web processes and survives
    restarts; two simultaneous requests may both pass (a soft limit, not a lock).
    """
    recent = CallbackRequest.objects.filter(account=account, created_at__gte=now - HOUR)
    per_session = settings.CALLBACK_RATE_PER_SESSION_PER_HOUR
    if form.session and recent.filter(session_id=form.session).count() >= per_session:
        return f"too many call-back requests from this visit (at most {per_session} an hour)"
    per_phone = settings.CALLBACK_RATE_PER_PHONE_PER_HOUR
    if recent.filter(phone=form.phone).count() >= per_phone:
        return f"too many call-back requests for this phone number (at most {per_phone} an hour)"
    return None


def create_request(account: Account, form: CallbackForm, now: dt.datetime) -> CallbackRequest:
    """Store the request and place its call in the background once the row is committed."""
    session = _session(account.pk, form.session)
    with transaction.atomic():
        request = CallbackRequest.objects.create(
            account=account,
            visitor_id=form.visitor or "",
            session_id=form.session or "",
            visit_session=session,
            phone=form.phone,
            name=form.name,
            page=form.page,
            consent_at=now,
            created_at=now,
        )
        transaction.on_commit(lambda: enqueue(request.pk), robust=True)
    return request


def enqueue(request_id: int) -> None:
    from ringtrail.callbacks.tasks import place_callback

    place_callback.enqueue(request_id)


def _session(account_id: int, session_id: str | None) -> Session | None:
    if not session_id:
        return None
    # Page views are written behind (visits/buffer.py): this process's own must be in first.
    flush_pending()
    return Session.objects.filter(account_id=account_id, session_id=session_id).first()


def choose_route(request: CallbackRequest, config: CallbackSettings | None) -> Route:
    """The number the visit was shown and its receiving number; else the account's settings."""
    session = request.visit_session
    if session is not None and session.tracking_number_id is not None:
        shown = (
            TrackingNumber.objects.select_related("receiving_number", "connection")
            .filter(pk=session.tracking_number_id, account_id=request.account_id)
            .exclude(state=NumberState.RELEASED)
            .first()
        )
        if shown is not None and shown.receiving_number is not None:
            return Route(shown, shown.receiving_number.number)
    fallback = config.tracking_number if config is not None else None
    receiving = config.receiving_number if config is not None else None
    if fallback is not None and receiving is not None and fallback.state != NumberState.RELEASED:
        return Route(fallback, receiving.number)
    raise NoRoute(
        "no number to call from: the visit showed no tracking number with a receiving number, "
        "and the call-back settings name none"
    )


def hook_url(kind: str, request_id: int, step: str) -> str:
    base = settings.PUBLIC_URL
    if not base:
        raise NoRoute("RINGTRAIL_PUBLIC_URL is not set: the carrier needs an absolute URL to reach us")
    return f"{base}/carriers/{kind}/callback?{urlencode({'ref': ref.sign(request_id, step)})}"


def place(request_id: int, client: httpx.Client | None = None) -> None:
    """The task's body: ring the business from the tracking number. Never raises for carrier trouble."""
    request = CallbackRequest.objects.select_related("visit_session").filter(pk=request_id).first()
    if request is None or request.status != Status.QUEUED:
        return  # a re-run task must not ring the business twice
    if request.visit_session is None and request.session_id:
        # Another web process may have held the visit in its write-behind buffer a moment ago.
        request.visit_session = _session(request.account_id, request.session_id)
        if request.visit_session is not None:
            CallbackRequest.objects.filter(pk=request.pk).update(visit_session=request.visit_session)
    config = settings_of(request.account_id)
    try:
        route = choose_route(request, config)
        connection = route.tracking.connection
        start, status = (hook_url(connection.kind, request.pk, step) for step in ("start", "status"))
    except NoRoute as error:
        move(request, [Status.QUEUED], Status.FAILED, error=str(error)[:300])
        return
    if not move(
        request,
        [Status.QUEUED],
        Status.CALLING_BUSINESS,
        carrier=connection.kind,
        tracking_number=route.tracking,
        receiving_number_id=route.tracking.receiving_number_id,
        business_number=route.business,
    ):
        return
    _dial_business(request, route, start, status, config, client)


def _dial_business(
    request: CallbackRequest,
    route: Route,
    start: str,
    status: str,
    config: CallbackSettings | None,
    client: httpx.Client | None,
) -> None:
    try:
        sid = outbound.place_call(
            route.tracking.connection,
            to=route.business,
            from_=route.tracking.number,
            url=start,
            status_callback=status,
            app_id=config.carrier_app_id if config else "",
            client=client,
        )
    except outbound.OutboundError as error:
        move(request, [Status.CALLING_BUSINESS], Status.FAILED, error=str(error)[:300])
        return
    except Exception as error:  # the worker must live on; the request says what went wrong
        log.exception("placing call-back %s failed", request.pk)
        move(request, [Status.CALLING_BUSINESS], Status.FAILED, error=f"unexpected error: {error!r}"[:300])
        return
    if sid:  # the carrier may already have called the hook, which bound the id itself
        CallbackRequest.objects.filter(pk=request.pk, carrier_call_id="").update(carrier_call_id=sid[:64])


def move(request: CallbackRequest, sources: Iterable[str], target: str, **fields: object) -> bool:
    """Compare-and-set the status, so racing webhooks and the task never undo each other."""
    changed = CallbackRequest.objects.filter(pk=request.pk, status__in=list(sources)).update(
        status=target, updated_at=clock.now(), **fields
    )
    request.refresh_from_db()
    return changed == 1


def bind_call(request: CallbackRequest, call_sid: str) -> bool:
    """True if ``call_sid`` is this request's call; the first webhook binds it when the task has not."""
    if not call_sid or len(call_sid) > 64:
        return False
    if not request.carrier_call_id:
        CallbackRequest.objects.filter(pk=request.pk, carrier_call_id="").update(carrier_call_id=call_sid)
        request.refresh_from_db(fields=["carrier_call_id"])
    return hmac.compare_digest(request.carrier_call_id.encode(), call_sid.encode())


def start_call(request: CallbackRequest, kind: str, params: Mapping[str, str]) -> Call:
    """Store the call once per carrier call id, as a call-back attributed to the form's visit."""
    stored = Call.objects.filter(carrier=kind, carrier_call_id=request.carrier_call_id).first()
    if stored is None:
        call = Call(**_call_fields(request, kind, params))
        try:
            with transaction.atomic():
                call.save()
        except IntegrityError:  # a repeated webhook got there first
            stored = Call.objects.get(carrier=kind, carrier_call_id=request.carrier_call_id)
        else:
            stored = call
            early = CallEvent.objects.filter(carrier=kind, carrier_call_id=call.carrier_call_id, call=None)
            if early.update(call=call):
                refold(call)
    if request.call_id != stored.pk:
        CallbackRequest.objects.filter(pk=request.pk).update(call=stored)
        request.call = stored
    return stored


def _call_fields(request: CallbackRequest, kind: str, params: Mapping[str, str]) -> dict[str, object]:
    tracking = request.tracking_number
    session = request.visit_session
    source = session.source if session and session.source_id else (tracking.source if tracking else None)
    area = caller_area.resolve(None, request.phone)
    touch = {**(touch_of(session) if session else {}), "converting_page": request.page}
    return {
        "account_id": request.account_id,
        "carrier": kind,
        "carrier_call_id": request.carrier_call_id,
        "tracking_number": tracking,
        "tracking_phone_number": tracking.number if tracking else params.get("From", "")[:32],
        "source": source,
        "source_name": (session.source_name if session else "") or (source.name if source else ""),
        "medium": (session.medium if session else "") or (source.medium if source else ""),
        "receiving_number_id": request.receiving_number_id,
        "business_phone_number": request.business_number,
        "customer_phone_number": request.phone,
        "customer_name": request.name,
        "customer_city": area.city,
        "customer_state": area.state,
        "customer_zip": area.zip,
        "customer_country": area.country,
        "customer_time_zone": area.time_zone,
        "caller_area_origin": area.origin,
        "start_time": clock.now(),
        "first_call": not Call.objects.filter(
            account_id=request.account_id, customer_phone_number=request.phone
        ).exists(),
        "call_type": CallType.CALLBACK,
        "attribution": Attribution.EXACT if session else Attribution.NONE,
        "visit_session": session,
        "attribution_candidates": [session.session_id] if session else [],
        "touch": touch,
        "first_touch": first_touch_of(session) if session else {},
        "routing_note": f"Call-back from the web form on {decide.page_label(request.page)}"[:200],
        "raw_payload": {"voice": dict(params)},
    }


def note_declined(request: CallbackRequest) -> None:
    if request.call_id is not None:
        Call.objects.filter(pk=request.call_id).update(routing_note="Call-back declined by the business")

"""The DNI session pipeline (DESIGN.md §2 flow 1): gate → classify → lease → record.

Each step may stop the pipeline with a typed ``Drop`` reason, which is counted; a dropped request
still gets a well-formed answer (the original numbers, or the fallback), never an error on the
customer's page.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import logging
import secrets
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache

from ringtrail.accounts.models import Account
from ringtrail.dni.config import AccountConfig
from ringtrail.dni.leases import Grant, PoolPlan, lease_store
from ringtrail.dni.requests import SessionRequest
from ringtrail.lib import clock, ratelimit
from ringtrail.lib.bots import is_bot
from ringtrail.lib.phone import format_national, normalize_e164
from ringtrail.sources import classify
from ringtrail.sources.models import Source
from ringtrail.visits import actions as visit_actions

log = logging.getLogger(__name__)


class Drop(enum.StrEnum):
    BOT = "bot"
    RATE_LIMITED = "rate_limited"
    NO_SOURCE = "no_source"  # no online source (with a number) matched this visit
    OVERFLOW = "overflow"  # pool exhausted: the fallback number was shown


@dataclass
class Outcome:
    visitor: str
    session: str
    swaps: dict[str, dict[str, str]] = field(default_factory=dict)
    ttl: int = 0
    drop: Drop | None = None


@dataclass(frozen=True)
class Caller:
    ip: str
    user_agent: str


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(12)}"


def handle(
    config: AccountConfig, request: SessionRequest, caller: Caller, now: dt.datetime | None = None
) -> Outcome:
    now = now or clock.now()
    account = config.account
    outcome = Outcome(visitor=request.visitor or new_id("v"), session=request.session or new_id("s"))
    if is_bot(caller.user_agent):
        return _dropped(account, outcome, Drop.BOT)
    limited = not ratelimit.allow_all(
        [
            ("dni-ip", caller.ip, settings.DNI_RATE_PER_IP_PER_MINUTE),
            ("dni-key", account.public_key, settings.DNI_RATE_PER_KEY_PER_MINUTE),
        ]
    )
    visit = classify.parse_visit(request.url, request.referrer)
    # A visitor without an id is new: it has no first touch to look up.
    source = choose_source(config, outcome.visitor, visit, now, known_visitor=bool(request.visitor))
    if not request.visitor:
        visit_actions.remember_first_source(account, outcome.visitor, source)
    if source is None:
        visit_actions.record_visit(
            account, outcome.visitor, outcome.session, request, visit, None, None, False, now
        )
        return _dropped(account, outcome, Drop.NO_SOURCE)
    pool = config.pools.get(source.pk)
    if limited:
        number_id = pool.fallback_number_id if pool else config.static_numbers.get(source.pk)
        grant = Grant(number_id, overflow=pool is not None)
        outcome.drop = Drop.RATE_LIMITED
    else:
        grant = assign_number(config, source, outcome.visitor, outcome.session, now)
        outcome.drop = Drop.OVERFLOW if grant.overflow else None
    visit_actions.record_visit(
        account,
        outcome.visitor,
        outcome.session,
        request,
        visit,
        source,
        grant.tracking_number_id,
        grant.overflow or limited,
        now,
    )
    if grant.tracking_number_id is not None:
        outcome.swaps = swaps_for(config, request.targets, grant.tracking_number_id)
        outcome.ttl = pool.hold_minutes * 60 if pool else 0
    if outcome.drop is not None:
        _count(account, outcome.drop)
    return outcome


def choose_source(
    config: AccountConfig,
    visitor_id: str,
    visit: classify.Visit,
    now: dt.datetime,
    known_visitor: bool = True,
) -> Source | None:
    """The first touch sticks for the cookie window, unless the new visit's source says last touch wins."""
    matched = config.source(classify.classify(visit, config.rules))
    if matched is not None and matched.last_touch_wins:
        return matched
    if not known_visitor:
        return matched
    window = dt.timedelta(days=config.account.cookie_window_days)
    first = config.source(visit_actions.first_source_id(config.account, visitor_id, since=now - window))
    return first or matched


def assign_number(
    config: AccountConfig, source: Source, visitor_id: str, session_id: str, now: dt.datetime
) -> Grant:
    pool = config.pools.get(source.pk)
    if pool is not None:
        plan = PoolPlan.of(pool, eligible=config.eligible.get(pool.pk, ()))
        return lease_store().acquire(plan, visitor_id, session_id, now)
    return Grant(config.static_numbers.get(source.pk))


def swaps_for(config: AccountConfig, seen: tuple[str, ...], number_id: int) -> dict[str, dict[str, str]]:
    number = config.numbers.get(number_id)
    if number is None:
        return {}
    found = {normalized for t in seen if (normalized := _normalized(t))}
    wanted = found & config.swap_targets if seen else config.swap_targets
    return {target: {"number": number, "formatted": _formatted(number)} for target in sorted(wanted)}


# Parsing a number costs more than the rest of the swap; a pool's numbers are few and fixed.
_formatted = functools.lru_cache(maxsize=8192)(format_national)
# Pages repeat the same few printed numbers; a bounded cache keeps visitor-made ones from piling up.
_normalized = functools.lru_cache(maxsize=8192)(normalize_e164)


def _dropped(account: Account, outcome: Outcome, reason: Drop) -> Outcome:
    outcome.drop = reason
    _count(account, reason)
    return outcome


def _count(account: Account, reason: Drop) -> None:
    key = f"rt:dni-drops:{account.pk}:{reason.value}"
    try:
        if not cache.add(key, 1, timeout=None):
            cache.incr(key)
    except Exception:
        log.exception("could not count DNI drop %s", reason)


def drop_counts(account: Account) -> dict[str, int]:
    return {reason.value: int(cache.get(f"rt:dni-drops:{account.pk}:{reason.value}") or 0) for reason in Drop}

"""The DNI session pipeline (DESIGN.md §2 flow 1): gate → classify → lease → record.

Each step may stop the pipeline with a typed ``Drop`` reason, which is counted; a dropped request
still gets a well-formed answer (the original numbers, or the fallback), never an error on the
customer's page. When the rate limits and the leases share a Redis and the source is known up
front, the gate's Redis work runs inside the lease script (one round trip, ``_gate_and_lease``); the
steps, their order and their drops are the same.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import logging
from dataclasses import dataclass, field

from django.core.cache import cache

from ringtrail.accounts.models import Account
from ringtrail.dni.config import AccountConfig, formatted_number
from ringtrail.dni.leases import Gate, Grant, PoolPlan, lease_store, remember_recent, writes_behind
from ringtrail.dni.leases_redis import RedisLeaseStore
from ringtrail.dni.models import Pool
from ringtrail.dni.requests import SessionRequest
from ringtrail.lib import clock, random_ids, ratelimit
from ringtrail.lib.bots import is_bot
from ringtrail.lib.hot_settings import setting
from ringtrail.lib.phone import normalize_e164
from ringtrail.lib.redis_behind import behind_for
from ringtrail.lib.redis_client import client_for, round_trip
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
    return f"{prefix}_{random_ids.ordered_token(12)}"


def handle(
    config: AccountConfig, request: SessionRequest, caller: Caller, now: dt.datetime | None = None
) -> Outcome:
    now = now or clock.now()
    account = config.account
    outcome = Outcome(visitor=request.visitor or new_id("v"), session=request.session or new_id("s"))
    if is_bot(caller.user_agent):
        return _dropped(account, outcome, Drop.BOT)
    visit = classify.parse_visit(request.url, request.referrer)
    matched = config.source(classify.classify(visit, config.rules))
    # A visitor without an id is new: this visit is its first touch. A returning visitor keeps its
    # first touch for the cookie window, unless this visit's source says last touch wins.
    new = not request.visitor
    sticky = not new and not (matched is not None and matched.last_touch_wins)
    hits, known = _hits(config, caller), _source_known_here(config, outcome.visitor, matched, sticky)
    step = None
    if known is not visit_actions.NOT_LOOKED_UP:
        step = _gate_and_lease(config, hits, outcome, new, known, now)
    else:
        step = _returning_in_one_read(config, hits, outcome, matched, now)
    if step is None:
        step = _gate_then_lease(config, hits, outcome, new, sticky, matched, now)
    source, grant = step.source, step.grant
    if source is None:
        visit_actions.record_visit(
            account, outcome.visitor, outcome.session, request, visit, None, None, False, now
        )
        return _dropped(account, outcome, Drop.NO_SOURCE)
    outcome.drop = Drop.RATE_LIMITED if step.limited else (Drop.OVERFLOW if grant.overflow else None)
    visit_actions.record_visit(
        account,
        outcome.visitor,
        outcome.session,
        request,
        visit,
        source,
        grant.tracking_number_id,
        grant.overflow or step.limited,
        now,
    )
    if grant.tracking_number_id is not None:
        pool = config.pools.get(source.pk)
        outcome.swaps = swaps_for(config, request.targets, grant.tracking_number_id)
        outcome.ttl = pool.hold_minutes * 60 if pool else 0
    if outcome.drop is not None:
        _count(account, outcome.drop)
    return outcome


@dataclass(frozen=True)
class Step:
    """What the gate and lease steps decided: the visit's source, the number, and whether a rate
    limit sent it the fallback."""

    source: Source | None
    grant: Grant
    limited: bool = False


def _hits(config: AccountConfig, caller: Caller) -> ratelimit.Hits:
    return [
        ("dni-ip", caller.ip, setting("DNI_RATE_PER_IP_PER_MINUTE")),
        ("dni-key", config.account.public_key, setting("DNI_RATE_PER_KEY_PER_MINUTE")),
    ]


def _source_known_here(
    config: AccountConfig, visitor_id: str, matched: Source | None, sticky: bool
) -> Source | visit_actions.NotLookedUp | None:
    """The visit's source when this process knows it before asking Redis: the matched one unless
    the first touch sticks, else the first touch if this process remembers it."""
    if not sticky:
        return matched
    first = visit_actions.first_source_here(config.account, visitor_id)
    if first is visit_actions.NOT_LOOKED_UP:
        return first
    return config.source(first) or matched


def _gate_then_lease(
    config: AccountConfig,
    hits: ratelimit.Hits,
    outcome: Outcome,
    new: bool,
    sticky: bool,
    matched: Source | None,
    now: dt.datetime,
) -> Step:
    gate = _gate(config, hits, outcome.visitor, new, matched)
    source = _first_touch(config, outcome.visitor, matched, now, gate.first) if sticky else matched
    return _lease_step(config, outcome, source, gate.allowed, now, new=new)


def _lease_step(
    config: AccountConfig,
    outcome: Outcome,
    source: Source | None,
    allowed: bool,
    now: dt.datetime,
    *,
    new: bool = False,
) -> Step:
    """The lease step once the gate has spoken: no number without a source, the fallback when a
    rate limit was hit, else the source's number."""
    if source is None:
        return Step(None, Grant(None), not allowed)
    if not allowed:
        return Step(source, _limited_grant(config, source), limited=True)
    grant = assign_number(config, source, outcome.visitor, outcome.session, now, new_visitor=new)
    return Step(source, grant)


def _gate_and_lease(
    config: AccountConfig,
    hits: ratelimit.Hits,
    outcome: Outcome,
    new: bool,
    source: Source | None,
    now: dt.datetime,
) -> Step | None:
    """The gate and the lease in one Redis round trip, when the rate limits and the leases share
    a Redis and the source is known before asking (``_source_known_here``); None when they
    cannot, and the two steps run one after the other."""
    pool = config.pools.get(source.pk) if source is not None else None
    store = lease_store()
    if source is None or pool is None or not isinstance(store, RedisLeaseStore):
        return None
    if not setting("REDIS_URL", ""):
        return None
    remember: tuple[str | bytes | int | float, ...] = ()
    if new:
        remember = tuple(visit_actions.remember_first_source_command(config.account, outcome.visitor, source))
        visit_actions.remember_here(config.account, outcome.visitor, source.pk)
    gate = Gate(ratelimit.counters(hits), ratelimit.COUNTER_TTL, remember)
    plan = plan_of(config, pool)
    try:
        grant = store.acquire_gated(plan, outcome.visitor, outcome.session, now, gate, new_visitor=new)
    except Exception:
        log.exception("Redis unavailable; answering pool %s's fallback number", pool.pk)
        return Step(source, Grant(plan.fallback_number_id, overflow=True))
    if grant is None:
        return Step(source, _limited_grant(config, source), limited=True)
    return Step(source, grant)


def plan_of(config: AccountConfig, pool: Pool) -> PoolPlan:
    """The pool's ``PoolPlan`` with its eligible numbers, built once per loaded configuration: a
    frozen dataclass of eight fields and three ``timedelta``s cost ~5 µs a page view."""
    key = (pool.id, float(setting("DNI_LEASE_EXTEND_AFTER_SECONDS", 0.0)))
    plan: PoolPlan | None = config.plans.get(key)
    if plan is None:
        plan = config.plans[key] = PoolPlan.of(pool, eligible=config.eligible.get(pool.id, ()))
    return plan


def _returning_in_one_read(
    config: AccountConfig, hits: ratelimit.Hits, outcome: Outcome, matched: Source | None, now: dt.datetime
) -> Step | None:
    """A returning visitor's page view in a process that remembers neither its first touch nor its
    lease (another worker answered the visit's last page view), with the Redis store where writes
    may go behind: both read in one round trip, where they were two. The lease script runs only
    when the lease read will not do as it is (``leases.recent_grant``). None where this does not
    apply: ``_gate_then_lease`` runs then."""
    store = lease_store()
    if not setting("REDIS_URL", "") or not config.pools or not isinstance(store, RedisLeaseStore):
        return None
    if not writes_behind():
        return None
    account, visitor = config.account, outcome.visitor
    allowed = behind_for(setting("REDIS_URL", "")).gate(ratelimit.counters(hits), ratelimit.COUNTER_TTL, ())
    pools = {source_id: pool.pk for source_id, pool in config.pools.items()}
    key = visit_actions.first_source_key(account, visitor)
    try:
        first, lease = store.first_touch_and_lease(key, pools, visitor)
    except Exception:
        log.exception("Redis unavailable: first touches come from the database")
        first, lease = None, None
    if first is not None:
        visit_actions.remember_here(account, visitor, first)
    source = _first_touch(config, visitor, matched, now, first)
    pool = config.pools.get(source.pk) if source is not None else None
    if pool is not None and lease is not None and lease.pool_id == pool.pk:
        plan = plan_of(config, pool)
        grant = Grant(lease.number_id, recycled=lease.recycled)
        remember_recent(plan, visitor, lease.session_id, grant, lease.ends - plan.hold.total_seconds())
    return _lease_step(config, outcome, source, allowed, now)


def _limited_grant(config: AccountConfig, source: Source) -> Grant:
    pool = config.pools.get(source.pk)
    number_id = pool.fallback_number_id if pool else config.static_numbers.get(source.pk)
    return Grant(number_id, overflow=pool is not None)


@dataclass(frozen=True)
class GateAnswer:
    allowed: bool
    first: int | visit_actions.NotLookedUp | None = visit_actions.NOT_LOOKED_UP


def _gate(
    config: AccountConfig, hits: ratelimit.Hits, visitor_id: str, new: bool, matched: Source | None
) -> GateAnswer:
    """The rate limits, and the first touch: remembered for a new visitor, read for a returning
    one whose first touch sticks (``matched`` is None then).

    With Redis they share one round trip: three separate ones were a fifth of the request. Where
    writes may go behind, only a returning visitor's first touch needs one (``_gate_behind``).
    """
    account = config.account
    if not setting("REDIS_URL", ""):
        allowed = ratelimit.allow_all(hits)
        if new:
            visit_actions.remember_first_source(account, visitor_id, matched)
        return GateAnswer(allowed)
    if writes_behind():
        return _gate_behind(config, hits, visitor_id, new, matched)
    commands = ratelimit.commands(hits)
    if new:
        commands.append(visit_actions.remember_first_source_command(account, visitor_id, matched))
    else:
        commands.append(visit_actions.first_source_lookup_command(account, visitor_id))
    try:
        replies = round_trip(client_for(setting("REDIS_URL", "")), commands)
    except Exception:
        log.exception("Redis unavailable: allowing; first touches come from the database")
        return GateAnswer(True, None)
    if new:
        visit_actions.remember_here(account, visitor_id, matched.pk if matched else 0)
        return GateAnswer(ratelimit.allowed(replies, hits))
    reply = replies[ratelimit.replies_for(hits)]
    if reply is not None:
        visit_actions.remember_here(account, visitor_id, int(reply))
    return GateAnswer(ratelimit.allowed(replies, hits), None if reply is None else int(reply))


def _gate_behind(
    config: AccountConfig, hits: ratelimit.Hits, visitor_id: str, new: bool, matched: Source | None
) -> GateAnswer:
    """``_gate`` with the rate-limit hits and a new visitor's first touch sent to Redis behind the
    answer (``lib/redis_behind.py``): only a returning visitor's first touch is read before it."""
    account = config.account
    remember = visit_actions.remember_first_source_command(account, visitor_id, matched) if new else ()
    counters = ratelimit.counters(hits)
    allowed = behind_for(setting("REDIS_URL", "")).gate(counters, ratelimit.COUNTER_TTL, remember)
    if new:
        visit_actions.remember_here(account, visitor_id, matched.pk if matched else 0)
        return GateAnswer(allowed)
    lookup = visit_actions.first_source_lookup_command(account, visitor_id)
    try:
        reply = round_trip(client_for(setting("REDIS_URL", "")), [lookup])[0]
    except Exception:
        log.exception("Redis unavailable: first touches come from the database")
        return GateAnswer(allowed, None)
    if reply is None:
        return GateAnswer(allowed, None)
    visit_actions.remember_here(account, visitor_id, int(reply))
    return GateAnswer(allowed, int(reply))


def _first_touch(
    config: AccountConfig,
    visitor_id: str,
    matched: Source | None,
    now: dt.datetime,
    cached: int | visit_actions.NotLookedUp | None,
) -> Source | None:
    window = dt.timedelta(days=config.account.cookie_window_days)
    first_id = visit_actions.first_source_id(config.account, visitor_id, since=now - window, cached=cached)
    if first_id is None and config.pools:
        # Not written down yet (a page view buffered by another process, no Redis to share it): the
        # number the visitor holds was leased for its first touch.
        first_id = _leased_for(config, visitor_id, now)
    return config.source(first_id) or matched


def _leased_for(config: AccountConfig, visitor_id: str, now: dt.datetime) -> int | None:
    source_of = {pool.pk: source_id for source_id, pool in config.pools.items()}
    try:
        pool_id = lease_store().visitor_pool(visitor_id, list(source_of), now)
    except Exception:
        # The page still gets an answer: this visit's own source, and the lease step's fallback.
        log.exception("lease store unavailable: the first touch is taken from this visit")
        return None
    return None if pool_id is None else source_of[pool_id]


def assign_number(
    config: AccountConfig,
    source: Source,
    visitor_id: str,
    session_id: str,
    now: dt.datetime,
    *,
    new_visitor: bool = False,
) -> Grant:
    pool = config.pools.get(source.pk)
    if pool is not None:
        plan = plan_of(config, pool)
        try:
            return lease_store().acquire(plan, visitor_id, session_id, now, new_visitor=new_visitor)
        except Exception:
            # The customer's page must still show a number: the fallback, flagged like overflow.
            log.exception("lease store unavailable; answering pool %s's fallback number", pool.pk)
            return Grant(plan.fallback_number_id, overflow=True)
    return Grant(config.static_numbers.get(source.pk))


def swaps_for(config: AccountConfig, seen: tuple[str, ...], number_id: int) -> dict[str, dict[str, str]]:
    number = config.numbers.get(number_id)
    if number is None:
        return {}
    found = {normalized for t in seen if (normalized := _normalized(t))}
    wanted = found & config.swap_targets if seen else config.swap_targets
    formatted = formatted_number(number)
    return {target: {"number": number, "formatted": formatted} for target in sorted(wanted)}


# Pages repeat the same few printed numbers; a bounded cache keeps visitor-made ones from piling up.
_normalized = functools.lru_cache(maxsize=8192)(normalize_e164)


def _dropped(account: Account, outcome: Outcome, reason: Drop) -> Outcome:
    outcome.drop = reason
    _count(account, reason)
    return outcome


def _count(account: Account, reason: Drop) -> None:
    key = _drop_key(account, reason)
    try:
        if setting("REDIS_URL", ""):  # one INCR on the shared client; Django's cache would take two
            client_for(setting("REDIS_URL", "")).incr(key)
        elif not cache.add(key, 1, timeout=None):
            cache.incr(key)
    except Exception:
        log.exception("could not count DNI drop %s", reason)


def drop_counts(account: Account) -> dict[str, int]:
    """How many requests each step dropped, since counting began."""
    if setting("REDIS_URL", ""):
        keys = [_drop_key(account, reason) for reason in Drop]
        values = client_for(setting("REDIS_URL", "")).mget(keys)
    else:
        values = [cache.get(_drop_key(account, reason)) for reason in Drop]
    return {reason.value: int(value or 0) for reason, value in zip(Drop, values, strict=True)}


def _drop_key(account: Account, reason: Drop) -> str:
    return f"rt:dni-drops:{account.pk}:{reason.value}"

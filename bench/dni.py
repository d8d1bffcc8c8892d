"""DNI session endpoint benchmark: website-visitor sessions against a bare Django view, in one run.

    python bench/dni.py [--smoke] [--concurrency 64] [--duration 10] [--store sql|redis|both] [--json]

For each lease store (SQL, and Redis when asked for and available) the real server (``ringtrail serve``)
is started once and driven by the same closed-loop load generator, at the same concurrency, through
three phases: the bare ``/healthz`` view, new visitors (every request leases a pool number) and
returning visitors (page views sending back the ids they were given: the sticky path). Then the bare
view and both kinds of session again, sent at the rate the throughput goal asks for (half the bare
view's), over the same connections: a closed loop's latency is its concurrency divided by its
throughput, so its p99 says how long the queue was; the paced phases say how fast a session is
answered at that load, and the paced bare view what the server and the load generator alone give at
it. Exits non-zero if any answer was not a pool number for the swap target; the goals are reported,
never enforced.
See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``ringtrail`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    LOAD_GENERATORS,
    BenchError,
    Phase,
    PhaseStats,
    Request,
    RequestSource,
    Server,
    bench_env,
    format_table,
    ratio,
    run_benchmark,
    run_django_snippet,
    run_phase,
    run_ringtrail,
    running_server,
    scratch_database,
    settle,
)

GOAL_RATIO = 0.5
GOAL_P99_MS = 25.0
TARGET = "+14155550199"
# Chrome on Linux: headless and bot user agents are refused a pool number by design.
BROWSER = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
)
REDIS_HOST, REDIS_PORT, REDIS_DB = "127.0.0.1", 6379, 15
UNLIMITED = "100000000"  # one client IP sends everything: lift the per-IP and per-key rate limits
STORES = {"sql": ("sql",), "redis": ("redis",), "both": ("sql", "redis")}
SEED = """
from ringtrail.dni.models import Pool
from ringtrail.numbers.models import SwapTarget, TrackingNumber
from ringtrail.sources.models import Source, SourceRule
from ringtrail.testing import wired_account
wired = wired_account()
SwapTarget.objects.create(account=wired.account, number="+14155550199", label="Main line")
paid = Source.objects.create(account=wired.account, name="Google Ads (web)", medium="cpc", kind="online")
SourceRule.objects.create(source=paid, kind="click_id", value="gclid")
pool = Pool.objects.create(account=wired.account, source=paid, fallback_number=wired.tracking)
# Ten-digit NANP numbers whatever the pool size: (628) 200-0000, (628) 200-0001, ...
TrackingNumber.objects.bulk_create(
    TrackingNumber(account=wired.account, number=f"+1628{2_000_000 + i:07d}", connection=wired.connection,
                   pool=pool, source=paid, receiving_number=wired.receiving)
    for i in range(POOL_SIZE)
)
from django.db import connection
if connection.vendor == "postgresql":  # planner statistics, as autovacuum keeps them on a live database
    connection.cursor().execute("ANALYZE")
print(json.dumps({"public_key": wired.account.public_key, "fallback": wired.tracking.number,
                  "pool_size": pool.numbers.count()}))
"""
COUNT_PAGE_VIEWS = """
from ringtrail.visits.models import PageView
print(json.dumps(PageView.objects.count()))
"""
CLEAR_LEASES = """
from ringtrail.dni.models import Lease
print(json.dumps(Lease.objects.all().delete()[0]))
"""
WHICH_STORE = """
from ringtrail.dni.leases import lease_store
print(json.dumps(type(lease_store()).__name__))
"""


@dataclass(frozen=True)
class Options:
    smoke: bool
    concurrency: int
    duration: float
    warmup: float
    max_requests: int
    pool_size: int
    stores: tuple[str, ...]
    workers: int
    threads: int
    client: str
    paced_ratio: float
    extend_after: float  # DNI_LEASE_EXTEND_AFTER_SECONDS of the server (smoke: short, so it waits little)
    as_json: bool


@dataclass(frozen=True)
class Seed:
    public_key: str
    fallback: str
    pool_size: int

    @property
    def path(self) -> str:
        return f"/dni/v1/{self.public_key}/session"


@dataclass
class Answers:
    """What the session phases saw, filled by the check from the load generator's threads."""

    fallback: str
    ids: list[tuple[str, str]] = field(default_factory=list)
    overflow: list[int] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)  # one per 200: each is a page view to record

    def check(self, status: int, body: bytes) -> bool:
        """200 with a pool number for the target; the (visitor, session) pair is kept for returning visits."""
        if status != 200:
            return False
        self.answered.append(1)
        try:
            answer = json.loads(body)
            number = answer["swaps"][TARGET]["number"]
        except (ValueError, KeyError, TypeError):
            return False
        if number == self.fallback:
            self.overflow.append(1)  # list.append is atomic: no lock needed across worker threads
            return False
        self.ids.append((answer["visitor"], answer["session"]))
        return True


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="short CI run: 8 visitors, 1.5 s per phase, SQL")
    parser.add_argument("--concurrency", type=int, help="concurrent connections (default 64, smoke 8)")
    parser.add_argument("--duration", type=float, help="measured seconds per phase (default 10, smoke 1.5)")
    parser.add_argument("--warmup", type=float, help="uncounted seconds per phase (default 1, smoke 0.5)")
    parser.add_argument("--max-requests", type=int, help="cap per bare/returning phase (default 60000)")
    parser.add_argument("--pool-size", type=int, help="pool numbers (default 160000, smoke 40000)")
    parser.add_argument("--store", choices=sorted(STORES), help="lease store(s) (default both, smoke sql)")
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("WEB_WORKERS", os.cpu_count() or 2))
    )
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "2")))
    parser.add_argument("--client", choices=sorted(LOAD_GENERATORS), default="loop")
    parser.add_argument(
        "--paced-ratio",
        type=float,
        default=GOAL_RATIO,
        help=f"paced phases' rate as a share of the bare view's req/s (default {GOAL_RATIO}, the goal)",
    )
    parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON document")
    args = parser.parse_args(argv)

    def pick(value: Any, normal: Any, smoke: Any) -> Any:
        return value if value is not None else (smoke if args.smoke else normal)

    return Options(
        smoke=args.smoke,
        concurrency=pick(args.concurrency, 64, 8),
        duration=pick(args.duration, 10.0, 1.5),
        warmup=pick(args.warmup, 1.0, 0.5),
        max_requests=pick(args.max_requests, 60_000, 6_000),
        pool_size=pick(args.pool_size, 160_000, 40_000),  # enough new visitors for both new phases
        stores=STORES[pick(args.store, "both", "sql")],
        workers=args.workers,
        threads=args.threads,
        client=args.client,
        paced_ratio=args.paced_ratio,
        extend_after=pick(None, 30.0, 2.0),
        as_json=args.as_json,
    )


# --- requests -----------------------------------------------------------------------------------------


def session_body(visitor: str | None, session: str | None, url: str, referrer: str) -> bytes:
    return json.dumps(
        {
            "visitor": visitor,
            "session": session,
            "url": url,
            "referrer": referrer,
            "targets": ["(415) 555-0199"],
            "ga_client_id": None,
            "ga_session_id": None,
        }
    ).encode()


def session_request(seed: Seed, body: bytes) -> Request:
    headers = {"Content-Type": "text/plain;charset=UTF-8", "User-Agent": BROWSER}
    return Request("POST", seed.path, body, headers)


def new_visitor_requests(seed: Seed, count: int) -> list[Request]:
    """First visits from a Google ad: no ids yet, a fresh gclid each, so every one leases a number."""
    return [
        session_request(
            seed,
            session_body(
                None,
                None,
                f"https://acme.test/landing?gclid={secrets.token_urlsafe(24)}&utm_source=google",
                "https://www.google.com/",
            ),
        )
        for _ in range(count)
    ]


def returning_requests(seed: Seed, ids: list[tuple[str, str]], count: int) -> list[Request]:
    """Next page views of those visits: their own ids, no gclid (the first touch must stick)."""
    if not ids:
        return []
    pages = ("pricing", "contact", "about", "blog/how-it-works")
    pairs = itertools.islice(itertools.cycle(ids), count)
    return [
        session_request(
            seed,
            session_body(visitor, session, f"https://acme.test/{pages[i % 4]}", "https://acme.test/landing"),
        )
        for i, (visitor, session) in enumerate(pairs)
    ]


def is_healthy(status: int, body: bytes) -> bool:
    return status == 200 and body == b"ok\n"


def split(requests: list[Request], spare: int) -> tuple[RequestSource, RequestSource]:
    return RequestSource(requests[:spare]), RequestSource(requests[spare:])


def new_visitor_budget(options: Options, reserved: int) -> tuple[int, int]:
    """(warm-up, measured) new visitors of the closed loop: with the ``reserved`` ones of the paced
    phase, and the numbers each server process may hold reserved ahead (twice
    ``DNI_LEASE_RESERVE``, SQL store), they fit in the pool, so only contention overflows."""
    spare = max(50, int(options.warmup * 400))
    most = min(int(os.environ.get("DNI_LEASE_RESERVE", "2048")), options.pool_size // 20)  # reservations.py
    held_ahead = options.workers * 2 * most
    return spare, max(1, options.pool_size - reserved - held_ahead - spare - 10)


def paced_budget(options: Options, rate: float) -> tuple[int, int]:
    """(warm-up, measured) requests a phase paced at ``rate`` sends, with 5 % to spare."""
    return int(rate * options.warmup * 1.05) + 1, int(rate * options.duration * 1.05) + 1


# --- one server per lease store -----------------------------------------------------------------------


@dataclass(frozen=True)
class StoreRun:
    bare: PhaseStats
    new: PhaseStats
    returning: PhaseStats
    paced_bare: PhaseStats
    paced_new: PhaseStats
    paced_returning: PhaseStats
    extending: PhaseStats
    rate: float
    paced_ratio: float
    sent_new: int
    overflow: int
    answered: int  # session requests answered 200: each one a page view the server must record
    settled: dict[str, float]  # seconds waited before a phase for the server to go quiet


def redis_cpu_seconds() -> float | None:
    """Redis's own CPU (user + system, all its threads) so far; None if it does not answer."""
    import redis

    try:
        cpu = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, socket_timeout=2).info("cpu")
    except redis.RedisError:
        return None
    return float(cpu["used_cpu_user"]) + float(cpu["used_cpu_sys"])


def postgres_cpu_seconds() -> float | None:
    """All local PostgreSQL processes' CPU (user + system) so far, from /proc; None without /proc.
    A backend that exits leaves its CPU in its parent's children's times, which count too."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0
    try:
        stats = [path / "stat" for path in Path("/proc").iterdir() if path.name.isdigit()]
    except OSError:
        return None
    for stat in stats:
        try:
            fields = stat.read_text().rsplit(")", 1)
        except OSError:  # the process ended meanwhile
            continue
        if fields[0].endswith("(postgres"):
            rest = fields[1].split()
            total += sum(int(field) for field in rest[11:15])  # utime stime cutime cstime (stat(5))
    return total / tick


def service_of(store: str, database_url: str) -> tuple[str, Callable[[], float | None] | None]:
    """The service beside the server whose CPU a store's phases also use: Redis, or a PostgreSQL
    database on this machine for the SQL store."""
    if store == "redis":
        return "redis", redis_cpu_seconds
    host = urlsplit(database_url).hostname or ""
    if database_url.startswith("postgres") and host in ("127.0.0.1", "localhost", "::1"):
        return "postgres", postgres_cpu_seconds
    return "", None


def measure(
    options: Options, server: Server, seed: Seed, service_cpu: Callable[[], float | None] | None
) -> StoreRun:

    settled: dict[str, float] = {}

    def go(phase: Phase, rate: float | None = None, settle_at_most: float = 0.0) -> PhaseStats:
        """Run ``phase`` (paced at ``rate``), first waiting up to ``settle_at_most`` seconds (15 when
        paced) for the server to finish the work the phase before left."""
        if rate is not None or settle_at_most:
            settled[phase.name] = settle(server.cpu_seconds, timeout=settle_at_most or 15.0)
        return run_phase(
            server,
            phase,
            options.concurrency,
            options.duration,
            options.warmup,
            options.client,
            rate,
            service_cpu,
        )

    cap, spare = options.max_requests, max(500, int(options.warmup * 4_000))
    bare = go(Phase("bare /healthz", *split([Request("GET", "/healthz")] * (cap + spare), spare), is_healthy))
    rate = round(options.paced_ratio * bare.requests_per_second, 1)
    paced_spare, paced_count = paced_budget(options, rate)
    answers = Answers(seed.fallback)
    new_spare, new_cap = new_visitor_budget(options, paced_spare + paced_count)
    new_phase = Phase(
        "new visitor", *split(new_visitor_requests(seed, new_spare + new_cap), new_spare), answers.check
    )
    new = go(new_phase)
    new_ended = time.monotonic()
    returning_answers = Answers(seed.fallback)
    back = returning_requests(seed, list(answers.ids), cap + spare)
    # After the writes the new visitors left (the recorder gets a CPU only when a worker leaves one),
    # at most 10 s: these visits must stay younger than extend_after.
    returning = go(Phase("returning", *split(back, spare), returning_answers.check), settle_at_most=10.0)
    healthz = [Request("GET", "/healthz")] * (paced_spare + paced_count)
    paced_bare = go(Phase("bare, paced", *split(healthz, paced_spare), is_healthy), rate)
    paced_answers = Answers(seed.fallback)
    paced = new_visitor_requests(seed, paced_spare + paced_count)
    paced_new = go(Phase("new, paced", *split(paced, paced_spare), paced_answers.check), rate)
    # Visits as old as the closed loop's returning ones were: the same kind of page view, paced.
    back = returning_requests(seed, list(paced_answers.ids), paced_spare + paced_count)
    # A short wait: these visits must stay younger than extend_after, as phase 3's were.
    paced_back = go(Phase("returning, paced", *split(back, paced_spare), returning_answers.check), rate, 3.0)
    # The first visits again, now older than extend_after: each page view extends its lease.
    time.sleep(max(0.0, options.extend_after + 1 - (time.monotonic() - new_ended)))
    extend = returning_requests(seed, list(answers.ids), cap + spare)
    later = Phase("returning, later", *split(extend, spare), returning_answers.check)
    extending = go(later, settle_at_most=15.0)
    overflow = len(answers.overflow) + len(returning_answers.overflow) + len(paced_answers.overflow)
    answered = len(answers.answered) + len(returning_answers.answered) + len(paced_answers.answered)
    sent = new_phase.taken + paced_spare + paced_count
    return StoreRun(
        bare,
        new,
        returning,
        paced_bare,
        paced_new,
        paced_back,
        extending,
        rate,
        options.paced_ratio,
        sent,
        overflow,
        answered,
        settled,
    )


def redis_unavailable(env: dict[str, str]) -> str | None:
    """Why the Redis lease store cannot be measured (Redis down, or the server does not know the store)."""
    import redis  # a product dependency; imported late so SQL-only runs never need it

    try:
        redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=REDIS_DB, socket_timeout=2).flushdb()
    except redis.RedisError as error:
        return f"Redis at {REDIS_HOST}:{REDIS_PORT} does not answer: {error}"
    try:
        store = str(run_django_snippet(WHICH_STORE, env))
    except BenchError as error:
        return f"DNI_LEASE_STORE=redis does not load: {str(error).strip().splitlines()[-1][:200]}"
    if "redis" not in store.lower():
        return f"DNI_LEASE_STORE=redis is ignored: lease_store() is still {store}"
    return None


def store_env(tmp: Path, database_url: str, store: str, extend_after: float = 30.0) -> dict[str, str]:
    extra = {
        "DNI_LEASE_STORE": store,
        "DNI_RATE_PER_IP_PER_MINUTE": UNLIMITED,
        "DNI_RATE_PER_KEY_PER_MINUTE": UNLIMITED,
        "DNI_LEASE_EXTEND_AFTER_SECONDS": str(extend_after),
    }
    if store == "redis":
        extra["REDIS_URL"] = f"redis://{REDIS_HOST}:{REDIS_PORT}/{REDIS_DB}"
    return bench_env(tmp, database_url, extra)


def run_store(options: Options, tmp: Path, database_url: str, seed: Seed, store: str) -> dict[str, Any]:
    env = store_env(tmp, database_url, store, options.extend_after)
    if store == "redis" and (reason := redis_unavailable(env)) is not None:
        return {"available": False, "reason": reason}
    run_django_snippet(CLEAR_LEASES, env)  # each store starts with the whole pool free
    service, service_cpu = service_of(store, database_url)
    views_before = run_django_snippet(COUNT_PAGE_VIEWS, env)
    try:
        with running_server(env, options.workers, options.threads) as server:
            run = measure(options, server, seed, service_cpu)
            report = store_report(run)
            # Why answers failed (the fallback number after a store error, say), before the log goes.
            problems = server.logged_problems() if report["errors"] else []
    except BenchError as error:
        if store == "sql":
            raise
        return {"available": False, "reason": f"server did not run: {str(error)[-300:]}"}
    # The server has stopped, its recorder has written what it held: every answer is a page view.
    recorded = run_django_snippet(COUNT_PAGE_VIEWS, env) - views_before
    page_views = {"answered": run.answered, "recorded": recorded}
    ok = report["ok"] and recorded == run.answered
    return {**report, "ok": ok, "page_views": page_views, "service": service, "server_log_problems": problems}


def store_report(run: StoreRun) -> dict[str, Any]:
    bare, new, back = run.bare, run.new, run.returning
    phases = (bare, new, back, run.paced_bare, run.paced_new, run.paced_returning, run.extending)
    errors = sum(p.errors + p.warmup_errors for p in phases)
    return {
        "available": True,
        "phases": {
            "bare": bare.as_dict(),
            "new": new.as_dict(),
            "returning": back.as_dict(),
            "bare_paced": run.paced_bare.as_dict(),
            "new_paced": run.paced_new.as_dict(),
            "returning_paced": run.paced_returning.as_dict(),
            "returning_extends": run.extending.as_dict(),
        },
        "cpus": os.cpu_count() or 1,
        "paced_rate": run.rate,
        "paced_ratio": run.paced_ratio,
        "settled_before_s": run.settled,
        "ratios": {
            "new_rps_over_bare_rps": ratio(new.requests_per_second, bare.requests_per_second),
            "new_p99_over_bare_p99": ratio(new.p99_ms, bare.p99_ms),
            "returning_rps_over_bare_rps": ratio(back.requests_per_second, bare.requests_per_second),
            "returning_p99_over_bare_p99": ratio(back.p99_ms, bare.p99_ms),
            "extends_rps_over_bare_rps": ratio(run.extending.requests_per_second, bare.requests_per_second),
        },
        "goals": {
            new.name: goals(bare, new, run.paced_new),
            back.name: goals(bare, back, run.paced_returning),
        },
        "overflow": {
            "answers": run.overflow,
            "share_of_new_visitors": ratio(run.overflow, run.sent_new),
        },
        "errors": errors,
        "ok": errors == 0 and all(p.requests > 0 for p in phases),
    }


def goals(bare: PhaseStats, phase: PhaseStats, paced: PhaseStats) -> dict[str, Any]:
    throughput = ratio(phase.requests_per_second, bare.requests_per_second) or 0.0
    return {
        "ratio_at_least": GOAL_RATIO,
        "ratio_met": throughput >= GOAL_RATIO,
        "p99_ms_below": GOAL_P99_MS,
        "p99_met": phase.p99_ms < GOAL_P99_MS,  # at saturation (closed loop)
        "p99_paced_met": paced.p99_ms < GOAL_P99_MS,  # at the paced rate (the goal's by default)
    }


# Above this share of the host's CPU time taken by its hypervisor during a paced phase, that
# phase's p99 says more about the host than about the server (docs/benchmarks.md).
NOISY_STEAL_PERCENT = 3.0


def steal_note(phase: PhaseStats) -> str:
    steal = phase.host_steal_percent
    if steal is None or steal <= NOISY_STEAL_PERCENT:
        return ""
    return f"; the hypervisor took {steal:.1f} % of the host's CPU meanwhile"


def seed_site(env: dict[str, str], pool_size: int) -> Seed:
    run_ringtrail(["migrate", "--noinput"], env)
    return Seed(**run_django_snippet(f"POOL_SIZE = {int(pool_size)}\n{SEED}", env))


def run(options: Options) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ringtrail-bench-") as tmp_name:
        tmp = Path(tmp_name)
        with scratch_database(tmp) as (database_url, engine):
            seed = seed_site(bench_env(tmp, database_url), options.pool_size)
            stores = {store: run_store(options, tmp, database_url, seed, store) for store in options.stores}
    return report(options, engine, seed, stores)


def report(options: Options, engine: str, seed: Seed, stores: dict[str, Any]) -> dict[str, Any]:
    measured = [result for result in stores.values() if result["available"]]
    errors = sum(result["errors"] for result in measured)
    lost = sum(r["page_views"]["answered"] - r["page_views"]["recorded"] for r in measured)
    return {
        "benchmark": "dni_session",
        "date": dt.date.today().isoformat(),
        "mode": "smoke" if options.smoke else "full",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "database": engine,
        "server": {"command": "ringtrail serve", "workers": options.workers, "threads": options.threads},
        "client": options.client,
        "paced_ratio": options.paced_ratio,
        "concurrency": options.concurrency,
        "duration_s": options.duration,
        "warmup_s": options.warmup,
        "pool_size": seed.pool_size,
        "stores": stores,
        "errors": errors,
        "page_views_lost": lost,
        # Only the SQL store must run: Redis may be down or not built yet, which is reported, not failed.
        "ok": bool(measured) and errors == 0 and all(result["ok"] for result in measured),
    }


# --- output -------------------------------------------------------------------------------------------


def render_store(name: str, result: dict[str, Any]) -> list[str]:
    if not result["available"]:
        return [f"[{name} lease store] not available: {result['reason']}"]
    keys = ("bare", "new", "returning", "bare_paced", "new_paced", "returning_paced", "returning_extends")
    phases = [PhaseStats(**result["phases"][key]) for key in keys]
    r, overflow = result["ratios"], result["overflow"]
    service = result.get("service", "")
    lines = [f"[{name} lease store]", format_table(phases, service)]
    lines.append(
        f"ratio new / bare: throughput {r['new_rps_over_bare_rps']}, p99 {r['new_p99_over_bare_p99']}; "
        f"returning / bare: throughput {r['returning_rps_over_bare_rps']}, "
        f"p99 {r['returning_p99_over_bare_p99']}; returning later (past extend_after: each extends "
        f"its lease) / bare: throughput {r['extends_rps_over_bare_rps']}"
    )
    rate = result["paced_rate"]
    waits = ", ".join(f"{name} {seconds:.1f} s" for name, seconds in result["settled_before_s"].items())
    lines.append(
        f"paced phases: {rate:.0f} sessions/s ({result['paced_ratio']} x the bare view's req/s); "
        f"waited for the server to finish the work left before: {waits}"
    )
    for phase, paced in ((phases[1], phases[4]), (phases[2], phases[5])):
        goal = result["goals"][phase.name]
        lines.append(
            f"goals for {phase.name}: throughput ratio >= {GOAL_RATIO}: "
            f"{'met' if goal['ratio_met'] else 'NOT met'}; p99 < {GOAL_P99_MS:.0f} ms at saturation: "
            f"{'met' if goal['p99_met'] else 'NOT met'} (p99 {phase.p99_ms:.1f} ms), at the paced rate: "
            f"{'met' if goal['p99_paced_met'] else 'NOT met'} (p99 {paced.p99_ms:.1f} ms{steal_note(paced)})"
        )
    lines += [machine_use(phase, result["cpus"], service) for phase in phases[3:6]]
    share = overflow["share_of_new_visitors"]
    lines.append(f"overflow (fallback number shown): {overflow['answers']} answers, share {share}")
    views = result["page_views"]
    lost = "" if views["recorded"] == views["answered"] else " - PAGE VIEWS LOST"
    lines.append(f"page views recorded: {views['recorded']} of {views['answered']} answered{lost}")
    lines += [f"error: {sample}" for phase in phases for sample in phase.error_samples]
    lines += [f"server log: {line}" for line in result.get("server_log_problems", [])]
    return lines


def machine_use(phase: PhaseStats, cpus: int, service: str = "") -> str:
    """How much of the machine a paced phase kept busy: latency at a fixed rate climbs steeply as
    this nears all of it, whatever the endpoint."""
    parts = {
        "server": phase.server_cpu_ms_per_request,
        "client": phase.client_cpu_ms_per_request,
        service or "service": phase.service_cpu_ms_per_request,
    }
    known = {name: ms for name, ms in parts.items() if ms is not None}
    busy = sum(known.values()) * phase.requests_per_second / 1000
    shares = " + ".join(f"{name} {ms * phase.requests_per_second / 1000:.2f}" for name, ms in known.items())
    return f"{phase.name}: {busy:.2f} of {cpus} CPUs busy ({shares})"


def render_text(result: dict[str, Any]) -> str:
    lines = [
        f"Ringtrail DNI session benchmark ({result['mode']}, {result['date']}): {result['database']}, "
        f"{result['server']['workers']} workers x {result['server']['threads']} threads, "
        f"{result['concurrency']} connections, {result['duration_s']} s per phase, pool of "
        f"{result['pool_size']}, client {result['client']}, {result['machine']['cpus']} CPUs, "
        f"Python {result['machine']['python']}"
    ]
    for name, store in result["stores"].items():
        lines += render_store(name, store)
    failed = f"FAILED: {result['errors']} errors, {result['page_views_lost']} page views not recorded"
    lines.append("OK" if result["ok"] else failed)
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    return run_benchmark(lambda: run(options), render_text, options.as_json)


if __name__ == "__main__":
    sys.exit(main())

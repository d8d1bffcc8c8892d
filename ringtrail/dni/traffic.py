"""Synthetic website traffic against the real DNI endpoints, with ground truth (issue 3, point 8).

Visitors land, view pages and send heartbeats over real HTTP; some call the number they were shown
through the carrier simulator — during the visit, minutes after it, or hours after it (by then their
lease is long over: only caller history can recover them). Afterwards each stored call is compared
with the session the visitor really had. ``run_traffic(site, config)`` is the whole API;
``ringtrail simulate traffic`` wraps it.

Hours do not fit in a short run, so ``time_scale`` compresses a simulated timeline of ``duration *
time_scale`` seconds into ``duration`` real seconds: every request carries the simulated moment as a
clock offset (``lib/clock.py``), which a server started with ``RINGTRAIL_SIMULATED_CLOCK=true``
honours; the timeline ends at the real end of the run, so everything lands in the recent past.
"""

from __future__ import annotations

import heapq
import math
import queue
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from ringtrail.accounts.models import Account
from ringtrail.calls.models import Attribution, Call
from ringtrail.carriers.simulator import CallScenario, Credentials, Simulator
from ringtrail.carriers.simulator.signing import CarrierName
from ringtrail.dni.models import Pool
from ringtrail.lib import clock
from ringtrail.numbers.models import NumberState, SwapTarget, TrackingNumber
from ringtrail.visits.models import Session

WEBKIT = "AppleWebKit/537.36 (KHTML, like Gecko)"
SAFARI = "AppleWebKit/605.1.15 (KHTML, like Gecko)"
BROWSERS = (
    f"Mozilla/5.0 (Windows NT 10.0; Win64; x64) {WEBKIT} Chrome/124.0 Safari/537.36",
    f"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) {SAFARI} Version/17.4 Safari/605.1.15",
    f"Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) {SAFARI} Mobile/15E148",
    f"Mozilla/5.0 (Linux; Android 14; Pixel 8) {WEBKIT} Chrome/124.0 Mobile Safari/537.36",
    "Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0",
)
BOTS = (
    "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
    f"Mozilla/5.0 (X11; Linux x86_64) {WEBKIT} HeadlessChrome/124.0 Safari/537.36",
    "Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)",
)
# (weight, landing query, referrer): the source mix of a small business site running Google Ads.
SOURCES = (
    (50, "?gclid={click}&utm_source=google&utm_medium=cpc&utm_campaign={campaign}", ""),
    (20, "", "https://www.google.com/"),
    (15, "", ""),
    (10, "", "https://www.facebook.com/"),
    (5, "?utm_source=newsletter&utm_medium=email&utm_campaign={campaign}", ""),
)
CAMPAIGNS = ("spring-plumbing", "emergency-repair", "water-heaters")
PAGES = ("/", "/services", "/pricing", "/about", "/contact", "/reviews")
SITE = "https://www.acme-plumbing.test"
MEDIAN_VISIT_SECONDS = 240.0
HEARTBEAT_SECONDS = 60.0  # the tracking script's default heartbeat
MINUTES_LATER_SECONDS = 600.0
HOURS_LATER_SECONDS = (3600.0, 4 * 3600.0)
TIMINGS = ("during", "minutes_later", "hours_later")
BOT_SHARE = 0.05
GRACE_SECONDS = 5.0
SERVER_WRITE_BEHIND_SECONDS = 1.0
TIMEOUT_SECONDS = 5.0
PROGRESS_SECONDS = 0.2
DIALECTS: dict[str, CarrierName] = {"twilio": "twilio", "signalwire": "signalwire"}
VERDICTS = ("correct", "ambiguous", "wrong", "untracked")


@dataclass(frozen=True)
class SiteInfo:
    """What the simulator needs to know about the account, read from the local database up front."""

    public_key: str
    targets: tuple[str, ...]
    pool_numbers: frozenset[str]
    fallback_numbers: frozenset[str]
    pooled_source_ids: frozenset[int]
    credentials: dict[str, Credentials]


@dataclass(frozen=True)
class TrafficConfig:
    visitors: int
    duration: float
    call_rate: float = 0.3
    seed: int | None = None
    concurrency: int = 16
    time_scale: float = 1.0

    @property
    def simulated_seconds(self) -> float:
        return self.duration * self.time_scale


@dataclass
class Visitor:
    index: int
    user_agent: str
    bot: bool
    url: str
    referrer: str
    caller: str
    # (offset seconds, action) in order; run one after another so ids and the shown number carry over.
    plan: list[tuple[float, str]]
    visitor_id: str = ""
    session_id: str = ""
    shown: str = ""
    # The timing of each planned call, in plan order: during, minutes_later, hours_later.
    call_timings: list[str] = field(default_factory=list)


@dataclass
class PlacedCall:
    call_sid: str
    truth_session: str
    to: str
    timing: str = "during"


@dataclass
class Tally:
    visitors_done: int = 0
    requests: int = 0
    request_errors: int = 0
    errors: list[str] = field(default_factory=list)
    answers: list[tuple[Visitor, str]] = field(default_factory=list)
    calls_intended: int = 0
    calls_to_original: int = 0
    call_errors: int = 0
    clock: str = "real"
    placed: list[PlacedCall] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count(self, name: str) -> None:
        # Worker threads share the tally; `+=` on an attribute is not atomic.
        with self.lock:
            setattr(self, name, getattr(self, name) + 1)

    def error(self, message: str) -> None:
        self.count("request_errors")
        if len(self.errors) < 20:
            self.errors.append(message[:300])


def site_info(account: Account) -> SiteInfo:
    live = TrackingNumber.objects.filter(account=account).exclude(state=NumberState.RELEASED)
    pools = Pool.objects.filter(account=account).select_related("fallback_number")
    credentials = {}
    for number in live.select_related("connection"):
        kind, secret = DIALECTS.get(number.connection.kind), number.connection.secret()
        if kind and secret:
            credentials[number.number] = Credentials(kind, number.connection.account_sid, secret)
    return SiteInfo(
        public_key=account.public_key,
        targets=tuple(SwapTarget.objects.filter(account=account).values_list("number", flat=True)),
        pool_numbers=frozenset(live.filter(pool__isnull=False).values_list("number", flat=True)),
        fallback_numbers=frozenset(p.fallback_number.number for p in pools if p.fallback_number),
        pooled_source_ids=frozenset(p.source_id for p in pools if p.source_id),
        credentials=credentials,
    )


def plan_visitors(config: TrafficConfig, rng: random.Random) -> list[Visitor]:
    callers = rng.sample(range(10_000), config.visitors)
    return [_plan_one(i, config, rng, f"+1212555{callers[i]:04d}") for i in range(config.visitors)]


def _plan_one(index: int, config: TrafficConfig, rng: random.Random, caller: str) -> Visitor:
    span = config.simulated_seconds  # plan times are simulated seconds from the start of the run
    bot = rng.random() < BOT_SHARE
    query, referrer = rng.choices([(q, r) for _, q, r in SOURCES], [w for w, _, _ in SOURCES])[0]
    query = query.format(click=f"Cj0K{index:05d}{rng.randrange(10**6):06d}", campaign=rng.choice(CAMPAIGNS))
    arrive = rng.uniform(0, span * 0.9)
    # Log-normal session length (median a few minutes, or span/6 in a short real-time run),
    # cut so the visit ends inside the run.
    leave = min(span, arrive + min(span / 6, MEDIAN_VISIT_SECONDS) * math.exp(rng.gauss(0, 0.8)))
    plan = [(rng.uniform(arrive, leave), "page") for _ in range(min(5, int(rng.expovariate(0.7))))]
    beat = min(max(0.5, span / 10), HEARTBEAT_SECONDS)
    plan += [(arrive + beat * k, "touch") for k in range(1, int((leave - arrive) / beat) + 1)]
    timings: list[str] = []
    if not bot and rng.random() < config.call_rate:
        calls = _call_times(rng, arrive, leave, span)
        plan += [(at, "call") for at, _ in calls]
        timings = [timing for _, timing in sorted(calls)]
    # Landing first, whatever the random times say: everything else needs its ids.
    plan = [(arrive, "land"), *sorted(plan)]
    return Visitor(index, rng.choice(BOTS if bot else BROWSERS), bot, SITE + rng.choice(PAGES) + query,
                   referrer, caller, plan, call_timings=timings)  # fmt: skip


def _call_times(rng: random.Random, arrive: float, leave: float, span: float) -> list[tuple[float, str]]:
    """When a caller calls: during the visit, minutes after it (the lease's hold time still covers
    it), hours after it (the lease is over), or during and again hours later (a repeat caller)."""
    during = (rng.uniform(arrive, leave), "during")
    kind = rng.choices(("during", "minutes", "hours", "repeat"), (55, 25, 12, 8))[0]
    if kind == "during":
        return [during]
    if kind == "minutes":
        # Within the pool's hold time (15 minutes by default), or a tenth of a short run.
        return [(min(span, leave + rng.uniform(0, min(span / 10, MINUTES_LATER_SECONDS))), "minutes_later")]
    hours_later = (min(span, leave + rng.uniform(*HOURS_LATER_SECONDS)), "hours_later")
    return [hours_later] if kind == "hours" else [during, hours_later]


class Runner:
    """Runs every visitor's plan in real time on a small thread pool, one action per visitor at a time."""

    def __init__(self, base_url: str, site: SiteInfo, config: TrafficConfig, rng: random.Random) -> None:
        self.base = base_url.rstrip("/") + f"/dni/v1/{site.public_key}"
        self.base_url, self.site, self.config, self.rng = base_url, site, config, rng
        self.tally = Tally()
        self.wall_start = time.time()
        self.ready: queue.Queue[tuple[float, int, Visitor]] = queue.Queue()
        limits = httpx.Limits(max_connections=config.concurrency)
        self.http = httpx.Client(timeout=TIMEOUT_SECONDS, limits=limits, follow_redirects=False)

    def due(self, start: float, simulated: float) -> float:
        """The real moment (monotonic) at which a plan's simulated moment comes up."""
        return start + simulated / self.config.time_scale

    def clock_headers(self, simulated: float) -> dict[str, str]:
        """The server-time offset that puts this request at its simulated moment (none in real time)."""
        if self.config.time_scale == 1:
            return {}
        span = self.config.simulated_seconds
        server_time = self.wall_start + self.config.duration - span + simulated
        return {clock.HEADER: f"{server_time - time.time():.3f}"}

    def run(self, visitors: list[Visitor], progress: Callable[[Tally], None] | None = None) -> Tally:
        start = time.monotonic()
        self.wall_start = time.time()
        heap = [(self.due(start, v.plan[0][0]), v.index, v) for v in visitors]
        heapq.heapify(heap)
        running: set[Future[None]] = set()
        deadline = start + self.config.duration + GRACE_SECONDS
        drawn = 0.0
        with self.http, ThreadPoolExecutor(self.config.concurrency) as pool:
            while (heap or running or not self.ready.empty()) and time.monotonic() < deadline:
                while not self.ready.empty():
                    heapq.heappush(heap, self.ready.get())
                while heap and heap[0][0] <= time.monotonic() and len(running) < self.config.concurrency:
                    running.add(pool.submit(self._step, heapq.heappop(heap)[2], start))
                running = {f for f in running if not f.done()}
                if progress and time.monotonic() >= drawn + PROGRESS_SECONDS:
                    drawn = time.monotonic()
                    progress(self.tally)
                time.sleep(0.02)
            pool.shutdown(wait=False, cancel_futures=True)
        self.tally.visitors_done += len({v.index for _, _, v in heap})  # cut off by the deadline
        if progress:
            progress(self.tally)
        return self.tally

    def _step(self, visitor: Visitor, start: float) -> None:
        at, action = visitor.plan.pop(0)
        headers = self.clock_headers(at)
        try:
            {"land": self._session, "page": self._session, "touch": self._touch, "call": self._call}[action](
                visitor, headers
            )
        except Exception as exc:  # one broken visitor must not stop the run; it is counted and shown
            self.tally.error(f"{action} #{visitor.index}: {type(exc).__name__}: {exc}")
        if visitor.plan and visitor.session_id:
            self.ready.put((self.due(start, visitor.plan[0][0]), visitor.index, visitor))
        else:
            self.tally.count("visitors_done")

    def _post(
        self, path: str, body: dict[str, Any], visitor: Visitor, clock_headers: dict[str, str]
    ) -> httpx.Response:
        self.tally.count("requests")
        headers = {"User-Agent": visitor.user_agent, **clock_headers}
        response = self.http.post(f"{self.base}/{path}", json=body, headers=headers)
        if clock_headers and response.headers.get(clock.APPLIED_HEADER) == "simulated":
            self.tally.clock = "simulated"
        if response.status_code >= 400:
            self.tally.error(f"{path} #{visitor.index}: HTTP {response.status_code} {response.text[:120]}")
        return response

    def _session(self, visitor: Visitor, clock_headers: dict[str, str]) -> None:
        landing = not visitor.session_id
        body: dict[str, Any] = {"url": visitor.url, "referrer": visitor.referrer, "targets": []}
        if not landing:
            body.update(visitor=visitor.visitor_id, session=visitor.session_id, referrer=SITE + "/")
            body["url"] = SITE + self.rng.choice(PAGES)
        response = self._post("session", body, visitor, clock_headers)
        if response.status_code != 200:
            return
        answer = response.json()
        visitor.visitor_id, visitor.session_id = answer["visitor"], answer["session"]
        swaps = answer.get("swaps") or {}
        visitor.shown = next((s["number"] for s in swaps.values()), "")
        self.tally.answers.append((visitor, visitor.shown))

    def _touch(self, visitor: Visitor, clock_headers: dict[str, str]) -> None:
        ids = {"visitor": visitor.visitor_id, "session": visitor.session_id}
        self._post("touch", ids, visitor, clock_headers)

    def _call(self, visitor: Visitor, clock_headers: dict[str, str]) -> None:
        self.tally.count("calls_intended")
        timing = visitor.call_timings.pop(0) if visitor.call_timings else "during"
        credentials = self.site.credentials.get(visitor.shown)
        if credentials is None:
            # The page showed the business's own number: that call never reaches a tracking number.
            self.tally.count("calls_to_original")
            return
        scenario = CallScenario(
            to=visitor.shown,
            from_=visitor.caller,
            answer_after=self.rng.uniform(2, 8),
            talk=self.rng.uniform(10, 300),
            seed=self.rng.randrange(2**31),
        )
        # The carrier's requests for this call carry its simulated moment too.
        with httpx.Client(timeout=TIMEOUT_SECONDS, headers=clock_headers) as client:
            result = Simulator(self.base_url, credentials, client=client).place_call(scenario)
        if result.errors:
            self.tally.count("call_errors")
            self.tally.error(f"call #{visitor.index}: {'; '.join(result.errors)[:200]}")
        self.tally.placed.append(PlacedCall(result.call_sid, visitor.session_id, visitor.shown, timing))


def classify_call(truth: str, attribution: str, session_id: str | None, candidates: list[str]) -> str:
    """One verdict per call against the session the visitor really had."""
    if attribution == Attribution.AMBIGUOUS:
        return "ambiguous"
    if session_id is None:
        return "untracked"
    return "correct" if session_id == truth else "wrong"


def judge_calls(placed: list[PlacedCall], wait: float = 3.0) -> dict[str, Any]:
    """Reads the stored calls (waiting a little for the server to catch up) and counts the verdicts,
    overall and by when the caller called."""
    counts: dict[str, Any] = dict.fromkeys((*VERDICTS, "ambiguous_truth_in_candidates", "missing"), 0)
    by_timing = {timing: dict.fromkeys(VERDICTS, 0) for timing in TIMINGS}
    stored = _stored_calls({p.call_sid for p in placed if p.call_sid}, wait)
    for p in placed:
        call = stored.get(p.call_sid)
        if call is None:
            counts["missing"] += 1
            verdict = "untracked"
        else:
            session = call.visit_session.session_id if call.visit_session else None
            verdict = classify_call(p.truth_session, call.attribution, session, call.attribution_candidates)
            if verdict == "ambiguous" and p.truth_session in call.attribution_candidates:
                counts["ambiguous_truth_in_candidates"] += 1
        counts[verdict] += 1
        by_timing.setdefault(p.timing, dict.fromkeys(VERDICTS, 0))[verdict] += 1
    counts["by_timing"] = by_timing
    return counts


def _stored_calls(wanted: set[str], wait: float) -> dict[str, Call]:
    give_up = time.monotonic() + wait
    while True:
        calls = Call.objects.filter(carrier_call_id__in=wanted).select_related("visit_session")
        stored = {c.carrier_call_id: c for c in calls}
        if len(stored) == len(wanted) or time.monotonic() > give_up:
            return stored
        time.sleep(0.2)


def fallback_stats(site: SiteInfo, tally: Tally) -> dict[str, Any]:
    """Share of non-bot answers, for visits whose source has a pool, that showed no pool number."""
    people = [(v, shown) for v, shown in tally.answers if not v.bot]
    sources = dict(
        Session.objects.filter(session_id__in={v.session_id for v, _ in people}).values_list(
            "session_id", "source_id"
        )
    )
    pooled = [shown for v, shown in people if sources.get(v.session_id) in site.pooled_source_ids]
    missed = sum(1 for shown in pooled if shown not in site.pool_numbers)
    return {
        "answers": len(pooled),
        "fallback": missed,
        "rate": round(missed / len(pooled), 4) if pooled else 0.0,
    }


def run_traffic(
    base_url: str,
    site: SiteInfo,
    config: TrafficConfig,
    progress: Callable[[Tally], None] | None = None,
) -> dict[str, Any]:
    """Drives the traffic, judges the calls and returns the report (a JSON-ready dict)."""
    rng = random.Random(config.seed)
    visitors = plan_visitors(config, rng)
    started = time.monotonic()
    tally = Runner(base_url, site, config, random.Random(rng.random())).run(visitors, progress)
    elapsed = time.monotonic() - started
    time.sleep(SERVER_WRITE_BEHIND_SECONDS)  # the server writes page views behind (visits/buffer.py)
    verdicts = judge_calls(tally.placed)
    by_timing = verdicts.pop("by_timing")
    bot_answers = [shown for v, shown in tally.answers if v.bot]
    placed = len(tally.placed)
    return {
        "visitors": config.visitors,
        "bots": sum(1 for v in visitors if v.bot),
        "duration_seconds": round(elapsed, 2),
        "seed": config.seed,
        "time_scale": config.time_scale,
        "simulated_seconds": round(config.simulated_seconds, 1),
        "clock": tally.clock,
        "requests": tally.requests,
        "request_errors": tally.request_errors,
        "errors": tally.errors,
        "bots_with_pool_number": sum(1 for shown in bot_answers if shown in site.pool_numbers),
        "fallback": fallback_stats(site, tally),
        "calls": {
            "intended": tally.calls_intended,
            "placed": placed,
            "to_original_number": tally.calls_to_original,
            "errors": tally.call_errors,
        },
        "attribution": verdicts,
        "attribution_by_timing": by_timing,
        "correct_share": round(verdicts["correct"] / placed, 4) if placed else 0.0,
    }


def summary_lines(report: dict[str, Any]) -> list[str]:
    calls, verdicts, fallback = report["calls"], report["attribution"], report["fallback"]
    placed = calls["placed"] or 1
    rows = [
        ("visitors (bots)", f"{report['visitors']} ({report['bots']})"),
        ("requests / errors", f"{report['requests']} / {report['request_errors']}"),
        ("bots shown a pool number", str(report["bots_with_pool_number"])),
        ("fallback rate", f"{fallback['rate']:.1%} ({fallback['fallback']}/{fallback['answers']})"),
        ("calls placed", f"{calls['placed']} (+{calls['to_original_number']} to the original number)"),
    ]
    rows += [(f"  {v}", f"{verdicts[v]:>4}  {verdicts[v] / placed:6.1%}") for v in VERDICTS]
    rows.append(("  ambiguous, truth listed", str(verdicts["ambiguous_truth_in_candidates"])))
    for timing, counts in report["attribution_by_timing"].items():
        if any(counts.values()):
            rows.append((f"  {timing.replace('_', ' ')}", " ".join(f"{v} {counts[v]}" for v in VERDICTS)))
    if report["time_scale"] != 1:
        rows.insert(
            0, ("simulated time", f"{report['simulated_seconds'] / 3600:.1f} h ({report['clock']} clock)")
        )
    width = max(len(label) for label, _ in rows)
    return [f"{label:<{width}}  {value}" for label, value in rows]

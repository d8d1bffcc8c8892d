"""The traffic simulator (issue 3, point 8) against the real server and database, and its verdicts."""

from __future__ import annotations

import json
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from pytest_django.live_server_helper import LiveServer

from ringtrail.calls.models import Attribution
from ringtrail.dni import traffic
from ringtrail.dni.tests.support import Site, make_site
from ringtrail.numbers.models import TrackingNumber

REPORT_KEYS = {
    "visitors",
    "bots",
    "duration_seconds",
    "seed",
    "time_scale",
    "simulated_seconds",
    "clock",
    "requests",
    "request_errors",
    "errors",
    "bots_with_pool_number",
    "fallback",
    "calls",
    "attribution",
    "attribution_by_timing",
    "correct_share",
}


def grow_pool(site: Site, size: int) -> None:
    # make_site's two numbers would send most paid visitors to the fallback number (untracked calls);
    # this test is about attribution, so the pool is sized for the traffic.
    for i in range(size):
        TrackingNumber.objects.create(
            account=site.wired.account,
            number=f"+1415556{1000 + i:04d}",
            connection=site.wired.connection,
            pool=site.pool,
            source=site.paid,
            receiving_number=site.wired.receiving,
        )


@pytest.fixture
def site(settings: Any) -> Site:
    # The simulator is a single client IP; the per-IP limit would otherwise degrade it to the fallback.
    settings.DNI_RATE_PER_IP_PER_MINUTE = 10**9
    built = make_site()
    grow_pool(built, 30)
    return built


@pytest.mark.django_db(transaction=True)
def test_every_call_is_judged_and_none_is_wrong(live_server: LiveServer, site: Site) -> None:
    config = traffic.TrafficConfig(visitors=20, duration=3.0, call_rate=1.0, seed=7)
    report = traffic.run_traffic(live_server.url, traffic.site_info(site.wired.account), config)

    assert set(report) == REPORT_KEYS
    assert report["request_errors"] == 0, report["errors"]
    assert report["bots_with_pool_number"] == 0
    calls, verdicts = report["calls"], report["attribution"]
    assert calls["errors"] == 0
    assert calls["placed"] + calls["to_original_number"] == calls["intended"] > 0
    assert calls["placed"] > 0
    assert sum(verdicts[v] for v in traffic.VERDICTS) == calls["placed"]
    assert verdicts["missing"] == 0
    assert verdicts["wrong"] == 0
    assert verdicts["correct"] >= 0.8 * calls["placed"]
    assert report["fallback"]["rate"] == 0.0


@pytest.mark.django_db(transaction=True)
def test_the_command_prints_one_json_document(live_server: LiveServer, site: Site) -> None:
    out = StringIO()
    call_command(
        "simulate",
        "traffic",
        "--visitors=6",
        "--duration=1",
        "--seed=3",
        "--json",
        f"--base-url={live_server.url}",
        f"--account={site.wired.account.slug}",
        stdout=out,
    )
    report = json.loads(out.getvalue())
    assert set(report) == REPORT_KEYS
    assert report["visitors"] == 6
    assert report["request_errors"] == 0, report["errors"]


@pytest.mark.django_db(transaction=True)
def test_compressed_hours_late_callers_are_recovered_by_caller_history_or_flagged(
    live_server: LiveServer, site: Site, settings: Any
) -> None:
    settings.SIMULATED_CLOCK = True
    # 4 real seconds stand for 8 hours: leases (15 minutes) end long before the late calls.
    config = traffic.TrafficConfig(visitors=40, duration=4.0, call_rate=1.0, seed=11, time_scale=7200)
    report = traffic.run_traffic(live_server.url, traffic.site_info(site.wired.account), config)

    assert report["clock"] == "simulated" and report["request_errors"] == 0, report["errors"]
    timing = report["attribution_by_timing"]
    late = timing["hours_later"]
    assert sum(late.values()) > 0, timing  # the seed plans some hours-late callers
    assert late["wrong"] == 0
    # Repeat callers are recovered by caller history; first-time late callers are never passed
    # off as exact: they are flagged ambiguous (with the last holders as candidates) or untracked.
    from ringtrail.calls.models import Call

    late_calls = Call.objects.filter(attribution=Attribution.CALLER_HISTORY)
    assert late_calls.exists() == (late["correct"] > 0)
    assert timing["during"]["wrong"] == 0 and timing["during"]["correct"] > 0
    assert report["calls"]["placed"] > 0
    calls = Call.objects.order_by("start_time")
    assert (calls.last().start_time - calls.first().start_time).total_seconds() > 3600  # hours apart


def test_plans_are_reproducible_and_land_first() -> None:
    config = traffic.TrafficConfig(visitors=50, duration=10.0, call_rate=1.0, seed=1)
    first = traffic.plan_visitors(config, traffic.random.Random(1))
    again = traffic.plan_visitors(config, traffic.random.Random(1))
    assert [v.plan for v in first] == [v.plan for v in again]
    assert all(v.plan[0][1] == "land" for v in first)
    assert all(t <= config.duration for v in first for t, _ in v.plan)
    assert len({v.caller for v in first}) == 50
    assert not any(action == "call" for v in first if v.bot for _, action in v.plan)


@pytest.mark.parametrize(
    ("attribution", "session", "verdict"),
    [
        (Attribution.EXACT, "s_truth", "correct"),
        (Attribution.CALLER_HISTORY, "s_truth", "correct"),
        (Attribution.EXACT, "s_other", "wrong"),
        (Attribution.AMBIGUOUS, None, "ambiguous"),
        (Attribution.OVERFLOW, None, "untracked"),
        (Attribution.STATIC, None, "untracked"),
        (Attribution.NONE, None, "untracked"),
    ],
)
def test_classify_call(attribution: str, session: str | None, verdict: str) -> None:
    assert traffic.classify_call("s_truth", attribution, session, ["s_truth"]) == verdict

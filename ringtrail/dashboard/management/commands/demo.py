"""`ringtrail demo`: seed the demo account, print how to log in, then serve."""

from __future__ import annotations

import json
import os
import threading
import time
from argparse import ArgumentParser
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.core.signals import setting_changed

from ringtrail.dashboard.demo import DEMO_NUMBERS, seed_demo

if TYPE_CHECKING:
    from ringtrail.carriers.simulator import RestStandIn


def _place_sample_calls(base_url: str) -> None:
    """Give a fresh demo a few calls to look at, placed through the simulator like real ones."""
    import httpx

    from ringtrail.calls.models import Call
    from ringtrail.carriers.simulator import CallScenario, Credentials, Simulator
    from ringtrail.dashboard.demo import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN

    for _ in range(50):
        try:
            httpx.get(f"{base_url}/healthz", timeout=1)
            break
        except httpx.HTTPError:
            time.sleep(0.2)
    if Call.objects.filter(account__slug="demo").exists():
        return
    simulator = Simulator(base_url, Credentials("twilio", DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN))
    callers = ("+12125550143", "+13125550178", "+15125550111", "+12065550190")
    scenarios = [
        CallScenario(to=DEMO_NUMBERS[0][0], from_=callers[0], answer_after=4, talk=185),
        # The billboard number runs the demo IVR: this caller says "emergency"; the van answers.
        CallScenario(
            to=DEMO_NUMBERS[1][0], from_=callers[1], answer_after=7, talk=64, inputs=("say:emergency",)
        ),
        CallScenario(to=DEMO_NUMBERS[2][0], from_=callers[2], outcome="no-answer", voicemail_seconds=21),
        CallScenario(to=DEMO_NUMBERS[0][0], from_=callers[3], outcome="busy", voicemail_seconds=0),
        CallScenario(to=DEMO_NUMBERS[0][0], from_=callers[0], answer_after=2, talk=42),
    ]
    for scenario in scenarios:
        simulator.place_call(scenario)
    _sample_call_back(base_url)
    _living_traffic(base_url)


def _sample_call_back(base_url: str) -> None:
    """One visitor from Google Ads fills in the sample page's call-back form, as a browser would."""
    import httpx

    from ringtrail.accounts.models import Account

    key = Account.objects.get(slug="demo").public_key
    page = f"{base_url}/demo/site/?gclid=demo-callback&utm_source=google&utm_campaign=burst-pipes"
    browser = {"User-Agent": "Mozilla/5.0 (Ringtrail demo) AppleWebKit/537.36 Chrome/130.0 Safari/537.36"}
    visit = {"url": page, "referrer": "https://www.google.com/", "targets": ["(415) 555-0199"]}
    with httpx.Client(base_url=f"{base_url}/dni/v1/{key}", headers=browser, timeout=10) as client:
        shown = client.post("/session", content=json.dumps(visit)).json()
        form = {"phone": "+16175550123", "name": "Web visitor", "consent": True, "page": page}
        form |= {"visitor": shown.get("visitor"), "session": shown.get("session")}
        client.post("/callback", content=json.dumps(form))


def _living_traffic(base_url: str) -> None:
    """A dozen website visitors through the real DNI endpoints, some of whom call: the demo's
    calls then show visits, landing pages and click ids."""
    from ringtrail.accounts.models import Account
    from ringtrail.dni import traffic

    account = Account.objects.get(slug="demo")
    # 8 real seconds stand for the last 4 hours (the demo server runs with the simulated clock), so
    # some callers call hours after their visit, as real ones do.
    config = traffic.TrafficConfig(visitors=16, duration=8.0, call_rate=0.5, seed=2026, time_scale=1800)
    traffic.run_traffic(base_url, traffic.site_info(account), config)


def _carrier_api_stand_in(base_url: str) -> RestStandIn:
    """The carrier's Calls API for call-backs, in this process: the simulator's stand-in rings the
    demo desk (which presses 1) and the visitor (who answers), and calls the demo server back.

    No ``ringtrail worker`` runs in the demo, so call-back tasks run inside the web request right after
    the commit (django-tasks' immediate backend); placing the call is one local HTTP round trip."""
    import httpx

    from ringtrail.carriers.models import CarrierConnection
    from ringtrail.carriers.simulator import Callee, Credentials, RestStandIn
    from ringtrail.dashboard.demo import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN

    credentials = Credentials("twilio", DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN)
    stand_in = RestStandIn(base_url, credentials, default=Callee(answer_after=4, talk=75), inputs=("1",))
    CarrierConnection.objects.filter(kind="twilio", account_sid=DEMO_ACCOUNT_SID).update(
        api_base_url=stand_in.url
    )
    # The server's workers read the environment (or inherit these settings), whichever way they start.
    os.environ.setdefault("RINGTRAIL_PUBLIC_URL", base_url)
    os.environ["TASKS_BACKEND"] = "django_tasks.backends.immediate.ImmediateBackend"
    settings.PUBLIC_URL = settings.PUBLIC_URL or base_url
    settings.TASKS = {"default": {"BACKEND": os.environ["TASKS_BACKEND"]}}
    # The system checks already built the task backends from the old setting; forked workers would
    # inherit those, so rebuild them the way django-tasks does when the setting changes.
    setting_changed.send(sender=None, setting="TASKS", value=settings.TASKS, enter=True)
    # Granian forks its workers after this, while the sample-call thread may be inside httpx's lazy
    # imports; a worker forked then would wait forever on that import's lock the first time it places
    # a call. Importing them here, before any thread starts, keeps the workers' imports lock-free.
    httpx.get(stand_in.url + "/", timeout=5)
    return stand_in


def _simulate_the_clock() -> None:
    """Let the demo's own server honour the traffic simulator's clock (lib/clock.py); the server's
    workers read the environment or inherit these settings, whichever way they start."""
    if settings.PRODUCTION:
        return
    os.environ["RINGTRAIL_SIMULATED_CLOCK"] = "true"
    settings.SIMULATED_CLOCK = True
    setting_changed.send(sender=None, setting="SIMULATED_CLOCK", value=True, enter=True)


class Command(BaseCommand):
    help = "Seed the demo account (idempotent), print the login, and serve until interrupted."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--no-serve", action="store_true", help="seed and print, then exit")
        parser.add_argument("--no-sample-calls", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        demo = seed_demo()
        base_url = f"http://{options['host']}:{options['port']}"
        self.stdout.write(
            "\n".join(
                [
                    "",
                    f"  Ringtrail demo — account {demo.account.name!r}",
                    f"  Log in:    {base_url}/login/",
                    f"  Email:     {demo.email}",
                    f"  Password:  {demo.password}",
                    f"  API docs:  {base_url}/api/v1/docs",
                    f"  DNI:       {base_url}/demo/site/?gclid=test  (a sample customer page)",
                    "  Call-back: the sample page's form; the simulator's Calls API plays both phones",
                    f"  Try:       ringtrail simulate call --to {DEMO_NUMBERS[0][0]} --from +12125550143",
                    "",
                ]
            )
        )
        if options["no_serve"]:
            return
        stand_in = _carrier_api_stand_in(base_url)  # lives (serving) until the demo ends
        self.stdout.write(f"  Carrier Calls API stand-in for call-backs: {stand_in.url}")
        if not options["no_sample_calls"]:
            _simulate_the_clock()
            threading.Thread(target=_place_sample_calls, args=(base_url,), daemon=True).start()
        call_command("serve", host=options["host"], port=options["port"])

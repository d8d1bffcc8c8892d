"""End to end in real headless Chromium (issue 3, point 9): a customer page on its own origin loads the
tracking script from the real server, shows a pool number in the page's own format, and a call placed
with the carrier simulator to that number is attributed to the browser's session with its utm and gclid."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from pytest_django.live_server_helper import LiveServer

from ringtrail.calls.models import Call
from ringtrail.carriers.simulator import CallScenario, Credentials, Simulator
from ringtrail.dni.tests.support import BROWSER, make_site

pytestmark = pytest.mark.django_db(transaction=True)
CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>Acme</title>
<script async src="{script}"></script></head>
<body><header>Call us: <a id="call" href="tel:+14155550199">(415) 555-0199</a></header></body></html>"""


class CustomerSite:
    """The customer's website: another origin than Ringtrail, as in production."""

    def __init__(self, script_url: str) -> None:
        page = PAGE.format(script=script_url).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    # Playwright's sync API keeps an event loop on this thread; the test's ORM calls are still plain
    # synchronous code, which Django otherwise refuses while a loop is running.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    sync_api = pytest.importorskip("playwright.sync_api")
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield chromium
        chromium.close()


def test_shown_number_rings_and_the_call_knows_the_visit(live_server: LiveServer, browser: Any) -> None:
    try:
        _shown_number_rings_and_the_call_knows_the_visit(live_server, browser)
    finally:
        # With Playwright's sync API running, this body gets a Django connection of its own (a
        # second wrapper of "default" in the main thread), which pytest-django's teardown never
        # sees: left open, it kept PostgreSQL from dropping the test database at the end of the run.
        connections.close_all()


def _shown_number_rings_and_the_call_knows_the_visit(live_server: LiveServer, browser: Any) -> None:
    site = make_site()
    customer = CustomerSite(f"{live_server.url}/t/{site.key}.js")
    try:
        # Headless Chromium announces itself as HeadlessChrome, which the bot filter rightly refuses.
        page = browser.new_page(user_agent=BROWSER)
        page.goto(f"{customer.url}/landing?utm_source=google&utm_campaign=spring&gclid=GCLID-E2E")
        page.wait_for_function(
            "document.getElementById('call').textContent !== '(415) 555-0199'", timeout=10_000
        )
        shown = page.inner_text("#call")
        href = page.get_attribute("#call", "href")
        state = page.evaluate("window.Ringtrail.state()")
    finally:
        customer.close()
    pool_numbers = {n.number for n in site.numbers}
    digits = "".join(ch for ch in shown if ch.isdigit())
    assert shown.startswith("(415) 555-") and f"+1{digits}" in pool_numbers  # same format, a pool number
    assert href == f"tel:+1{digits}"
    simulator = Simulator(
        live_server.url, Credentials("twilio", site.wired.connection.account_sid, site.wired.auth_token)
    )
    result = simulator.place_call(
        CallScenario(to=f"+1{digits}", from_="+12125550143", answer_after=2, talk=30)
    )
    assert result.errors == [] and result.outcome == "answered"
    call = Call.objects.get(carrier_call_id=result.call_sid)
    assert call.attribution == "exact" and call.visit_session is not None
    assert call.visit_session.session_id == state["session"]
    assert call.touch["click_ids"] == {"gclid": "GCLID-E2E"}
    assert call.touch["utm"] == {"utm_source": "google", "utm_campaign": "spring"}

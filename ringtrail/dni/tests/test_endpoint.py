"""The public DNI endpoints through real URL routing and database."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from django.test import Client

from ringtrail.dni.models import Lease
from ringtrail.dni.session import drop_counts
from ringtrail.dni.tests.support import BROWSER, TARGET, Site, post, visit
from ringtrail.testing_wsgi import FRONTS, front_client
from ringtrail.visits.models import PageView, Session, Visitor

pytestmark = pytest.mark.django_db


@pytest.fixture(params=FRONTS)
def client(request: pytest.FixtureRequest) -> Any:
    return front_client(request.param)


def test_paid_visit_gets_a_pool_number_and_its_touch_is_recorded(client: Client, site: Site) -> None:
    response = post(client, site, visit(ga_client_id="123.456", ga_session_id="1700000000"))
    assert response.status_code == 200
    body = response.json()
    swap = body["swaps"][TARGET]
    assert swap["number"] in {n.number for n in site.numbers} and swap["formatted"].startswith("(415) 555-")
    assert body["ttl"] == 900 and body["visitor"].startswith("v_") and body["session"].startswith("s_")
    session = Session.objects.get(session_id=body["session"])
    assert (session.source, session.click_ids, session.utm["utm_campaign"]) == (
        site.paid,
        {"gclid": "G1"},
        "spring",
    )
    assert session.ga_client_id == "123.456" and not session.overflow
    assert Visitor.objects.get(visitor_id=body["visitor"]).first_touch["click_ids"] == {"gclid": "G1"}


def test_same_visitor_keeps_its_number_and_counts_page_views(client: Client, site: Site) -> None:
    first = post(client, site, visit()).json()
    again = post(
        client, site, visit("https://acme.test/pricing", visitor=first["visitor"], session=first["session"])
    )
    assert again.json()["swaps"] == first["swaps"]
    assert Session.objects.get(session_id=first["session"]).page_views == 2
    assert PageView.objects.count() == 2


def test_first_touch_sticks_for_a_returning_organic_visit(client: Client, site: Site) -> None:
    first = post(client, site, visit()).json()
    organic = {
        "url": "https://acme.test/",
        "referrer": "https://duckduckgo.com/",
        "visitor": first["visitor"],
    }
    assert post(client, site, organic).json()["swaps"] == first["swaps"]


def test_exhausted_pool_gives_the_fallback_and_flags_overflow(client: Client, site: Site) -> None:
    for _ in range(2):
        post(client, site, visit())
    third = post(client, site, visit()).json()
    assert third["swaps"][TARGET]["number"] == site.wired.tracking.number
    assert Session.objects.get(session_id=third["session"]).overflow


def test_unmatched_visit_and_bots_keep_the_original_number(client: Client, site: Site) -> None:
    plain = post(client, site, {"url": "https://acme.test/", "referrer": ""}).json()
    assert plain["swaps"] == {}
    bot = post(client, site, visit(), HTTP_USER_AGENT="Mozilla/5.0 (compatible; Googlebot/2.1)").json()
    headless = post(client, site, visit(), HTTP_USER_AGENT="Mozilla/5.0 HeadlessChrome/156.0").json()
    assert bot["swaps"] == headless["swaps"] == {} and not Lease.objects.exists()


def test_heartbeat_extends_the_lease(client: Client, site: Site) -> None:
    first = post(client, site, visit()).json()
    before = Lease.objects.get().ends_at
    response = post(client, site, {"visitor": first["visitor"], "session": first["session"]}, path="touch")
    assert response.status_code == 204 and Lease.objects.get().ends_at >= before


def test_amp_answers_phone_number(client: Client, site: Site) -> None:
    response = client.get(
        f"/dni/v1/{site.key}/amp",
        {"client": "amp-abc123", "url": "https://acme.test/amp?gclid=1"},
        HTTP_USER_AGENT=BROWSER,
    )
    assert set(response.json()) == {"phoneNumber", "formattedPhoneNumber"}


def test_tracking_script_inlines_config(client: Client, site: Site) -> None:
    response = client.get(f"/t/{site.key}.js")
    assert response.status_code == 200 and response["Cache-Control"] == "public, max-age=60"
    assert response["Content-Type"].startswith("application/javascript")
    text = response.content.decode()
    assert "__RINGTRAIL_CONFIG__" not in text and f"/dni/v1/{site.key}" in text and TARGET in text


@pytest.mark.parametrize(
    "body, status, reason",
    [
        (b"{not json", 400, "not JSON"),
        (b"[]", 400, "object"),
        ({"url": "https://a.test/", "colour": "red"}, 400, "colour"),
        ({"url": "javascript:alert(1)"}, 400, "url"),
        ({"url": "https://a.test/" + "x" * 3000}, 400, "url"),
        ({"url": "https://a.test/", "visitor": "<script>"}, 400, "visitor"),
        ({"url": "https://a.test/", "targets": ["1"] * 50}, 400, "targets"),
        ({"url": "https://a.test/", "ga_client_id": "GA1<b>"}, 400, "ga_client_id"),
        (b"\xff\xfe", 400, "not JSON"),
        (b"x" * 20_000, 413, "limit"),
    ],
)
def test_hostile_bodies_get_a_clear_4xx(
    client: Client, site: Site, body: Any, status: int, reason: str
) -> None:
    response = post(client, site, body)
    assert response.status_code == status and reason in response.content.decode()
    assert not Session.objects.exists()


def test_unknown_key_is_404_and_disallowed_origin_403(client: Client, site: Site) -> None:
    assert client.post("/dni/v1/pk_nope/session", b"{}", content_type="text/plain").status_code == 404
    assert client.get("/t/pk_nope.js").status_code == 404
    site.wired.account.allowed_origins = "https://acme.test"
    site.wired.account.save()
    assert post(client, site, visit(), HTTP_ORIGIN="https://evil.test").status_code == 403
    ok = post(client, site, visit(), HTTP_ORIGIN="https://acme.test")
    assert ok.status_code == 200 and ok["Access-Control-Allow-Origin"] == "https://acme.test"


def test_a_flood_degrades_to_the_fallback_never_an_error(client: Client, site: Site, settings: Any) -> None:
    settings.DNI_RATE_PER_IP_PER_MINUTE = 3
    answers = [post(client, site, visit()) for _ in range(6)]
    assert all(a.status_code == 200 for a in answers)
    assert answers[-1].json()["swaps"][TARGET]["number"] == site.wired.tracking.number
    assert Lease.objects.count() <= 2


@pytest.mark.parametrize("with_redis", [False, True], ids=["cache", "redis"])
def test_every_drop_is_counted_by_reason(client: Client, site: Site, settings: Any, with_redis: bool) -> None:
    settings.REDIS_URL = (os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0") if with_redis else ""
    before = drop_counts(site.wired.account)
    post(client, site, visit(), HTTP_USER_AGENT="Googlebot/2.1 (+http://www.google.com/bot.html)")
    for _ in range(3):  # the pool holds two numbers
        post(client, site, visit())
    after = drop_counts(site.wired.account)
    assert {reason: after[reason] - before[reason] for reason in after} == {
        "bot": 1,
        "rate_limited": 0,
        "no_source": 0,
        "overflow": 1,
    }


def test_new_ids_sort_in_the_order_they_were_made_in_the_database_too(client: Client, site: Site) -> None:
    # Time-ordered ids keep index inserts at the end of each index (lib/random_ids.ordered_token).
    # The database compares them with its own collation (PostgreSQL's locale), not Python's.
    made = []
    for _ in range(5):
        made.append(post(client, site, visit()).json())
        time.sleep(0.002)  # the next millisecond at least
    visitors = list(Visitor.objects.order_by("visitor_id").values_list("visitor_id", flat=True))
    sessions = list(Session.objects.order_by("session_id").values_list("session_id", flat=True))
    assert visitors == [body["visitor"] for body in made]
    assert sessions == [body["session"] for body in made]

"""A call to the number a visitor was shown is attributed to that visit (issue 3, point 6)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from ringtrail.calls.models import Call
from ringtrail.carriers.twilio.tests.helpers import signed_post, voice_params
from ringtrail.dni.models import Lease
from ringtrail.dni.tests.support import TARGET, Site, post, visit
from ringtrail.testing import WiredAccount
from ringtrail.visits.actions import first_touch_of_session, forget_local_first_sources
from ringtrail.visits.models import Session, Visitor

pytestmark = pytest.mark.django_db


def call(client: Client, site: Site, to: str, sid: str, caller: str = "+12125550143") -> Call:
    wired: WiredAccount = site.wired
    response = signed_post(
        client, wired, "/carriers/twilio/voice", voice_params(wired, sid, To=to, From=caller)
    )
    assert response.status_code == 200
    return Call.objects.get(carrier_call_id=sid)


def test_call_during_the_visit_is_exact_with_the_touch(client: Client, site: Site) -> None:
    shown = post(client, site, visit(ga_client_id="123.456")).json()
    number = shown["swaps"][TARGET]["number"]
    result = call(client, site, number, "CA" + "a" * 32)
    assert result.attribution == "exact" and result.visit_session is not None
    assert result.visit_session.session_id == shown["session"]
    assert result.touch["click_ids"] == {"gclid": "G1"} and result.touch["utm"]["utm_campaign"] == "spring"
    assert result.touch["ga_client_id"] == "123.456" and result.first_touch["click_ids"] == {"gclid": "G1"}
    assert result.source == site.paid


def test_a_first_touch_older_than_the_cookie_window_gives_way(client: Client, site: Site) -> None:
    first = post(client, site, visit()).json()
    # Forty days pass (the window is 30): the first visit's rows age, its lease is long over.
    aged = timezone.now() - dt.timedelta(days=40)
    Visitor.objects.filter(visitor_id=first["visitor"]).update(first_seen_at=aged)
    Session.objects.filter(session_id=first["session"]).update(started_at=aged, last_seen_at=aged)
    Lease.objects.update(ends_at=aged)
    forget_local_first_sources()
    again = visit("https://acme.test/?gclid=G2&utm_campaign=autumn", visitor=first["visitor"])
    shown = post(client, site, again).json()
    result = call(client, site, shown["swaps"][TARGET]["number"], "CA" + "e" * 32)
    assert result.visit_session is not None and result.visit_session.session_id == shown["session"]
    assert result.first_touch["click_ids"] == {"gclid": "G2"}
    assert result.first_touch["utm"] == {"utm_campaign": "autumn"}


def test_late_repeat_caller_is_found_by_caller_history(client: Client, site: Site) -> None:
    shown = post(client, site, visit()).json()
    number = shown["swaps"][TARGET]["number"]
    call(client, site, number, "CA" + "b" * 32)
    Lease.objects.update(ends_at=timezone.now() - dt.timedelta(hours=3))
    later = call(client, site, number, "CA" + "c" * 32)
    assert later.attribution == "caller_history" and later.visit_session is not None
    assert later.visit_session.session_id == shown["session"]


def test_late_unknown_caller_is_ambiguous_with_the_last_holders(client: Client, site: Site) -> None:
    shown = post(client, site, visit()).json()
    Lease.objects.update(ends_at=timezone.now() - dt.timedelta(hours=3))
    late = call(client, site, shown["swaps"][TARGET]["number"], "CA" + "d" * 32, caller="+13125550100")
    assert late.attribution == "ambiguous" and late.attribution_candidates == [shown["session"]]
    assert late.visit_session is None


def test_fallback_number_is_overflow_and_static_number_is_static(client: Client, site: Site) -> None:
    assert call(client, site, site.wired.tracking.number, "CA" + "e" * 32).attribution == "overflow"
    site.pool.fallback_number = None
    site.pool.save()
    assert call(client, site, site.wired.tracking.number, "CA" + "f" * 32).attribution == "static"


def test_api_and_detail_page_show_the_visit_escaped(client: Client, site: Site) -> None:
    from ringtrail.accounts.actions import create_api_key
    from ringtrail.testing import member

    evil = "<script>alert(1)</script>"
    shown = post(client, site, visit(f"https://acme.test/?gclid=G1&utm_campaign={evil}")).json()
    placed = call(client, site, shown["swaps"][TARGET]["number"], "CA" + "9" * 32)
    key = create_api_key(site.wired.account, "k", "read_only", None)[1]
    body = client.get(f"/api/v1/calls/{placed.pk}", HTTP_AUTHORIZATION=f"Bearer {key}").json()
    assert (body["attribution"], body["gclid"], body["utm_campaign"]) == ("exact", "G1", evil)
    assert (
        body["landing_page_url"].startswith("https://acme.test/")
        and body["visit_session"] == shown["session"]
    )
    client.force_login(member(site.wired.account).user)
    html = client.get(f"/calls/{placed.pk}/").content.decode()
    assert evil not in html and "&lt;script&gt;" in html and "Exact" in html


def test_a_session_read_as_a_first_touch_has_the_recorded_shape(client: Client, site: Site) -> None:
    shown = post(client, site, visit(ga_client_id="123.456")).json()
    recorded = Visitor.objects.get(visitor_id=shown["visitor"]).first_touch
    assert first_touch_of_session(Session.objects.get(session_id=shown["session"])) == recorded

"""Call pages: the call log with its filters, and one call's detail."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import pytest
from django.test import Client
from django.urls import reverse

from ringtrail.accounts.models import Membership, Role
from ringtrail.calls.models import Call, CallEvent, Outcome
from ringtrail.numbers.models import TrackingNumber
from ringtrail.sources.models import Source
from ringtrail.testing import WiredAccount

pytestmark = pytest.mark.django_db

MakeCall = Callable[..., Call]

SCRIPT = "<script>alert(1)</script>"
IMG = "<img src=x onerror=alert(1)>"


def at(day: int, hour: int = 12) -> dt.datetime:
    return dt.datetime(2025, 3, day, hour, 0, tzinfo=dt.UTC)


def names_on_log(client: Client, **params: str) -> set[str]:
    response = client.get(reverse("calls:log"), params)
    assert response.status_code == 200
    return {row.call.customer_name for row in response.context["rows"]}


# --- access --------------------------------------------------------------------------------------


def test_anonymous_log_and_detail_redirect_to_login(
    client: Client, acme: WiredAccount, make_call: MakeCall
) -> None:
    call = make_call(acme)
    for url in (reverse("calls:log"), reverse("calls:detail", args=[call.pk])):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={url}"


def test_another_accounts_member_gets_404_for_our_call(
    rival_owner_client: Client, acme: WiredAccount, make_call: MakeCall
) -> None:
    call = make_call(acme, customer_name="Acme's caller")
    response = rival_owner_client.get(reverse("calls:detail", args=[call.pk]))
    assert response.status_code == 404
    assert "Acme&#x27;s caller" not in response.content.decode()


def test_log_shows_only_this_accounts_calls(
    acme_owner_client: Client, acme: WiredAccount, rival: WiredAccount, make_call: MakeCall
) -> None:
    make_call(acme, customer_name="Ours")
    make_call(rival, customer_name="Theirs")
    assert names_on_log(acme_owner_client) == {"Ours"}


@pytest.mark.parametrize("role", [Role.OWNER, Role.ADMIN, Role.ANALYST, Role.READ_ONLY])
def test_every_role_can_read_calls(
    role: str,
    acme: WiredAccount,
    make_call: MakeCall,
    make_member: Callable[..., Membership],
    client_for_member: Callable[[Membership], Client],
) -> None:
    call = make_call(acme)
    client = client_for_member(make_member(acme.account, role))
    assert client.get(reverse("calls:log")).status_code == 200
    assert client.get(reverse("calls:detail", args=[call.pk])).status_code == 200


def test_unknown_call_is_404(acme_owner_client: Client) -> None:
    assert acme_owner_client.get(reverse("calls:detail", args=[999999])).status_code == 404


# --- the log -------------------------------------------------------------------------------------


def test_log_row_contents(acme_owner_client: Client, acme: WiredAccount, make_call: MakeCall) -> None:
    call = make_call(
        acme,
        customer_name="Dana Caller",
        customer_city="Brooklyn",
        customer_state="NY",
        customer_country="US",
        talk_seconds=125,
        first_call=False,
        recording_urls=["https://api.example.com/rec.wav"],
    )
    page = acme_owner_client.get(reverse("calls:log")).content.decode()
    assert "Caller area" in page
    assert "location" not in page.lower()
    assert "Brooklyn, NY, US" in page
    assert "2:05" in page
    assert "Repeat" in page
    assert "Recorded" in page
    assert "Google Ads / cpc" in page
    assert call.tracking_phone_number in page
    assert "Answered" in page
    assert f'href="{reverse("calls:detail", args=[call.pk])}"' in page


def test_log_filters_each_narrow_the_list(
    acme_owner_client: Client, acme: WiredAccount, make_call: MakeCall
) -> None:
    billboard = Source.objects.create(account=acme.account, name="Billboard", medium="offline")
    second = TrackingNumber.objects.create(
        account=acme.account, number="+14155559999", connection=acme.connection, source=billboard
    )
    make_call(acme, customer_name="Early", start_time=at(1), customer_phone_number="+13105550001")
    make_call(
        acme,
        customer_name="Billboard call",
        start_time=at(10),
        source=billboard,
        tracking_number=second,
        tracking_phone_number=second.number,
        customer_phone_number="+13105550002",
    )
    make_call(
        acme,
        customer_name="Missed one",
        start_time=at(20),
        outcome=Outcome.MISSED,
        customer_phone_number="+16175550003",
    )
    everyone = {"Early", "Billboard call", "Missed one"}
    client = acme_owner_client

    assert names_on_log(client) == everyone
    assert names_on_log(client, start_date="2025-03-05") == {"Billboard call", "Missed one"}
    assert names_on_log(client, end_date="2025-03-05") == {"Early"}
    assert names_on_log(client, start_date="2025-03-05", end_date="2025-03-15") == {"Billboard call"}
    assert names_on_log(client, source=str(billboard.pk)) == {"Billboard call"}
    assert names_on_log(client, source=str(acme.source.pk)) == {"Early", "Missed one"}
    assert names_on_log(client, tracking_number=str(second.pk)) == {"Billboard call"}
    assert names_on_log(client, outcome=Outcome.MISSED) == {"Missed one"}
    assert names_on_log(client, caller="617") == {"Missed one"}
    assert names_on_log(client, caller="billboard") == {"Billboard call"}
    assert names_on_log(client, caller="early", outcome=Outcome.ANSWERED) == {"Early"}


@pytest.mark.parametrize(
    "params",
    [
        {"start_date": "not-a-date"},
        {"end_date": "2025-13-45"},
        {"start_date": "99999-01-01"},
        {"source": "abc"},
        {"source": "99999999999999999999999"},
        {"tracking_number": "-1"},
        {"outcome": "exploded"},
        {"caller": "x" * 500},
        {"page": "zzz"},
        {"page": "-3"},
        {"page": "100000"},
    ],
)
def test_bad_filter_values_are_ignored_not_fatal(
    params: dict[str, str], acme_owner_client: Client, acme: WiredAccount, make_call: MakeCall
) -> None:
    make_call(acme, customer_name="Still here")
    response = acme_owner_client.get(reverse("calls:log"), params)
    assert response.status_code == 200
    assert {row.call.customer_name for row in response.context["rows"]} == {"Still here"}
    if "page" not in params:
        assert "Ignored the" in response.content.decode()


def test_bad_filter_is_ignored_but_good_ones_still_apply(
    acme_owner_client: Client, acme: WiredAccount, make_call: MakeCall
) -> None:
    make_call(acme, customer_name="Answered", outcome=Outcome.ANSWERED)
    make_call(acme, customer_name="Busy", outcome=Outcome.BUSY)
    assert names_on_log(acme_owner_client, start_date="garbage", outcome=Outcome.BUSY) == {"Busy"}


def test_another_accounts_source_is_not_a_usable_filter(
    acme_owner_client: Client, acme: WiredAccount, rival: WiredAccount, make_call: MakeCall
) -> None:
    make_call(acme, customer_name="Ours")
    response = acme_owner_client.get(reverse("calls:log"), {"source": str(rival.source.pk)})
    assert response.status_code == 200
    assert "Ignored the" in response.content.decode()
    # The select offers only this account's sources and numbers.
    page = response.content.decode()
    assert f'value="{acme.source.pk}"' in page
    assert f'<option value="{rival.tracking.pk}"' not in page


def test_log_paginates_by_50_and_keeps_filters(
    acme_owner_client: Client, acme: WiredAccount, make_call: MakeCall
) -> None:
    for i in range(55):
        make_call(
            acme, customer_name=f"Busy {i}", outcome=Outcome.BUSY, start_time=at(1) + dt.timedelta(minutes=i)
        )
    make_call(acme, customer_name="Answered", outcome=Outcome.ANSWERED)

    first = acme_owner_client.get(reverse("calls:log"), {"outcome": Outcome.BUSY})
    assert len(first.context["rows"]) == 50
    page = first.content.decode()
    assert "?outcome=busy&amp;page=2" in page

    second = acme_owner_client.get(reverse("calls:log"), {"outcome": Outcome.BUSY, "page": "2"})
    names = {row.call.customer_name for row in second.context["rows"]}
    assert len(names) == 5
    assert all(name.startswith("Busy") for name in names)


# --- the detail page -----------------------------------------------------------------------------


def test_detail_shows_the_whole_call(
    acme_owner_client: Client, acme: WiredAccount, make_call: MakeCall
) -> None:
    call = make_call(
        acme,
        customer_name="Pat Jones",
        customer_city="Austin",
        customer_state="TX",
        customer_zip="78701",
        customer_country="US",
        customer_time_zone="America/Chicago",
        caller_area_origin="carrier",
        ring_seconds=7,
        talk_seconds=61,
        first_call=True,
        recording_urls=["https://api.example.com/rec/RE1.wav", "https://api.example.com/rec/RE2.wav"],
        voicemail_url="https://api.example.com/vm/1.wav",
        routing_note="forwarded to front desk",
        raw_payload={"CallSid": "CA1", "From": "+12125550123"},
        start_time=at(3, 9),
    )
    CallEvent.objects.create(
        carrier="twilio",
        carrier_call_id=call.carrier_call_id,
        call=call,
        kind="status",
        sequence=2,
        status="completed",
        occurred_at=at(3, 9),
    )
    CallEvent.objects.create(
        carrier="twilio",
        carrier_call_id=call.carrier_call_id,
        call=call,
        kind="status",
        sequence=1,
        status="ringing",
    )
    response = acme_owner_client.get(reverse("calls:detail", args=[call.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "Pat Jones",
        "Austin, TX",
        "78701",
        "America/Chicago",
        "from carrier",
        "Caller area",
        call.tracking_phone_number,
        acme.receiving.number,
        "Google Ads",
        "cpc",
        "2025-03-03 09:00:00 UTC",
        "0:07",
        "1:01",
        "Answered",
        "first call",
        "forwarded to front desk",
        '<audio controls preload="none" src="https://api.example.com/rec/RE1.wav">',
        '<audio controls preload="none" src="https://api.example.com/rec/RE2.wav">',
        "https://api.example.com/vm/1.wav",
        "&quot;CallSid&quot;: &quot;CA1&quot;",
    ):
        assert text in page, text
    assert "location" not in page.lower()
    assert [e.sequence for e in response.context["events"]] == [1, 2]
    assert page.index("ringing") < page.index("completed")


def test_detail_geocoder_origin_is_labelled(
    acme_owner_client: Client, acme: WiredAccount, make_call: MakeCall
) -> None:
    call = make_call(acme, customer_state="CA", caller_area_origin="geocoder")
    page = acme_owner_client.get(reverse("calls:detail", args=[call.pk])).content.decode()
    assert "from number prefix" in page


def test_detail_does_not_link_non_web_recording_urls(
    acme_owner_client: Client, acme: WiredAccount, make_call: MakeCall
) -> None:
    call = make_call(acme, recording_urls=["javascript:alert(1)"], voicemail_url="javascript:alert(2)")
    page = acme_owner_client.get(reverse("calls:detail", args=[call.pk])).content.decode()
    assert 'href="javascript:' not in page
    assert 'src="javascript:' not in page


# --- escaping ------------------------------------------------------------------------------------


def test_caller_controlled_text_is_escaped_on_log_and_detail(
    acme_owner_client: Client, acme: WiredAccount, make_call: MakeCall
) -> None:
    call = make_call(
        acme,
        customer_name=SCRIPT,
        customer_city=IMG,
        source_name=IMG,
        source=None,
        medium=SCRIPT,
        raw_payload={"CallerName": IMG, "nested": [SCRIPT]},
        routing_note=IMG,
    )
    escaped_script = "&lt;script&gt;alert(1)&lt;/script&gt;"
    escaped_img = "&lt;img src=x onerror=alert(1)&gt;"

    log = acme_owner_client.get(reverse("calls:log")).content.decode()
    assert escaped_script in log
    assert escaped_img in log
    assert SCRIPT not in log
    assert IMG not in log

    detail = acme_owner_client.get(reverse("calls:detail", args=[call.pk])).content.decode()
    assert escaped_script in detail
    assert escaped_img in detail
    assert SCRIPT not in detail
    assert IMG not in detail
    assert "<pre" in detail

"""Flow pages: list, create and edit with validation errors, versions, attaching, and the IVR report."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ringtrail.accounts.models import Membership, Role
from ringtrail.calls.models import Call, CallEvent
from ringtrail.flows.actions import create_flow, update_flow
from ringtrail.flows.models import Flow
from ringtrail.testing import WiredAccount

pytestmark = pytest.mark.django_db

MakeCall = Callable[..., Call]


def menu_document(w: WiredAccount, label: str = "Main menu") -> dict[str, Any]:
    return {
        "start": "hello",
        "steps": {
            "hello": {"type": "say", "text": "Hi", "next": "menu"},
            "menu": {
                "type": "menu",
                "label": label,
                "prompt": "Press 1, or say don't know",
                "speech": True,
                "options": {"1": "desk", "don't know": "desk"},
                "no_input": "desk",
            },
            "desk": {"type": "forward", "targets": [{"receiving_number": w.receiving.pk}]},
        },
    }


@pytest.fixture
def flow(acme: WiredAccount) -> Flow:
    return create_flow(acme.account, "Main <line>", menu_document(acme))


@pytest.fixture
def rival_flow(rival: WiredAccount) -> Flow:
    return create_flow(rival.account, "Rival flow", menu_document(rival))


def member_client(
    wired: WiredAccount, role: str, make_member: Callable[..., Membership], client_for: Callable[..., Client]
) -> Client:
    client: Client = client_for(make_member(wired.account, role))
    return client


# --- list, create, edit ----------------------------------------------------------------------------


def test_list_shows_own_flows_escaped_with_their_numbers(
    acme_owner_client: Client, acme: WiredAccount, flow: Flow, rival_flow: Flow
) -> None:
    acme.tracking.flow = flow
    acme.tracking.save()
    page = acme_owner_client.get(reverse("flows:list")).content.decode()
    assert "Main &lt;line&gt;" in page and "Main <line>" not in page
    assert acme.tracking.number in page and reverse("flows:report", args=[flow.pk]) in page
    assert "Rival flow" not in page
    assert 'href="/flows/"' in page and 'aria-current="page">Call flows' in page


def test_create_saves_version_one(acme_owner_client: Client, acme: WiredAccount) -> None:
    text = json.dumps(menu_document(acme), indent=2)
    response = acme_owner_client.post(reverse("flows:new"), {"name": "After hours", "document": text})
    flow = Flow.objects.get(account=acme.account, name="After hours")
    assert response.status_code == 302 and response["Location"] == reverse("flows:edit", args=[flow.pk])
    assert flow.current_version is not None and flow.current_version.number == 1
    page = acme_owner_client.get(response["Location"]).content.decode()
    assert "Created the flow" in page and "&quot;menu&quot;" in page  # pretty-printed in the textarea


def test_invalid_document_shows_each_path_escaped_and_keeps_the_text(
    acme_owner_client: Client, acme: WiredAccount
) -> None:
    document = menu_document(acme)
    document["steps"]["hello"]["next"] = "nowhere"
    document["steps"]["menu"]["options"]["1"] = "salse"
    text = json.dumps(document, indent=2)
    response = acme_owner_client.post(reverse("flows:new"), {"name": "Bad", "document": text})
    page = response.content.decode()
    assert response.status_code == 400 and not Flow.objects.filter(name="Bad").exists()
    assert "steps.menu.options.1: unknown step &#x27;salse&#x27;" in page
    assert "steps.hello.next: unknown step &#x27;nowhere&#x27;" in page
    assert response.context["form"]["document"].value() == text  # what the user typed, not reformatted

    document = menu_document(acme)
    document["steps"]["<img src=x onerror=alert(1)>"] = document["steps"].pop("desk")
    response = acme_owner_client.post(reverse("flows:new"), {"name": "Bad", "document": json.dumps(document)})
    page = response.content.decode()
    assert response.status_code == 400 and "<img src=x" not in page
    assert "steps.&lt;img src=x onerror=alert(1)&gt;" in page


def test_broken_json_is_a_form_error_naming_the_line(acme_owner_client: Client) -> None:
    text = '{"start": "a",\n  "steps": {</textarea><script>'
    response = acme_owner_client.post(reverse("flows:new"), {"name": "Typo", "document": text})
    page = response.content.decode()
    assert response.status_code == 400 and "not JSON" in page and "line 2" in page
    assert "</textarea><script>" not in page and "&lt;/textarea&gt;&lt;script&gt;" in page


def test_edit_adds_a_version_only_when_the_document_changes(
    acme_owner_client: Client, acme: WiredAccount, flow: Flow
) -> None:
    url = reverse("flows:edit", args=[flow.pk])
    response = acme_owner_client.get(url)
    form = response.context["form"]
    assert acme.receiving.number in response.content.decode()  # the ids a document names are listed
    same = {"name": "Main", "document": form["document"].value()}
    assert acme_owner_client.post(url, same).status_code == 302
    flow.refresh_from_db()
    assert flow.name == "Main" and flow.versions.count() == 1
    changed = json.dumps(menu_document(acme, label="Sales menu"))
    assert acme_owner_client.post(url, {"name": "Main", "document": changed}).status_code == 302
    flow.refresh_from_db()
    assert flow.current_version is not None and flow.current_version.number == 2
    old = acme_owner_client.get(reverse("flows:version", args=[flow.pk, 1])).content.decode()
    assert "Main menu" in old and "Sales menu" not in old
    assert acme_owner_client.get(reverse("flows:version", args=[flow.pk, 9])).status_code == 404
    assert acme_owner_client.get(f"/flows/{flow.pk}/versions/99999999999999999999/").status_code == 404


def test_a_taken_name_is_a_form_error(acme_owner_client: Client, acme: WiredAccount, flow: Flow) -> None:
    text = json.dumps(menu_document(acme))
    response = acme_owner_client.post(reverse("flows:new"), {"name": "Main <line>", "document": text})
    assert response.status_code == 400 and "already exists" in response.content.decode()


# --- attaching ---------------------------------------------------------------------------------------


def test_attach_and_detach_a_number_and_a_source(
    acme_owner_client: Client, acme: WiredAccount, flow: Flow
) -> None:
    number_url = reverse("flows:attach", args=[flow.pk, "number"])
    source_url = reverse("flows:attach", args=[flow.pk, "source"])
    assert acme_owner_client.post(number_url, {"target": acme.tracking.pk}).status_code == 302
    assert acme_owner_client.post(source_url, {"target": acme.source.pk}).status_code == 302
    acme.tracking.refresh_from_db()
    acme.source.refresh_from_db()
    assert acme.tracking.flow_id == flow.pk and acme.source.flow_id == flow.pk
    acme_owner_client.post(number_url, {"target": acme.tracking.pk, "detach": "1"})
    acme.tracking.refresh_from_db()
    assert acme.tracking.flow_id is None


@pytest.mark.parametrize("target", ["", "abc", "-1", "0", "99999999999999999999999", "999999"])
def test_attach_to_nothing_is_404(acme_owner_client: Client, flow: Flow, target: str) -> None:
    url = reverse("flows:attach", args=[flow.pk, "number"])
    assert acme_owner_client.post(url, {"target": target}).status_code == 404
    assert (
        acme_owner_client.post(reverse("flows:attach", args=[flow.pk, "pool"]), {"target": "1"}).status_code
        == 404
    )


def test_attaching_another_accounts_number_is_404(
    acme_owner_client: Client, rival: WiredAccount, flow: Flow
) -> None:
    url = reverse("flows:attach", args=[flow.pk, "number"])
    assert acme_owner_client.post(url, {"target": rival.tracking.pk}).status_code == 404
    rival.tracking.refresh_from_db()
    assert rival.tracking.flow_id is None


def test_delete_refuses_while_attached(acme_owner_client: Client, acme: WiredAccount, flow: Flow) -> None:
    acme.tracking.flow = flow
    acme.tracking.save()
    url = reverse("flows:delete", args=[flow.pk])
    response = acme_owner_client.post(url, follow=True)
    assert "still attached" in response.content.decode() and Flow.objects.filter(pk=flow.pk).exists()
    acme.tracking.flow = None
    acme.tracking.save()
    assert acme_owner_client.post(url)["Location"] == reverse("flows:list")
    assert not Flow.objects.filter(pk=flow.pk).exists()


# --- access ------------------------------------------------------------------------------------------


def _pages(flow: Flow) -> list[tuple[str, str]]:
    return [
        ("get", reverse("flows:edit", args=[flow.pk])),
        ("post", reverse("flows:edit", args=[flow.pk])),
        ("get", reverse("flows:version", args=[flow.pk, 1])),
        ("get", reverse("flows:report", args=[flow.pk])),
        ("post", reverse("flows:attach", args=[flow.pk, "number"])),
        ("post", reverse("flows:delete", args=[flow.pk])),
    ]


def test_another_accounts_flow_is_404_everywhere(acme_owner_client: Client, rival_flow: Flow) -> None:
    for method, url in _pages(rival_flow):
        assert getattr(acme_owner_client, method)(url).status_code == 404, (method, url)


@pytest.mark.parametrize("role", [Role.READ_ONLY, Role.ANALYST])
def test_read_only_members_see_but_cannot_save(
    role: str,
    acme: WiredAccount,
    flow: Flow,
    make_member: Callable[..., Membership],
    client_for_member: Callable[[Membership], Client],
) -> None:
    client = client_for_member(make_member(acme.account, role))
    for method, url in _pages(flow):
        status = getattr(client, method)(
            url, {"name": "x", "document": "{}", "target": acme.tracking.pk}
        ).status_code
        assert status == (200 if method == "get" else 403), (method, url)
    assert client.post(reverse("flows:new"), {"name": "x", "document": "{}"}).status_code == 403
    assert client.get(reverse("flows:new")).status_code == 200
    page = client.get(reverse("flows:edit", args=[flow.pk])).content.decode()
    assert "read-only" in page and ">Save<" not in page and "Attach" not in page
    acme.tracking.refresh_from_db()
    assert acme.tracking.flow_id is None and Flow.objects.get(pk=flow.pk).name == "Main <line>"


# --- the report page ---------------------------------------------------------------------------------


def trail(call: Call, *events: tuple[str, str, str, str]) -> None:
    at = timezone.now()
    for i, (step, step_type, kind, outcome) in enumerate(events):
        CallEvent.objects.create(
            carrier=call.carrier,
            carrier_call_id=call.carrier_call_id,
            call=call,
            kind="flow",
            sequence=i,
            status=kind,
            occurred_at=at,
            payload={"step": step, "type": step_type, "event": kind, "outcome": outcome, "hop": 0},
        )


def flow_call(make_call: MakeCall, wired: WiredAccount, flow: Flow, **fields: Any) -> Call:
    fields.setdefault("ended_at", timezone.now() + dt.timedelta(seconds=20))
    return make_call(wired, flow_version=flow.current_version, **fields)


def test_report_page_counts_and_escapes(
    acme_owner_client: Client, acme: WiredAccount, flow: Flow, make_call: MakeCall
) -> None:
    update_flow(flow, document=menu_document(acme, label="<b>Menu</b>"))
    chose = flow_call(make_call, acme, flow)
    trail(chose, ("hello", "say", "enter", ""), ("hello", "say", "leave", "spoken"),
          ("menu", "menu", "enter", ""), ("menu", "menu", "leave", "choice don't know"),
          ("desk", "forward", "enter", ""))  # fmt: skip
    hung_up = flow_call(make_call, acme, flow)
    trail(hung_up, ("menu", "menu", "enter", ""))
    odd = flow_call(make_call, acme, flow)
    trail(odd, ("<script>alert(1)</script>", "say", "enter", ""))
    spam = flow_call(make_call, acme, flow, is_spam=True)
    trail(spam, ("menu", "menu", "enter", ""))

    response = acme_owner_client.get(reverse("flows:report", args=[flow.pk]))
    page = response.content.decode()
    assert response.status_code == 200
    menu = next(s.row for s in response.context["steps"] if s.row.step == "menu")
    assert (menu.reached, menu.hung_up) == (2, 1)
    assert {o.key: o.calls for o in menu.options} == {"1": 0, "don't know": 1}
    assert response.context["report"].calls == 3  # the spam call is left out
    assert "&lt;b&gt;Menu&lt;/b&gt;" in page and "<b>Menu</b>" not in page
    assert "Chose don&#x27;t know" in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "<meter" in page


def test_report_page_filters_by_version_and_dates(
    acme_owner_client: Client, acme: WiredAccount, flow: Flow, make_call: MakeCall
) -> None:
    old = flow_call(make_call, acme, flow, start_time=timezone.now() - dt.timedelta(days=40))
    trail(old, ("menu", "menu", "enter", ""))
    trail(flow_call(make_call, acme, flow), ("menu", "menu", "enter", ""))
    update_flow(flow, document=menu_document(acme, label="v2"))
    url = reverse("flows:report", args=[flow.pk])
    default = acme_owner_client.get(url)
    assert default.context["report"].calls == 1
    period = default.context["period"]
    assert (
        f'value="{period.since.isoformat()}"' in default.content.decode()
        and (period.until - period.since).days == 30
    )
    since = (timezone.now() - dt.timedelta(days=60)).date().isoformat()
    assert acme_owner_client.get(url, {"since": since}).context["report"].calls == 2
    assert acme_owner_client.get(url, {"since": since, "version": "2"}).context["report"].calls == 0
    assert acme_owner_client.get(url, {"since": since, "version": "1"}).context["report"].calls == 2
    for bad in (
        {"version": "77"},
        {"since": "nope"},
        {"until": "2026-13-45"},
        {"since": "2026-05-02", "until": "2026-05-01"},
    ):
        response = acme_owner_client.get(url, bad)
        page = response.content.decode()
        assert response.status_code == 200 and ("Ignored" in page or "was after" in page), bad

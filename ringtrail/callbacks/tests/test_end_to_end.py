"""End to end over real HTTP: the form → the task → the carrier's Calls API stand-in → Ringtrail's legs.

pytest-django's ``live_server`` is Ringtrail; ``RestStandIn`` is the carrier: it authenticates the
Calls API request, rings the scripted business, fetches the signed hook, answers the Gather with the
business's key, dials the visitor and fires the status callbacks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from pytest_django.live_server_helper import LiveServer

from ringtrail.callbacks.models import CallbackRequest
from ringtrail.calls.models import Call, CallEvent
from ringtrail.carriers.simulator import Callee, Credentials, RestStandIn
from ringtrail.dni.tests.support import Site, make_site, post, visit

pytestmark = pytest.mark.django_db(transaction=True)

VISITOR = "+12125550143"
PAGE = "https://acme.test/services/emergency-repair?utm_source=google&gclid=G1"
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


@dataclass
class World:
    site: Site
    api: RestStandIn
    client: Client
    business: str


@pytest.fixture
def world(live_server: LiveServer, settings: Any) -> Iterator[World]:
    settings.PUBLIC_URL = live_server.url
    settings.TASKS = IMMEDIATE  # the task runs in the request, right after the commit
    site = make_site()
    credentials = Credentials(
        kind="twilio", account_sid=site.wired.connection.account_sid, secret=site.wired.auth_token
    )
    with RestStandIn(live_server.url, credentials) as api:
        site.wired.connection.api_base_url = api.url
        site.wired.connection.save()
        yield World(site, api, Client(), site.wired.receiving.number)


def request_call_back(world: World, business: Callee, visitor: Callee | None = None) -> CallbackRequest:
    world.api.callees[world.business] = business
    world.api.callees[VISITOR] = visitor or Callee(answer_after=4, talk=60)
    shown = post(world.client, world.site, visit()).json()
    body = {"phone": VISITOR, "name": "Ada <b>", "consent": True, "page": PAGE, **shown_ids(shown)}
    response = post(world.client, world.site, body, path="callback")
    assert response.status_code == 202, response.content
    assert world.api.wait_idle(30)
    for result in world.api.results:
        assert result.errors == [], "\n".join(result.story_lines())
    return CallbackRequest.objects.get(pk=response.json()["callback"])


def shown_ids(shown: dict[str, Any]) -> dict[str, str]:
    return {"visitor": shown["visitor"], "session": shown["session"]}


def test_business_presses_1_and_the_visitor_is_bridged(world: World) -> None:
    request = request_call_back(world, Callee(answer_after=3, inputs=("1",)))
    assert request.status == "bridged" and request.error == ""
    (result,) = world.api.results
    assert (result.to, result.answered_by, result.status) == (world.business, VISITOR, "completed")
    heard = " ".join(step.text for step in result.story)
    assert "Web lead from services emergency repair" in heard and "gclid" not in heard

    call = Call.objects.get(carrier="twilio", carrier_call_id=request.carrier_call_id)
    assert request.call_id == call.pk
    session = request.visit_session
    assert session is not None and call.visit_session_id == session.pk
    assert (call.call_type, call.attribution, call.outcome) == ("callback", "exact", "answered")
    assert call.tracking_number_id == session.tracking_number_id  # the number the visitor was shown
    assert (call.customer_phone_number, call.customer_name) == (VISITOR, "Ada <b>")
    assert call.business_phone_number == world.business and call.source_name == session.source_name
    assert call.touch["converting_page"] == PAGE and call.touch["click_ids"] == {"gclid": "G1"}
    assert call.touch["utm"]["utm_campaign"] == "spring" and call.first_touch["click_ids"] == {"gclid": "G1"}
    assert call.talk_seconds == 60 and call.carrier_status == "completed"
    kinds = set(CallEvent.objects.filter(call=call).values_list("kind", flat=True))
    assert {"dial", "status"} <= kinds


@pytest.mark.parametrize("key", ["2", None], ids=["presses-2", "silence"])
def test_business_declines(world: World, key: str | None) -> None:
    request = request_call_back(world, Callee(answer_after=3, inputs=(key,)))
    assert request.status == "declined"
    (result,) = world.api.results
    assert result.answered_by is None  # the visitor was never dialled
    call = Call.objects.get(pk=request.call_id)
    assert call.call_type == "callback" and call.routing_note == "Call-back declined by the business"
    assert call.outcome == "missed"


def test_business_does_not_answer(world: World) -> None:
    request = request_call_back(world, Callee(outcome="no-answer"))
    assert request.status == "no_answer"
    assert Call.objects.count() == 0  # nobody picked up, so no leg ever reached Ringtrail's hook
    (event,) = CallEvent.objects.filter(carrier_call_id=request.carrier_call_id, status="no-answer")
    assert event.kind == "status"


def test_visitor_does_not_answer(world: World) -> None:
    request = request_call_back(
        world, Callee(answer_after=2, inputs=("1",)), visitor=Callee(outcome="no-answer")
    )
    assert request.status == "no_answer"
    assert Call.objects.get(pk=request.call_id).outcome == "missed"


def test_carrier_refusal_fails_the_request_with_its_words(world: World) -> None:
    world.site.wired.connection.set_secret("not-the-token")
    world.site.wired.connection.save()
    request = request_call_back(world, Callee(inputs=("1",)))
    assert request.status == "failed" and "error 20003): Authenticate" in request.error
    assert world.api.results == []


def test_without_a_public_url_it_fails_clearly(world: World, settings: Any) -> None:
    settings.PUBLIC_URL = ""
    request = request_call_back(world, Callee(inputs=("1",)))
    assert request.status == "failed" and "RINGTRAIL_PUBLIC_URL is not set" in request.error

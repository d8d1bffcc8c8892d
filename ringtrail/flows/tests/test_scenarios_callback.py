"""Scenario suite, part 4: a call-back's legs through the carrier's Calls API stand-in (the form →
the task → the business leg → its whisper and key → the visitor leg), with the visitor's line busy.
The happy paths live in ``ringtrail/callbacks/tests/test_end_to_end.py``."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from pytest_django.live_server_helper import LiveServer

from ringtrail.callbacks.models import CallbackRequest
from ringtrail.calls.models import Call
from ringtrail.carriers.simulator import Callee, Credentials, RestStandIn
from ringtrail.dni.tests.support import make_site, post, visit
from ringtrail.testing import member

pytestmark = pytest.mark.django_db(transaction=True)

VISITOR = "+12125550143"
IMMEDIATE = {"default": {"BACKEND": "django_tasks.backends.immediate.ImmediateBackend"}}


def test_call_back_whose_visitor_is_busy(live_server: LiveServer, settings: Any) -> None:
    settings.PUBLIC_URL = live_server.url
    settings.TASKS = IMMEDIATE
    site = make_site()
    wired = site.wired
    credentials = Credentials(
        kind="twilio", account_sid=wired.connection.account_sid, secret=wired.auth_token
    )
    business = wired.receiving.number
    callees = {business: Callee(answer_after=2, inputs=("1",)), VISITOR: Callee(outcome="busy")}
    with RestStandIn(live_server.url, credentials, callees=callees) as api:
        wired.connection.api_base_url = api.url
        wired.connection.save()
        browser = Client()
        shown = post(browser, site, visit()).json()
        ids = {"visitor": shown["visitor"], "session": shown["session"]}
        body = {"phone": VISITOR, "consent": True, "page": "https://acme.test/quote", **ids}
        response = post(browser, site, body, path="callback")
        assert response.status_code == 202, response.content
        assert api.wait_idle(30)
        (result,) = api.results
    assert result.errors == [], "\n".join(result.story_lines())
    assert (result.to, result.answered_by, result.status) == (business, None, "completed")
    assert any(step.text.startswith(f"{VISITOR}: busy") for step in result.story)
    request = CallbackRequest.objects.get(pk=response.json()["callback"])
    call = Call.objects.get(pk=request.call_id)
    assert request.status == "no_answer"
    assert (call.call_type, call.outcome, call.customer_phone_number) == ("callback", "busy", VISITOR)
    owner = Client()
    owner.force_login(member(wired.account).user)
    page = owner.get(reverse("calls:detail", args=[call.pk])).content.decode()
    assert "call-back" in page and "Call flow path" not in page  # no flow ran: no path section

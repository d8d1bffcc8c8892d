"""The demo's call-back wiring: settings seeded, the sample page's form, the in-process Calls API."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from ringtrail.callbacks.models import CallbackSettings
from ringtrail.carriers.models import CarrierConnection
from ringtrail.dashboard.demo import DEMO_ACCOUNT_SID, DEMO_DESK, DEMO_NUMBERS, seed_demo
from ringtrail.dashboard.management.commands.demo import _carrier_api_stand_in

pytestmark = pytest.mark.django_db


def test_seed_configures_call_backs_once(client: Client) -> None:
    demo = seed_demo()
    seed_demo()
    (config,) = CallbackSettings.objects.filter(account=demo.account)
    assert config.tracking_number is not None and config.tracking_number.number == DEMO_NUMBERS[0][0]
    assert config.receiving_number is not None and config.receiving_number.number == DEMO_DESK
    html = client.get("/demo/site/").content.decode()
    assert 'id="callback"' in html and f"/dni/v1/{demo.account.public_key}/callback" in html


def test_demo_points_the_connection_at_the_stand_in(settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seed_demo()
    monkeypatch.delenv("RINGTRAIL_PUBLIC_URL", raising=False)
    monkeypatch.delenv("TASKS_BACKEND", raising=False)
    settings.PUBLIC_URL = ""
    settings.TASKS = dict(settings.TASKS)  # through the fixture, so the backends are rebuilt afterwards
    stand_in = _carrier_api_stand_in("http://127.0.0.1:8000")
    try:
        connection = CarrierConnection.objects.get(account_sid=DEMO_ACCOUNT_SID)
        assert connection.api_base_url == stand_in.url
        assert settings.PUBLIC_URL == "http://127.0.0.1:8000"
        assert settings.TASKS["default"]["BACKEND"].endswith("ImmediateBackend")
    finally:
        stand_in.close()

"""Settings kept in a dict for the hot paths: a setting changed through Django is read anew."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.test import override_settings

from ringtrail.lib.hot_settings import setting


def test_a_setting_is_read_once_until_a_setting_changes() -> None:
    with override_settings(DNI_LEASE_RESERVE=7):
        assert setting("DNI_LEASE_RESERVE", 0) == 7
        settings.DNI_LEASE_RESERVE = 8  # behind Django's back: the kept value stands
        assert setting("DNI_LEASE_RESERVE", 0) == 7
        setting_changed.send(sender=None, setting="DNI_LEASE_RESERVE", value=8, enter=True)
        assert setting("DNI_LEASE_RESERVE", 0) == 8
    assert setting("DNI_LEASE_RESERVE", 0) == settings.DNI_LEASE_RESERVE


def test_the_settings_fixture_and_a_missing_setting(settings: Any) -> None:
    settings.DNI_RECORD_FLUSH_SECONDS = 12.5
    assert setting("DNI_RECORD_FLUSH_SECONDS", 0.5) == 12.5
    settings.DNI_RECORD_FLUSH_SECONDS = 0
    assert setting("DNI_RECORD_FLUSH_SECONDS", 0.5) == 0
    assert setting("NO_SUCH_RINGTRAIL_SETTING", "fallback") == "fallback"

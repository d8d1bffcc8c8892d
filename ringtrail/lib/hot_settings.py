"""Settings read on every page view, kept in a plain dict.

Each ``settings.NAME`` goes through ``LazyObject.__getattribute__`` in Python (~0.4 µs); a page view
of the DNI session endpoint read a dozen. Values read here are forgotten whenever a setting changes
through Django (``override_settings``, pytest-django's ``settings`` fixture: ``setting_changed``);
code that assigns to ``django.conf.settings`` directly must send that signal itself.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.signals import setting_changed
from django.dispatch import receiver

_values: dict[str, Any] = {}


def setting(name: str, default: Any = None) -> Any:
    """``getattr(settings, name, default)``, read once until a setting changes."""
    try:
        return _values[name]
    except KeyError:
        value = _values[name] = getattr(settings, name, default)
        return value


@receiver(setting_changed)
def forget(**kwargs: Any) -> None:
    _values.clear()

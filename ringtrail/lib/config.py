"""Twelve-factor configuration: every setting comes from the environment.

The full list of variables, their defaults and meaning lives in ``docs/self-hosting.md``;
this module only parses them so settings.py stays declarative.
"""

from __future__ import annotations

import os
from pathlib import Path

TRUE_WORDS = {"1", "true", "yes", "on"}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    return raw.strip().lower() in TRUE_WORDS


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    return int(raw)


def env_optional_int(name: str, default: int | None) -> int | None:
    """An integer, or None when the variable says ``none`` (or is set empty)."""
    raw = os.environ.get(name)
    if raw is None:
        return default
    return None if raw.strip().lower() in ("", "none") else int(raw)


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or not raw.strip():
        return default
    return float(raw)


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def project_root() -> Path:
    """The directory holding ``var/``: the working directory unless RINGTRAIL_HOME says otherwise."""
    return Path(os.environ.get("RINGTRAIL_HOME", os.getcwd())).resolve()

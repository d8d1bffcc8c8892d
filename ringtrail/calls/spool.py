"""A write-ahead spool for webhooks that arrive while the database is unavailable.

The caller is answered from the routing cache; the request itself is written here as a JSON file
(atomically, one file per request) and replayed into the database once it is back, so no call or
callback is lost.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError

log = logging.getLogger(__name__)
_last_scan = 0.0
SCAN_INTERVAL_SECONDS = 5.0


def spool_dir() -> Path:
    return Path(settings.SPOOL_DIR)


def spool(entry_kind: str, document: dict[str, Any]) -> Path:
    directory = spool_dir()
    directory.mkdir(parents=True, exist_ok=True)
    name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}-{entry_kind}.json"
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp-")
    with os.fdopen(fd, "w") as handle:
        json.dump({"kind": entry_kind, **document}, handle)
    target = directory / name
    os.replace(tmp, target)
    log.warning("database unavailable: spooled %s to %s", entry_kind, target)
    return target


def pending() -> list[Path]:
    directory = spool_dir()
    if not directory.is_dir():
        return []
    return sorted(p for p in directory.iterdir() if p.suffix == ".json" and not p.name.startswith("."))


def replay() -> int:
    """Write spooled requests to the database in arrival order; returns how many were replayed."""
    from ringtrail.calls.inbound import replay_entry

    done = 0
    for path in pending():
        try:
            document = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            log.exception("unreadable spool file %s left in place", path)
            continue
        try:
            replay_entry(document)
        except DatabaseError:
            log.warning("database still unavailable; %d spooled requests wait", len(pending()))
            break
        path.unlink(missing_ok=True)
        done += 1
    return done


def replay_if_due() -> None:
    """Called after a successful write: cheap enough for the hot path (one stat every few seconds)."""
    global _last_scan
    now = time.monotonic()
    if now - _last_scan < SCAN_INTERVAL_SECONDS:
        return
    _last_scan = now
    if pending():
        replay()

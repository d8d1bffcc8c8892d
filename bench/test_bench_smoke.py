"""The benchmarks run end to end in smoke mode; timings are reported, never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "voice_webhook.py"
DNI_SCRIPT = Path(__file__).resolve().parent / "dni.py"


def test_voice_webhook_benchmark_smoke() -> None:
    # Its own server and temporary database: nothing here touches pytest-django's test database.
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--smoke", "--json"], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] is True
    assert result["errors"] == 0
    for phase in ("bare", "webhook"):
        assert result["phases"][phase]["requests"] > 0
        assert result["phases"][phase]["errors"] == 0
        assert result["phases"][phase]["warmup_errors"] == 0
    assert result["webhooks"]["stored"] == result["webhooks"]["sent"]


def test_dni_session_benchmark_smoke() -> None:
    # SQL lease store only: its own server, scratch database and a pool that cannot run out.
    done = subprocess.run(
        [sys.executable, str(DNI_SCRIPT), "--smoke", "--json"], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    assert result["ok"] is True
    assert result["errors"] == 0
    sql = result["stores"]["sql"]
    assert sql["available"] is True
    for phase in ("bare", "new", "returning"):
        assert sql["phases"][phase]["requests"] > 0
        assert sql["phases"][phase]["errors"] == 0
        assert sql["phases"][phase]["warmup_errors"] == 0
    assert sql["overflow"]["answers"] == 0

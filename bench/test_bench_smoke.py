"""The voice webhook benchmark runs end to end in smoke mode; timings are reported, never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent / "voice_webhook.py"


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

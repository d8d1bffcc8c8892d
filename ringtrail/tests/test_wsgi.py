"""The server's WSGI module, loaded as a worker loads it (in a process of its own: loading it sets
Django up, which would reconfigure logging under the running tests)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def test_a_worker_freezes_what_it_loaded_so_full_collections_stay_short(tmp_path: Path) -> None:
    code = (
        "import gc, ringtrail.wsgi as w; "
        "print(gc.get_freeze_count(), type(w.application).__name__, type(w.application.django).__name__)"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ringtrail.settings", "RINGTRAIL_VAR_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    frozen, front, lane = done.stdout.split()
    assert int(frozen) > 10_000 and (front, lane) == ("DniEdge", "MachineLane")

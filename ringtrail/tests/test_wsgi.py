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


def test_the_hot_paths_memories_are_frozen_with_the_worker_so_no_collection_walks_them(
    tmp_path: Path,
) -> None:
    """Up to 100 000 entries each; a plain dict there was walked by young and full collections alike
    (``lib/bounded.py``)."""
    code = (
        "import gc, ringtrail.wsgi\n"
        "from ringtrail.dni import leases, reservations\n"
        "from ringtrail.lib.bounded import put_bounded\n"
        "from ringtrail.visits import actions\n"
        "memories = [leases._recent, reservations._unwritten, actions._recent_first_sources,\n"
        "            actions._written_visitors]\n"
        "for memory in memories:\n"
        "    for i in range(1000):\n"
        "        put_bounded(memory, (1, f'v{i}'), (i, 's', 1.0), 100)\n"
        "gc.collect()\n"
        "walked = {id(o) for o in gc.get_objects()}\n"
        "print(*[gc.is_tracked(m) and id(m) not in walked for m in memories])"
    )
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "ringtrail.settings", "RINGTRAIL_VAR_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True"] * 4

"""``ringtrail serve`` runs the recorder beside its workers: page views answered by the workers are
written by the recorder, at a lower priority, and whatever it holds is written when the server stops.
The real server, in processes of its own, on a scratch SQLite database."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

CHROME = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _ringtrail(env: dict[str, str], *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "ringtrail", *args], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr


@pytest.fixture(params=["recorder", "no recorder"])
def site(tmp_path: Path, request: pytest.FixtureRequest) -> dict[str, str]:
    """A migrated scratch database with the demo account; the environment to serve it with, with
    the recorder and without (each worker writes its own)."""
    ignored = {"DATABASE_URL", "REDIS_URL", "DNI_RECORD_FLUSH_SECONDS", "DNI_RECORDER", "DNI_LEASE_STORE"}
    env = {name: value for name, value in os.environ.items() if name not in ignored}
    env.update(
        RINGTRAIL_VAR_DIR=str(tmp_path),
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        WEB_WORKERS="2",
        DNI_RECORD_FLUSH_SECONDS="30",  # nothing is written on the interval during the test
        DNI_RECORDER="true" if request.param == "recorder" else "false",
    )
    _ringtrail(env, "migrate", "--noinput", "-v0")
    _ringtrail(env, "demo", "--no-serve")
    return env


@pytest.fixture
def server(site: dict[str, str], tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str, Path]]:
    port, log = _free_port(), tmp_path / "serve.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "ringtrail", "serve", "--port", str(port)],
            env=site,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(base + "/healthz", timeout=2).close()
            break
        except OSError:
            time.sleep(0.2)
    try:
        yield process, base, log
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _post(url: str, body: dict[str, object]) -> dict[str, str]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"User-Agent": CHROME}, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        return dict(json.load(answer))


def _recorder_niceness(var_dir: Path) -> int | None:
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        if b"recorder" in command and str(var_dir).encode() + b"/recorder.sock" in command:
            return int(stat.rsplit(")", 1)[1].split()[16])  # field 19: nice
    return None


def test_serve_writes_page_views_through_its_recorder_and_stops_with_none_held(
    server: tuple[subprocess.Popen[bytes], str, Path], site: dict[str, str], tmp_path: Path
) -> None:
    """Also without the recorder: Granian's workers end without running atexit handlers, and every
    stop of the server lost each worker's last interval of page views."""
    process, base, log = server
    recording = site["DNI_RECORDER"] == "true"
    assert _recorder_niceness(tmp_path) == (10 if recording else None)
    database = sqlite3.connect(tmp_path / "db.sqlite3")
    (key,) = database.execute("SELECT public_key FROM accounts_account ORDER BY id LIMIT 1").fetchone()
    landing = {"url": "https://acme.test/?gclid=e2e&utm_source=google", "referrer": "https://www.google.com/"}
    first = _post(f"{base}/dni/v1/{key}/session", landing)
    visit = {"visitor": first["visitor"], "session": first["session"]}
    _post(f"{base}/dni/v1/{key}/session", {**visit, "url": "https://acme.test/pricing"})
    rows = "SELECT page_views FROM visits_session WHERE session_id = ?"
    assert database.execute(rows, (first["session"],)).fetchall() == []  # held, not yet written
    process.send_signal(signal.SIGINT)
    assert process.wait(60) == 0
    assert database.execute(rows, (first["session"],)).fetchall() == [(2,)]
    assert ("recorder stopped: 2 hits received, 0 not written, 0 dropped" in log.read_text()) is recording

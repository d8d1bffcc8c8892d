"""The load generator's own pauses must not be counted as server latency; what the server logged
is kept when a run fails."""

from __future__ import annotations

import dataclasses
import gc
from pathlib import Path

import pytest

from bench.common import PhaseStats, Server, collector_paused, host_cpu_ticks, settle, steal_percent
from bench.dni import steal_note


def test_no_cyclic_collection_while_a_phase_runs_and_it_comes_back_after() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_comes_back_when_a_phase_fails() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("server died")
    assert gc.isenabled()


def test_the_servers_logged_problems_are_its_warnings_errors_and_exceptions(tmp_path: Path) -> None:
    log = tmp_path / "server.log"
    log.write_text(
        "2026-11-23 14:00:00,001 INFO granian Listening at: http://127.0.0.1:8000\n"
        "2026-11-23 14:00:01,002 ERROR ringtrail.dni.session Redis unavailable; answering pool 1's"
        " fallback number\n"
        "Traceback (most recent call last):\n"
        '  File "ringtrail/lib/redis_client.py", line 44, in round_trip\n'
        "redis.exceptions.TimeoutError: Timeout reading from socket\n"
        "2026-11-23 14:00:02,003 WARNING ringtrail.lib.sqlite_writes WAL checkpoint failed\n"
    )
    server = Server(process=None, port=0, log_path=log)  # type: ignore[arg-type]
    assert server.logged_problems() == [
        "2026-11-23 14:00:01,002 ERROR ringtrail.dni.session Redis unavailable; answering pool 1's"
        " fallback number",
        "redis.exceptions.TimeoutError: Timeout reading from socket",
        "2026-11-23 14:00:02,003 WARNING ringtrail.lib.sqlite_writes WAL checkpoint failed",
    ]
    assert server.logged_problems(most=1) == [server.logged_problems()[-1]]
    assert Server(process=None, port=0, log_path=tmp_path / "gone.log").logged_problems() == []  # type: ignore[arg-type]


def test_settling_waits_until_the_server_is_quiet_and_reports_how_long() -> None:
    readings = iter([10.0, 10.5, 10.9, 10.91, 99.0])  # CPU seconds at each look: busy, busy, quiet
    waited = settle(lambda: next(readings), window=0.5, sleep=lambda _: None)
    assert waited == 1.5


def test_settling_gives_up_after_its_timeout_and_waits_nothing_without_cpu_figures() -> None:
    busy = iter(float(n) for n in range(100))
    assert settle(lambda: next(busy), window=0.5, timeout=2.0, sleep=lambda _: None) == 2.0
    assert settle(lambda: None, sleep=lambda _: None) == 0.0


def test_steal_is_the_share_of_the_hosts_cpu_time_taken_away_between_two_readings(tmp_path: Path) -> None:
    stat = tmp_path / "stat"
    stat.write_text("cpu  100 0 50 800 10 0 0 40 0 0\ncpu0 50 0 25 400 5 0 0 20 0 0\n")
    before = host_cpu_ticks(stat)
    assert before == (40, 1000)
    stat.write_text("cpu  150 0 60 900 10 0 0 120 0 0\n")
    assert steal_percent(before, host_cpu_ticks(stat)) == 33.3  # 80 of 240 ticks
    assert host_cpu_ticks(tmp_path / "missing") is None
    assert steal_percent(None, before) is None
    assert steal_percent(before, before) is None  # no time passed: no share to speak of


def test_a_paced_phase_on_a_noisy_host_says_so() -> None:
    quiet = PhaseStats("new, paced", 1, 1.0, 1.0, 1, 1, 1, 1, 0, 0, [], 0.1, 0.5, host_steal_percent=0.4)
    noisy = dataclasses.replace(quiet, host_steal_percent=9.4)
    assert steal_note(quiet) == "" and steal_note(dataclasses.replace(quiet, host_steal_percent=None)) == ""
    assert steal_note(noisy) == "; the hypervisor took 9.4 % of the host's CPU meanwhile"

"""The benchmarks run end to end in smoke mode; timings are reported, never asserted."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

SCRIPT = Path(__file__).resolve().parent / "voice_webhook.py"
DNI_SCRIPT = Path(__file__).resolve().parent / "dni.py"
FLOWS_SCRIPT = Path(__file__).resolve().parent / "flows.py"
FLUSH_SCRIPT = Path(__file__).resolve().parent / "record_flush.py"
AB_SCRIPT = Path(__file__).resolve().parent / "dni_ab.py"


def run_smoke(script: Path, *args: str) -> dict[str, Any]:
    # Each benchmark starts its own server on a temporary database, never pytest-django's test database.
    done = subprocess.run(
        [sys.executable, str(script), "--smoke", "--json", *args], capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    assert result["ok"] is True
    assert result["errors"] == 0
    return result


def assert_phases_clean(phases: dict[str, Any], names: tuple[str, ...]) -> None:
    for phase in names:
        assert phases[phase]["requests"] > 0
        assert phases[phase]["errors"] == 0
        assert phases[phase]["warmup_errors"] == 0


def test_voice_webhook_benchmark_smoke() -> None:
    result = run_smoke(SCRIPT)
    assert_phases_clean(result["phases"], ("bare", "webhook"))
    assert result["webhooks"]["stored"] == result["webhooks"]["sent"]


def test_dni_session_benchmark_smoke() -> None:
    # SQL lease store only, and a pool that cannot run out.
    result = run_smoke(DNI_SCRIPT)
    sql = result["stores"]["sql"]
    assert sql["available"] is True
    phases = ("bare", "new", "returning", "bare_paced", "new_paced", "returning_paced", "returning_extends")
    assert_phases_clean(sql["phases"], phases)
    assert sql["overflow"]["answers"] == 0
    views = sql["page_views"]
    assert views["answered"] > 0 and views["recorded"] == views["answered"]  # none lost


def test_dni_ab_smoke_runs_each_variant_on_its_own_server() -> None:
    result = run_smoke(AB_SCRIPT, "base", "small:DNI_RECORD_BATCH=5")
    assert [run["variant"] for run in result["runs"]] == ["base", "small"]
    for run in result["runs"]:
        assert all(run[phase]["requests"] > 0 for phase in ("new", "returning", "returning_closed"))
    assert set(result["summary"]) == {"base", "small"}


def test_dni_ab_closed_new_sends_only_new_visitors_in_a_closed_loop() -> None:
    result = run_smoke(AB_SCRIPT, "--closed-new", "a", "b:DNI_RECORD_BATCH=5")
    assert result["mode"] == "closed-new"
    for run in result["runs"]:
        assert set(run) >= {"new_closed"} and "new" not in run
        assert run["new_closed"]["requests"] > 0 and run["errors"] == 0
    assert result["summary"]["b"]["median_p99_ms_new_closed"] > 0


def test_call_flow_benchmark_smoke() -> None:
    # The engine in-process, then the webhook phases on the real server, resumed hops included.
    result = run_smoke(FLOWS_SCRIPT)
    engine = result["engine"]
    assert engine["ok"] is True
    assert all(engine["cases"][case]["decisions"] > 0 for case in ("static", "first_hop", "resumed_hop"))
    assert_phases_clean(result["phases"], ("bare", "static", "flow", "resumed"))
    for kind in ("static", "flow", "resumed"):
        assert result["webhooks"][kind]["stored"] == result["webhooks"][kind]["sent"]
    assert result["webhooks"]["flow_events"] >= result["webhooks"]["flow"]["sent"]


def test_record_flush_benchmark_smoke() -> None:
    # Page views answered in process while the buffer flushes, both ways, without an error.
    result = run_smoke(FLUSH_SCRIPT)
    assert set(result["modes"]) == {"one transaction", "batched"}
    assert all(mode["requests"] > 0 and mode["errors"] == 0 for mode in result["modes"].values())

"""Call-flow benchmark: the flow engine in-process, then the voice webhook with a flow attached, in one run.

    python bench/flows.py [--smoke] [--engine-seconds 3] [--no-resume] [--json] [voice_webhook options]

1. **Engine** (no server, no database): decisions per second of ``flows.engine.decide`` on a 10-step
   flow (say → schedule → menu → geo → forward …), for a call's first hop and for a resumed hop (menu
   input "1"), every decision signed with ``flows.position.signer``; against ``flows.engine.forward``
   (the static forward) in the same process.
2. **Webhook** (the real server, ``ringtrail serve``, on a throwaway database): signed
   ``POST /carriers/twilio/voice`` to a number running that flow and to a static number of the same
   account, against the bare ``/healthz`` view; then the resumed hops: ``POST /carriers/twilio/flow``
   with the very references the server handed out in the flow phase, each used once.

The load options (``--concurrency``, ``--duration``, ``--warmup``, ``--max-requests``, ``--workers``,
``--threads``, ``--client``) are those of ``bench/voice_webhook.py``. Exits non-zero on any error, any
answered webhook that was not stored, or an engine decision that was not the expected one. Timings are
printed, never enforced. See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import os
import re
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``ringtrail`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import voice_webhook
from bench.common import (
    HOST,
    BenchError,
    Phase,
    PhaseStats,
    Request,
    RequestSource,
    Server,
    bench_env,
    format_table,
    ratio,
    run_benchmark,
    run_django_snippet,
    run_phase,
    run_ringtrail,
    running_server,
    scratch_database,
)
from bench.voice_webhook import Seed, is_dial, is_healthy, signed_voice_requests, warmup_allowance
from ringtrail.carriers.base import CallDecision, CallerArea, Dial, Gather
from ringtrail.carriers.twilio.signature import compute_signature
from ringtrail.flows import engine, position
from ringtrail.flows.context import CallContext, FlowOutcome, Position, StepInput
from ringtrail.flows.context import Phase as FlowPhase
from ringtrail.flows.schema import FlowDocument
from ringtrail.flows.validation import validate_flow

FLOW_TRACKING = "+14155550101"  # the static number is wired_account's +14155550100
CALLER = "+12125550111"  # area code 212: the geo step's second rule
MENU_CHOICE = "1"  # sales → geo → east-sales (round robin, sticky)
DESKS = ("+14155550171", "+14155550172", "+14155550173", "+14155550174")
PHASE_KEYS = ("bare", "static", "flow", "resumed")
_GATHER_ACTION = re.compile(rb'<Gather[^>]*\baction="([^"]+)"')
SEED = """
from bench.flows import DESKS, FLOW_TRACKING, ten_step_flow
from ringtrail.flows.actions import create_flow
from ringtrail.numbers.models import ReceivingNumber, TrackingNumber
from ringtrail.testing import wired_account
wired = wired_account(record_calls=True)
desks = [ReceivingNumber.objects.create(account=wired.account, label=f"Desk {i}", number=number).pk
         for i, number in enumerate(DESKS)]
flow = create_flow(wired.account, "Bench IVR", ten_step_flow(desks, sticky=STICKY))
TrackingNumber.objects.create(account=wired.account, number=FLOW_TRACKING, connection=wired.connection,
                              source=wired.source, receiving_number=wired.receiving, record_calls=True,
                              whisper_text=wired.tracking.whisper_text, flow=flow)
print(json.dumps({"account_sid": wired.connection.account_sid, "auth_token": wired.auth_token,
                  "static_number": wired.tracking.number, "account_id": wired.account.pk,
                  "version_id": flow.current_version_id}))
"""
COUNT_STORED = """
from ringtrail.calls.models import Call, CallEvent
calls = Call.objects.all()
print(json.dumps({"static": calls.filter(flow_version=None).count(),
                  "flow": calls.exclude(flow_version=None).count(),
                  "resumed": calls.exclude(flow_version=None).filter(flow_hop__gte=1).count(),
                  "flow_events": CallEvent.objects.filter(kind="flow").count()}))
"""


def ten_step_flow(desks: list[int], sticky: bool = True) -> dict[str, Any]:
    """A realistic IVR: greeting, opening hours, a keypad/speech menu, a geo split and three kinds of
    forward, a queue and voicemail. Open around the clock so every run takes the same path.

    ``sticky`` (round robin rings whoever answered this caller last first) makes the wiring look up
    the caller's last answered call on every hop, so it is an option: its cost is worth seeing apart."""
    sales_a, sales_b, support, billing = desks
    every_day = {day: [["00:00", "24:00"]] for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    return {
        "start": "greeting",
        "steps": {
            "greeting": {"type": "say", "text": "Thanks for calling Acme Plumbing.", "next": "hours"},
            "hours": {
                "type": "schedule",
                "time_zone": "America/New_York",
                "hours": every_day,
                "holidays": ["2020-12-25"],
                "open": "main-menu",
                "closed": "after-hours",
                "holiday": "after-hours",
            },
            "after-hours": {"type": "say", "text": "We are closed right now.", "next": "voicemail"},
            "main-menu": {
                "type": "menu",
                "prompt": "For sales press 1 or say sales. For support press 2. For billing press 3.",
                "options": {"1": "region", "sales": "region", "2": "support-line", "3": "billing"},
                "speech": True,
                "speech_hints": ["sales"],
                "timeout_seconds": 6,
                "no_input": "voicemail",
            },
            "region": {
                "type": "geo",
                "rules": [
                    {"countries": ["US"], "states": ["CA", "OR", "WA"], "next": "west-sales"},
                    {"area_codes": ["212", "646", "917"], "next": "east-sales"},
                ],
                "default": "east-sales",
            },
            "west-sales": {
                "type": "forward",
                "targets": [
                    {"receiving_number": sales_a, "timeout_seconds": 15},
                    {"receiving_number": sales_b},
                ],
                "strategy": "sequential",
                "whisper": {"text": "Sales call from {source}.", "require_accept": True},
                "record": True,
                "no_answer": "voicemail",
            },
            "east-sales": {
                "type": "forward",
                "targets": [{"receiving_number": sales_a, "weight": 3}, {"receiving_number": sales_b}],
                "strategy": "round_robin",
                "sticky": sticky,
                "whisper": {"text": "Sales call from {source}."},
                "no_answer": "voicemail",
            },
            "support-line": {
                "type": "queue",
                "members": [support, sales_b],
                "message": "Please hold.",
                "hold_seconds": 20,
                "timeout": "voicemail",
            },
            "billing": {
                "type": "forward",
                "targets": [{"receiving_number": billing}],
                "no_answer": "voicemail",
            },
            "voicemail": {"type": "voicemail", "prompt": "Please leave a message after the tone."},
        },
    }


# --- engine phase (in-process) ------------------------------------------------------------------------


@dataclass(frozen=True)
class EngineCase:
    name: str
    decide: Callable[[int], CallDecision]  # argument: a per-decision counter (a fresh call id)
    check: Callable[[CallDecision], bool]


def engine_cases(sticky: bool) -> list[EngineCase]:
    desks = [11, 12, 13, 14]
    flow = validate_flow(ten_step_flow(desks, sticky), desks)
    key = position.derive_key(secrets.token_hex(16))
    context = CallContext(
        call_id="CA0",
        caller_number=CALLER,
        now=dt.datetime.now(dt.UTC),
        caller_area=CallerArea(city="New York", state="NY", country="US", origin="carrier"),
        account_time_zone="America/New_York",
        tracking_number=FLOW_TRACKING,
        source_name="Google Ads",
        receiving_numbers=dict(zip(desks, DESKS, strict=True)),
    )
    menu = _first_hop(flow, context, key).waiting_at
    if menu is None or menu.step != "main-menu":
        raise BenchError(f"the bench flow's first hop did not wait at the menu: {menu}")
    pressed = Position(menu.step, menu.hop, FlowPhase.INPUT, entered_at=menu.entered_at)
    plan = engine.ForwardPlan(1, DESKS[0], CALLER, whisper_text="Call from {source}", record=True)

    def first(i: int) -> CallDecision:
        return _first_hop(flow, context, key, i).decision

    def resumed(i: int) -> CallDecision:
        sign = position.signer(key, 1, f"CA{i}", 7)  # one signer per call, as the wiring makes it
        return engine.decide(flow, context, pressed, StepInput(digits=MENU_CHOICE), sign).decision

    return [
        EngineCase("static forward", lambda i: engine.forward(plan), _has(Dial)),
        EngineCase("flow first hop", first, _has(Gather)),
        EngineCase("flow resumed hop", resumed, _has(Dial)),
    ]


def _first_hop(flow: FlowDocument, context: CallContext, key: bytes, i: int = 0) -> FlowOutcome:
    return engine.decide(flow, context, hook_params=position.signer(key, 1, f"CA{i}", 7))


def _has(verb: type) -> Callable[[CallDecision], bool]:
    return lambda decision: any(isinstance(step, verb) for step in decision.steps)


def time_engine(case: EngineCase, seconds: float) -> dict[str, Any]:
    """Decisions in a tight loop for ``seconds``; checks the last one (each is deterministic)."""
    count, decision = 0, case.decide(0)
    cpu, start = time.process_time(), time.perf_counter()
    deadline = start + seconds
    while time.perf_counter() < deadline:
        for _ in range(50):  # keep the clock reads out of the measurement
            decision = case.decide(count)
            count += 1
    elapsed, used = time.perf_counter() - start, time.process_time() - cpu
    return {
        "name": case.name,
        "decisions": count,
        "decisions_per_second": round(count / elapsed),
        "cpu_us_per_decision": round(used / count * 1e6, 2),
        "ok": case.check(decision),
    }


def run_engine(seconds: float, sticky: bool) -> dict[str, Any]:
    forward, first, resumed = (time_engine(case, seconds) for case in engine_cases(sticky))
    return {
        "flow_steps": len(ten_step_flow([1, 2, 3, 4])["steps"]),
        "sticky": sticky,
        "seconds_per_case": seconds,
        "cases": {"static": forward, "first_hop": first, "resumed_hop": resumed},
        "ratios": {
            "first_hop_over_static": ratio(first["decisions_per_second"], forward["decisions_per_second"]),
            "resumed_hop_over_static": ratio(
                resumed["decisions_per_second"], forward["decisions_per_second"]
            ),
        },
        "ok": forward["ok"] and first["ok"] and resumed["ok"],
    }


# --- webhook phases (real server) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Options:
    load: voice_webhook.Options  # the load options, parsed exactly as bench/voice_webhook.py does
    engine_seconds: float
    resume: bool
    sticky: bool


@dataclass(frozen=True)
class FlowSeed:
    static: Seed
    flow: Seed
    account_id: int
    version_id: int
    key: bytes  # the flow-reference key of the server (derived from the SECRET_KEY we gave it)


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="Any other option goes to bench/voice_webhook.py's parser (see its --help).",
    )
    parser.add_argument("--engine-seconds", type=float, help="per engine case (default 3, smoke 0.3)")
    parser.add_argument("--no-resume", action="store_false", dest="resume", help="skip the resumed hops")
    parser.add_argument(
        "--no-sticky", action="store_false", dest="sticky", help="the round robin without sticky callers"
    )
    args, rest = parser.parse_known_args(argv)
    load = voice_webhook.parse_args(rest)
    seconds = args.engine_seconds if args.engine_seconds is not None else (0.3 if load.smoke else 3.0)
    return Options(load, seconds, args.resume, args.sticky)


def seed_flow_account(env: dict[str, str], sticky: bool) -> FlowSeed:
    """Migrate and seed; ``env`` carries the SECRET_KEY the server will run with."""
    run_ringtrail(["migrate", "--noinput"], env)
    seeded = run_django_snippet(f"STICKY = {sticky}\n{SEED}", env)
    sid, token = seeded["account_sid"], seeded["auth_token"]
    return FlowSeed(
        static=Seed(sid, token, seeded["static_number"]),
        flow=Seed(sid, token, FLOW_TRACKING),
        account_id=seeded["account_id"],
        version_id=seeded["version_id"],
        key=position.derive_key(env["SECRET_KEY"]),
    )


class Answers:
    """Keeps every flow-phase answer body (list.append is atomic) to resume those very calls later."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []

    def check(self, status: int, body: bytes) -> bool:
        self.bodies.append(body)
        return status == 200 and b"<Gather" in body


def split(requests: list[Request], spare: int) -> tuple[RequestSource, RequestSource]:
    return RequestSource(requests[:spare]), RequestSource(requests[spare:])


def first_hop_phases(
    options: Options, server: Server, seed: FlowSeed, answers: Answers
) -> tuple[list[Phase], list[Request]]:
    """bare, static and flow phases, and the flow phase's prepared requests (to resume those calls)."""
    cap, spare = options.load.max_requests, warmup_allowance(options.load)
    bare = [Request("GET", "/healthz")] * (cap + spare)
    static = signed_voice_requests(seed.static, server.port, cap + spare)
    flow = signed_voice_requests(seed.flow, server.port, cap + spare)
    phases = [
        Phase("bare /healthz", *split(bare, spare), is_healthy),
        Phase("static webhook", *split(static, spare), is_dial),
        Phase("flow webhook", *split(flow, spare), answers.check),
    ]
    return phases, flow


def resume_requests(seed: FlowSeed, port: int, sent: list[Request], bodies: list[bytes]) -> list[Request]:
    """Menu input for each call the flow phase answered, at the Gather action the server signed for it.

    The action names the call only by its HMAC tag (``fc``); the tags of the calls we placed (we chose
    the server's SECRET_KEY) say which call each reference belongs to."""
    calls: dict[str, dict[str, str]] = {}
    for request in sent:
        placed = dict(parse_qsl(request.body.decode()))
        calls[call_tag(seed, placed["CallSid"])] = placed
    prepared = []
    for body in bodies:
        match = _GATHER_ACTION.search(body)
        action = html.unescape(match.group(1).decode()) if match else ""
        call = calls.get(dict(parse_qsl(urlsplit(action).query)).get("fc", ""))
        if call is not None:
            prepared.append(menu_input(seed.flow, f"http://{HOST}:{port}{action}", call))
    return prepared


def call_tag(seed: FlowSeed, call_sid: str) -> str:
    sign = position.signer(seed.key, seed.account_id, call_sid, seed.version_id)
    return sign(Position("tag", 0))["fc"]


def menu_input(seed: Seed, action: str, call: dict[str, str]) -> Request:
    """The carrier's request after the caller pressed a key, signed over the absolute action URL (the
    TwiML's is relative: a carrier resolves it against the voice webhook's URL), query included."""
    params = {**call, "CallStatus": "in-progress", "Digits": MENU_CHOICE, "FinishedOnKey": ""}
    parts = urlsplit(action)
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Twilio-Signature": compute_signature(seed.auth_token, action, params.items()),
    }
    return Request("POST", f"{parts.path}?{parts.query}", urlencode(params).encode(), headers)


def taken_requests(phase: Phase, requests: list[Request], spare: int) -> list[Request]:
    """The requests a phase actually sent: each source hands its list out from the front."""
    return requests[: phase.warmup.taken] + requests[spare : spare + phase.measured.taken]


def measure(options: Options, server: Server, seed: FlowSeed) -> tuple[list[PhaseStats], list[int]]:
    """Every phase on one server; also how many requests each sent (warm-up included)."""
    load, answers = options.load, Answers()

    def go(phase: Phase) -> PhaseStats:
        return run_phase(server, phase, load.concurrency, load.duration, load.warmup, load.client)

    phases, flow_requests = first_hop_phases(options, server, seed, answers)
    stats = [go(phase) for phase in phases]
    if options.resume:
        placed = taken_requests(phases[2], flow_requests, warmup_allowance(load))
        inputs = resume_requests(seed, server.port, placed, answers.bodies)
        resumed = Phase(
            "flow resumed hop", *split(inputs, min(warmup_allowance(load), len(inputs) // 4)), is_dial
        )
        stats.append(go(resumed))
        phases.append(resumed)
    return stats, [phase.taken for phase in phases]


def run(options: Options) -> dict[str, Any]:
    host = machine()  # the load average before we add to it: other jobs on the machine skew everything
    # The engine first, while no server of ours competes for the CPU.
    engine_result = run_engine(options.engine_seconds, options.sticky)
    with tempfile.TemporaryDirectory(prefix="ringtrail-bench-") as tmp_name:
        tmp = Path(tmp_name)
        with scratch_database(tmp) as (database_url, database):
            env = bench_env(tmp, database_url, {"SECRET_KEY": secrets.token_urlsafe(32)})
            seed = seed_flow_account(env, options.sticky)
            with running_server(env, options.load.workers, options.load.threads) as server:
                stats, sent = measure(options, server, seed)
            stored = run_django_snippet(COUNT_STORED, env)
    return report(options, host, database, engine_result, stats, sent, stored)


def stored_check(stats: list[PhaseStats], sent: list[int], stored: dict[str, int]) -> dict[str, Any]:
    """Sent vs stored per kind: a 200 can come from the database-down fallback, a stored row cannot."""
    kinds = [("static", 1, stored["static"]), ("flow", 2, stored["flow"])]
    if len(stats) > 3:
        kinds.append(("resumed", 3, stored["resumed"]))
    checked: dict[str, Any] = {}
    for name, index, count in kinds:
        answered = sent[index] - stats[index].errors - stats[index].warmup_errors
        checked[name] = {"sent": sent[index], "stored": count, "unstored": max(0, answered - count)}
    checked["flow_events"] = stored["flow_events"]
    return checked


def report(
    options: Options,
    host: dict[str, Any],
    database: str,
    engine_result: dict[str, Any],
    stats: list[PhaseStats],
    sent: list[int],
    stored: dict[str, int],
) -> dict[str, Any]:
    bare, static, flow = stats[:3]
    checked = stored_check(stats, sent, stored)
    unstored = sum(entry["unstored"] for entry in checked.values() if isinstance(entry, dict))
    errors = sum(p.errors + p.warmup_errors for p in stats) + unstored + (0 if engine_result["ok"] else 1)
    load = options.load
    return {
        "benchmark": "flows",
        "date": dt.date.today().isoformat(),
        "mode": "smoke" if load.smoke else "full",
        "machine": host,
        "database": database,
        "server": {"command": "ringtrail serve", "workers": load.workers, "threads": load.threads},
        "client": load.client,
        "concurrency": load.concurrency,
        "duration_s": load.duration,
        "warmup_s": load.warmup,
        "engine": engine_result,
        "phases": {key: p.as_dict() for key, p in zip(PHASE_KEYS, stats, strict=False)},
        "ratios": {
            "flow_rps_over_static_rps": ratio(flow.requests_per_second, static.requests_per_second),
            "flow_p99_over_static_p99": ratio(flow.p99_ms, static.p99_ms),
            "flow_cpu_over_static_cpu": ratio(
                flow.server_cpu_ms_per_request or 0, static.server_cpu_ms_per_request or 0
            ),
            "flow_rps_over_bare_rps": ratio(flow.requests_per_second, bare.requests_per_second),
            "flow_p99_over_bare_p99": ratio(flow.p99_ms, bare.p99_ms),
        },
        "webhooks": checked,
        "errors": errors,
        "ok": errors == 0 and all(p.requests > 0 for p in stats),
    }


def machine() -> dict[str, Any]:
    import platform

    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average": [round(value, 2) for value in os.getloadavg()],
    }


def render_engine(result: dict[str, Any]) -> list[str]:
    lines = [f"{'engine (in-process)':<22}{'decisions':>11}{'per second':>12}{'CPU us each':>13}{'ok':>5}"]
    for case in result["cases"].values():
        lines.append(
            f"{case['name']:<22}{case['decisions']:>11}{case['decisions_per_second']:>12}"
            f"{case['cpu_us_per_decision']:>13.1f}{'yes' if case['ok'] else 'NO':>5}"
        )
    ratios = result["ratios"]
    lines.append(
        f"decisions/s flow ÷ static forward: first hop {ratios['first_hop_over_static']}, "
        f"resumed hop {ratios['resumed_hop_over_static']} ({result['flow_steps']}-step flow, signed, "
        f"sticky {'on' if result['sticky'] else 'off'})"
    )
    return lines


def render_text(result: dict[str, Any]) -> str:
    stats = [PhaseStats(**phase) for phase in result["phases"].values()]
    ratios, hooks, host = result["ratios"], result["webhooks"], result["machine"]
    lines = [
        f"Ringtrail call-flow benchmark ({result['mode']}, {result['date']}): {result['database']}, "
        f"{result['server']['workers']} workers x {result['server']['threads']} threads, "
        f"{result['concurrency']} concurrent callers, {result['duration_s']} s per phase, "
        f"{host['cpus']} CPUs, load average {host['load_average']} at the start",
        *render_engine(result["engine"]),
        format_table(stats),
        f"flow ÷ static webhook: throughput {ratios['flow_rps_over_static_rps']}, "
        f"p99 {ratios['flow_p99_over_static_p99']}, server CPU {ratios['flow_cpu_over_static_cpu']}",
        f"flow webhook ÷ bare: throughput {ratios['flow_rps_over_bare_rps']}, "
        f"p99 {ratios['flow_p99_over_bare_p99']}",
    ]
    for name in ("static", "flow", "resumed"):
        if name in hooks:
            lines.append(f"{name}: sent {hooks[name]['sent']}, stored {hooks[name]['stored']}")
    lines.append(f"flow events stored: {hooks['flow_events']}")
    lines += [f"error: {sample}" for phase in stats for sample in phase.error_samples]
    lines.append("OK" if result["ok"] else f"FAILED: {result['errors']} errors")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    return run_benchmark(lambda: run(options), render_text, options.load.as_json)


if __name__ == "__main__":
    sys.exit(main())

"""Voice webhook benchmark: signed incoming-call webhooks against a bare Django view, in one run.

    python bench/voice_webhook.py [--smoke] [--concurrency 32] [--duration 10] [--json]

Both phases hit the same real server (``ringtrail serve``) with the same closed-loop load generator,
so the ratio between them is what the webhook pipeline costs on this machine. Exits non-zero if any
request failed or a webhook-answered call was not stored; the p99 goal is reported, never enforced.
See docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import secrets
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``ringtrail`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    LOAD_GENERATORS,
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
from ringtrail.carriers.twilio.signature import compute_signature

GOAL_P99_MS = 50.0
VOICE_PATH = "/carriers/twilio/voice"
SEED = """
from ringtrail.testing import wired_account
wired = wired_account(record_calls=True)
print(json.dumps({"account_sid": wired.connection.account_sid, "auth_token": wired.auth_token,
                  "tracking_number": wired.tracking.number}))
"""
COUNT_CALLS = """
from ringtrail.calls.models import Call
print(json.dumps(Call.objects.count()))
"""


@dataclass(frozen=True)
class Options:
    smoke: bool
    concurrency: int
    duration: float
    warmup: float
    max_requests: int
    workers: int
    threads: int
    client: str
    as_json: bool


@dataclass(frozen=True)
class Seed:
    account_sid: str
    auth_token: str
    tracking_number: str


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="short CI run: 8 callers, 1.5 s per phase")
    parser.add_argument("--concurrency", type=int, help="concurrent callers (default 32, smoke 8)")
    parser.add_argument("--duration", type=float, help="measured seconds per phase (default 10, smoke 1.5)")
    parser.add_argument("--warmup", type=float, help="uncounted seconds per phase (default 1, smoke 0.5)")
    parser.add_argument("--max-requests", type=int, help="request cap per phase (default 60000, smoke 6000)")
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("WEB_WORKERS", os.cpu_count() or 2))
    )
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "2")))
    parser.add_argument("--client", choices=sorted(LOAD_GENERATORS), default="loop")
    parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON document")
    args = parser.parse_args(argv)

    def pick(value: Any, normal: Any, smoke: Any) -> Any:
        return value if value is not None else (smoke if args.smoke else normal)

    return Options(
        smoke=args.smoke,
        concurrency=pick(args.concurrency, 32, 8),
        duration=pick(args.duration, 10.0, 1.5),
        warmup=pick(args.warmup, 1.0, 0.5),
        max_requests=pick(args.max_requests, 60_000, 6_000),
        workers=args.workers,
        threads=args.threads,
        client=args.client,
        as_json=args.as_json,
    )


def signed_voice_requests(seed: Seed, port: int, count: int) -> list[Request]:
    """Unique, correctly signed incoming-call webhooks, prepared up front so signing is not measured."""
    url = f"http://127.0.0.1:{port}{VOICE_PATH}"
    callers = random.Random(port)  # reproducible within a run; the port differs between runs anyway
    prepared = []
    for _ in range(count):
        params = {
            "CallSid": "CA" + secrets.token_hex(16),
            "AccountSid": seed.account_sid,
            "From": f"+1212555{callers.randrange(10_000):04d}",
            "To": seed.tracking_number,
            "CallStatus": "ringing",
            "Direction": "inbound",
            "ApiVersion": "2010-04-01",
        }
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            "X-Twilio-Signature": compute_signature(seed.auth_token, url, params.items()),
        }
        prepared.append(Request("POST", VOICE_PATH, urlencode(params).encode(), headers))
    return prepared


def is_healthy(status: int, body: bytes) -> bool:
    return status == 200 and body == b"ok\n"


def is_dial(status: int, body: bytes) -> bool:
    return status == 200 and b"<Dial" in body


def warmup_allowance(options: Options) -> int:
    # Enough for the warm-up at several thousand requests/s without signing a second full batch.
    return max(500, int(options.warmup * 4_000))


def build_phases(options: Options, server: Server, seed: Seed) -> tuple[Phase, Phase]:
    cap, spare = options.max_requests, warmup_allowance(options)
    bare = [Request("GET", "/healthz")] * (cap + spare)  # one shared object: a GET has no per-call state
    voice = signed_voice_requests(seed, server.port, cap + spare)
    return (
        Phase("bare /healthz", RequestSource(bare[:spare]), RequestSource(bare[spare:]), is_healthy),
        Phase("voice webhook", RequestSource(voice[:spare]), RequestSource(voice[spare:]), is_dial),
    )


def seed_account(env: dict[str, str]) -> Seed:
    run_ringtrail(["migrate", "--noinput"], env)
    return Seed(**run_django_snippet(SEED, env))


def run(options: Options) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="ringtrail-bench-") as tmp_name:
        tmp = Path(tmp_name)
        with scratch_database(tmp) as (database_url, engine):
            env = bench_env(tmp, database_url)
            seed = seed_account(env)
            with running_server(env, options.workers, options.threads) as server:
                bare_phase, voice_phase = build_phases(options, server, seed)
                bare, voice = (
                    run_phase(
                        server, phase, options.concurrency, options.duration, options.warmup, options.client
                    )
                    for phase in (bare_phase, voice_phase)
                )
            stored = int(run_django_snippet(COUNT_CALLS, env))
            spooled = len(list((tmp / "spool").glob("*.json")))
    return report(options, engine, bare, voice, voice_phase.taken, stored, spooled)


def report(
    options: Options, engine: str, bare: PhaseStats, voice: PhaseStats, sent: int, stored: int, spooled: int
) -> dict[str, Any]:
    # A 200 <Dial> can come from the database-down fallback; only a stored row proves the full path ran.
    unstored = max(0, sent - voice.errors - voice.warmup_errors - stored)
    errors = bare.errors + bare.warmup_errors + voice.errors + voice.warmup_errors + unstored
    return {
        "benchmark": "voice_webhook",
        "date": dt.date.today().isoformat(),
        "mode": "smoke" if options.smoke else "full",
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
        "database": engine,
        "server": {"command": "ringtrail serve", "workers": options.workers, "threads": options.threads},
        "client": options.client,
        "concurrency": options.concurrency,
        "duration_s": options.duration,
        "warmup_s": options.warmup,
        "phases": {"bare": bare.as_dict(), "webhook": voice.as_dict()},
        "ratios": {
            "webhook_rps_over_bare_rps": ratio(voice.requests_per_second, bare.requests_per_second),
            "webhook_p99_over_bare_p99": ratio(voice.p99_ms, bare.p99_ms),
        },
        "goal": {"webhook_p99_ms_below": GOAL_P99_MS, "met": voice.p99_ms < GOAL_P99_MS},
        "webhooks": {"sent": sent, "stored": stored, "spooled": spooled, "unstored": unstored},
        "errors": errors,
        "ok": errors == 0 and bare.requests > 0 and voice.requests > 0,
    }


def render_text(result: dict[str, Any]) -> str:
    bare, voice = (PhaseStats(**result["phases"][key]) for key in ("bare", "webhook"))
    ratios, goal, hooks = result["ratios"], result["goal"], result["webhooks"]
    met = "met" if goal["met"] else "NOT met"
    lines = [
        f"Ringtrail voice webhook benchmark ({result['mode']}, {result['date']}): {result['database']}, "
        f"{result['server']['workers']} workers x {result['server']['threads']} threads, "
        f"{result['concurrency']} concurrent callers, {result['duration_s']} s per phase, "
        f"client {result['client']}, {result['machine']['cpus']} CPUs, Python {result['machine']['python']}",
        format_table([bare, voice]),
        f"ratio webhook / bare: throughput {ratios['webhook_rps_over_bare_rps']}, "
        f"p99 {ratios['webhook_p99_over_bare_p99']}",
        f"goal webhook p99 < {goal['webhook_p99_ms_below']:.0f} ms: {met} (p99 {voice.p99_ms:.1f} ms)",
        f"webhooks sent {hooks['sent']}, stored {hooks['stored']}, spooled {hooks['spooled']}",
    ]
    lines += [f"error: {sample}" for phase in (bare, voice) for sample in phase.error_samples]
    lines.append("OK" if result["ok"] else f"FAILED: {result['errors']} errors")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    return run_benchmark(lambda: run(options), render_text, options.as_json)


if __name__ == "__main__":
    sys.exit(main())

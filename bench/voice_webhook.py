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
import json
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
    BenchError,
    Phase,
    PhaseStats,
    Request,
    RequestSource,
    Server,
    bench_env,
    format_table,
    install_sigterm_as_interrupt,
    ratio,
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
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true", help="short CI run: 8 callers, 1.5 s per phase")
    parser.add_argument("--concurrency", type=int, help="concurrent callers (default 32, smoke 8)")
    parser.add_argument("--duration", type=float, help="measured seconds per phase (default 10, smoke 1.5)")
    parser.add_argument("--warmup", type=float, help="uncounted seconds per phase (default 1, smoke 0.5)")
    parser.add_argument("--max-requests", type=int, help="request cap per phase (default 30000, smoke 3000)")
    parser.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", os.cpu_count() or 2)))
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "8")))
    parser.add_argument("--client", choices=sorted(LOAD_GENERATORS), default="threads")
    parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON document")
    args = parser.parse_args(argv)

    def pick(value: Any, normal: Any, smoke: Any) -> Any:
        return value if value is not None else (smoke if args.smoke else normal)

    return Options(
        smoke=args.smoke,
        concurrency=pick(args.concurrency, 32, 8),
        duration=pick(args.duration, 10.0, 1.5),
        warmup=pick(args.warmup, 1.0, 0.5),
        max_requests=pick(args.max_requests, 30_000, 3_000),
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


def measure(options: Options, server: Server, seed: Seed) -> tuple[PhaseStats, PhaseStats, int]:
    """Run both phases; returns their stats and how many webhooks were sent in total (warm-up included)."""
    cap, spare = options.max_requests, warmup_allowance(options)
    bare = [Request("GET", "/healthz")] * (cap + spare)  # one shared object: a GET has no per-call state
    voice = signed_voice_requests(seed, server.port, cap + spare)
    # Warm-up and measured requests come from disjoint slices so the measured phase always gets its cap.
    phases = [
        (Phase("bare /healthz", RequestSource(bare[:spare]), is_healthy), RequestSource(bare[spare:])),
        (Phase("voice webhook", RequestSource(voice[:spare]), is_dial), RequestSource(voice[spare:])),
    ]
    results = []
    for warm, measured in phases:
        run_phase(server, warm, options.concurrency, options.warmup, 0, options.client)
        results.append(
            run_phase(
                server, Phase(warm.name, measured, warm.check), options.concurrency, options.duration, 0,
                options.client,
            )
        )
    sent = len(voice) - phases[1][0].source.remaining - phases[1][1].remaining
    return results[0], results[1], sent

"""Page views answered while the visit buffer flushes: one long transaction against small batches.

    python bench/record_flush.py [--smoke] [--rounds 12] [--pending 700] [--store sql|redis] [--json]

A web worker buffers its page views, and a background thread writes them (``visits/buffer.py``).
Building a batch's rows holds the interpreter lock, so the page views the same worker answers
meanwhile wait for it. This runs the session endpoint in one process, through the WSGI application
the server runs (Django set up on a scratch database, the Redis lease store when Redis answers).
Round after round it lets ``--pending`` new visitors pile up (what half a second of load leaves in one
worker), then flushes them in a thread while the main thread goes on answering new visitors: once as
one transaction (``MAX_BATCH`` hits, no pause: how every flush was written before), once as the
settings say (``DNI_RECORD_BATCH`` hits, ``DNI_RECORD_BATCH_PAUSE_SECONDS`` between them). It prints
the latency of the page views answered during the flushes, for both, and the p99 ratio. Both run in
the same process and the same rounds, alternately, so the ratio does not depend on the host's speed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import itertools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``ringtrail`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dni
from bench.common import BenchError, bench_env, percentile, ratio, run_benchmark, scratch_database

INNER = "RINGTRAIL_BENCH_INNER"
GAP_SECONDS = 0.0004  # between page views during a flush: a worker busy, not saturated
ONE_TRANSACTION, BATCHED = "one transaction", "batched"


@dataclass(frozen=True)
class Options:
    smoke: bool
    rounds: int
    pending: int
    store: str | None
    as_json: bool


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--smoke", action="store_true", help="short CI run: 2 rounds of 100 page views")
    parser.add_argument("--rounds", type=int, help="rounds, each flushing once per mode (default 12)")
    parser.add_argument("--pending", type=int, help="page views buffered before each flush (default 700)")
    parser.add_argument("--store", choices=("sql", "redis"), help="lease store (default redis if it answers)")
    parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON document")
    args = parser.parse_args(argv)
    return Options(
        smoke=args.smoke,
        rounds=args.rounds or (2 if args.smoke else 12),
        pending=args.pending or (100 if args.smoke else 700),
        store=args.store,
        as_json=args.as_json,
    )


# --- the outer process: a scratch database, then the measurement in a process with Django set up ------


def run(options: Options) -> dict[str, Any]:
    pool_size = 8_000 if options.smoke else 60_000
    with tempfile.TemporaryDirectory(prefix="ringtrail-bench-") as tmp_name:
        tmp = Path(tmp_name)
        with scratch_database(tmp) as (database_url, engine):
            seed = dni.seed_site(bench_env(tmp, database_url), pool_size)
            store = options.store or "redis"
            env = dni.store_env(tmp, database_url, store)
            if store == "redis" and (reason := dni.redis_unavailable(env)) is not None:
                if options.store == "redis":
                    raise BenchError(reason)
                store, env = "sql", dni.store_env(tmp, database_url, "sql")
            env.update({INNER: seed.public_key, "DNI_RECORD_FLUSH_SECONDS": "3600"})
            argv = ["--rounds", str(options.rounds), "--pending", str(options.pending)]
            done = subprocess.run(
                [sys.executable, str(Path(__file__).resolve()), *argv],
                env=env,
                capture_output=True,
                text=True,
                timeout=600,
            )
    if done.returncode != 0:
        raise BenchError(f"the measuring process failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    measured: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return report(options, engine, store, measured)


def report(options: Options, engine: str, store: str, measured: dict[str, Any]) -> dict[str, Any]:
    modes = measured["modes"]
    errors = sum(mode["errors"] for mode in modes.values())
    return {
        "benchmark": "record_flush",
        "date": dt.date.today().isoformat(),
        "mode": "smoke" if options.smoke else "full",
        "database": engine,
        "lease_store": store,
        "rounds": options.rounds,
        "pending": options.pending,
        "batching": measured["batching"],
        "modes": modes,
        "p99_ratio_batched_over_one": ratio(modes[BATCHED]["p99_ms"], modes[ONE_TRANSACTION]["p99_ms"]),
        "errors": errors,
        "ok": errors == 0 and all(mode["requests"] > 0 for mode in modes.values()),
    }


def render_text(result: dict[str, Any]) -> str:
    size, pause = result["batching"]
    lines = [
        f"Ringtrail record-flush benchmark ({result['mode']}, {result['date']}): {result['database']}, "
        f"{result['lease_store']} lease store, {result['rounds']} rounds of {result['pending']} buffered "
        f"page views; batched = {size} hits per transaction, {pause * 1000:.1f} ms between",
        f"{'flush':<18}{'page views':>11}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
        f"{'flush ms':>10}{'errors':>8}",
    ]
    for name, mode in result["modes"].items():
        lines.append(
            f"{name:<18}{mode['requests']:>11}{mode['p50_ms']:>9.2f}{mode['p99_ms']:>9.2f}"
            f"{mode['max_ms']:>9.2f}{mode['flush_ms']:>10.0f}{mode['errors']:>8}"
        )
    lines.append("(page views answered in this process while it flushed; flush ms = median flush)")
    lines.append(f"p99 ratio batched / one transaction: {result['p99_ratio_batched_over_one']}")
    lines.append("OK" if result["ok"] else f"FAILED: {result['errors']} errors")
    return "\n".join(lines)


# --- the inner process: Django set up, the application in process ---------------------------------------


def measure_in_process(public_key: str, rounds: int, pending: int) -> dict[str, Any]:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ringtrail.settings")
    django.setup()
    from django.conf import settings

    from ringtrail.visits.buffer import MAX_BATCH, buffer
    from ringtrail.wsgi import application

    answer = page_views(application, public_key)
    for _ in range(200):  # configuration loaded, connections open
        answer()
    buffer.flush()
    batching = (int(settings.DNI_RECORD_BATCH), float(settings.DNI_RECORD_BATCH_PAUSE_SECONDS))
    modes = {ONE_TRANSACTION: (MAX_BATCH, 0.0), BATCHED: batching}
    seen: dict[str, tuple[list[float], list[float], list[int]]] = {m: ([], [], []) for m in modes}
    for _ in range(rounds):
        for name, (size, pause) in modes.items():
            for _ in range(pending):
                answer()
            latencies, flushes, errors = seen[name]
            flush = functools.partial(buffer.flush, size, pause)
            flushes.append(flush_while_answering(flush, answer, latencies, errors))
    return {"batching": batching, "modes": {name: summary(*seen[name]) for name in modes}}


def page_views(application: Callable[..., Any], public_key: str) -> Callable[[], bool]:
    """A function answering one new visitor through the WSGI application; True if it got a 200."""
    seed = dni.Seed(public_key, "", 0)
    counter = itertools.count()

    from ringtrail.testing_wsgi import wsgi_environ

    def answer() -> bool:
        body = dni.session_body(None, None, f"https://acme.test/landing?gclid=g{next(counter)}", "")
        headers = {"CONTENT_TYPE": "text/plain", "HTTP_USER_AGENT": dni.BROWSER}
        environ = wsgi_environ("POST", seed.path, body, headers)
        status: list[str] = []
        b"".join(application(environ, lambda line, headers: status.append(line)))
        return bool(status) and status[0].startswith("200")

    return answer


def flush_while_answering(
    flush: Callable[[], int], answer: Callable[[], bool], latencies: list[float], errors: list[int]
) -> float:
    """Seconds the flush took; the latency of each page view answered meanwhile goes to ``latencies``."""
    flusher = threading.Thread(target=flush)
    started = time.perf_counter()
    flusher.start()
    while flusher.is_alive():
        begun = time.perf_counter()
        if not answer():
            errors.append(1)
        latencies.append(time.perf_counter() - begun)
        time.sleep(GAP_SECONDS)
    flusher.join()
    return time.perf_counter() - started


def summary(latencies: list[float], flushes: list[float], errors: list[int]) -> dict[str, Any]:
    ordered, durations = sorted(latencies), sorted(flushes)
    return {
        "requests": len(ordered),
        "p50_ms": round(percentile(ordered, 0.50) * 1000, 2),
        "p99_ms": round(percentile(ordered, 0.99) * 1000, 2),
        "max_ms": round((ordered[-1] if ordered else 0.0) * 1000, 2),
        "flush_ms": round(percentile(durations, 0.50) * 1000, 1),
        "errors": len(errors),
    }


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    public_key = os.environ.get(INNER)
    if public_key:
        print(json.dumps(measure_in_process(public_key, options.rounds, options.pending)))
        return 0
    return run_benchmark(lambda: run(options), render_text, options.as_json)


if __name__ == "__main__":
    sys.exit(main())

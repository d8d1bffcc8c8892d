#!/usr/bin/env python
"""Compare server settings on the DNI session endpoint's paced phases, alternating, several rounds.

On a shared two-CPU host one run's p99 moved by a factor of two between identical runs
(docs/benchmarks.md), so a change that helps p99 cannot be shown by one run before and one after.
This script starts the real server once per variant and round, with the variant's environment on
top of ``bench/dni.py``'s, and sends the same two paced phases to each: new visitors at a fixed rate,
then the next page views of those visits (as old as ``dni.py``'s). The variants' order rotates from
round to round, so drift of the host falls on each of them alike. It prints each run's p99 and
server CPU, and per variant the median over the rounds.

Each run starts from the same pool state (every lease deleted, every number unmarked); the database's
visit tables grow from run to run, which the rotation also spreads.

    .venv/bin/python bench/dni_ab.py 'batch200:DNI_RECORD_BATCH=200' 'batch25:DNI_RECORD_BATCH=25'
    .venv/bin/python bench/dni_ab.py 'w2t2:WEB_WORKERS=2' 'w4t1:WEB_WORKERS=4,WEB_THREADS=1'  # layouts
    .venv/bin/python bench/dni_ab.py --closed-new 'old:PYTHONPATH=/tmp/old' 'new'  # code versions
    # options: --store sql|redis --rate R (default 0.5 x the bare view, measured once) --rounds N
    #          --duration S --warmup S --concurrency N --workers N --threads N --closed-new --smoke --json

``--closed-new`` sends instead only new visitors in a closed loop (``dni.py``'s phase 2): the one
figure of issue 3's goals that a run on this host still misses now and then, and the one whose p99
is mostly the server's queue, so throughput and tail move together there.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make ``bench`` and ``ringtrail`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import dni
from bench.common import (
    BenchError,
    Phase,
    PhaseStats,
    Request,
    Server,
    bench_env,
    run_benchmark,
    run_django_snippet,
    run_phase,
    running_server,
    scratch_database,
)

# Every number unmarked too: a number a run reserved stays marked until its lease would end.
RESET_POOL = dni.CLEAR_LEASES + (
    "from ringtrail.numbers.models import TrackingNumber\nTrackingNumber.objects.update(lease_ends_at=None)\n"
)


# Page views sent by the closed-loop phase at most (its duration ends it first).
CLOSED_LOOP_REQUESTS = 200_000


@dataclass(frozen=True)
class Variant:
    name: str
    env: dict[str, str]


@dataclass(frozen=True)
class Options:
    variants: tuple[Variant, ...]
    store: str
    rate: float | None
    rounds: int
    duration: float
    warmup: float
    concurrency: int
    workers: int
    threads: int
    pool_size: int
    as_json: bool
    closed_new: bool = False


def parse_variant(spec: str) -> Variant:
    """``NAME`` or ``NAME:KEY=VALUE,KEY=VALUE``: the server's extra environment."""
    name, _, assignments = spec.partition(":")
    env: dict[str, str] = {}
    for assignment in filter(None, assignments.split(",")):
        key, equals, value = assignment.partition("=")
        if not equals or not key:
            raise argparse.ArgumentTypeError(f"{assignment!r} in {spec!r} is not KEY=VALUE")
        env[key] = value
    if not name:
        raise argparse.ArgumentTypeError(f"{spec!r} has no name")
    return Variant(name, env)


def parse_args(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("variants", nargs="+", type=parse_variant, help="NAME[:KEY=VALUE,...]")
    parser.add_argument("--store", choices=("sql", "redis"), default="sql")
    parser.add_argument("--rate", type=float, help="sessions/s (default 0.5 x the bare view, measured once)")
    parser.add_argument("--rounds", type=int, help="runs of each variant (default 3, smoke 1)")
    parser.add_argument("--duration", type=float, help="measured seconds per phase (default 10, smoke 1)")
    parser.add_argument("--warmup", type=float, help="uncounted seconds per phase (default 2, smoke 0.3)")
    parser.add_argument("--concurrency", type=int, help="connections (default 64, smoke 8)")
    parser.add_argument(
        "--workers", type=int, default=int(os.environ.get("WEB_WORKERS", os.cpu_count() or 2))
    )
    parser.add_argument("--threads", type=int, default=int(os.environ.get("WEB_THREADS", "2")))
    parser.add_argument(
        "--closed-new", action="store_true", help="only new visitors in a closed loop (dni.py's phase 2)"
    )
    parser.add_argument("--smoke", action="store_true", help="short CI run: 8 connections, 1 s phases")
    parser.add_argument("--json", action="store_true", dest="as_json", help="print one JSON document")
    args = parser.parse_args(argv)
    smoke = bool(args.smoke)
    return Options(
        variants=tuple(args.variants),
        store=args.store,
        rate=args.rate if args.rate is not None else (200.0 if smoke else None),
        rounds=args.rounds or (1 if smoke else 3),
        duration=args.duration or (1.0 if smoke else 10.0),
        warmup=args.warmup or (0.3 if smoke else 2.0),
        concurrency=args.concurrency or (8 if smoke else 64),
        workers=args.workers,
        threads=args.threads,
        pool_size=20_000 if smoke else 160_000,
        as_json=args.as_json,
        closed_new=args.closed_new,
    )


def rotated(variants: tuple[Variant, ...], round_index: int) -> list[Variant]:
    shift = round_index % len(variants)
    return [*variants[shift:], *variants[:shift]]


def median_of(values: list[float]) -> float:
    return round(statistics.median(values), 2) if values else 0.0


def phases(
    options: Options, server: Server, seed: dni.Seed, rate: float
) -> tuple[PhaseStats, PhaseStats, PhaseStats]:
    """New visitors at ``rate``, the next page views of those visits at the same rate, then the
    same page views in a closed loop."""

    def go(phase: Phase, paced: float | None) -> PhaseStats:
        return run_phase(server, phase, options.concurrency, options.duration, options.warmup, "loop", paced)

    spare, count = dni.paced_budget(_dni_options(options), rate)
    answers = dni.Answers(seed.fallback)
    new_visitors = dni.new_visitor_requests(seed, spare + count)
    new = go(Phase("new, paced", *dni.split(new_visitors, spare), answers.check), rate)
    back = dni.returning_requests(seed, list(answers.ids), spare + count)
    returning = go(Phase("returning, paced", *dni.split(back, spare), dni.Answers(seed.fallback).check), rate)
    again = dni.returning_requests(seed, list(answers.ids), CLOSED_LOOP_REQUESTS)
    closed = go(Phase("returning", *dni.split(again, spare), dni.Answers(seed.fallback).check), None)
    return new, returning, closed


def closed_new(options: Options, server: Server, seed: dni.Seed) -> PhaseStats:
    """New visitors in a closed loop, as many as the pool holds (``dni.new_visitor_budget``)."""
    spare, count = dni.new_visitor_budget(_dni_options(options), 0)
    visitors = dni.new_visitor_requests(seed, spare + count)
    phase = Phase("new visitor", *dni.split(visitors, spare), dni.Answers(seed.fallback).check)
    return run_phase(server, phase, options.concurrency, options.duration, options.warmup, "loop")


def _dni_options(options: Options) -> dni.Options:
    return dni.parse_args(
        [
            *("--duration", str(options.duration), "--warmup", str(options.warmup)),
            *("--pool-size", str(options.pool_size), "--workers", str(options.workers)),
        ]
    )


def bare_rate(options: Options, server: Server) -> float:
    """Half the bare view's closed-loop req/s: the rate the goal of issue 3 asks for."""
    healthz = [Request("GET", "/healthz")] * 200_000
    phase = Phase("bare /healthz", *dni.split(healthz, 20_000), dni.is_healthy)
    bare = run_phase(server, phase, options.concurrency, options.duration, options.warmup, "loop")
    return round(dni.GOAL_RATIO * bare.requests_per_second, 1)


def run_variant(
    options: Options, tmp: Path, url: str, seed: dni.Seed, variant: Variant, rate: float | None
) -> dict[str, Any]:
    env = {**dni.store_env(tmp, url, options.store), **variant.env}
    # For the Redis store this also empties the benchmark's Redis database: the same start each run.
    if options.store == "redis" and (reason := dni.redis_unavailable(env)) is not None:
        raise BenchError(f"Redis store not available: {reason}")
    run_django_snippet(RESET_POOL, env)
    # A variant may set the server's layout too: 'wide:WEB_WORKERS=4'.
    workers = int(variant.env.get("WEB_WORKERS", options.workers))
    threads = int(variant.env.get("WEB_THREADS", options.threads))
    with running_server(env, workers, threads) as server:
        if options.closed_new:
            new_closed = closed_new(options, server, seed)
            errors = new_closed.errors + new_closed.warmup_errors
            return {
                "variant": variant.name,
                "rate": None,
                "new_closed": new_closed.as_dict(),
                "errors": errors,
            }
        rate = rate if rate is not None else bare_rate(options, server)
        new, returning, closed = phases(options, server, seed, rate)
    return {
        "variant": variant.name,
        "rate": rate,
        "new": new.as_dict(),
        "returning": returning.as_dict(),
        "returning_closed": closed.as_dict(),
        "errors": sum(phase.errors + phase.warmup_errors for phase in (new, returning, closed)),
    }


def run(options: Options) -> dict[str, Any]:
    runs: list[dict[str, Any]] = []
    rate = options.rate
    with tempfile.TemporaryDirectory(prefix="ringtrail-bench-ab-") as tmp_name:
        tmp = Path(tmp_name)
        with scratch_database(tmp) as (url, engine):
            seed = dni.seed_site(bench_env(tmp, url), options.pool_size)
            for round_index in range(options.rounds):
                for variant in rotated(options.variants, round_index):
                    result = run_variant(options, tmp, url, seed, variant, rate)
                    rate = result["rate"]
                    runs.append({"round": round_index, **result})
    return report(options, engine, runs)


def report(options: Options, engine: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    summary = {}
    for variant in options.variants:
        mine = [run for run in runs if run["variant"] == variant.name]
        summary[variant.name] = (
            closed_summary(variant, mine) if options.closed_new else paced_summary(variant, mine)
        )
    errors = sum(run["errors"] for run in runs)
    return {
        "benchmark": "dni_ab",
        "engine": engine,
        "store": options.store,
        "mode": "closed-new" if options.closed_new else "paced",
        "rate": runs[0]["rate"] if runs else options.rate,
        "rounds": options.rounds,
        "runs": runs,
        "summary": summary,
        "errors": errors,
        "ok": errors == 0,
    }


def closed_summary(variant: Variant, mine: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "env": variant.env,
        "p99_ms_new_closed": [run["new_closed"]["p99_ms"] for run in mine],
        "median_p99_ms_new_closed": median_of([run["new_closed"]["p99_ms"] for run in mine]),
        "rps_new_closed": [run["new_closed"]["requests_per_second"] for run in mine],
        "median_rps_new_closed": median_of([run["new_closed"]["requests_per_second"] for run in mine]),
    }


def paced_summary(variant: Variant, mine: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "env": variant.env,
        "p99_ms_new": [run["new"]["p99_ms"] for run in mine],
        "p99_ms_returning": [run["returning"]["p99_ms"] for run in mine],
        "median_p99_ms_new": median_of([run["new"]["p99_ms"] for run in mine]),
        "median_p99_ms_returning": median_of([run["returning"]["p99_ms"] for run in mine]),
        "median_server_cpu_ms_new": median_of(
            [run["new"]["server_cpu_ms_per_request"] or 0.0 for run in mine]
        ),
        "median_server_cpu_ms_returning": median_of(
            [run["returning"]["server_cpu_ms_per_request"] or 0.0 for run in mine]
        ),
        "closed_rps_returning": [run["returning_closed"]["requests_per_second"] for run in mine],
        "median_closed_rps_returning": median_of(
            [run["returning_closed"]["requests_per_second"] for run in mine]
        ),
    }


def render_text(result: dict[str, Any]) -> str:
    if result.get("mode") == "closed-new":
        return render_closed(result)
    lines = [
        f"DNI A/B ({result['engine']}, {result['store']} store): paced at {result['rate']} sessions/s, "
        f"{result['rounds']} round(s), variants in rotated order"
    ]
    for run in result["runs"]:
        new, back = run["new"], run["returning"]
        lines.append(
            f"round {run['round']} {run['variant']:>12}: p99 new {new['p99_ms']:7.1f} ms, returning "
            f"{back['p99_ms']:7.1f} ms; server cpu {new['server_cpu_ms_per_request'] or 0:.2f} / "
            f"{back['server_cpu_ms_per_request'] or 0:.2f} ms; returning, closed loop "
            f"{run['returning_closed']['requests_per_second']:.0f} req/s; steal "
            f"{_percent(new.get('host_steal_percent'))} / {_percent(back.get('host_steal_percent'))}; "
            f"errors {run['errors']}"
        )
    for name, row in result["summary"].items():
        lines.append(
            f"{name:>12}: median p99 new {row['median_p99_ms_new']} ms {row['p99_ms_new']}, returning "
            f"{row['median_p99_ms_returning']} ms {row['p99_ms_returning']}; median server cpu "
            f"{row['median_server_cpu_ms_new']} / {row['median_server_cpu_ms_returning']} ms; "
            f"returning, closed loop {row['median_closed_rps_returning']} req/s {row['closed_rps_returning']}"
        )
    lines.append("OK" if result["ok"] else f"FAILED: {result['errors']} errors")
    return "\n".join(lines)


def render_closed(result: dict[str, Any]) -> str:
    lines = [
        f"DNI A/B ({result['engine']}, {result['store']} store): new visitors in a closed loop, "
        f"{result['rounds']} round(s), variants in rotated order"
    ]
    for run in result["runs"]:
        new = run["new_closed"]
        cpu = new["server_cpu_ms_per_request"] or 0
        lines.append(
            f"round {run['round']} {run['variant']:>12}: p99 {new['p99_ms']:7.1f} ms, "
            f"p50 {new['p50_ms']:6.1f} ms, {new['requests_per_second']:.0f} req/s; server cpu {cpu:.2f} ms; "
            f"steal {_percent(new.get('host_steal_percent'))}; errors {run['errors']}"
        )
    for name, row in result["summary"].items():
        lines.append(
            f"{name:>12}: median p99 {row['median_p99_ms_new_closed']} ms {row['p99_ms_new_closed']}; "
            f"median {row['median_rps_new_closed']} req/s {row['rps_new_closed']}"
        )
    lines.append("OK" if result["ok"] else f"FAILED: {result['errors']} errors")
    return "\n".join(lines)


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} %"


def main(argv: list[str] | None = None) -> int:
    options = parse_args(argv)
    return run_benchmark(lambda: run(options), render_text, options.as_json)


if __name__ == "__main__":
    sys.exit(main())

"""Shared benchmark machinery: a throwaway database, the real server, a closed-loop load generator, stats.

Everything here runs the product the way a user would (``ringtrail migrate``, ``ringtrail serve``) in
subprocesses, so a benchmark measures the real server and never touches the developer's database.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import http.client
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from bench import loop_client, raw_client

HOST = "127.0.0.1"
RINGTRAIL = [sys.executable, "-m", "ringtrail.cli"]
REPO_ROOT = Path(__file__).resolve().parent.parent
# Inherited settings that would change what is measured or where it is stored.
SCRUBBED_ENV = ("RINGTRAIL_PUBLIC_URL", "RINGTRAIL_SPOOL_DIR", "RINGTRAIL_DEBUG", "PORT", "HOST")
CLIENT_TIMEOUT_SECONDS = 20.0  # a carrier gives up after 15 s; anything slower is an error anyway


class BenchError(RuntimeError):
    """The benchmark could not run (setup failed); distinct from a run that measured errors."""


# --- database ---------------------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_database(tmp: Path) -> Iterator[tuple[str, str]]:
    """Yield (DATABASE_URL, engine label): a temp SQLite file, or a PostgreSQL database created and dropped.

    A PostgreSQL ``DATABASE_URL`` in the environment names the server and a maintenance database to
    connect to; the benchmark never writes there, it creates ``ringtrail_bench_<hex>`` beside it.
    """
    inherited = os.environ.get("DATABASE_URL", "")
    scheme = urlsplit(inherited).scheme
    if not inherited or scheme == "sqlite":
        yield f"sqlite:///{tmp / 'bench.sqlite3'}", "sqlite"
        return
    if scheme not in ("postgres", "postgresql", "pgsql"):
        raise BenchError(f"unsupported DATABASE_URL scheme {scheme!r}: use sqlite or postgresql")
    name = f"ringtrail_bench_{secrets.token_hex(4)}"
    _postgres_admin(inherited, f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(inherited)._replace(scheme="postgresql", path=f"/{name}")), "postgresql"
    finally:
        _postgres_admin(inherited, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _postgres_admin(url: str, statement: str) -> None:
    import psycopg  # the product depends on it; imported late so SQLite runs need no server

    parts = urlsplit(url)
    with psycopg.connect(urlunsplit(parts._replace(scheme="postgresql")), autocommit=True) as connection:
        connection.execute(statement.encode())


# --- subprocesses -------------------------------------------------------------------------------------


def bench_env(tmp: Path, database_url: str, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in SCRUBBED_ENV}
    env.update(
        RINGTRAIL_VAR_DIR=str(tmp),
        DATABASE_URL=database_url,
        DJANGO_SETTINGS_MODULE="ringtrail.settings",
        PYTHONPATH=os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH", "")])),
    )
    env.update(extra or {})
    return env


def run_ringtrail(args: Sequence[str], env: dict[str, str]) -> str:
    """Run a management command to completion; its stdout, or BenchError with its output."""
    done = subprocess.run([*RINGTRAIL, *args], env=env, capture_output=True, text=True, timeout=300)
    if done.returncode != 0:
        raise BenchError(f"ringtrail {' '.join(args)} failed:\n{done.stdout}{done.stderr}")
    return done.stdout


def run_django_snippet(code: str, env: dict[str, str]) -> Any:
    """Run Python with Django set up in a fresh process; it must print one JSON document last."""
    prelude = "import django, json\ndjango.setup()\n"
    done = subprocess.run(
        [sys.executable, "-c", prelude + code], env=env, capture_output=True, text=True, timeout=300
    )
    if done.returncode != 0:
        raise BenchError(f"Django snippet failed:\n{done.stdout}{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


# A warning or error record of the server's log, or the exception line ending a traceback.
_LOGGED_PROBLEM = re.compile(r" (WARNING|ERROR|CRITICAL) |^\w+(\.\w+)*(Error|Exception|Timeout)\b")


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    def log_tail(self, lines: int = 40) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def logged_problems(self, most: int = 10) -> list[str]:
        """The last warnings and errors the server logged (``%(levelname)s`` records, and the
        exception line closing each traceback): why a run's answers failed, kept before the
        server's temporary directory goes."""
        with contextlib.suppress(OSError):
            lines = self.log_path.read_text(errors="replace").splitlines()
            problems = [line for line in lines if _LOGGED_PROBLEM.search(line)]
            return [line[:300] for line in problems[-most:]]
        return []

    def cpu_seconds(self) -> float | None:
        """User + system CPU of every process in the server's group (Linux /proc), None elsewhere."""
        return process_group_cpu_seconds(self.process.pid)


@contextlib.contextmanager
def running_server(env: dict[str, str], workers: int, threads: int) -> Iterator[Server]:
    """``ringtrail serve`` on a free port, healthy on entry, and killed (whole group) on any exit."""
    port = free_port()
    log_path = Path(env["RINGTRAIL_VAR_DIR"]) / "server.log"
    server_env = {**env, "WEB_WORKERS": str(workers), "WEB_THREADS": str(threads)}
    with log_path.open("wb") as log:
        # Own session: Granian forks workers, and a group kill is the only way to stop them all.
        process = subprocess.Popen(
            [*RINGTRAIL, "serve", "--host", HOST, "--port", str(port)],
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, port, log_path)
    try:
        _wait_healthy(server)
        yield server
    finally:
        stop_process_group(process)


def _wait_healthy(server: Server, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"server exited with {server.process.returncode}:\n{server.log_tail()}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            connection = http.client.HTTPConnection(HOST, server.port, timeout=1)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                return
        time.sleep(0.1)
    raise BenchError(f"server not healthy after {timeout:.0f} s:\n{server.log_tail()}")


def stop_process_group(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=grace)
            return


def process_group_cpu_seconds(pgid: int) -> float | None:
    proc = Path("/proc")
    if not proc.is_dir():
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0
    for stat in proc.glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            # Fields after the parenthesised command name: state ppid pgrp ... utime(12) stime(13).
            fields = stat.read_text().rpartition(")")[2].split()
            if int(fields[2]) == pgid:
                total += int(fields[11]) + int(fields[12])
    return total / ticks


def host_cpu_ticks(stat: Path = Path("/proc/stat")) -> tuple[int, int] | None:
    """(stolen, all) CPU ticks of the whole host since boot, None without /proc. A virtual machine's
    CPUs are taken away by its hypervisor now and then ("steal"); while that happens, every process
    here waits, and the wait is counted as server latency."""
    with contextlib.suppress(OSError, ValueError, IndexError):
        # cpu  user nice system idle iowait irq softirq steal guest guest_nice
        fields = [int(value) for value in stat.read_text().split("\n", 1)[0].split()[1:9]]
        return fields[7], sum(fields)
    return None


def steal_percent(before: tuple[int, int] | None, after: tuple[int, int] | None) -> float | None:
    if before is None or after is None or after[1] <= before[1]:
        return None
    return round(100 * (after[0] - before[0]) / (after[1] - before[1]), 1)


def settle(
    cpu_seconds: Callable[[], float | None],
    quiet_share: float = 0.05,
    window: float = 0.5,
    timeout: float = 30.0,
    sleep: Callable[[float], None] = time.sleep,
) -> float:
    """Wait until the server has finished the work a phase left behind (page views the recorder
    still writes, leases written behind): until its processes used under ``quiet_share`` of one CPU
    over a ``window``, or ``timeout`` seconds. Returns the seconds waited; without /proc, waits
    nothing. A closed loop saturates the server, and what it leaves would otherwise be counted
    against the next phase."""
    waited, before = 0.0, cpu_seconds()
    while before is not None and waited < timeout:
        sleep(window)
        waited += window
        now = cpu_seconds()
        if now is None or now - before < quiet_share * window:
            break
        before = now
    return waited


# --- load generation ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)


Check = Callable[[int, bytes], bool]


class RequestSource:
    """Hands out prepared requests, each at most once, to concurrent workers; None when exhausted."""

    def __init__(self, requests: Sequence[Request]) -> None:
        self._requests = requests
        self._next = 0
        self._lock = threading.Lock()

    def take(self) -> Request | None:
        with self._lock:
            if self._next >= len(self._requests):
                return None
            self._next += 1
            return self._requests[self._next - 1]

    @property
    def taken(self) -> int:
        return self._next


class Pace:
    """An open-loop schedule shared by a phase's workers: request i is due ``i / rate`` seconds after
    the start, whether or not earlier ones have been answered."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._start = time.perf_counter()
        self._next = 0
        self._lock = threading.Lock()

    def due(self) -> float:
        with self._lock:
            self._next += 1
            return self._start + (self._next - 1) / self.rate


@dataclass
class Samples:
    """Per-request outcomes of one phase; list.append is atomic, so worker threads share it."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def record(self, seconds: float, error: str | None) -> None:
        self.latencies.append(seconds)
        if error is not None:
            self.errors.append(error)


def _describe(status: int, body: bytes) -> str:
    return f"HTTP {status}: {body[:120]!r}"


def _thread_worker(port: int, source: RequestSource, deadline: float, check: Check, out: Samples) -> None:
    connection = http.client.HTTPConnection(HOST, port, timeout=CLIENT_TIMEOUT_SECONDS)
    while time.perf_counter() < deadline and (request := source.take()) is not None:
        start = time.perf_counter()
        error: str | None
        try:
            connection.request(request.method, request.path, body=request.body, headers=request.headers)
            response = connection.getresponse()
            body = response.read()
            error = None if check(response.status, body) else _describe(response.status, body)
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"
            connection.close()  # http.client reconnects on the next request
        out.record(time.perf_counter() - start, error)
    connection.close()


def closed_loop_threads(
    port: int, source: RequestSource, concurrency: int, seconds: float, check: Check
) -> Samples:
    """N threads, one keep-alive connection each, each sending its next request when the last answered."""
    return _run_workers(
        lambda deadline, out: _thread_worker(port, source, deadline, check, out), concurrency, seconds
    )


def _run_workers(worker: Callable[[float, Samples], None], concurrency: int, seconds: float) -> Samples:
    """Run ``concurrency`` copies of a closed-loop worker until the deadline; their shared samples."""
    out = Samples()
    deadline = time.perf_counter() + seconds
    threads = [threading.Thread(target=worker, args=(deadline, out), daemon=True) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return out


def closed_loop_httpx(
    port: int, source: RequestSource, concurrency: int, seconds: float, check: Check
) -> Samples:
    """The same closed loop on asyncio + httpx.AsyncClient with a pool of N connections."""
    import asyncio

    import httpx

    out = Samples()

    async def worker(client: httpx.AsyncClient, deadline: float) -> None:
        while time.perf_counter() < deadline and (request := source.take()) is not None:
            start = time.perf_counter()
            error: str | None
            try:
                response = await client.request(
                    request.method, request.path, content=request.body, headers=request.headers
                )
                body = response.content
                error = None if check(response.status_code, body) else _describe(response.status_code, body)
            except httpx.HTTPError as exc:
                error = f"{type(exc).__name__}: {exc}"
            out.record(time.perf_counter() - start, error)

    async def main() -> None:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        async with httpx.AsyncClient(
            base_url=f"http://{HOST}:{port}", limits=limits, timeout=CLIENT_TIMEOUT_SECONDS
        ) as client:
            deadline = time.perf_counter() + seconds
            await asyncio.gather(*(worker(client, deadline) for _ in range(concurrency)))

    asyncio.run(main())
    return out


def closed_loop_raw(
    port: int, source: RequestSource, concurrency: int, seconds: float, check: Check
) -> Samples:
    """Threads over raw keep-alive sockets (``bench/raw_client.py``): one thread per connection."""

    def worker(deadline: float, out: Samples) -> None:
        raw_client.worker(HOST, port, source, deadline, check, out, CLIENT_TIMEOUT_SECONDS)

    return _run_workers(worker, concurrency, seconds)


def paced_raw(
    port: int, source: RequestSource, concurrency: int, seconds: float, check: Check, rate: float
) -> Samples:
    """The raw client's threads sending at a fixed ``rate`` (requests/s) over ``concurrency``
    connections: latency at a given load, where a closed loop measures it at saturation."""
    pace = Pace(rate)

    def worker(deadline: float, out: Samples) -> None:
        raw_client.worker(HOST, port, source, deadline, check, out, CLIENT_TIMEOUT_SECONDS, pace)

    return _run_workers(worker, concurrency, seconds)


def closed_loop_loop(
    port: int, source: RequestSource, concurrency: int, seconds: float, check: Check
) -> Samples:
    """Every connection on one thread's ``epoll`` loop (``bench/loop_client.py``): the default."""
    return paced_loop(port, source, concurrency, seconds, check, rate=None)


def paced_loop(
    port: int, source: RequestSource, concurrency: int, seconds: float, check: Check, rate: float | None
) -> Samples:
    """The loop client sending at a fixed ``rate`` (requests/s; None: closed loop) over ``concurrency``
    connections."""
    out = Samples()
    loop_client.run(HOST, port, source, concurrency, seconds, check, out, CLIENT_TIMEOUT_SECONDS, rate)
    return out


LOAD_GENERATORS = {
    "loop": closed_loop_loop,
    "raw": closed_loop_raw,
    "threads": closed_loop_threads,
    "httpx": closed_loop_httpx,
}
PACED = {"loop": paced_loop, "raw": paced_raw}


# --- phases and stats ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PhaseStats:
    name: str
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: int
    warmup_errors: int  # a failure while warming up is still a failure of the run
    error_samples: list[str]
    client_cpu_ms_per_request: float
    server_cpu_ms_per_request: float | None
    # CPU of a service beside the server that the phase used (the DNI benchmark's Redis), if measured.
    service_cpu_ms_per_request: float | None = None
    # Share of the host's CPU time its hypervisor took away while the phase was measured.
    host_steal_percent: float | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Nearest-rank percentile: the smallest sample with at least ``fraction`` of samples at or below it."""
    if not sorted_values:
        return 0.0
    rank = max(1, -(-len(sorted_values) * fraction // 1))  # ceil without float surprises at the edges
    return sorted_values[int(rank) - 1]


@dataclass(frozen=True)
class Phase:
    """One kind of request: the warm-up and measured requests are disjoint, so warming never eats the cap."""

    name: str
    warmup: RequestSource
    measured: RequestSource
    check: Check

    @property
    def taken(self) -> int:
        return self.warmup.taken + self.measured.taken


def run_phase(
    server: Server,
    phase: Phase,
    concurrency: int,
    seconds: float,
    warmup: float,
    client: str,
    rate: float | None = None,
    service_cpu: Callable[[], float | None] | None = None,
) -> PhaseStats:
    """Warm up (not timed), then measure a closed loop for ``seconds`` or until requests run out;
    with a ``rate``, requests are sent at that rate instead (loop and raw clients). ``service_cpu``
    reads the CPU seconds of a service the server uses, over the same window as the server's."""
    generate = LOAD_GENERATORS[client]
    if rate is not None:
        generate = functools.partial(PACED.get(client, paced_raw), rate=rate)
    with collector_paused():
        return _timed_phase(server, phase, generate, concurrency, seconds, warmup, service_cpu)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """No cyclic garbage collection in this process while a phase runs. A full collection walked
    every prepared request and paused all of the generator's threads for 35-40 ms, which the
    requests in flight counted as server latency (a paced phase's p99 jumped by as much as 90 ms).
    What a phase allocates is freed by reference counting; the collector runs once afterwards."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.collect()


def _timed_phase(
    server: Server,
    phase: Phase,
    generate: Callable[..., Samples],
    concurrency: int,
    seconds: float,
    warmup: float,
    service_cpu: Callable[[], float | None] | None,
) -> PhaseStats:
    warm = generate(server.port, phase.warmup, concurrency, warmup, phase.check) if warmup > 0 else Samples()
    read_service = service_cpu or (lambda: None)
    service_start = read_service()
    host_before = host_cpu_ticks()
    server_cpu, client_cpu, start = server.cpu_seconds(), time.process_time(), time.perf_counter()
    samples = generate(server.port, phase.measured, concurrency, seconds, phase.check)
    elapsed = time.perf_counter() - start
    steal = steal_percent(host_before, host_cpu_ticks())
    client_used, server_end = time.process_time() - client_cpu, server.cpu_seconds()
    server_used = None if server_cpu is None or server_end is None else server_end - server_cpu
    service_end = read_service()
    service_used = None if service_start is None or service_end is None else service_end - service_start
    stats = summarize(phase.name, samples, elapsed, client_used, server_used, warm.errors, service_used)
    return replace(stats, host_steal_percent=steal)


def summarize(
    name: str,
    samples: Samples,
    elapsed: float,
    client_cpu: float,
    server_cpu: float | None,
    warmup_errors: Sequence[str] = (),
    service_cpu: float | None = None,
) -> PhaseStats:
    ordered = sorted(samples.latencies)
    count = len(ordered)
    per_request = 1000 / count if count else 0.0
    return PhaseStats(
        name=name,
        requests=count,
        seconds=round(elapsed, 3),
        requests_per_second=round(count / elapsed, 1) if elapsed > 0 else 0.0,
        p50_ms=round(percentile(ordered, 0.50) * 1000, 2),
        p90_ms=round(percentile(ordered, 0.90) * 1000, 2),
        p99_ms=round(percentile(ordered, 0.99) * 1000, 2),
        max_ms=round((ordered[-1] if ordered else 0.0) * 1000, 2),
        errors=len(samples.errors),
        warmup_errors=len(warmup_errors),
        error_samples=sorted({*samples.errors, *warmup_errors})[:5],
        client_cpu_ms_per_request=round(client_cpu * per_request, 3),
        server_cpu_ms_per_request=None if server_cpu is None else round(server_cpu * per_request, 3),
        service_cpu_ms_per_request=None if service_cpu is None else round(service_cpu * per_request, 3),
    )


def ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 3) if denominator else None


def format_table(phases: Sequence[PhaseStats], service: str = "") -> str:
    """One row per phase; with a ``service`` name, a column for its CPU too."""
    header = (
        (
            f"{'phase':<16}{'requests':>9}{'req/s':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}"
            f"{'max ms':>9}{'errors':>8}{'client cpu':>12}{'server cpu':>12}"
        )
        + (f"{service + ' cpu':>14}" if service else "")
        + f"{'steal %':>9}"
    )
    rows = [header]
    for p in phases:
        rows.append(
            f"{p.name:<16}{p.requests:>9}{p.requests_per_second:>9.0f}{p.p50_ms:>9.1f}{p.p90_ms:>9.1f}"
            f"{p.p99_ms:>9.1f}{p.max_ms:>9.1f}{p.errors:>8}{p.client_cpu_ms_per_request:>12.2f}"
            f"{_cpu(p.server_cpu_ms_per_request):>12}"
            + (f"{_cpu(p.service_cpu_ms_per_request):>14}" if service else "")
            + f"{_steal(p.host_steal_percent):>9}"
        )
    legend = "client = this process, server = all workers" + (f", {service} = its server" if service else "")
    rows.append(f"(cpu columns: CPU milliseconds per request, {legend}; steal %: of the host's CPU time)")
    return "\n".join(rows)


def _cpu(milliseconds: float | None) -> str:
    return "n/a" if milliseconds is None else f"{milliseconds:.2f}"


def _steal(percent: float | None) -> str:
    return "n/a" if percent is None else f"{percent:.1f}"


def run_benchmark(
    run: Callable[[], dict[str, Any]], render_text: Callable[[dict[str, Any]], str], as_json: bool
) -> int:
    """Every benchmark's ``main``: run, print JSON or text, exit 0 if ok, 1 if not, 2 if it could not run."""
    install_sigterm_as_interrupt()
    try:
        result = run()
    except BenchError as error:
        print(f"benchmark could not run: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; server stopped", file=sys.stderr)
        return 130
    print(json.dumps(result, indent=2) if as_json else render_text(result))
    return 0 if result["ok"] else 1


def install_sigterm_as_interrupt() -> None:
    """Turn SIGTERM into KeyboardInterrupt so ``finally`` blocks stop the server and drop the database."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)

"""Redis work a page view need not wait for, sent by a thread of the process every ``FLUSH_SECONDS``.

A new visitor given a number the process reserved ahead (``dni/reservations.py``) still counted its
rate-limit hits and remembered its first touch in Redis: a round trip on every page view, which on a
busy worker cost as much as all the rest of the request (docs/benchmarks.md). Here the hits are
counted in the process and added to the shared counters in Redis every ``FLUSH_SECONDS``, with the
first touches and the lease extensions (``send_script``), in one round trip for all the page views
meanwhile.

What changes: a counter's limit is checked against its total as Redis last gave it plus this
process's hits since, so hits other processes counted since the last flush are seen a flush
late: across processes, a flood may be let through for up to ``FLUSH_SECONDS`` longer than with
the exact count. Within one process the count is exact. A first touch remembered behind reaches
other processes up to ``FLUSH_SECONDS`` later; one that asks sooner reads the database (see
``visits.actions.first_source_id``). When Redis cannot be reached, the hits and commands of that
flush are dropped (fail open, as the rate limits do); the page views were answered already.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis
from redis.commands.core import Script
from redis.exceptions import NoScriptError

from ringtrail.lib.process_exit import at_process_exit
from ringtrail.lib.redis_client import Command, client_for, round_trip, script_load

log = logging.getLogger(__name__)
FLUSH_SECONDS = 0.05
# With nothing to send for this long, the thread ends; the next page view starts another.
IDLE_SECONDS = 2.0
# Counter totals remembered at most; past it they are forgotten (each is counted afresh).
MAX_TOTALS = 100_000
# A failed flush is logged at most this often.
LOG_EVERY_SECONDS = 60.0


@dataclass
class Total:
    count: int  # what Redis answered at the last flush that sent hits on the counter
    until: float  # when the counter expires in Redis (monotonic clock)


class Behind:
    """One process's rate-limit hits and commands waiting for the next flush to a Redis. Thread-safe."""

    def __init__(self, client: redis.Redis, *, background: bool = True) -> None:
        self._client = client
        self._background = background
        self._lock = threading.Lock()
        self._hits: dict[str, int] = {}  # counter → hits not sent yet
        self._ttls: dict[str, int] = {}  # counter → its TTL in Redis
        self._totals: dict[str, Total] = {}
        self._commands: list[Command] = []
        self._scripts: dict[str, Command] = {}  # sha → the command that loads it, for NOSCRIPT
        self._flusher = 0  # the process whose thread flushes (0: none; a forked child starts its own)
        self._logged = -LOG_EVERY_SECONDS

    def gate(self, counters: Sequence[tuple[str, int]], ttl: int, command: Command = ()) -> bool:
        """Count one hit on each (counter, limit), kept ``ttl`` seconds in Redis, and send
        ``command`` (if any) behind; False when a counter is over its limit."""
        now = time.monotonic()
        allowed = True
        with self._lock:
            for name, limit in counters:
                hits = self._hits[name] = self._hits.get(name, 0) + 1
                self._ttls[name] = ttl
                total = self._totals.get(name)
                known = total.count if total is not None and total.until > now else 0
                allowed = allowed and known + hits <= limit
            if command:
                self._commands.append(command)
        self._start()
        return allowed

    def send(self, command: Command) -> None:
        """Send a command with the next flush; its reply is not read."""
        with self._lock:
            self._commands.append(command)
        self._start()

    def send_script(self, script: Script, args: Sequence[str | bytes | int | float]) -> None:
        """Run a registered script (no keys: ours build them) with the next flush; loaded there
        first if this Redis does not know it (a restart, a flush). Its reply is not read."""
        with self._lock:
            self._scripts.setdefault(script.sha, script_load(script))
            self._commands.append(("EVALSHA", script.sha, 0, *args))
        self._start()

    def pending(self) -> int:
        with self._lock:
            return len(self._hits) + len(self._commands)

    def flush(self) -> int:
        """Send what is waiting in one round trip; how many counters and commands were sent."""
        with self._lock:
            hits, self._hits = self._hits, {}
            ttls, self._ttls = self._ttls, {}
            commands, self._commands = self._commands, []
        if not hits and not commands:
            return 0
        sent: list[Command] = []
        for name, count in hits.items():
            sent += [("INCRBY", name, count), ("EXPIRE", name, ttls[name])]
        try:
            replies = round_trip(self._client, sent + commands)
        except Exception:
            self._log_failure(len(hits), len(commands))
            return 0
        self._learn(hits, ttls, replies)
        self._run_unknown_scripts(commands, replies[len(sent) :])
        return len(hits) + len(commands)

    def _run_unknown_scripts(self, commands: list[Command], replies: list[object]) -> None:
        """Send again, after loading their scripts, the commands Redis answered NOSCRIPT."""
        unknown = [
            command
            for command, reply in zip(commands, replies, strict=True)
            if isinstance(reply, NoScriptError) and str(command[1]) in self._scripts
        ]
        if not unknown:
            return
        loads = [self._scripts[str(sha)] for sha in dict.fromkeys(command[1] for command in unknown)]
        try:
            round_trip(self._client, loads + unknown)
        except Exception:
            self._log_failure(0, len(unknown))

    def _learn(self, hits: dict[str, int], ttls: dict[str, int], replies: list[object]) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._totals) > MAX_TOTALS:
                self._totals = {name: t for name, t in self._totals.items() if t.until > now}
                if len(self._totals) > MAX_TOTALS:
                    self._totals.clear()
            for name, reply in zip(hits, replies[0::2], strict=False):
                if isinstance(reply, int):
                    self._totals[name] = Total(reply, now + ttls[name])

    def _log_failure(self, counters: int, commands: int) -> None:
        now = time.monotonic()
        if now - self._logged >= LOG_EVERY_SECONDS:
            self._logged = now
            log.exception("Redis unavailable: dropped %d counters' hits and %d commands", counters, commands)

    def _start(self) -> None:
        if not self._background or self._flusher == os.getpid():
            return
        with self._lock:
            if self._flusher == os.getpid():
                return
            self._flusher = os.getpid()
            at_process_exit(self._flush_at_exit)  # kept once, however often a thread starts
        threading.Thread(target=self._run, name="redis-behind", daemon=True).start()

    def _run(self) -> None:
        idle_since = time.monotonic()
        while True:
            time.sleep(FLUSH_SECONDS)
            try:
                sent = self.flush()
            except Exception:  # the thread must survive anything one flush does
                log.exception("sending Redis work behind failed")
                sent = 0
            if sent:
                idle_since = time.monotonic()
            elif time.monotonic() - idle_since >= IDLE_SECONDS:
                with self._lock:  # a page view queueing work now starts another thread
                    if not self._hits and not self._commands:
                        self._flusher = 0
                        return

    def _flush_at_exit(self) -> None:
        with contextlib.suppress(Exception):  # Redis may be gone at interpreter exit
            self.flush()


_behinds: dict[str, Behind] = {}


def behind_for(url: str) -> Behind:
    """One ``Behind`` per Redis URL and process, on ``redis_client.client_for(url)``."""
    found = _behinds.get(url)
    if found is None:
        found = _behinds.setdefault(url, Behind(client_for(url)))
    return found

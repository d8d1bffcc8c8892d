"""Random ids for the hot paths, from the OS's generator, fetched in blocks; and ids that sort by
the time they were made (``ordered_token``).

``os.urandom`` lets go of the interpreter lock for its system call. In a busy web process another
thread (the other request thread, the visit buffer's, the reserving one) takes the lock meanwhile,
and the caller waits for it back: up to the interpreter's switch interval (5 ms). Measured with one
busy thread beside it, one 12-byte ``os.urandom`` cost 64 µs instead of 0.3 µs, and each new
visitor drew two. Here each thread draws from its own 4 KB block of the same generator, one system
call per ~300 ids. A forked child never reuses its parent's block: it would hand out the same ids.
"""

from __future__ import annotations

import base64
import os
import threading
import time

BLOCK_BYTES = 4096
_forks = 0  # bumped in a forked child: every block drawn before the fork is discarded


class _Block(threading.local):
    data = b""
    at = 0
    fork = -1


_block = _Block()


def _after_fork() -> None:
    global _forks
    _forks += 1


os.register_at_fork(after_in_child=_after_fork)


def random_bytes(count: int) -> bytes:
    """``count`` bytes from the OS's cryptographic generator, as ``os.urandom`` gives them."""
    block = _block
    if block.fork != _forks or block.at + count > len(block.data):
        block.data, block.at, block.fork = os.urandom(max(BLOCK_BYTES, count)), 0, _forks
    start = block.at
    block.at = start + count
    return block.data[start : start + count]


def token_urlsafe(count: int) -> str:
    """``secrets.token_urlsafe(count)``: ``count`` random bytes, URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(random_bytes(count)).rstrip(b"=").decode("ascii")


# Digits, then lowercase letters (Crockford's base32): ascending in byte order and in the locale
# collations PostgreSQL text columns use, so the prefix sorts the same in both databases.
_TIME_DIGITS = "0123456789abcdefghjkmnpqrstvwxyz"
TIME_PREFIX_LENGTH = 10  # 50 bits of milliseconds: until the year 37 648


def ordered_token(count: int, now: float | None = None) -> str:
    """``token_urlsafe(count)`` after the current millisecond (``now``, seconds since the epoch),
    so ids made later sort later. Each new visitor's ids are keys of five indexes (visitors,
    sessions, leases); random keys put every insert on a page of its own, and each such page is
    written to SQLite's WAL whole at commit. Ids in time order add to the same few pages at the end
    of each index: the lease writes cost the reserving thread 25 % less CPU (docs/benchmarks.md)."""
    millis = int((time.time() if now is None else now) * 1000)
    return time_prefix(millis) + token_urlsafe(count)


# Two digits per 10 bits: the prefix in five lookups, not ten shifts and a join (2.4 → ~1 µs an id;
# each new visitor draws two).
_DIGIT_PAIRS = tuple(high + low for high in _TIME_DIGITS for low in _TIME_DIGITS)


def time_prefix(millis: int) -> str:
    """The ``TIME_PREFIX_LENGTH`` digits of ``millis`` (its low 50 bits), most significant first."""
    pairs = _DIGIT_PAIRS
    return (
        pairs[(millis >> 40) & 1023]
        + pairs[(millis >> 30) & 1023]
        + pairs[(millis >> 20) & 1023]
        + pairs[(millis >> 10) & 1023]
        + pairs[millis & 1023]
    )

"""How a web worker hands its buffered hits to the recorder process (``visits/recorder.py``).

A frame is a 5-byte head (payload length, big-endian, and a kind byte) and a payload. Hits travel as
``marshal``-ed tuples of plain values: ten times cheaper than pickling the dataclasses, and unlike
pickle, decoding cannot run code, so a local process that reaches the socket can at worst send page
views. Times travel as whole microseconds since the epoch, so they come back exactly.
"""

from __future__ import annotations

import datetime as dt
import marshal
import struct
from typing import Any

from ringtrail.visits.buffer import ExtensionHit, Heartbeat, Hit, PageHit

HEAD = struct.Struct(">IB")
HITS, SYNC, SYNCED = b"H"[0], b"S"[0], b"A"[0]
# A frame larger than this is refused: a worker ships at most ``buffer.MAX_BATCH`` hits a frame,
# each under the endpoint's 16 KB body limit.
MAX_FRAME_BYTES = 64 * 1024 * 1024
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_PAGE, _BEAT, _EXTENSION = 0, 1, 2


class FrameError(ValueError):
    """A frame that is not what the protocol says."""


def frame(kind: int, payload: bytes = b"") -> bytes:
    return HEAD.pack(len(payload), kind) + payload


def encode_hits(hits: list[Hit]) -> bytes:
    return marshal.dumps([_as_tuple(hit) for hit in hits])


def decode_hits(payload: bytes) -> list[Hit]:
    try:
        rows = marshal.loads(payload)  # noqa: S302 (plain values only; see the module's docstring)
        return [_from_tuple(row) for row in rows]
    except (EOFError, ValueError, TypeError, IndexError, KeyError) as exc:
        raise FrameError(f"not a list of hits: {exc}") from exc


def _as_tuple(hit: Hit) -> tuple[Any, ...]:
    if isinstance(hit, PageHit):
        return (
            _PAGE,
            hit.account_id,
            hit.visitor_id,
            hit.session_id,
            hit.url,
            _micros(hit.at),
            hit.touch,
            hit.source_id,
            hit.tracking_number_id,
            hit.overflow,
            hit.ga_client_id,
            hit.ga_session_id,
        )
    if isinstance(hit, Heartbeat):
        return (_BEAT, hit.account_id, hit.session_id, _micros(hit.at))
    return (_EXTENSION, hit.lease_id, hit.tracking_number_id, _micros(hit.at), _micros(hit.ends_at))


def _from_tuple(row: tuple[Any, ...]) -> Hit:
    kind = row[0]
    if kind == _PAGE and len(row) == 12:
        touch = row[6]
        if not isinstance(touch, dict):
            raise TypeError("a page view's touch is not a mapping")
        return PageHit(
            account_id=row[1],
            visitor_id=row[2],
            session_id=row[3],
            url=row[4],
            at=_time(row[5]),
            touch=touch,
            source_id=row[7],
            tracking_number_id=row[8],
            overflow=row[9],
            ga_client_id=row[10],
            ga_session_id=row[11],
        )
    if kind == _BEAT and len(row) == 4:
        return Heartbeat(account_id=row[1], session_id=row[2], at=_time(row[3]))
    if kind == _EXTENSION and len(row) == 5:
        return ExtensionHit(
            lease_id=row[1], tracking_number_id=row[2], at=_time(row[3]), ends_at=_time(row[4])
        )
    raise ValueError(f"unknown hit {kind!r} of {len(row)} fields")


def _micros(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // _MICROSECOND


def _time(micros: int) -> dt.datetime:
    if not isinstance(micros, int):
        raise TypeError("a time is not whole microseconds")
    return _EPOCH + micros * _MICROSECOND

"""How a web worker hands its buffered hits to the recorder process (``visits/recorder.py``).

A frame is a 5-byte head (payload length, big-endian, and a kind byte) and a payload. Hits travel as
a ``marshal``-ed list of their rows (``hits.py``: exact tuples of plain values, times as whole
microseconds, so they come back exactly): ten times cheaper than pickling dataclasses, and the
buffer holds them as rows already. Unlike pickle, decoding cannot run code, and every row is checked
(``hits.valid_row``), so a local process that reaches the socket can at worst send page views.
"""

from __future__ import annotations

import marshal
import struct

from ringtrail.visits.hits import Row, valid_row

HEAD = struct.Struct(">IB")
HITS, SYNC, SYNCED = b"H"[0], b"S"[0], b"A"[0]
# A frame larger than this is refused: a worker ships at most ``buffer.MAX_BATCH`` hits a frame,
# each under the endpoint's 16 KB body limit.
MAX_FRAME_BYTES = 64 * 1024 * 1024


class FrameError(ValueError):
    """A frame that is not what the protocol says."""


def frame(kind: int, payload: bytes = b"") -> bytes:
    return HEAD.pack(len(payload), kind) + payload


def encode_rows(rows: list[Row]) -> bytes:
    return marshal.dumps(rows)


def decode_rows(payload: bytes) -> list[Row]:
    try:
        rows = marshal.loads(payload)  # noqa: S302 (plain values only; see the module's docstring)
    except (EOFError, ValueError, TypeError) as exc:
        raise FrameError(f"not a list of hits: {exc}") from exc
    if type(rows) is not list:
        raise FrameError("not a list of hits")
    for row in rows:
        if not valid_row(row):
            raise FrameError(f"not a hit: {str(row)[:200]}")
    return rows

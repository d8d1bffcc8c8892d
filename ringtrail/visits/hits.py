"""What the DNI record step buffers: page views, heartbeats and lease extensions, and their rows.

A hit waits in a buffer as a *row*: an exact tuple of plain values, its touch (a dict of dicts)
``marshal``-ed to bytes. CPython's cyclic collector stops tracking such a tuple the first time it
sees it; a tuple holding a dict stays tracked for good, and one holding tuples is let go one level
of nesting a collection, so by then it had reached the oldest generation. As dataclasses, each
page view was two tracked objects for as long as it waited, and under a closed loop of new visitors
a web worker held up to 12 000 of them: its full collections walked them all and paused its
requests for 25 - 30 ms of CPU (docs/benchmarks.md). Rows are also what the recorder's wire carries
(``wire.py``), so a worker ships them without building anything. A batch becomes dataclasses again
only when it is written (``from_row``), and those die with the write.
"""

from __future__ import annotations

import datetime as dt
import marshal
from dataclasses import dataclass
from typing import Any, Final

# A hit as a row: its kind first, then its fields in the dataclass's order, times as microseconds.
Row = tuple[Any, ...]
PAGE: Final = 0
BEAT: Final = 1
EXTENSION: Final = 2
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_MICROSECOND = dt.timedelta(microseconds=1)
_NONE = type(None)
# What each kind's fields must be; a row from elsewhere (the recorder's socket) is checked against it.
_FIELDS: Final[dict[int, tuple[Any, ...]]] = {
    PAGE: (int, int, str, str, str, int, bytes, (int, _NONE), (int, _NONE), bool, str, str),
    BEAT: (int, int, str, int),
    EXTENSION: (int, int, int, int, int),
}
_TOUCH: Final = 6  # where a page view's row holds its touch
_TIMES: Final[dict[int, tuple[int, ...]]] = {PAGE: (5,), BEAT: (3,), EXTENSION: (3, 4)}
_LATEST: Final = (dt.datetime(9999, 12, 31, tzinfo=dt.UTC) - _EPOCH) // _MICROSECOND


@dataclass(frozen=True)
class PageHit:
    """One page view: enough to create the visitor and session on first sight, and count the page."""

    account_id: int
    visitor_id: str
    session_id: str
    url: str
    at: dt.datetime
    touch: dict[str, Any]
    source_id: int | None
    tracking_number_id: int | None
    overflow: bool
    ga_client_id: str
    ga_session_id: str


@dataclass(frozen=True)
class Heartbeat:
    account_id: int
    session_id: str
    at: dt.datetime


@dataclass(frozen=True)
class ExtensionHit:
    """A live lease extended by a page view, written behind (``dni/leases.py``)."""

    lease_id: int
    tracking_number_id: int
    at: dt.datetime
    ends_at: dt.datetime


Hit = PageHit | Heartbeat | ExtensionHit


def as_row(hit: Hit) -> Row:
    if isinstance(hit, PageHit):
        return (
            PAGE,
            hit.account_id,
            hit.visitor_id,
            hit.session_id,
            hit.url,
            micros(hit.at),
            _touch_row(hit.touch),
            hit.source_id,
            hit.tracking_number_id,
            hit.overflow,
            hit.ga_client_id,
            hit.ga_session_id,
        )
    if isinstance(hit, Heartbeat):
        return (BEAT, hit.account_id, hit.session_id, micros(hit.at))
    return (EXTENSION, hit.lease_id, hit.tracking_number_id, micros(hit.at), micros(hit.ends_at))


def from_row(row: Row) -> Hit:
    """The hit a row holds; the row must be ``valid_row``."""
    kind = row[0]
    if kind == PAGE:
        _, account_id, visitor_id, session_id, url, at, touch, source_id, number_id, overflow, ga, gs = row
        return PageHit(
            account_id,
            visitor_id,
            session_id,
            url,
            moment(at),
            _touch(touch),
            source_id,
            number_id,
            overflow,
            ga,
            gs,
        )
    if kind == BEAT:
        return Heartbeat(row[1], row[2], moment(row[3]))
    return ExtensionHit(row[1], row[2], moment(row[3]), moment(row[4]))


def from_rows(rows: list[Row]) -> list[Hit]:
    return [from_row(row) for row in rows]


def valid_row(row: object) -> bool:
    """A row of a known kind, with every field of its type: what a row from another process must be."""
    if type(row) is not tuple or not row:
        return False
    fields = _FIELDS.get(row[0]) if type(row[0]) is int else None
    if fields is None or len(row) != len(fields):
        return False
    if not all(isinstance(value, kind) for value, kind in zip(row, fields, strict=True)):
        return False
    if not all(0 <= row[index] <= _LATEST for index in _TIMES[row[0]]):
        return False
    return row[0] != PAGE or _valid_touch(row[_TOUCH])


def micros(at: dt.datetime) -> int:
    """Whole microseconds since the epoch: a time that comes back exactly (``moment``)."""
    return (at - _EPOCH) // _MICROSECOND


def moment(microseconds: int) -> dt.datetime:
    return _EPOCH + microseconds * _MICROSECOND


def _touch_row(touch: dict[str, Any]) -> bytes:
    return marshal.dumps(touch)


def _touch(encoded: bytes) -> dict[str, Any]:
    touch: dict[str, Any] = marshal.loads(encoded)  # noqa: S302 (checked by ``valid_row``)
    return touch


def _valid_touch(encoded: bytes) -> bool:
    """A dict of plain values, or of (utm, click ids) dicts of strings."""
    try:
        touch = marshal.loads(encoded)  # noqa: S302 (builds plain values; runs nothing)
    except (EOFError, ValueError, TypeError):
        return False
    if type(touch) is not dict or not all(type(key) is str for key in touch):
        return False
    return all(_plain(value) or _strings(value) for value in touch.values())


def _plain(value: object) -> bool:
    return value is None or type(value) in (str, int, bool, float)


def _strings(value: object) -> bool:
    return type(value) is dict and all(type(k) is str and type(v) is str for k, v in value.items())

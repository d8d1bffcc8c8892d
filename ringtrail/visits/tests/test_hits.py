"""Hits as rows: exact, plain, and out of the cyclic collector's walk (no database needed)."""

from __future__ import annotations

import datetime as dt
import gc
import marshal
from typing import Any

from ringtrail.visits.hits import ExtensionHit, Heartbeat, PageHit, as_row, from_row, valid_row
from ringtrail.visits.tests.test_buffer import T0, TOUCH

PAGE = PageHit(7, "v_1", "s_1", "https://acme.test/?q=é", T0, dict(TOUCH), 3, 9, True, "GA1.1", "77")


def test_every_kind_of_hit_comes_back_from_its_row_exactly() -> None:
    for hit in (
        PAGE,
        Heartbeat(7, "s_1", T0 + dt.timedelta(microseconds=999_999)),
        ExtensionHit(41, 9, T0, T0 + dt.timedelta(minutes=15)),
    ):
        row = as_row(hit)
        assert valid_row(row) and from_row(row) == hit


def test_a_page_views_row_is_left_alone_by_the_collector_once_it_has_seen_it() -> None:
    """As a dataclass with its touch dict, each waiting page view was walked by every full collection;
    as a tuple holding tuples it was let go one level of nesting a collection."""
    waiting = [as_row(PAGE) for _ in range(3)]
    gc.collect()
    assert not any(gc.is_tracked(row) for row in waiting)


def replaced(row: tuple[Any, ...], index: int, value: Any) -> tuple[Any, ...]:
    return (*row[:index], value, *row[index + 1 :])


def test_a_touch_that_is_not_plain_values_and_string_pairs_is_not_a_row() -> None:
    row = as_row(PAGE)
    assert valid_row(replaced(row, 6, marshal.dumps({"utm": {"a": "b"}, "source_id": None})))
    for touch in ({"utm": {"a": 1}}, {"utm": {"a": ["b"]}}, {1: "x"}, ["landing_url"], {"x": ("a",)}):
        assert not valid_row(replaced(row, 6, marshal.dumps(touch)))
    assert not valid_row(replaced(row, 6, b"\x00not marshal"))
    assert not valid_row(replaced(row, 6, (("utm", "x"),)))  # a touch is bytes
    assert not valid_row(replaced(row, 5, "noon"))
    assert not valid_row(())
    assert not valid_row((True, 1, "s", 0))  # kinds are ints, not bools

"""The buffered record step: hits wait in memory, then land in bulk, and survive a failed write."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest
from django.db import DatabaseError, transaction

from ringtrail.testing import wired_account
from ringtrail.visits import actions
from ringtrail.visits import buffer as buffer_module
from ringtrail.visits.actions import write_hits
from ringtrail.visits.buffer import VisitBuffer, Writer, buffer, flush_pending
from ringtrail.visits.hits import Heartbeat, Hit, PageHit, from_rows
from ringtrail.visits.models import PageView, Session, Visitor

T0 = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
TOUCH = {
    "landing_url": "https://acme.test/?utm_source=google",
    "referrer": "https://www.google.com/",
    "utm": {"utm_source": "google"},
    "click_ids": {"gclid": "abc"},
    "source_id": None,
    "source_name": "Google Ads",
    "medium": "cpc",
    "ga_client_id": "",
    "ga_session_id": "",
}


def hit(
    account_id: int, visitor: str, session: str, url: str, at: dt.datetime, number: int | None = None
) -> PageHit:
    touch = dict(TOUCH, landing_url=url)
    return PageHit(account_id, visitor, session, url, at, touch, None, number, False, "GA1.1", "77")


def unpacked(write: Callable[[list[Hit]], None]) -> Writer:
    """A writer of hits as a writer of the rows the buffer holds."""
    return lambda rows: write(from_rows(rows))


@pytest.fixture
def buffered(settings: Any) -> None:
    settings.DNI_RECORD_FLUSH_SECONDS = 30  # the thread will not flush during the test; flushes are explicit


@pytest.mark.django_db(transaction=True)
def test_hits_wait_in_memory_then_land_in_one_flush(buffered: None) -> None:
    account = wired_account().account
    buffer.add(hit(account.pk, "v1", "s1", "https://acme.test/a", T0))
    buffer.add(hit(account.pk, "v1", "s1", "https://acme.test/b", T0 + dt.timedelta(seconds=5)))
    buffer.add(hit(account.pk, "v2", "s2", "https://acme.test/c", T0))
    buffer.add(Heartbeat(account.pk, "s2", T0 + dt.timedelta(seconds=40)))
    assert not Session.objects.exists()
    assert flush_pending() == 4
    s1 = Session.objects.get(account=account, session_id="s1")
    assert s1.page_views == 2 and s1.last_seen_at == T0 + dt.timedelta(seconds=5)
    assert s1.landing_url == "https://acme.test/a" and s1.click_ids == {"gclid": "abc"}
    assert s1.ga_client_id == "GA1.1"
    assert list(PageView.objects.filter(session=s1).order_by("viewed_at").values_list("url", flat=True)) == [
        "https://acme.test/a",
        "https://acme.test/b",
    ]
    assert Session.objects.get(session_id="s2").last_seen_at == T0 + dt.timedelta(seconds=40)
    assert Visitor.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_later_batches_count_pages_and_keep_the_first_touch(buffered: None) -> None:
    account = wired_account()
    buffer.add(hit(account.account.pk, "v1", "s1", "https://acme.test/first", T0))
    flush_pending()
    later = T0 + dt.timedelta(minutes=3)
    buffer.add(hit(account.account.pk, "v1", "s1", "https://acme.test/second", later, account.tracking.pk))
    buffer.add(Heartbeat(account.account.pk, "s1", T0))  # older than what is stored: ignored
    flush_pending()
    session = Session.objects.get(session_id="s1")
    assert session.page_views == 2 and session.last_seen_at == later
    assert session.tracking_number_id == account.tracking.pk
    assert Visitor.objects.get(visitor_id="v1").first_touch["landing_url"] == "https://acme.test/first"


@pytest.mark.django_db(transaction=True)
def test_the_background_thread_flushes_by_itself(settings: Any) -> None:
    settings.DNI_RECORD_FLUSH_SECONDS = 0.05
    account = wired_account().account
    buffer.add(hit(account.pk, "v9", "s9", "https://acme.test/", T0))
    deadline = time.monotonic() + 10
    while not Session.objects.filter(session_id="s9").exists() and time.monotonic() < deadline:
        time.sleep(0.02)
    assert Session.objects.filter(session_id="s9").exists()


def test_a_failed_write_keeps_the_hits_in_order() -> None:
    written: list[list[Hit]] = []
    failures = [DatabaseError("database is locked")]

    def writer(batch: list[Hit]) -> None:
        if failures:
            raise failures.pop()
        written.append(batch)

    pending = VisitBuffer(unpacked(writer), lambda: 30.0)
    beats = [Heartbeat(1, f"s{i}", T0) for i in range(3)]
    for beat in beats:
        pending.add(beat)
    assert pending.flush() == 0 and pending.pending() == 3
    assert pending.flush() == 3 and written == [beats]


def test_inline_mode_writes_at_once() -> None:
    written: list[list[Hit]] = []
    inline = VisitBuffer(unpacked(written.append), lambda: 0.0)
    beat = Heartbeat(1, "s", T0)
    inline.add(beat)
    assert written == [[beat]] and inline.pending() == 0


def test_an_outage_drops_the_oldest_beyond_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(buffer_module, "MAX_PENDING", 2)
    monkeypatch.setattr(VisitBuffer, "_ensure_thread", lambda self: None)
    pending = VisitBuffer(lambda batch: None, lambda: 30.0)
    for i in range(5):
        pending.add(Heartbeat(1, f"s{i}", T0))
    assert pending.pending() == 2 and pending.dropped == 3


def test_batches_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(buffer_module, "MAX_BATCH", 2)
    monkeypatch.setattr(VisitBuffer, "_ensure_thread", lambda self: None)
    sizes: list[int] = []
    pending = VisitBuffer(lambda batch: sizes.append(len(batch)), lambda: 30.0)
    for i in range(5):
        pending.add(Heartbeat(1, f"s{i}", T0))
    assert pending.flush() == 5 and sizes == [2, 2, 1]


def test_a_flush_writes_small_batches_with_a_pause_between_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(VisitBuffer, "_ensure_thread", lambda self: None)
    pauses: list[float] = []
    monkeypatch.setattr(buffer_module.time, "sleep", pauses.append)
    sizes: list[int] = []
    pending = VisitBuffer(lambda batch: sizes.append(len(batch)), lambda: 30.0)
    for i in range(5):
        pending.add(Heartbeat(1, f"s{i}", T0))
    assert pending.flush(2, 0.004) == 5
    assert sizes == [2, 2, 1] and pauses == [0.004, 0.004]  # between transactions, not before the first


def test_the_background_thread_flushes_in_the_configured_batches(settings: Any) -> None:
    settings.DNI_RECORD_FLUSH_SECONDS = 0.05
    settings.DNI_RECORD_BATCH = 2
    settings.DNI_RECORD_BATCH_PAUSE_SECONDS = 0.001
    sizes: list[int] = []
    pending = VisitBuffer(lambda batch: sizes.append(len(batch)), buffer_module._flush_interval)
    for i in range(5):
        pending.add(Heartbeat(1, f"s{i}", T0))
    deadline = time.monotonic() + 10
    while sum(sizes) < 5 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert sum(sizes) == 5 and max(sizes) <= 2


def test_hits_added_during_a_flush_wait_for_the_next_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(VisitBuffer, "_ensure_thread", lambda self: None)
    sizes: list[int] = []

    def writer(batch: list[Hit]) -> None:
        sizes.append(len(batch))
        if len(sizes) <= 2:  # a page view answered during each of the first two writes
            pending.add(Heartbeat(1, f"arrived-meanwhile-{len(sizes)}", T0))

    pending = VisitBuffer(unpacked(writer), lambda: 30.0)
    for i in range(3):
        pending.add(Heartbeat(1, f"s{i}", T0))
    assert pending.flush(2, 0.0) == 3
    assert sizes == [2, 1] and pending.pending() == 2


@pytest.mark.django_db(transaction=True)
def test_a_batchs_rows_are_built_in_slices_of_whole_sessions_into_one_statement_per_table(
    buffered: None, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ringtrail.visits import actions

    pauses: list[float] = []
    statements: list[str] = []
    execute_values = actions.driver_sql.execute_values
    monkeypatch.setattr(actions, "_pause", pauses.append)
    monkeypatch.setattr(
        actions.driver_sql,
        "execute_values",
        lambda connection, sql, rows: statements.append(sql) or execute_values(connection, sql, rows),
    )
    settings.DNI_RECORD_SLICE = 2
    account = wired_account()
    arrivals = ["s1", "s2", "s1", "s3", "s1", "s3"]  # slices: s1's three page views, then s2 and s3
    for second, session in enumerate(arrivals):
        number = account.tracking.pk if second == 4 else None
        at = T0 + dt.timedelta(seconds=second)
        visitor = "v2" if session == "s2" else "v1"
        buffer.add(
            hit(account.account.pk, visitor, session, f"https://acme.test/{session}/{second}", at, number)
        )
    assert flush_pending() == 6
    assert pauses == [actions.SLICE_PAUSE_SECONDS]
    assert len(statements) == 3  # visitors, sessions, page views: one statement each, not one per slice
    s1 = Session.objects.get(session_id="s1")
    assert s1.page_views == 3 and s1.last_seen_at == T0 + dt.timedelta(seconds=4)
    assert s1.landing_url == "https://acme.test/s1/0" and s1.tracking_number_id == account.tracking.pk
    assert Session.objects.get(session_id="s3").page_views == 2
    assert Session.objects.get(session_id="s2").page_views == 1
    assert Visitor.objects.get(visitor_id="v1").first_touch["landing_url"] == "https://acme.test/s1/0"
    assert PageView.objects.count() == 6


@pytest.mark.django_db(transaction=True)
def test_the_recorder_writes_by_its_own_settings(
    buffered: None, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's transactions are small with pauses between, for its request threads; the
    recorder's are as large as a flush allows, back to back, and sliced by its own setting."""
    pauses: list[float] = []
    monkeypatch.setattr(actions, "_pause", pauses.append)
    settings.DNI_RECORD_SLICE, settings.DNI_RECORD_BATCH = 2, 200
    assert buffer_module._batching() == (200, settings.DNI_RECORD_BATCH_PAUSE_SECONDS)
    monkeypatch.setattr(buffer_module, "_writing_alone", False)
    buffer_module.write_alone()
    assert buffer_module.writing_alone()
    assert buffer_module._batching() == (buffer_module.MAX_BATCH, 0.0)  # the defaults
    settings.DNI_RECORDER_BATCH, settings.DNI_RECORDER_BATCH_PAUSE_SECONDS = 50, 0.25
    assert buffer_module._batching() == (50, 0.25)
    account = wired_account().account

    def six_sessions() -> None:
        for second in range(6):
            at = T0 + dt.timedelta(seconds=second)
            session = f"s{len(pauses)}-{second}"
            buffer.add(hit(account.pk, f"v{session}", session, f"https://acme.test/{second}", at))
        assert flush_pending() == 6

    settings.DNI_RECORDER_SLICE = 0
    six_sessions()
    assert pauses == []  # built in one go: DNI_RECORD_SLICE is the workers'
    settings.DNI_RECORDER_SLICE = 3
    six_sessions()
    assert pauses == [actions.SLICE_PAUSE_SECONDS] and PageView.objects.count() == 12


def _added_in_thread(pending: VisitBuffer, hit: Hit) -> threading.Thread:
    adding = threading.Thread(target=pending.add, args=(hit,), daemon=True)
    adding.start()
    return adding


def until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert condition()


def hold_back_at(monkeypatch: pytest.MonkeyPatch, count: int, seconds: float = 60.0) -> None:
    """Callers held back from ``count`` waiting hits, for at most ``seconds``; no background thread."""
    monkeypatch.setattr(buffer_module, "HOLD_BACK_AT", count)
    monkeypatch.setattr(buffer_module, "HOLD_BACK_SECONDS", seconds)
    monkeypatch.setattr(VisitBuffer, "_ensure_thread", lambda self: None)


def test_a_writer_behind_holds_the_next_page_view_back_until_there_is_room(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Behind is not down: the caller waits, and nothing is dropped even past ``MAX_PENDING``."""
    hold_back_at(monkeypatch, 3)
    monkeypatch.setattr(buffer_module, "MAX_PENDING", 3)
    written: list[Hit] = []
    pending = VisitBuffer(unpacked(written.extend), lambda: 30.0)
    beats = [Heartbeat(1, f"s{i}", T0) for i in range(4)]
    for beat in beats[:3]:
        pending.add(beat)
    adding = _added_in_thread(pending, beats[3])
    until(lambda: pending.held_back == 1)
    assert pending.pending() == 3 and adding.is_alive()  # waiting, its page view not taken yet
    assert pending.flush() == 3
    adding.join(10)
    assert pending.pending() == 1 and pending.dropped == 0
    assert pending.flush() == 1 and written == beats


def test_while_writes_fail_page_views_never_wait_and_the_oldest_go_beyond_the_cap(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """Down is not behind: an outage must not slow answers, so the buffer keeps what it can."""
    hold_back_at(monkeypatch, 1)
    monkeypatch.setattr(buffer_module, "MAX_PENDING", 2)

    def down(batch: list[Hit]) -> None:
        raise DatabaseError("unable to open database file")

    pending = VisitBuffer(down, lambda: 30.0)
    pending.add(Heartbeat(1, "s0", T0))  # nothing waits yet: below the mark
    assert pending.flush() == 0
    for i in range(1, 5):
        pending.add(Heartbeat(1, f"s{i}", T0))
    assert pending.held_back == 0 and pending.pending() == 2 and pending.dropped == 3
    assert "3 oldest hits dropped" not in caplog.text and "1 oldest hits dropped" in caplog.text


def test_a_stuck_writer_holds_a_page_view_back_at_most_hold_back_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    hold_back_at(monkeypatch, 1, seconds=0.05)
    pending = VisitBuffer(lambda batch: None, lambda: 30.0)
    pending.add(Heartbeat(1, "s0", T0))
    pending.add(Heartbeat(1, "s1", T0))  # waits out its time, then is kept anyway
    assert pending.held_back == 1 and pending.pending() == 2 and pending.dropped == 0


@pytest.mark.django_db(transaction=True)
def test_inside_a_transaction_a_page_view_is_never_held_back(monkeypatch: pytest.MonkeyPatch) -> None:
    """The transaction may hold SQLite's write lock, which the writer needs to make room."""
    hold_back_at(monkeypatch, 1)
    pending = VisitBuffer(lambda batch: None, lambda: 30.0)
    pending.add(Heartbeat(1, "s0", T0))
    with transaction.atomic():
        pending.add(Heartbeat(1, "s1", T0))
    assert pending.held_back == 0 and pending.pending() == 2


def test_the_background_thread_writes_at_once_when_callers_wait(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not at the end of its interval: a held-back page view waits for one write, not an interval."""
    monkeypatch.setattr(buffer_module, "HOLD_BACK_AT", 2)
    monkeypatch.setattr(buffer_module, "HOLD_BACK_SECONDS", 60.0)
    written: list[Hit] = []
    pending = VisitBuffer(unpacked(written.extend), lambda: 3600.0)
    for i in range(3):
        pending.add(Heartbeat(1, f"s{i}", T0))
    until(lambda: len(written) == 2)
    assert pending.pending() == 1


@pytest.mark.django_db(transaction=True)
def test_a_visitor_row_is_built_once_then_its_later_page_views_skip_it() -> None:
    account = wired_account().account
    first = hit(account.pk, "v1", "s1", "https://acme.test/a", T0)
    assert len(actions._visitor_rows([first])[1]) == 1
    write_hits([first])
    later = hit(account.pk, "v1", "s2", "https://acme.test/b", T0 + dt.timedelta(days=1))
    assert actions._visitor_rows([later])[1] == []  # its row exists: nothing to build or send
    write_hits([later])
    assert Visitor.objects.get(visitor_id="v1").first_touch["landing_url"] == "https://acme.test/a"
    assert Session.objects.filter(visitor_id="v1").count() == 2 and PageView.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_a_visitor_whose_write_rolled_back_is_written_with_its_next_page_view() -> None:
    account = wired_account().account
    first = hit(account.pk, "v1", "s1", "https://acme.test/a", T0)
    with pytest.raises(RuntimeError), transaction.atomic():
        write_hits([first])
        raise RuntimeError("the caller's transaction rolls back")
    assert not Visitor.objects.exists()
    write_hits([first])
    assert Visitor.objects.filter(visitor_id="v1").exists()

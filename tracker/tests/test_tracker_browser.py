"""The tracking script in real headless Chromium against the stub endpoint (tracker/tests/stub_server.py).

Each test opens a fixture page from tracker/tests/pages/ in a fresh browser context. The stub maps
+1 415 555 0100 -> +1 415 555 0123 and +44 20 7946 0000 -> +44 20 7946 0999.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest
from stub_server import UK, US, Stub

if TYPE_CHECKING:
    from playwright.sync_api import Page

OpenPage = Callable[..., "Page"]

STATIC_TEXT_IDS = [
    "paren",
    "dashes",
    "dots",
    "spaces",
    "plus1-spaces",
    "one-dashes",
    "bare",
    "plus1-paren",
    "uk-national",
    "uk-intl",
    "sentence",
    "decoys",
    "noswap",
]
STATIC_HREF_IDS = ["tel-e164", "tel-dashes", "tel-encoded", "sms", "tel-uk", "web", "noswap-tel"]
ORIGINAL_STATIC = {
    "paren": "(415) 555-0100",
    "tel-e164": "tel:+14155550100",
    "uk-national": "020 7946 0000",
}


def wait_until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Polls a condition on the stub's side; fails the test when it does not hold in time."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def wait_for_text(page: Page, selector: str, text: str) -> None:
    page.wait_for_function(
        "([sel, text]) => { const e = document.querySelector(sel); return !!e && e.textContent === text; }",
        arg=[selector, text],
    )


def snapshot(page: Page) -> dict[str, Any]:
    """Texts, hrefs and the data-phone attribute of the static page, by element id."""
    found: dict[str, Any] = page.evaluate(
        """([texts, hrefs]) => {
            const out = {};
            for (const id of texts) out[id] = document.getElementById(id).textContent;
            for (const id of hrefs) out[id] = document.getElementById(id).getAttribute('href');
            out.attr = document.getElementById('attr').getAttribute('data-phone');
            return out;
        }""",
        [STATIC_TEXT_IDS, STATIC_HREF_IDS],
    )
    return found


def visible_unhidden(page: Page, selector: str) -> bool:
    return bool(
        page.eval_on_selector(
            selector, "e => getComputedStyle(e).visibility === 'visible' && !e.closest('[data-rt-h]')"
        )
    )


def test_static_page_swaps_every_format_in_place(open_page: OpenPage, stub: Stub, errors: list[str]) -> None:
    page = open_page("static.html")
    wait_for_text(page, "#paren", "(415) 555-0123")

    assert snapshot(page) == {
        "paren": "(415) 555-0123",
        "dashes": "415-555-0123",
        "dots": "415.555.0123",
        "spaces": "415 555 0123",
        "plus1-spaces": "+1 415 555 0123",
        "one-dashes": "1-415-555-0123",
        "bare": "4155550123",
        "plus1-paren": "+1 (415) 555-0123",
        "uk-national": "020 7946 0999",
        "uk-intl": "+44 20 7946 0999",
        "sentence": "Call us at (415) 555-0123 today, or 415.555.0123 after hours.",
        "decoys": "Other numbers stay: (415) 555-0199, order 14155550100999, ref 24155550100.",
        "noswap": "(415) 555-0100",
        "tel-e164": "tel:+14155550123",
        "tel-dashes": "tel:415-555-0123",
        "tel-encoded": "tel:+1 (415) 555-0123",
        "sms": "sms:+14155550123",
        "tel-uk": "tel:+442079460999",
        "web": "https://example.com/4155550100",
        "noswap-tel": "tel:+14155550100",
        "attr": "+1 415 555 0123",
    }
    assert page.evaluate("document.querySelectorAll('[data-rt-h]').length") == 0
    assert visible_unhidden(page, "#paren")
    [session] = stub.received("session")
    assert sorted(session.body["targets"]) == [US, UK]
    assert page.evaluate("Ringtrail.state().swaps['+14155550100'].number") == "+14155550123"
    assert errors == []


def test_two_targets_are_both_swapped(open_page: OpenPage, errors: list[str]) -> None:
    page = open_page("two.html")
    wait_for_text(page, "#uk", "020 7946 0999")

    texts = page.evaluate(
        """() => Object.fromEntries(['us', 'uk', 'uk-intl', 'uk-00'].map(
            id => [id, document.getElementById(id).textContent]))"""
    )
    assert texts == {
        "us": "(415) 555-0123",
        "uk": "020 7946 0999",
        "uk-intl": "+44 (0)20 7946 0999",
        "uk-00": "0044 20 7946 0999",
    }
    assert page.get_attribute("#us-tel", "href") == "tel:+14155550123"
    assert page.get_attribute("#uk-tel", "href") == "tel:+442079460999"
    assert errors == []


def test_single_page_app_rerenders_are_swapped_without_feedback_loop(
    open_page: OpenPage, stub: Stub, errors: list[str]
) -> None:
    page = open_page("spa.html")
    wait_for_text(page, "nav[data-render='2'] #phone", "(415) 555-0123")  # the timer's re-render

    page.click("#rerender")
    wait_for_text(page, "nav[data-render='3'] #phone", "(415) 555-0123")
    wait_for_text(page, "#main", "Route two: call 415.555.0123")
    assert page.get_attribute("#call", "href") == "tel:+14155550123"

    # The script's own edits must not wake it again: once swapped, the page stays still.
    mutations = page.evaluate(
        """() => new Promise(done => {
            let n = 0;
            new MutationObserver(records => { n += records.length; })
                .observe(document.documentElement, {subtree: true, childList: true, characterData: true,
                                                    attributes: true});
            setTimeout(() => done(n), 300);
        })"""
    )
    assert mutations == 0
    assert len(stub.received("session")) == 1  # one target, asked about once
    assert errors == []


def test_number_arriving_later_is_swapped(open_page: OpenPage, stub: Stub, errors: list[str]) -> None:
    page = open_page("ajax.html")
    wait_for_text(page, "#ajax-phone", "415-555-0123")
    wait_for_text(page, "#later", "London: +44 20 7946 0999")
    assert page.get_attribute("#ajax-tel", "href") == "tel:+14155550123"

    sessions = [r.body for r in stub.received("session")]
    assert sessions[0]["targets"] == []  # the page view is reported before the number exists
    assert {t for s in sessions for t in s["targets"]} == {US, UK}
    # later requests ask about the new targets within the same visit, with the ids the first answer gave
    later_ids = {(s["visitor"], s["session"]) for s in sessions[1:]}
    assert len(later_ids) == 1 and None not in next(iter(later_ids))
    assert errors == []


def test_swap_on_demand_reaches_a_shadow_root(open_page: OpenPage, errors: list[str]) -> None:
    page = open_page("static.html")
    wait_for_text(page, "#paren", "(415) 555-0123")
    text = page.evaluate(
        """() => {
            const host = document.createElement('div');
            document.body.appendChild(host);
            const root = host.attachShadow({mode: 'open'});
            root.innerHTML = '<span>Call 415 555 0100</span>';
            Ringtrail.swap(root);
            return root.querySelector('span').textContent;
        }"""
    )
    assert text == "Call 415 555 0123"
    assert errors == []


@pytest.mark.parametrize("mode", ["error", "garbage", "bad-swaps", "slow", "unreachable"])
def test_endpoint_failure_shows_the_original_number(
    open_page: OpenPage, stub: Stub, errors: list[str], mode: str
) -> None:
    config: dict[str, Any] = {"hideMs": 300}
    if mode == "unreachable":
        config["endpoint"] = f"http://127.0.0.1:{closed_port()}/dni/v1/test"
    else:
        stub.mode = mode
    page = open_page("static.html", **config)

    page.wait_for_function("document.querySelectorAll('[data-rt-h]').length === 0")
    if mode != "unreachable":
        wait_until(lambda: len(stub.received("session")) == 1)
    current = snapshot(page)
    assert {k: current[k] for k in ORIGINAL_STATIC} == ORIGINAL_STATIC
    assert visible_unhidden(page, "#paren")
    assert page.context.cookies() == []  # nothing worth remembering came back
    assert errors == []


def test_targets_are_hidden_only_until_hide_ms(page: Page, stub: Stub) -> None:
    stub.mode = "slow"  # the endpoint answers long after hideMs
    stub.config["hideMs"] = 500
    # Record, from inside the page, which elements were hidden and whether the style really applied.
    page.add_init_script(
        """window.__hidden = [];
        new MutationObserver(records => records.forEach(r => {
            if (r.target.hasAttribute('data-rt-h'))
                window.__hidden.push([r.target.id, getComputedStyle(r.target).visibility]);
        })).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-rt-h']});"""
    )
    page.goto(f"{stub.site}/static.html")

    page.wait_for_function("document.querySelectorAll('[data-rt-h]').length === 0")
    hidden = dict(page.evaluate("window.__hidden"))
    assert hidden["paren"] == "hidden"  # hidden while the endpoint was thinking ...
    assert "decoys" not in hidden and "noswap" not in hidden  # ... but only where a target is
    assert visible_unhidden(page, "#paren")  # ... and shown again after hideMs, unswapped
    assert page.text_content("#paren") == "(415) 555-0100"
    assert len(stub.received("session")) == 1


def test_ids_are_kept_in_first_party_cookies_and_sent_back(open_page: OpenPage, stub: Stub) -> None:
    page = open_page("static.html")
    wait_for_text(page, "#paren", "(415) 555-0123")
    first = stub.received("session")[0].body
    assert first["visitor"] is None and first["session"] is None

    cookies = {c["name"]: c for c in page.context.cookies()}
    assert set(cookies) == {"_rt_v", "_rt_s"}
    now = time.time()
    assert cookies["_rt_v"]["value"].startswith("v_")
    assert cookies["_rt_s"]["value"].startswith("s_")
    assert 29 * 86400 < cookies["_rt_v"]["expires"] - now <= 30 * 86400
    assert 25 * 60 < cookies["_rt_s"]["expires"] - now <= 30 * 60
    assert all(c["sameSite"] == "Lax" and c["path"] == "/" for c in cookies.values())

    page.reload()
    wait_until(lambda: len(stub.received("session")) == 2)
    again = stub.received("session")[1].body
    assert (again["visitor"], again["session"]) == (cookies["_rt_v"]["value"], cookies["_rt_s"]["value"])


@pytest.mark.parametrize(
    ("ga_session_cookie", "ga_session_id"),
    [
        ("GS1.1.1700000000.3.1.1700000100.0.0.0", "1700000000"),
        ("GS2.1.s1700000000$o3$g1$t1700000100$j0$l0$h0", "1700000000"),
        (None, None),
    ],
)
def test_session_request_carries_page_referrer_targets_and_ga_ids(
    page: Page, stub: Stub, ga_session_cookie: str | None, ga_session_id: str | None
) -> None:
    ga = [("_ga", "GA1.1.123456789.1700000000"), ("_ga_ABC123XYZ", ga_session_cookie)]
    page.context.add_cookies([{"name": n, "value": v, "url": stub.site} for n, v in ga if v is not None])
    page.goto(f"{stub.site}/index.html")
    page.click("#go")
    wait_until(lambda: len(stub.received("session")) == 1)

    [request] = stub.received("session")
    assert request.body == {
        "visitor": None,
        "session": None,
        "url": f"{stub.site}/static.html?utm_source=google&utm_medium=cpc&gclid=abc123",
        "referrer": f"{stub.site}/index.html",
        "targets": request.body["targets"],
        "ga_client_id": "123456789.1700000000",
        "ga_session_id": ga_session_id,
    }
    assert sorted(request.body["targets"]) == [US, UK]
    assert request.headers["Content-Type"].startswith("text/plain")
    assert request.headers["Origin"] == stub.site  # cross-origin, yet ...
    assert [r for r in stub.requests if r.method == "OPTIONS"] == []  # ... no preflight


def test_heartbeat_runs_while_visible_and_stops_while_hidden(open_page: OpenPage, stub: Stub) -> None:
    page = open_page("static.html", heartbeatSeconds=0.2)
    wait_until(lambda: len(stub.received("touch")) >= 2)
    touch = stub.received("touch")[0]
    state = page.evaluate("Ringtrail.state()")
    assert touch.body == {"visitor": state["visitor"], "session": state["session"]}
    assert touch.body["visitor"] and touch.body["session"]
    assert touch.headers["Content-Type"].startswith("text/plain")

    set_hidden(page, True)
    time.sleep(0.4)  # a beacon sent just before hiding may still be on its way
    while_hidden = len(stub.received("touch"))
    time.sleep(1.0)  # five heartbeat periods
    assert len(stub.received("touch")) == while_hidden

    set_hidden(page, False)
    wait_until(lambda: len(stub.received("touch")) > while_hidden)


def test_only_global_is_ringtrail(open_page: OpenPage) -> None:
    page = open_page("blank.html")
    wait_for_text(page, "#phone", "(415) 555-0123")
    added = page.evaluate("Object.keys(window).filter(k => !window.__before.includes(k))")
    assert sorted(added) == ["Ringtrail", "__before"]


def test_script_without_config_is_inert(open_page: OpenPage, stub: Stub, errors: list[str]) -> None:
    page = open_page("raw.html")
    page.wait_for_load_state("load")
    assert page.evaluate("typeof window.Ringtrail") == "undefined"
    assert page.text_content("#phone") == "(415) 555-0100"
    assert stub.requests == []
    assert errors == []


def set_hidden(page: Page, hidden: bool) -> None:
    """Pretends the tab went to the background (or came back) the way the browser reports it."""
    page.evaluate(
        """hidden => {
            Object.defineProperty(document, 'hidden', {configurable: true, get: () => hidden});
            Object.defineProperty(document, 'visibilityState', {configurable: true,
                                  get: () => hidden ? 'hidden' : 'visible'});
            document.dispatchEvent(new Event('visibilitychange'));
        }""",
        hidden,
    )


def closed_port() -> int:
    """A local port nothing listens on: connections are refused at once."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])

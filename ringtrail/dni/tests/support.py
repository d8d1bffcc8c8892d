"""Shared DNI test setup: an account with a swap target, a paid online source and a two-number pool."""

from __future__ import annotations

import io
import itertools
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

from ringtrail.dni.models import Pool
from ringtrail.numbers.models import SwapTarget, TrackingNumber
from ringtrail.sources.models import Source, SourceRule
from ringtrail.testing import WiredAccount, wired_account

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36"
TARGET = "+14155550199"


_sites = itertools.count()


@dataclass
class Site:
    wired: WiredAccount
    paid: Source
    pool: Pool
    numbers: list[TrackingNumber]
    key: str


def make_site() -> Site:
    n = next(_sites)
    wired = wired_account(tracking=f"+1415555{100 + n:04d}")
    SwapTarget.objects.create(account=wired.account, number=TARGET, label="Main line")
    paid = Source.objects.create(account=wired.account, name="Google Ads (web)", medium="cpc", kind="online")
    SourceRule.objects.create(source=paid, kind="click_id", value="gclid")
    pool = Pool.objects.create(account=wired.account, source=paid, fallback_number=wired.tracking)
    numbers = [
        TrackingNumber.objects.create(
            account=wired.account,
            number=f"+1415555{7000 + 10 * n + i}",
            connection=wired.connection,
            pool=pool,
            source=paid,
            receiving_number=wired.receiving,
        )
        for i in range(2)
    ]
    return Site(wired, paid, pool, numbers, wired.account.public_key)


def post(client: Client, site: Site, body: Any, path: str = "session", **headers: str) -> Any:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers.setdefault("HTTP_USER_AGENT", BROWSER)
    return client.post(f"/dni/v1/{site.key}/{path}", raw, content_type="text/plain", **headers)


def visit(
    url: str = "https://acme.test/?gclid=G1&utm_source=google&utm_campaign=spring", **extra: Any
) -> dict[str, Any]:
    return {"url": url, "referrer": "https://www.google.com/", "targets": ["(415) 555-0199"], **extra}


@dataclass
class WsgiResponse:
    """The parts of Django's test response the DNI tests read."""

    status_code: int
    headers: dict[str, str]
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)

    def __getitem__(self, name: str) -> str:
        return self.headers[name.lower()]

    def has_header(self, name: str) -> bool:
        return name.lower() in self.headers


class WsgiClient:
    """Calls the WSGI application the server runs (``ringtrail.wsgi.application``: the DNI front,
    then Django) with the arguments of Django's test client, so the same tests cover both."""

    def post(self, path: str, data: bytes = b"", content_type: str = "text/plain", **extra: str) -> Any:
        return self.request("POST", path, data, {"CONTENT_TYPE": content_type, **extra})

    def get(self, path: str, data: dict[str, str] | None = None, **extra: str) -> Any:
        return self.request("GET", path, b"", {"QUERY_STRING": urlencode(data or {}), **extra})

    def options(self, path: str, **extra: str) -> Any:
        return self.request("OPTIONS", path, b"", extra)

    def request(self, method: str, path: str, body: bytes, extra: dict[str, str]) -> WsgiResponse:
        from ringtrail.wsgi import application

        environ: dict[str, Any] = {
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": "",
            "SERVER_NAME": "testserver",
            "SERVER_PORT": "80",
            "SERVER_PROTOCOL": "HTTP/1.1",
            "REMOTE_ADDR": "127.0.0.1",
            "CONTENT_LENGTH": str(len(body)),
            "wsgi.input": io.BytesIO(body),
            "wsgi.url_scheme": "http",
            "wsgi.errors": io.StringIO(),
            "wsgi.multithread": False,
            "wsgi.multiprocess": False,
            "wsgi.run_once": False,
            "wsgi.version": (1, 0),
            **extra,
        }
        started: list[tuple[str, list[tuple[str, str]]]] = []
        # As Django's test client does: a test's transaction must survive Django's end of request.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            chunks = application(environ, lambda status, headers, *_: started.append((status, headers)))
            content = b"".join(chunks)
            if hasattr(chunks, "close"):
                chunks.close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        status, headers = started[0]
        return WsgiResponse(int(status.split()[0]), {k.lower(): v for k, v in headers}, content)


FRONTS = ["django", "wsgi"]


def front_client(front: str) -> Any:
    """Django's test client, or the WSGI application the server runs, whose DNI front answers the
    session and heartbeat paths without Django: endpoint tests run through both."""
    return Client() if front == "django" else WsgiClient()

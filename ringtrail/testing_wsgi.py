"""A test client for the WSGI application the server runs (``ringtrail/wsgi.py``).

Django's test client goes through Django's handler, so it never reaches the fronts that
``ringtrail/wsgi.py`` puts before it (``dni/edge.py``, ``lib/machine_lane.py``). This client takes
the same arguments, so a test module can run its tests through both (``FRONTS``, ``front_client``).
"""

from __future__ import annotations

import functools
import io
import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import Client

FRONTS = ["django", "wsgi"]


def front_client(front: str) -> Any:
    """Django's test client, or the WSGI application the server runs."""
    return Client() if front == "django" else WsgiClient()


@dataclass
class WsgiResponse:
    """The parts of Django's test response the tests read."""

    status_code: int
    headers: dict[str, str]
    content: bytes
    all_headers: list[tuple[str, str]]

    def json(self) -> Any:
        return json.loads(self.content)

    def __getitem__(self, name: str) -> str:
        return self.headers[name.lower()]

    def __contains__(self, name: str) -> bool:
        return name.lower() in self.headers

    def has_header(self, name: str) -> bool:
        return name in self

    def get(self, name: str, default: str | None = None) -> str | None:
        return self.headers.get(name.lower(), default)

    @property
    def cookies(self) -> list[str]:
        return [value for name, value in self.all_headers if name.lower() == "set-cookie"]


FORM = "application/x-www-form-urlencoded"


@functools.cache
def _application() -> Any:
    # Not ``ringtrail.wsgi``: importing it sets Django up again, which reconfigures logging under a
    # running test. The same fronts around a handler of Django's own.
    from ringtrail.fronts import around

    return around(WSGIHandler())


def wsgi_environ(method: str, path: str, body: bytes, extra: dict[str, Any]) -> dict[str, Any]:
    """The environ a WSGI server hands the application for this request (``extra``: headers as
    ``HTTP_*`` keys, ``CONTENT_TYPE``, ``REMOTE_ADDR``...)."""
    path, _, query = path.partition("?")
    return {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "QUERY_STRING": query,
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
        **{key: str(value) for key, value in extra.items()},
    }


class WsgiClient:
    def post(self, path: str, data: Any = b"", content_type: str = FORM, **extra: Any) -> WsgiResponse:
        """Like Django's client: a dict is sent as JSON for a JSON content type, else as a form
        (urlencoded: what carriers send, where Django's client would send multipart)."""
        if isinstance(data, dict):
            if "json" in content_type:
                body = json.dumps(data).encode()
            else:
                body, content_type = urlencode(data, doseq=True).encode(), FORM
        else:
            body = data.encode() if isinstance(data, str) else data
        return self.request("POST", path, body, {"CONTENT_TYPE": content_type, **extra})

    def get(self, path: str, data: dict[str, str] | None = None, **extra: Any) -> WsgiResponse:
        return self.request("GET", path, b"", {"QUERY_STRING": urlencode(data or {}), **extra})

    def options(self, path: str, **extra: Any) -> WsgiResponse:
        return self.request("OPTIONS", path, b"", extra)

    def request(self, method: str, path: str, body: bytes, extra: dict[str, Any]) -> WsgiResponse:
        application = _application()
        environ = wsgi_environ(method, path, body, extra)
        started: list[tuple[str, list[tuple[str, str]]]] = []
        # As Django's test client does: a test's transaction must survive Django's end of request.
        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            chunks = application(environ, lambda status, headers, *_: started.append((status, headers)))
            content = b"".join(chunks)
            close = getattr(chunks, "close", None)
            if close is not None:
                close()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        status, headers = started[0]
        lowered = {name.lower(): value for name, value in headers}
        return WsgiResponse(int(status.split()[0]), lowered, content, headers)

"""A stand-in for the DNI endpoint and a customer's web site, for testing the tracking script alone.

Two stdlib HTTP servers on 127.0.0.1, on different ports so the script talks to the endpoint across
origins as it does in production:

- the *site* serves the fixture pages, ``/t/test.js`` (the minified script with its config inlined, as
  the real server does) and ``/t/raw.js`` (the script with the placeholder left in);
- the *API* answers ``POST /dni/v1/test/session`` and ``/touch`` per the contract in tracker/README.md with
  a fixed mapping, and records every request it receives (preflights included, so tests can prove there
  are none).
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

PLACEHOLDER = "__RINGTRAIL_CONFIG__"
US, UK = "+14155550100", "+442079460000"
SWAPS: dict[str, dict[str, str]] = {
    US: {"number": "+14155550123", "formatted": "(415) 555-0123"},
    UK: {"number": "+442079460999", "formatted": "020 7946 0999"},
}
MODES = ("ok", "error", "garbage", "bad-swaps", "slow")
SLOW_SECONDS = 4.0


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # parsed JSON when the body was JSON, the raw text otherwise


@dataclass
class Stub:
    """Both servers, the knobs tests turn (mode, config overrides) and what the API received."""

    script: str
    pages: Path
    mode: str = "ok"
    config: dict[str, Any] = field(default_factory=dict)
    requests: list[Request] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _servers: list[ThreadingHTTPServer] = field(default_factory=list)
    _ids: int = 0

    @property
    def site(self) -> str:
        return f"http://127.0.0.1:{self._servers[0].server_port}"

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self._servers[1].server_port}"

    def start(self) -> None:
        for handler in (_site_handler(self), _api_handler(self)):
            server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
            server.daemon_threads = True
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self._servers.append(server)

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()

    def reset(self) -> None:
        with self._lock:
            self.mode, self.config, self.requests = "ok", {}, []

    def received(self, path: str) -> list[Request]:
        """Requests the API received whose path ends with ``path`` ("session", "touch")."""
        with self._lock:
            return [r for r in self.requests if r.path.endswith("/" + path)]

    def record(self, request: Request) -> None:
        with self._lock:
            self.requests.append(request)

    def next_id(self) -> int:
        with self._lock:
            self._ids += 1
            return self._ids

    def config_json(self) -> str:
        config: dict[str, Any] = {
            "key": "test",
            "endpoint": f"{self.api}/dni/v1/test",
            "targets": [US, UK],
            "attributes": ["data-phone"],
            "cookieDays": 30,
            "heartbeatSeconds": 60,
            "hideMs": 1000,
            "rulesVersion": "3",
        }
        config.update(self.config)
        return json.dumps(config)

    def session_answer(self, body: Any) -> tuple[int, str]:
        """What the API answers to a session request in the current mode: (status, body)."""
        if self.mode == "slow":
            time.sleep(SLOW_SECONDS)
        if self.mode == "error":
            return 500, "Internal Server Error"
        if self.mode == "garbage":
            return 200, "<html>this is not json"
        if self.mode == "bad-swaps":
            swaps = {US: {"number": "javascript:alert(1)", "formatted": "<b>x</b>"}, UK: "nope"}
            return 200, json.dumps({"visitor": "<script>", "session": None, "swaps": swaps, "ttl": "x"})
        n = self.next_id()
        targets = body.get("targets") or []
        return 200, json.dumps(
            {
                "visitor": body.get("visitor") or f"v_{n}",
                "session": body.get("session") or f"s_{n}",
                "swaps": {t: SWAPS[t] for t in targets if t in SWAPS},
                "ttl": 900,
            }
        )


class _Handler(BaseHTTPRequestHandler):
    stub: Stub

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet

    def send(self, status: int, body: str, content_type: str, extra: dict[str, str] | None = None) -> None:
        data = body.encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.send_header("Cache-Control", "no-store")
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the browser gave up (slow mode, closed page): nothing to answer


def _site_handler(stub: Stub) -> type[_Handler]:
    class Site(_Handler):
        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/t/test.js":
                script = stub.script.replace(PLACEHOLDER, stub.config_json())
                self.send(200, script, "text/javascript; charset=utf-8")
            elif path == "/t/raw.js":
                self.send(200, stub.script, "text/javascript; charset=utf-8")
            elif (page := stub.pages / path.lstrip("/")).is_file() and page.parent == stub.pages:
                self.send(200, page.read_text(encoding="utf-8"), "text/html; charset=utf-8")
            else:
                self.send(404, "not found", "text/plain")

    return Site


def _api_handler(stub: Stub) -> type[_Handler]:
    class Api(_Handler):
        def cors(self) -> dict[str, str]:
            return {"Access-Control-Allow-Origin": self.headers.get("Origin") or "*", "Vary": "Origin"}

        def do_OPTIONS(self) -> None:
            stub.record(Request("OPTIONS", self.path, dict(self.headers), None))
            self.send(204, "", "text/plain", self.cors())

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            try:
                body: Any = json.loads(raw)
            except ValueError:
                body = raw
            stub.record(Request("POST", self.path, dict(self.headers), body))
            if self.path == "/dni/v1/test/session" and isinstance(body, dict):
                status, answer = stub.session_answer(body)
                self.send(status, answer, "application/json", self.cors())
            elif self.path == "/dni/v1/test/touch":
                self.send(204, "", "text/plain", self.cors())
            else:
                self.send(400, "bad request", "text/plain", self.cors())

    return Api

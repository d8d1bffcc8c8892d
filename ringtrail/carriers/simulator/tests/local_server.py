"""A tiny real HTTP server answering TwiML by path, for tests that need the simulator over a socket."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import parse_qsl

from ringtrail.carriers.simulator.media import Answer, CarrierApiServer

Route = str | Callable[[dict[str, str]], str]


class TwimlServer(CarrierApiServer):
    def __init__(self, routes: dict[str, Route]) -> None:
        self.routes = routes
        self.received: list[tuple[str, dict[str, str]]] = []
        super().__init__()

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        self.received.append((path, params))
        route = self.routes.get(path)
        if route is None:
            return Answer(204, b"", "text/plain")
        document = route(params) if callable(route) else route
        return Answer(200, document.encode(), "text/xml")

    def to(self, path: str) -> list[dict[str, str]]:
        return [params for received, params in self.received if received == path]

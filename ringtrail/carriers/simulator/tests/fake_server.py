"""A fake carrier-facing server for unit tests of the interpreter only (never of Ringtrail itself).

It checks every signature with the ``twilio`` oracle, records what it was sent and answers from a
route table: a TwiML string, an ``httpx.Response`` or a function of the posted params.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

import httpx
from twilio.request_validator import RequestValidator

from ringtrail.carriers.simulator import CallScenario, Credentials, Simulator
from ringtrail.carriers.simulator.scenario import CallResult

BASE_URL = "http://ringtrail.test:8000"
TOKEN = "test-auth-token"
ACCOUNT_SID = "AC" + "0" * 32
CREDENTIALS = Credentials(kind="twilio", account_sid=ACCOUNT_SID, secret=TOKEN)

Route = str | httpx.Response | Callable[[dict[str, str]], "str | httpx.Response"]


@dataclass(frozen=True)
class Received:
    path: str
    query: str
    params: dict[str, str]
    headers: httpx.Headers


def twiml(inner: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?><Response>{inner}</Response>'


@dataclass
class FakeServer:
    routes: dict[str, Route]
    received: list[Received] = field(default_factory=list)

    def __call__(self, request: httpx.Request) -> httpx.Response:
        params = dict(parse_qsl(request.content.decode(), keep_blank_values=True))
        signature = request.headers.get("X-Twilio-Signature", "")
        if not RequestValidator(TOKEN).validate(str(request.url), params, signature):
            return httpx.Response(403, text="bad signature")
        path = request.url.path
        self.received.append(Received(path, request.url.query.decode(), params, request.headers))
        return self._answer(path, params)

    def _answer(self, path: str, params: dict[str, str]) -> httpx.Response:
        route = self.routes.get(path)
        if route is None:
            if path in ("/carriers/twilio/status", "/carriers/twilio/recording"):
                return httpx.Response(204)
            return httpx.Response(404, text="not found")
        answer = route(params) if callable(route) else route
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(200, text=answer, headers={"Content-Type": "text/xml"})

    def to(self, path: str) -> list[Received]:
        return [received for received in self.received if received.path == path]

    def simulator(self, credentials: Credentials = CREDENTIALS, budget: float = 15.0) -> Simulator:
        client = httpx.Client(transport=httpx.MockTransport(self))
        return Simulator(BASE_URL, credentials, client=client, budget=budget)

    def call(self, **scenario: object) -> CallResult:
        fields: dict[str, object] = {"to": "+15550001111", "from_": "+15557654321"} | scenario
        return self.simulator().place_call(CallScenario(**fields))  # type: ignore[arg-type]

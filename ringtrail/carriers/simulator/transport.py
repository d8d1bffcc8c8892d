"""Signed carrier requests under the carrier's 15-second budget."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass

import httpx

from ringtrail.carriers.simulator.signing import Credentials, signature_headers

# Twilio gives a webhook 15 seconds in total before it plays an application error.
REQUEST_BUDGET_SECONDS = 15.0
USER_AGENT = "TwilioProxy/1.1 (Ringtrail carrier simulator)"
# The engine names its own endpoints in the Twilio dialect; other dialects live under their own prefix.
TWILIO_PREFIX = "/carriers/twilio/"
DIALECT_PREFIXES = {"telnyx": "/carriers/telnyx/"}


@dataclass(frozen=True)
class Exchange:
    """One request and what came back; ``error`` is set when the carrier would give up on it."""

    url: str
    params: dict[str, str]
    status: int | None
    body: str
    content_type: str
    elapsed_ms: int
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and self.status is not None and 200 <= self.status < 300


class CarrierHttp:
    """Resolves relative URLs against the server, signs every POST and enforces the budget."""

    def __init__(
        self,
        client: httpx.Client,
        credentials: Credentials,
        base_url: str,
        budget: float = REQUEST_BUDGET_SECONDS,
    ) -> None:
        self.client = client
        self.credentials = credentials
        self.base_url = httpx.URL(base_url)
        self.budget = budget

    def resolve(self, url: str) -> str:
        url = url.strip()
        prefix = DIALECT_PREFIXES.get(self.credentials.kind)
        if prefix and url.startswith(TWILIO_PREFIX):
            url = prefix + url.removeprefix(TWILIO_PREFIX)
        return str(self.base_url.join(url))

    def display(self, url: str) -> str:
        """Same-origin URLs shortened to their path, so the story stays readable."""
        target = httpx.URL(url)
        if (target.scheme, target.host, target.port) != (
            self.base_url.scheme,
            self.base_url.host,
            self.base_url.port,
        ):
            return url
        return target.raw_path.decode("ascii", "replace")

    def post(self, url: str, params: Mapping[str, str]) -> Exchange:
        request = self.client.build_request(
            "POST",
            self.resolve(url),
            data=dict(params),
            headers={"User-Agent": USER_AGENT},
            timeout=httpx.Timeout(self.budget),
        )
        # Sign the URL httpx will actually put on the wire (normalised host, port and escaping).
        signed_url = str(request.url)
        body = request.read()  # Telnyx signs the encoded body exactly as it goes on the wire
        request.headers.update(signature_headers(self.credentials, signed_url, params, body))
        return self._send(request, signed_url, dict(params))

    def _send(self, request: httpx.Request, url: str, params: dict[str, str]) -> Exchange:
        started = time.perf_counter()
        try:
            response = self.client.send(request)
        except httpx.TimeoutException:
            return self._failure(url, params, started, f"timed out after {self.budget:g} s")
        except httpx.HTTPError as exc:
            return self._failure(url, params, started, f"{type(exc).__name__}: {exc}")
        elapsed = time.perf_counter() - started
        error = (
            f"answered after {elapsed:.1f} s, over the {self.budget:g} s budget"
            if elapsed > self.budget
            else None
        )
        return Exchange(
            url=url,
            params=params,
            status=response.status_code,
            body=response.text,
            content_type=response.headers.get("content-type", ""),
            elapsed_ms=round(elapsed * 1000),
            error=error,
        )

    def _failure(self, url: str, params: dict[str, str], started: float, error: str) -> Exchange:
        elapsed_ms = round((time.perf_counter() - started) * 1000)
        return Exchange(url, params, None, "", "", elapsed_ms, error)

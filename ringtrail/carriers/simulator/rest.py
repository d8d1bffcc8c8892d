"""A stand-in for the carrier's Calls REST API, so Ringtrail can place outbound (call-back) calls.

``POST /2010-04-01/Accounts/{AccountSid}/Calls.json`` with HTTP Basic auth (AccountSid and auth
token) answers as Twilio does (201 with the Call resource, ``status: queued``; 400 with Twilio's
error body), then places the call on a worker thread: the scripted callee at ``To`` answers (or
not), the simulator fetches ``Url`` signed with ``Direction=outbound-api``, runs the TwiML like any
call and fires the status callbacks the request subscribed to. It also serves recordings' audio.

    with RestStandIn(live_server.url, credentials, callees={"+1555…": Callee(inputs=("1",))}) as api:
        connection.api_base_url = api.url
        ...  # Ringtrail places the call
        assert api.wait_idle()
        (result,) = api.results
"""

from __future__ import annotations

import base64
import binascii
import hmac
import queue
import re
import threading
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import format_datetime
from urllib.parse import parse_qsl, urlsplit

import httpx

from ringtrail.carriers.simulator.engine import OutboundCall, Simulator
from ringtrail.carriers.simulator.media import Answer, RecordingServer, json_answer, twilio_error
from ringtrail.carriers.simulator.scenario import Callee, CallResult, CallScenario, new_sid
from ringtrail.carriers.simulator.signing import Credentials
from ringtrail.carriers.simulator.state import API_VERSION

# SignalWire's compatibility API is the same resource under /api/laml.
CALLS_PATH = re.compile(
    rf"^(?:/api/laml)?/{API_VERSION}/Accounts/(?P<account>[\w-]{{1,64}})/Calls(?P<rest>/[^/]*)?\.json$"
)
CALL_SID = re.compile(r"^/(CA[0-9a-f]{32})$")
E164 = re.compile(r"^\+[1-9]\d{1,14}$")
STATUS_EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})
# The Calls resource's ring timeout: 60 s by default, at most 600 s.
MAX_TIMEOUT = 600


class BadRequest(ValueError):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class RestStandIn(RecordingServer):
    """The Calls API of one carrier account; outbound calls go to the Ringtrail at ``base_url``.

    ``callees`` scripts the party at each ``To`` (and any number its TwiML dials); others answer
    as ``default`` does. ``client`` replaces the HTTP client the calls use (tests plug a mock
    transport into it); it is only used from the single worker thread.
    """

    def __init__(
        self,
        base_url: str,
        credentials: Credentials,
        callees: Mapping[str, Callee] | None = None,
        default: Callee | None = None,
        inputs: Sequence[str | None] = (),
        client: httpx.Client | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.credentials = credentials
        self.callees = dict(callees or {})
        self.default = default or Callee()
        self.inputs = tuple(inputs)
        self.results: list[CallResult] = []
        self.calls: dict[str, dict[str, object]] = {}
        self._simulator = Simulator(base_url, credentials, client=client, recordings=self)
        self._queue: queue.Queue[tuple[CallScenario, OutboundCall] | None] = queue.Queue()
        self._idle = threading.Condition()
        self._pending = 0
        self._worker = threading.Thread(target=self._work, name="RestStandIn calls", daemon=True)
        self._worker.start()
        super().__init__(host, port)

    def wait_idle(self, timeout: float = 30.0) -> bool:
        """True once every accepted call has been played out (callbacks included)."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._worker.join(timeout=5)
        super().close()

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        match = CALLS_PATH.match(path)
        if match is None:
            return super().answer(method, path, headers, body)
        if not self._authorised(match["account"], headers.get("authorization", "")):
            answer = twilio_error(401, 20003, "Authenticate")
            return Answer(
                answer.status, answer.body, headers=(("WWW-Authenticate", 'Basic realm="Twilio API"'),)
            )
        if match["rest"]:
            return self._fetch(method, match["rest"])
        if method != "POST":
            return twilio_error(405, 20004, "Method not allowed")
        try:
            scenario, call = self._parse(body)
        except BadRequest as error:
            return twilio_error(400, error.code, str(error))
        document = self._accept(scenario, call)
        return json_answer(201, document)

    def _authorised(self, account: str, header: str) -> bool:
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        # Both compared in constant time; the account in the path must be the one authenticated.
        user_ok = hmac.compare_digest(user.encode(), self.credentials.account_sid.encode())
        password_ok = hmac.compare_digest(password.encode(), self.credentials.secret.encode())
        return user_ok and password_ok and account == user

    def _fetch(self, method: str, rest: str) -> Answer:
        sid = CALL_SID.match(rest)
        if sid is None:
            return twilio_error(404, 20404, "The requested resource was not found")
        if method != "GET":
            return twilio_error(405, 20004, "Method not allowed")
        with self._idle:
            document = self.calls.get(sid[1])
        if document is None:
            return twilio_error(404, 20404, f"The requested resource /Calls/{sid[1]}.json was not found")
        return json_answer(200, document)

    def _parse(self, body: bytes) -> tuple[CallScenario, OutboundCall]:
        try:
            pairs = parse_qsl(body.decode(), keep_blank_values=True, strict_parsing=bool(body))
        except (UnicodeDecodeError, ValueError) as exc:
            raise BadRequest(20001, "the body is not form-encoded parameters") from exc
        params = dict(pairs)
        to, from_ = _number(params, "To", 21201, 21211), _number(params, "From", 21213, 21212)
        call = OutboundCall(
            sid=new_sid("CA"),
            url=_url(params, "Url", required=True) or "",
            status_callback=_url(params, "StatusCallback", required=False),
            status_events=_events([value for key, value in pairs if key == "StatusCallbackEvent"]),
            timeout=_timeout(params.get("Timeout")),
            record=_flag(params.get("Record")),
            recording_status_callback=_url(params, "RecordingStatusCallback", required=False) or "",
        )
        return self._scenario(to, from_), call

    def _scenario(self, to: str, from_: str) -> CallScenario:
        callee = self.callees.get(to, self.default)
        return CallScenario(
            to=to,
            from_=from_,
            answer_after=self.default.answer_after,
            talk=self.default.talk,
            outcome=self.default.outcome,
            accept_whisper=self.default.accept_whisper,
            callees=self.callees,
            inputs=callee.inputs or self.inputs,
        )

    def _accept(self, scenario: CallScenario, call: OutboundCall) -> dict[str, object]:
        document = _call_resource(self.credentials.account_sid, scenario, call)
        with self._idle:
            self.calls[call.sid] = document
            self._pending += 1
        self._queue.put((scenario, call))
        return dict(document)

    def _work(self) -> None:
        while (job := self._queue.get()) is not None:
            scenario, call = job
            try:
                result = self._simulator.place_outbound(scenario, call)
            except Exception as exc:  # one broken call must not stop the others
                result = CallResult(
                    call.sid, scenario.from_, scenario.to, "failed", 0, errors=[repr(exc)], status="failed"
                )
            with self._idle:
                self.results.append(result)
                self.calls[call.sid] |= {"status": result.status, "duration": str(result.duration)}
                self._pending -= 1
                self._idle.notify_all()


def _number(params: dict[str, str], name: str, missing: int, invalid: int) -> str:
    value = params.get(name, "").strip()
    if not value:
        raise BadRequest(missing, f"No '{name}' number is specified")
    if not (E164.match(value) or value.startswith(("sip:", "client:"))):
        raise BadRequest(invalid, f"Invalid '{name}' Phone Number: {value[:40]}")
    return value


def _url(params: dict[str, str], name: str, required: bool) -> str | None:
    value = params.get(name, "").strip()
    if not value:
        if required:
            # 21200 (Calls resource): a call needs Url, Twiml or ApplicationSid; the stand-in takes Url.
            raise BadRequest(21200, f"'{name}' is required (the simulator's stand-in runs Url only)")
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise BadRequest(21205 if name == "Url" else 21200, f"'{name}' is not a valid absolute URL")
    return value


def _events(raw: list[str]) -> frozenset[str]:
    # Repeated parameters or one space-separated value; Twilio's default is "completed" only.
    events = frozenset(word for value in raw for word in value.replace(",", " ").split())
    unknown = events - STATUS_EVENTS
    if unknown:
        raise BadRequest(21200, f"StatusCallbackEvent {sorted(unknown)} not in {sorted(STATUS_EVENTS)}")
    return events or frozenset({"completed"})


def _timeout(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return 60
    if not raw.strip().isdigit() or not 1 <= int(raw) <= MAX_TIMEOUT:
        raise BadRequest(21200, f"Timeout must be a whole number of seconds from 1 to {MAX_TIMEOUT}")
    return int(raw)


def _flag(raw: str | None) -> bool:
    if raw is None or raw.strip().lower() in ("", "false"):
        return False
    if raw.strip().lower() == "true":
        return True
    raise BadRequest(21200, "Record must be true or false")


def _call_resource(account_sid: str, scenario: CallScenario, call: OutboundCall) -> dict[str, object]:
    """The Call resource as Twilio's documented create example returns it."""
    now = format_datetime(datetime.now(UTC))
    base = f"/{API_VERSION}/Accounts/{account_sid}/Calls/{call.sid}"
    return {
        "sid": call.sid,
        "account_sid": account_sid,
        "parent_call_sid": None,
        "to": scenario.to,
        "to_formatted": scenario.to,
        "from": scenario.from_,
        "from_formatted": scenario.from_,
        "phone_number_sid": None,
        "status": "queued",
        "direction": "outbound-api",
        "api_version": API_VERSION,
        "answered_by": None,
        "forwarded_from": None,
        "caller_name": None,
        "group_sid": None,
        "trunk_sid": None,
        "queue_time": "0",
        "duration": None,
        "price": None,
        "price_unit": "USD",
        "start_time": None,
        "end_time": None,
        "date_created": now,
        "date_updated": now,
        "uri": f"{base}.json",
        "subresource_uris": {
            "recordings": f"{base}/Recordings.json",
            "notifications": f"{base}/Notifications.json",
            "events": f"{base}/Events.json",
        },
    }

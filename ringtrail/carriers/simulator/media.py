"""A local stand-in for the carrier's API host: serves recordings' audio where ``RecordingUrl`` points.

It runs a stdlib ``ThreadingHTTPServer`` on a loopback port in a daemon thread. Paths mirror
Twilio's (``/2010-04-01/Accounts/{AccountSid}/Recordings/{RecordingSid}``): no extension or
``.wav`` gives the WAV, ``.json`` the metadata, as Twilio's media URLs do. Like Twilio's default
(media without HTTP auth), fetching a recording needs no credentials.
"""

from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

from ringtrail.carriers.simulator.audio import recording_wav
from ringtrail.carriers.simulator.state import API_VERSION

RECORDING_PATH = re.compile(
    rf"^/{API_VERSION}/Accounts/(?P<account>AC\w{{1,62}}|[\w-]{{1,64}})/Recordings/(?P<sid>RE[0-9a-f]{{32}})"
    r"(?P<ext>\.wav|\.json|\.mp3)?$"
)
MAX_BODY_BYTES = 64 * 1024


@dataclass(frozen=True)
class Answer:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def twilio_error(status: int, code: int, message: str) -> Answer:
    """Twilio's REST error body (2010 API, JSON): code, message, more_info, status."""
    body = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return Answer(status, json.dumps(body).encode())


def json_answer(status: int, document: object) -> Answer:
    return Answer(status, json.dumps(document).encode())


@dataclass(frozen=True)
class StoredRecording:
    account_sid: str
    sid: str
    seconds: int
    channels: int


class CarrierApiServer:
    """An HTTP server on 127.0.0.1 in a thread; subclasses answer through ``answer``."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll interval keeps close(), and so every test using a server, quick.
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), name=type(self).__name__, daemon=True
        )
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        return twilio_error(404, 20404, "The requested resource was not found")


class RecordingServer(CarrierApiServer):
    """Serves a generated WAV for every recording the simulator publishes to it."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._recordings: dict[str, StoredRecording] = {}
        self._lock = threading.Lock()
        super().__init__(host, port)

    def publish(self, account_sid: str, recording_sid: str, seconds: int, channels: int) -> str:
        with self._lock:
            self._recordings[recording_sid] = StoredRecording(account_sid, recording_sid, seconds, channels)
        return f"{self.url}/{API_VERSION}/Accounts/{account_sid}/Recordings/{recording_sid}"

    def answer(self, method: str, path: str, headers: dict[str, str], body: bytes) -> Answer:
        match = RECORDING_PATH.match(path)
        if match is None:
            return super().answer(method, path, headers, body)
        with self._lock:
            recording = self._recordings.get(match["sid"])
        if recording is None or recording.account_sid != match["account"]:
            return twilio_error(404, 20404, f"Recording {match['sid']} was not found")
        if method not in ("GET", "HEAD"):
            return twilio_error(405, 20004, "Method not allowed")
        if match["ext"] == ".mp3":
            return twilio_error(404, 20404, "the simulator serves recordings as WAV only")
        if match["ext"] == ".json":
            return json_answer(200, _recording_json(recording))
        return Answer(200, recording_wav(recording.seconds, recording.channels), "audio/x-wav")


def _recording_json(recording: StoredRecording) -> dict[str, object]:
    return {
        "sid": recording.sid,
        "account_sid": recording.account_sid,
        "duration": str(recording.seconds),
        "channels": recording.channels,
        "status": "completed",
        "media_format": "wav",
        "uri": f"/{API_VERSION}/Accounts/{recording.account_sid}/Recordings/{recording.sid}.json",
    }


def _handler_for(owner: CarrierApiServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "RingtrailCarrierSimulator/1.0"

        def do_GET(self) -> None:
            self._serve("GET")

        def do_HEAD(self) -> None:
            self._serve("HEAD")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

        def _serve(self, method: str) -> None:
            body = self._body()
            if isinstance(body, Answer):
                self._send(body, method)
                return
            headers = {key.lower(): value for key, value in self.headers.items()}
            path = self.path.split("?", 1)[0]
            try:
                answer = owner.answer(method, path, headers, body)
            except Exception:  # a stand-in that dies would hang the test instead
                answer = twilio_error(500, 20500, "Internal error in the carrier simulator")
            self._send(answer, method)

        def _body(self) -> bytes | Answer:
            raw = self.headers.get("Content-Length", "0") or "0"
            if not raw.isdigit():
                return twilio_error(400, 20001, "Content-Length is not a number")
            if int(raw) > MAX_BODY_BYTES:
                return twilio_error(413, 20001, f"request body over {MAX_BODY_BYTES} bytes")
            return self.rfile.read(int(raw))

        def _send(self, answer: Answer, method: str) -> None:
            self.send_response(answer.status, HTTPStatus(answer.status).phrase)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
            for name, value in answer.headers:
                self.send_header(name, value)
            self.end_headers()
            if method != "HEAD":
                self.wfile.write(answer.body)

        def log_message(self, format: str, *args: object) -> None:
            # Quiet: the story and the test output say what happened.
            return

    return Handler

"""Parsing of ``ringtrail simulate`` options that script the caller and the dialled parties."""

from __future__ import annotations

import argparse
from typing import Any

from ringtrail.carriers.simulator import Callee
from ringtrail.carriers.simulator.scenario import CALLEE_OUTCOMES, CalleeOutcome, parse_input
from ringtrail.lib.phone import normalize_e164

SILENCE = ("silence", "none", "-")
CALLEE_HELP = (
    "script one dialled number: NUMBER=OUTCOME[,after=S][,talk=S][,accept=DIGIT|none]; OUTCOME is "
    "answer, no-answer, busy or failed (repeatable)"
)
INPUT_HELP = "the caller's answer to the next <Gather>: keys (2, 1234#), say:words[@confidence] or silence"


def caller_input(raw: str) -> str | None:
    """An ``--input`` value: keys, ``say:…`` or silence (``silence``, ``none`` or ``-``)."""
    if raw.strip().lower() in SILENCE:
        return None
    try:
        parse_input(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return raw


def whisper_digit(raw: str) -> str | None:
    return caller_input(raw)


def callee_spec(raw: str) -> tuple[str, Callee]:
    """``+15551230001=answer,after=5,talk=20,accept=1`` → (E.164 number, Callee)."""
    number, separator, rest = raw.partition("=")
    if not separator or not rest:
        raise argparse.ArgumentTypeError(f"{raw!r}: expected NUMBER=OUTCOME[,after=S][,talk=S][,accept=D]")
    outcome, *options = rest.split(",")
    fields: dict[str, Any] = {"outcome": _outcome(outcome)}
    for option in options:
        name, _, value = option.partition("=")
        fields.update(_callee_option(name.strip(), value.strip()))
    try:
        return _address(number.strip()), Callee(**fields)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{raw!r}: {exc}") from exc


def _outcome(raw: str) -> CalleeOutcome:
    for outcome in CALLEE_OUTCOMES:
        if raw.strip() == outcome:
            return outcome
    raise argparse.ArgumentTypeError(f"callee outcome {raw!r} is not one of {', '.join(CALLEE_OUTCOMES)}")


def _callee_option(name: str, value: str) -> dict[str, Any]:
    if name in ("after", "talk"):
        try:
            seconds = float(value)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(f"{name}={value!r} is not a number of seconds") from exc
        return {"answer_after" if name == "after" else "talk": seconds}
    if name == "accept":
        return {"accept_whisper": caller_input(value)}
    raise argparse.ArgumentTypeError(f"unknown callee option {name!r} (after, talk, accept)")


def _address(raw: str) -> str:
    if raw.startswith("sip:"):
        return raw
    e164 = normalize_e164(raw)
    if e164 is None:
        raise argparse.ArgumentTypeError(f"callee {raw!r} is not a phone number (E.164) or sip: URI")
    return e164


def add_script_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--input",
        dest="inputs",
        action="append",
        type=caller_input,
        default=[],
        metavar="VALUE",
        help=INPUT_HELP,
    )
    parser.add_argument(
        "--callee",
        dest="callees",
        action="append",
        type=callee_spec,
        default=[],
        metavar="SPEC",
        help=CALLEE_HELP,
    )
    parser.add_argument(
        "--accept-whisper",
        type=whisper_digit,
        default="1",
        metavar="DIGIT",
        help="what unlisted callees press when a whisper asks (1; 'none' never presses)",
    )
    parser.add_argument(
        "--hangup-after", type=float, default=None, metavar="S", help="the caller hangs up at S"
    )
    parser.add_argument(
        "--hangup-at-gather",
        type=int,
        default=None,
        metavar="N",
        help="the caller hangs up at the Nth <Gather>",
    )
    parser.add_argument(
        "--play-seconds", type=float, default=10.0, metavar="S", help="how long a <Play> lasts (10)"
    )


def add_carrier_api_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8010, help="loopback port to listen on (8010)")
    parser.add_argument(
        "--base-url", default=None, help="the Ringtrail the calls go to (http://127.0.0.1:$PORT)"
    )
    parser.add_argument("--account-sid", required=True, help="the carrier connection's account SID")
    parser.add_argument(
        "--secret", default=None, help="its auth token (default: read from the local database)"
    )
    parser.add_argument(
        "--callee",
        dest="callees",
        action="append",
        type=callee_spec,
        default=[],
        metavar="SPEC",
        help=CALLEE_HELP,
    )
    parser.add_argument(
        "--input",
        dest="inputs",
        action="append",
        type=caller_input,
        default=[],
        metavar="VALUE",
        help=INPUT_HELP,
    )

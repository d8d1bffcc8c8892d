"""``ringtrail simulate call``: place one simulated carrier call against a running server."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DatabaseError

from ringtrail.accounts.models import Account
from ringtrail.carriers.management.simulate_options import add_carrier_api_arguments, add_script_arguments
from ringtrail.carriers.models import CarrierConnection
from ringtrail.carriers.simulator import CallResult, CallScenario, Credentials, RestStandIn, Simulator
from ringtrail.carriers.simulator.signing import CarrierName
from ringtrail.dni import traffic
from ringtrail.lib.phone import normalize_e164
from ringtrail.numbers.models import NumberState, TrackingNumber

CALLER_AREA_OPTIONS = {
    "caller_city": "FromCity",
    "caller_state": "FromState",
    "caller_zip": "FromZip",
    "caller_country": "FromCountry",
}


class Command(BaseCommand):
    help = "Simulate carrier traffic (signed webhooks, TwiML, callbacks) against a running Ringtrail server."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{call,traffic,carrier-api}")
        add_call_arguments(actions.add_parser("call", help="place one simulated inbound call"))
        add_carrier_api_arguments(
            actions.add_parser(
                "carrier-api",
                help="serve the carrier's Calls REST API (outbound calls) until interrupted",
                description="Point a carrier connection's api_base_url at the printed URL; calls Ringtrail "
                "places through it are played against Ringtrail like real ones.",
            )
        )
        add_traffic_arguments(
            actions.add_parser(
                "traffic",
                help="synthetic website visitors and their calls, with ground truth",
                # The simulator is one client IP, which the server's per-IP limit would degrade.
                description="Start the server with DNI_RATE_PER_IP_PER_MINUTE=1000000 (default 120): all "
                "simulated visitors share one IP and would otherwise get the fallback number.",
            )
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["action"] not in ("call", "traffic", "carrier-api"):
            raise CommandError(f"unknown action {options['action']!r}")
        if options["verbosity"] < 2:
            # httpx logs every request at INFO; the story already tells them, better.
            logging.getLogger("httpx").setLevel(logging.WARNING)
        if options["action"] == "traffic":
            self.traffic(options)
            return
        if options["action"] == "carrier-api":
            self.carrier_api(options)
            return
        result = self.place_call(options)
        if options["json"]:
            self.stdout.write(json.dumps(result.to_json(), indent=2))
        else:
            for line in result.story_lines():
                self.stdout.write(line)
        if result.errors:
            raise CommandError(f"the simulated call had {len(result.errors)} error(s); see the story above")

    def traffic(self, options: dict[str, Any]) -> None:
        account = Account.objects.filter(slug=options["account"]).first()
        if account is None:
            raise CommandError(
                f"no account {options['account']!r} in the local database (try `ringtrail demo`)"
            )
        site = traffic.site_info(account)
        config = traffic.TrafficConfig(
            visitors=options["visitors"],
            duration=options["duration"],
            call_rate=options["call_rate"],
            seed=options["seed"],
            time_scale=options["time_scale"],
        )
        show = not options["json"] and sys.stderr.isatty()
        report = traffic.run_traffic(
            options["base_url"] or default_base_url(), site, config, progress_bar(config) if show else None
        )
        if show:
            sys.stderr.write("\n")
        if options["json"]:
            self.stdout.write(json.dumps(report, indent=2))
            return
        for line in traffic.summary_lines(report):
            self.stdout.write(line)
        for warning in traffic_warnings(report):
            self.stderr.write(warning)

    def carrier_api(self, options: dict[str, Any]) -> None:
        secret = options["secret"] or secret_of(options)
        credentials = Credentials(carrier_name(options["carrier"]), options["account_sid"], secret)
        base_url = options["base_url"] or default_base_url()
        callees = dict(options["callees"])
        with RestStandIn(
            base_url, credentials, callees, inputs=options["inputs"], port=options["port"]
        ) as api:
            self.stdout.write(
                f"Calls API for {credentials.account_sid} at {api.url} (calls go to {base_url})"
            )
            shown = 0
            try:
                while True:
                    api.wait_idle(timeout=1.0)
                    for result in api.results[shown:]:
                        for line in result.story_lines():
                            self.stdout.write(line)
                    shown = len(api.results)
                    time.sleep(0.5)
            except KeyboardInterrupt:
                self.stdout.write(f"stopped after {shown} call(s)")

    def place_call(self, options: dict[str, Any]) -> CallResult:
        to = normalise_number(options["to"], "--to")
        try:
            scenario = self.scenario(options, to)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        credentials = resolve_credentials(options, to)
        return Simulator(options["base_url"] or default_base_url(), credentials).place_call(scenario)

    def scenario(self, options: dict[str, Any], to: str) -> CallScenario:
        return CallScenario(
            to=to,
            # Carriers pass odd caller ids through (anonymous, short codes), so --from may stay verbatim.
            from_=normalize_e164(options["from_"]) or options["from_"],
            answer_after=options["answer_after"],
            talk=options["talk"],
            outcome=options["outcome"],
            voicemail_seconds=options["voicemail"],
            caller_area=caller_area(options),
            caller_name=options["caller_name"],
            chaos=options["chaos"],
            seed=options["seed"],
            inputs=tuple(options["inputs"]),
            callees=dict(options["callees"]) or None,
            accept_whisper=options["accept_whisper"],
            hangup_after=options["hangup_after"],
            hangup_at_gather=options["hangup_at_gather"],
            play_seconds=options["play_seconds"],
        )


def add_call_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--to", required=True, help="the tracking number being called (E.164)")
    parser.add_argument("--from", dest="from_", required=True, help="the caller's number (E.164)")
    callee = parser.add_mutually_exclusive_group()
    callee.add_argument(
        "--no-answer",
        dest="outcome",
        action="store_const",
        const="no-answer",
        help="the callee never picks up",
    )
    callee.add_argument(
        "--busy", dest="outcome", action="store_const", const="busy", help="the callee is busy"
    )
    parser.set_defaults(outcome="answer")
    parser.add_argument("--answer-after", type=non_negative, default=3.0, metavar="S", help="ring time (3)")
    parser.add_argument(
        "--talk", type=non_negative, default=30.0, metavar="S", help="conversation length (30)"
    )
    parser.add_argument(
        "--voicemail", type=non_negative, default=15.0, metavar="S", help="message length; 0 hangs up"
    )
    for option in CALLER_AREA_OPTIONS:
        parser.add_argument("--" + option.replace("_", "-"), dest=option, default="")
    parser.add_argument("--caller-name", default="")
    add_script_arguments(parser)
    parser.add_argument(
        "--chaos", action="store_true", help="duplicate and shuffle callbacks, replay actions"
    )
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of the story")
    parser.add_argument("--base-url", default=None, help="default http://127.0.0.1:$PORT (8000)")
    parser.add_argument("--account-sid", default=None)
    parser.add_argument("--secret", default=None, help="auth token or signing key")
    parser.add_argument("--carrier", choices=["twilio", "signalwire"], default=None)


def non_negative(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number of seconds") from exc
    if value < 0:
        raise argparse.ArgumentTypeError("seconds must not be negative")
    return value


def default_base_url() -> str:
    return f"http://127.0.0.1:{os.environ.get('PORT', '8000')}"


def normalise_number(raw: str, option: str) -> str:
    # The server's own normalisation, so the lookup and the webhook agree on the number.
    e164 = normalize_e164(raw)
    if e164 is None:
        raise CommandError(f"{option} {raw!r} is not a valid phone number (E.164, e.g. +14155550100)")
    return e164


def caller_area(options: dict[str, Any]) -> dict[str, str] | None:
    area = {param: options[option] for option, param in CALLER_AREA_OPTIONS.items() if options[option]}
    return area or None


def resolve_credentials(options: dict[str, Any], to: str) -> Credentials:
    account_sid, secret = options["account_sid"], options["secret"]
    if bool(account_sid) != bool(secret):
        raise CommandError("give both --account-sid and --secret, or neither to use the local database")
    if account_sid:
        return Credentials(
            kind=carrier_name(options["carrier"] or "twilio"), account_sid=account_sid, secret=secret
        )
    credentials = credentials_for_number(to)
    if options["carrier"]:
        return Credentials(carrier_name(options["carrier"]), credentials.account_sid, credentials.secret)
    return credentials


def credentials_for_number(number: str) -> Credentials:
    """The carrier credentials of the live tracking number ``number`` (E.164) in the local database."""
    try:
        tracking = (
            TrackingNumber.objects.exclude(state=NumberState.RELEASED)
            .select_related("connection")
            .filter(number=number)
            .first()
        )
    except DatabaseError as exc:
        raise CommandError(
            f"cannot read tracking numbers from the local database ({exc}); run `ringtrail migrate`, "
            "or pass --account-sid and --secret"
        ) from exc
    if tracking is None:
        raise CommandError(
            f"no live tracking number {number} in the local database; "
            "pass --account-sid and --secret (and --carrier) to call a server elsewhere"
        )
    connection = tracking.connection
    secret = connection.secret()
    if not secret:
        raise CommandError(
            f"the secret of carrier connection {connection} cannot be decrypted (key rotated?)"
        )
    return Credentials(carrier_name(connection.kind), connection.account_sid, secret)


def secret_of(options: dict[str, Any]) -> str:
    connection = CarrierConnection.objects.filter(account_sid=options["account_sid"]).first()
    if connection is None or not connection.secret():
        raise CommandError(
            f"no carrier connection {options['account_sid']!r} with a readable secret; pass --secret"
        )
    return connection.secret()


def carrier_name(kind: str) -> CarrierName:
    if kind == "twilio":
        return "twilio"
    if kind == "signalwire":
        return "signalwire"
    raise CommandError(f"the simulator does not speak the {kind!r} carrier dialect")


def add_traffic_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--visitors", type=bounded_int, required=True, metavar="N", help="1-5000")
    parser.add_argument("--duration", type=positive, required=True, metavar="S", help="real seconds")
    parser.add_argument("--call-rate", type=share, default=0.3, metavar="P", help="share who call (0.3)")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--time-scale",
        type=time_scale,
        default=1.0,
        metavar="X",
        help="simulated seconds per real second (1); above 1 callers can call hours later, and the "
        "server must run with RINGTRAIL_SIMULATED_CLOCK=true",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document with all counts")
    parser.add_argument("--base-url", default=None, help="default http://127.0.0.1:$PORT (8000)")
    parser.add_argument("--account", default="demo", metavar="SLUG", help="account slug (demo)")


def time_scale(raw: str) -> float:
    value = non_negative(raw)
    if not 1 <= value <= 100_000:
        raise argparse.ArgumentTypeError("must be from 1 (real time) to 100000")
    return value


def bounded_int(raw: str) -> int:
    # Caller numbers are +1212555xxxx, one per visitor, so 10 000 is a hard ceiling anyway.
    if not raw.isdigit() or not 1 <= int(raw) <= 5000:
        raise argparse.ArgumentTypeError("must be a whole number from 1 to 5000")
    return int(raw)


def positive(raw: str) -> float:
    value = non_negative(raw)
    if value == 0 or value > 3600:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 3600 seconds")
    return value


def share(raw: str) -> float:
    try:
        value = float(raw)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{raw!r} is not a number") from exc
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def progress_bar(config: traffic.TrafficConfig) -> Any:
    def draw(tally: traffic.Tally) -> None:
        done = min(tally.visitors_done, config.visitors)
        filled = done * 30 // config.visitors
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{config.visitors} visitors, "
            f"{tally.requests} requests, {len(tally.placed)} calls, {tally.request_errors} errors"
        )
        sys.stderr.flush()

    return draw


def traffic_warnings(report: dict[str, Any]) -> list[str]:
    warnings = []
    if report["fallback"]["rate"] > 0.2:
        warnings.append(
            f"{report['fallback']['rate']:.0%} of pooled visits got the fallback number: the pool is too "
            "small for this traffic (see the pool advisor), or the server's per-IP rate limit kicked in. "
            "The simulator is one client IP: start the server with DNI_RATE_PER_IP_PER_MINUTE=1000000."
        )
    if report["request_errors"]:
        warnings.append(f"{report['request_errors']} request error(s), e.g. {report['errors'][:3]}")
    if report["time_scale"] != 1 and report["clock"] != "simulated":
        warnings.append(
            "the server ignored the simulated clock, so 'hours later' calls came seconds later: start it "
            "with RINGTRAIL_SIMULATED_CLOCK=true (never in production)"
        )
    return warnings

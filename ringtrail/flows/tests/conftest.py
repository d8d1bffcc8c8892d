"""Fixtures for the call-flow scenario suite: a wired account with three desks, the carrier simulator
over real HTTP against ``live_server``, and helpers that read a stored call's path back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pytest_django.live_server_helper import LiveServer

from ringtrail.calls.models import Call, CallEvent
from ringtrail.carriers.simulator import CallResult, CallScenario, Credentials, Simulator
from ringtrail.flows import actions as flow_actions
from ringtrail.flows import loading
from ringtrail.flows.models import Flow
from ringtrail.lib import clock
from ringtrail.numbers.models import ReceivingNumber
from ringtrail.numbers.routes import forget_local_copies
from ringtrail.testing import WiredAccount, wired_account

TRACKING = "+14155550123"
CALLER = "+12125550111"
DESK_NUMBERS = {"alice": "+14155550171", "bob": "+14155550172", "carol": "+14155550173"}


@dataclass
class Bench:
    """One account wired for flows, and a simulator signed with its carrier credentials."""

    wired: WiredAccount
    desks: dict[str, int]  # label → receiving number id
    base_url: str
    clock_offset: float | None = None
    flows: list[Flow] = field(default_factory=list)

    @property
    def credentials(self) -> Credentials:
        return Credentials(
            kind="twilio", account_sid=self.wired.connection.account_sid, secret=self.wired.auth_token
        )

    def attach(self, document: dict[str, Any], to_source: bool = False, name: str = "") -> Flow:
        flow = flow_actions.create_flow(self.wired.account, name or f"Flow {len(self.flows) + 1}", document)
        self.flows.append(flow)
        owner = self.wired.source if to_source else self.wired.tracking
        owner.flow = flow
        owner.save()
        return flow

    def place(self, recordings: Any = None, **scenario: Any) -> tuple[CallResult, Call]:
        """Place one simulated call; the result must be clean and the call stored."""
        headers = {clock.HEADER: f"{self.clock_offset:.3f}"} if self.clock_offset is not None else {}
        with httpx.Client(follow_redirects=False, headers=headers) as client:
            simulator = Simulator(self.base_url, self.credentials, client=client, recordings=recordings)
            result = simulator.place_call(CallScenario(**({"to": TRACKING, "from_": CALLER} | scenario)))
        assert result.errors == [], "\n".join(result.story_lines())
        return result, Call.objects.get(carrier="twilio", carrier_call_id=result.call_sid)


@pytest.fixture
def bench(live_server: LiveServer) -> Iterator[Bench]:
    forget_local_copies()
    loading.forget_local_copies()
    wired = wired_account(tracking=TRACKING, receiving="+14155550188", record_calls=False)
    desks = {
        label: ReceivingNumber.objects.create(account=wired.account, label=label.title(), number=number).pk
        for label, number in DESK_NUMBERS.items()
    }
    yield Bench(wired, desks, live_server.url)
    forget_local_copies()
    loading.forget_local_copies()


def path_of(call: Call) -> list[tuple[str, str, str]]:
    """The call's flow path as (step, enter/stay/leave, outcome), in the order it was walked."""
    events = CallEvent.objects.filter(call=call, kind="flow").order_by("sequence")
    return [(e.payload["step"], e.payload["event"], e.payload["outcome"]) for e in events]


def caller_path(call: Call) -> list[tuple[str, str, str]]:
    """The path without the answering parties' legs (whispers, accepts)."""
    events = CallEvent.objects.filter(call=call, kind="flow").order_by("sequence")
    return [
        (e.payload["step"], e.payload["event"], e.payload["outcome"])
        for e in events
        if "leg" not in e.payload
    ]


def leg_path(call: Call) -> list[tuple[str, str]]:
    """What the answering parties' legs did (whisper, accepted, declined), as (step, outcome)."""
    events = CallEvent.objects.filter(call=call, kind="flow").order_by("sequence")
    return [(e.payload["step"], e.payload["outcome"]) for e in events if "leg" in e.payload]


def steps_entered(call: Call) -> list[str]:
    return [step for step, event, _ in caller_path(call) if event == "enter"]


def say(text: str, next_step: str | None = None) -> dict[str, Any]:
    return {"type": "say", "text": text, **({"next": next_step} if next_step else {})}


def forward(*desks: int, strategy: str = "simultaneous", **extra: Any) -> dict[str, Any]:
    return {
        "type": "forward",
        "targets": [{"receiving_number": desk} for desk in desks],
        "strategy": strategy,
        **extra,
    }


def voicemail() -> dict[str, Any]:
    return {"type": "voicemail", "prompt": "Please leave a message.", "max_length_seconds": 60}

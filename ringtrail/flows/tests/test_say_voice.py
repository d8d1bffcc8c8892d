"""A say step's voice and language reach the carrier-neutral decision."""

from __future__ import annotations

from ringtrail.carriers.base import Say
from ringtrail.flows.engine import decide
from ringtrail.flows.tests.support import context, flow


def test_voice_and_language_travel_with_the_text() -> None:
    steps = {"hi": {"type": "say", "text": "Hola", "voice": "Polly.Lupe", "language": "es-US"}}
    said = decide(flow(steps), context()).decision.steps[0]
    assert said == Say("Hola", voice="Polly.Lupe", language="es-US")


def test_defaults_leave_the_carrier_to_choose() -> None:
    said = decide(flow({"hi": {"type": "say", "text": "Hi"}}), context()).decision.steps[0]
    assert said == Say("Hi")

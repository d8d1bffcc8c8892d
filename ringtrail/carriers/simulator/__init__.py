"""A faithful stand-in for Twilio/SignalWire that places signed calls against a running Ringtrail.

sim = Simulator(base_url, Credentials(kind="twilio", account_sid="AC…", secret="token"))
result = sim.place_call(CallScenario(to="+15550001111", from_="+15557654321", talk=42))
result.print_story()

Scripted IVR input and dialled parties: ``CallScenario(inputs=("2", "say:billing", None),
callees={"+15551230001": Callee(outcome="no-answer")})``. ``RecordingServer`` serves recordings'
audio; ``RestStandIn`` is the carrier's Calls REST API for outbound (call-back) calls.
"""

from ringtrail.carriers.simulator.engine import OutboundCall, Simulator
from ringtrail.carriers.simulator.media import RecordingServer
from ringtrail.carriers.simulator.rest import RestStandIn
from ringtrail.carriers.simulator.scenario import (
    Callee,
    CalleeOutcome,
    CallOutcome,
    CallResult,
    CallScenario,
)
from ringtrail.carriers.simulator.signing import Credentials, compute_signature, signature_headers
from ringtrail.carriers.simulator.story import Step, StepKind, format_story
from ringtrail.carriers.simulator.twiml import TwimlError, parse_twiml

__all__ = [
    "CallOutcome",
    "CallResult",
    "CallScenario",
    "Callee",
    "CalleeOutcome",
    "Credentials",
    "OutboundCall",
    "RecordingServer",
    "RestStandIn",
    "Simulator",
    "Step",
    "StepKind",
    "TwimlError",
    "compute_signature",
    "format_story",
    "parse_twiml",
    "signature_headers",
]

"""A faithful stand-in for Twilio/SignalWire that places signed calls against a running Ringtrail.

sim = Simulator(base_url, Credentials(kind="twilio", account_sid="AC…", secret="token"))
result = sim.place_call(CallScenario(to="+15550001111", from_="+15557654321", talk=42))
result.print_story()
"""

from ringtrail.carriers.simulator.engine import Simulator
from ringtrail.carriers.simulator.scenario import CalleeOutcome, CallOutcome, CallResult, CallScenario
from ringtrail.carriers.simulator.signing import Credentials, compute_signature, signature_headers
from ringtrail.carriers.simulator.story import Step, StepKind, format_story
from ringtrail.carriers.simulator.twiml import TwimlError, parse_twiml

__all__ = [
    "CallOutcome",
    "CallResult",
    "CallScenario",
    "CalleeOutcome",
    "Credentials",
    "Simulator",
    "Step",
    "StepKind",
    "TwimlError",
    "compute_signature",
    "format_story",
    "parse_twiml",
    "signature_headers",
]

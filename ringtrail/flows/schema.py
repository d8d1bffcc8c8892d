"""The flow document: a graph of typed steps, stored as JSON and validated with pydantic.

Field-level rules live here; rules about the graph as a whole (references, cycles, reachability,
whose receiving numbers) live in ``flows.validation``. See docs/flows.md for the format.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator

MAX_STEPS = 100
MAX_TEXT = 1000
MAX_OPTIONS = 20
MAX_TARGETS = 20
MAX_RULES = 50
MAX_LIST = 100

StepId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_TEXT)]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=80)]
HttpsUrl = Annotated[str, StringConstraints(pattern=r"^https://[^\s<>\"]{4,}$", max_length=1000)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")]
ReceivingId = Annotated[int, Field(ge=1)]
Clock = Annotated[str, StringConstraints(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")]

KEYPAD_KEYS = frozenset("0123456789*#")
_KEYWORD = re.compile(r"^[^\W\d_][\w' -]{0,39}$")
Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Step(_Strict):
    label: ShortText | None = None  # shown in reports instead of the step id


class SayStep(_Step):
    type: Literal["say"]
    text: Text
    voice: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,40}$")] | None = None
    language: Language | None = None
    next: StepId | None = None  # absent: hang up after speaking


class PlayStep(_Step):
    type: Literal["play"]
    url: HttpsUrl
    next: StepId | None = None


class MenuStep(_Step):
    type: Literal["menu"]
    prompt: Text | None = None
    prompt_url: HttpsUrl | None = None
    options: dict[str, StepId] = Field(min_length=1, max_length=MAX_OPTIONS)
    keypad: bool = True
    speech: bool = False
    speech_hints: list[ShortText] = Field(default_factory=list, max_length=MAX_OPTIONS)
    language: Language = "en-US"
    timeout_seconds: int = Field(5, ge=1, le=30)
    retries: int = Field(2, ge=0, le=5)
    invalid_prompt: Text = "Sorry, that is not a valid choice."
    no_input: StepId | None = None  # absent: a polite goodbye

    @field_validator("options")
    @classmethod
    def _option_keys(cls, options: dict[str, str]) -> dict[str, str]:
        for key in options:
            if key not in KEYPAD_KEYS and not _KEYWORD.match(key):
                raise ValueError(f"option {key!r} is neither a keypad key (0-9, *, #) nor a spoken keyword")
        lowered = [key.lower() for key in options]
        if len(set(lowered)) != len(lowered):
            raise ValueError("options differ only by letter case")
        return options

    @model_validator(mode="after")
    def _inputs(self) -> MenuStep:
        if (self.prompt is None) == (self.prompt_url is None):
            raise ValueError("a menu needs either a prompt or a prompt_url")
        if not self.keypad and not self.speech:
            raise ValueError("a menu must accept the keypad, speech, or both")
        keywords = [key for key in self.options if key not in KEYPAD_KEYS]
        if keywords and not self.speech:
            raise ValueError(f"spoken options {keywords} need speech: true")
        return self


class ScheduleStep(_Step):
    type: Literal["schedule"]
    time_zone: str | None = None  # IANA name; absent: the account's
    hours: dict[Weekday, list[tuple[Clock, Clock]]] = Field(default_factory=dict)
    holidays: list[dt.date] = Field(default_factory=list, max_length=366)
    open: StepId
    closed: StepId
    holiday: StepId | None = None  # absent: holidays take the closed branch

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None and not is_time_zone(value):
            raise ValueError(f"unknown time zone {value!r}")
        return value

    @field_validator("hours")
    @classmethod
    def _ranges(cls, hours: dict[str, list[tuple[str, str]]]) -> dict[str, list[tuple[str, str]]]:
        for day, ranges in hours.items():
            if len(ranges) > 10:
                raise ValueError(f"{day}: at most 10 ranges a day")
            for start, end in ranges:
                if start == end or start == "24:00":
                    raise ValueError(f"{day}: empty range {start}-{end}")
        return hours


class GeoRule(_Strict):
    countries: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{2}$")]] = Field(
        default_factory=list, max_length=MAX_LIST
    )
    states: list[Annotated[str, StringConstraints(min_length=1, max_length=40)]] = Field(
        default_factory=list, max_length=MAX_LIST
    )
    area_codes: list[Annotated[str, StringConstraints(pattern=r"^[2-9]\d\d$")]] = Field(
        default_factory=list, max_length=MAX_LIST
    )
    zip_prefixes: list[Annotated[str, StringConstraints(pattern=r"^[0-9A-Za-z]{1,10}$")]] = Field(
        default_factory=list, max_length=MAX_LIST
    )
    next: StepId

    @model_validator(mode="after")
    def _some_criterion(self) -> GeoRule:
        if not (self.countries or self.states or self.area_codes or self.zip_prefixes):
            raise ValueError("a rule needs countries, states, area_codes or zip_prefixes")
        return self


class GeoStep(_Step):
    type: Literal["geo"]
    rules: list[GeoRule] = Field(min_length=1, max_length=MAX_RULES)
    default: StepId


class ForwardTarget(_Strict):
    receiving_number: ReceivingId
    timeout_seconds: int = Field(20, ge=5, le=120)  # sequential and round robin ring each this long
    weight: int = Field(1, ge=1, le=100)  # round robin only


class Whisper(_Strict):
    text: Text  # "{source}" is replaced by the call's source name
    require_accept: bool = False
    accept_prompt: Text = "Press 1 to accept this call."


class ForwardStep(_Step):
    type: Literal["forward"]
    targets: list[ForwardTarget] = Field(min_length=1, max_length=MAX_TARGETS)
    strategy: Literal["simultaneous", "sequential", "round_robin"] = "simultaneous"
    timeout_seconds: int = Field(25, ge=5, le=120)  # simultaneous: how long all ring together
    sticky: bool = False  # round robin: whoever answered this caller last rings first
    whisper: Whisper | None = None
    record: bool = False
    no_answer: StepId | None = None  # absent: hang up

    @model_validator(mode="after")
    def _distinct(self) -> ForwardStep:
        ids = [target.receiving_number for target in self.targets]
        if len(set(ids)) != len(ids):
            raise ValueError("a receiving number is listed twice")
        if self.sticky and self.strategy != "round_robin":
            raise ValueError("sticky applies to round_robin only")
        return self


class QueueStep(_Step):
    type: Literal["queue"]
    members: list[ReceivingId] = Field(min_length=1, max_length=MAX_TARGETS)
    music_url: HttpsUrl | None = None
    message: Text | None = None
    hold_seconds: int = Field(30, ge=5, le=300)  # length of one hold segment (the music clip's length)
    ring_seconds: int = Field(15, ge=5, le=60)  # how long members ring each round
    max_wait_seconds: int = Field(300, ge=10, le=3600)
    record: bool = False
    timeout: StepId | None = None  # absent: a polite goodbye

    @field_validator("members")
    @classmethod
    def _distinct(cls, members: list[int]) -> list[int]:
        if len(set(members)) != len(members):
            raise ValueError("a receiving number is listed twice")
        return members


class VoicemailStep(_Step):
    type: Literal["voicemail"]
    prompt: Text = "Sorry, nobody is available to take your call. Please leave a message after the tone."
    max_length_seconds: int = Field(120, ge=5, le=600)


class HangupStep(_Step):
    type: Literal["hangup"]
    message: Text | None = None


class RejectStep(_Step):
    type: Literal["reject"]
    reason: Literal["busy", "rejected"] = "rejected"


AnyStep = Annotated[
    SayStep
    | PlayStep
    | MenuStep
    | ScheduleStep
    | GeoStep
    | ForwardStep
    | QueueStep
    | VoicemailStep
    | HangupStep
    | RejectStep,
    Field(discriminator="type"),
]
STEP_TYPES = (
    "say",
    "play",
    "menu",
    "schedule",
    "geo",
    "forward",
    "queue",
    "voicemail",
    "hangup",
    "reject",
)


class FlowDocument(_Strict):
    start: StepId
    steps: dict[StepId, AnyStep] = Field(min_length=1, max_length=MAX_STEPS)


def is_time_zone(name: str) -> bool:
    if not name or len(name) > 64 or ".." in name or name.startswith("/"):
        return False
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):
        return False
    return True


def branches(step: AnyStep) -> list[tuple[str, str]]:
    """Every (path inside the step, target step id) edge leaving a step, in a stable order."""
    match step:
        case SayStep() | PlayStep():
            return [("next", step.next)] if step.next else []
        case MenuStep():
            edges = [(f"options.{key}", target) for key, target in step.options.items()]
            return edges + ([("no_input", step.no_input)] if step.no_input else [])
        case ScheduleStep():
            edges = [("open", step.open), ("closed", step.closed)]
            return edges + ([("holiday", step.holiday)] if step.holiday else [])
        case GeoStep():
            rules = [(f"rules.{n}.next", rule.next) for n, rule in enumerate(step.rules)]
            return [*rules, ("default", step.default)]
        case ForwardStep():
            return [("no_answer", step.no_answer)] if step.no_answer else []
        case QueueStep():
            return [("timeout", step.timeout)] if step.timeout else []
    return []


def receiving_refs(step: AnyStep) -> list[tuple[str, int]]:
    """Every (path, receiving number id) a step rings."""
    match step:
        case ForwardStep():
            return [(f"targets.{n}.receiving_number", t.receiving_number) for n, t in enumerate(step.targets)]
        case QueueStep():
            return [(f"members.{n}", member) for n, member in enumerate(step.members)]
    return []

"""Spam screening decisions, pure: no database, no HTTP, no clock (``now`` is passed in).

``screen`` looks at one incoming call — the caller's number, name and STIR/SHAKEN verification
status — against an account's block list, its policy and the caller's recent calls, and says
whether to connect it, challenge it ("press 1 to be connected") or reject it. Every check is
evaluated and the strongest action wins (reject > challenge > allow); the reason names the first
check that asked for it.
"""

from __future__ import annotations

import datetime as dt
import enum
import fnmatch
import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

MAX_PATTERN_LENGTH = 100
MAX_WILDCARDS = 8
PREFIX_RE = re.compile(r"^\+[0-9]{1,15}$")


class Action(enum.StrEnum):
    ALLOW = "allow"
    CHALLENGE = "challenge"
    REJECT = "reject"


_SEVERITY = {Action.ALLOW: 0, Action.CHALLENGE: 1, Action.REJECT: 2}


class RuleKind(enum.StrEnum):
    NUMBER = "number"  # exact E.164
    PREFIX = "prefix"  # "+1900": every caller number that starts with it
    NAME = "name"  # case-insensitive glob on the caller name (CNAM): "*scam*"


class Stir(enum.StrEnum):
    """Twilio's ``StirVerstat`` reduced to what a policy decides on."""

    PASSED = "passed"  # TN-Validation-Passed-A / -B: the carrier vouches for the caller's number
    UNVERIFIED = "unverified"  # No-TN-Validation, TN-Validation-Passed-C (gateway), unknown values
    FAILED = "failed"  # TN-Validation-Failed[-A/-B/-C]: the signature did not verify
    ABSENT = "absent"  # no StirVerstat: the call carried no SHAKEN identity (non-US, some carriers)


def classify_verstat(value: str | None) -> Stir:
    text = (value or "").strip()
    if not text:
        return Stir.ABSENT
    if text.startswith("TN-Validation-Failed"):
        return Stir.FAILED
    # C attestation only says the call entered the network through this carrier, not who placed it.
    if text in ("TN-Validation-Passed-A", "TN-Validation-Passed-B", "TN-Validation-Passed"):
        return Stir.PASSED
    return Stir.UNVERIFIED


@dataclass(frozen=True)
class BlockRule:
    kind: RuleKind
    pattern: str
    tracking_number_id: int | None = None  # None: the whole account

    def matches(self, caller: Caller) -> bool:
        if self.kind is RuleKind.NUMBER:
            return caller.number == self.pattern
        if self.kind is RuleKind.PREFIX:
            return caller.number.startswith(self.pattern)
        return bool(caller.name) and _glob(self.pattern).match(caller.name) is not None

    def describe(self) -> str:
        if self.kind is RuleKind.NAME:
            return f"block list: caller name matches {self.pattern!r}"
        return f"block list: {self.kind.value} {self.pattern}"


@functools.lru_cache(maxsize=4096)
def _glob(pattern: str) -> re.Pattern[str]:
    # fnmatch's translation cannot backtrack catastrophically (CPython bpo-40480: each "*" is
    # matched atomically), and the pattern length and wildcard count are capped when a rule is saved.
    return re.compile(fnmatch.translate(pattern), re.IGNORECASE)


def validate_pattern(kind: RuleKind, pattern: str) -> str:
    """The pattern a rule may store, or a ValueError that says what is wrong with it."""
    text = pattern.strip()
    if not text:
        raise ValueError("pattern must not be empty")
    if len(text) > MAX_PATTERN_LENGTH:
        raise ValueError(f"pattern is longer than {MAX_PATTERN_LENGTH} characters")
    if kind is RuleKind.PREFIX and not PREFIX_RE.match(text):
        raise ValueError("a prefix is + and 1 to 15 digits, e.g. +1900")
    if kind is RuleKind.NAME:
        if not text.isprintable():
            raise ValueError("pattern contains control characters")
        if text.count("*") + text.count("?") > MAX_WILDCARDS:
            raise ValueError(f"pattern has more than {MAX_WILDCARDS} wildcards")
    return text


@dataclass(frozen=True)
class Policy:
    """What to do with each kind of suspicious call. ``allow`` everywhere is "no screening"."""

    stir_failed: Action = Action.ALLOW
    stir_unverified: Action = Action.ALLOW
    stir_absent: Action = Action.ALLOW
    short_calls_action: Action = Action.ALLOW
    short_calls_count: int = 3  # this many earlier calls …
    short_calls_window_minutes: int = 60  # … within this window …
    short_calls_max_seconds: int = 10  # … each shorter than this, and the next call is spam

    @property
    def needs_history(self) -> bool:
        return self.short_calls_action is not Action.ALLOW and self.short_calls_count > 0

    @property
    def screens(self) -> bool:
        return self.needs_history or any(
            action is not Action.ALLOW
            for action in (self.stir_failed, self.stir_unverified, self.stir_absent)
        )


NO_SCREENING = Policy()


@dataclass(frozen=True)
class Caller:
    number: str
    name: str = ""
    verstat: str | None = None


@dataclass(frozen=True)
class RecentCall:
    """An earlier call from the same caller to the same account; ``seconds`` None while unknown."""

    start_time: dt.datetime
    seconds: int | None


@dataclass(frozen=True)
class Verdict:
    action: Action
    reason: str = ""

    @property
    def is_spam(self) -> bool:
        return self.action is not Action.ALLOW


ALLOW = Verdict(Action.ALLOW)


def screen(
    policy: Policy,
    block_rules: Iterable[BlockRule],
    caller: Caller,
    recent_calls: Sequence[RecentCall],
    now: dt.datetime,
) -> Verdict:
    verdicts = [
        _block_list(block_rules, caller),
        _stir(policy, caller.verstat),
        _short_calls(policy, recent_calls, now),
    ]
    strongest = ALLOW
    for verdict in verdicts:
        if _SEVERITY[verdict.action] > _SEVERITY[strongest.action]:
            strongest = verdict
    return strongest


def _block_list(rules: Iterable[BlockRule], caller: Caller) -> Verdict:
    for rule in rules:
        if rule.matches(caller):
            return Verdict(Action.REJECT, rule.describe())
    return ALLOW


def _stir(policy: Policy, verstat: str | None) -> Verdict:
    status = classify_verstat(verstat)
    action = {
        Stir.FAILED: policy.stir_failed,
        Stir.UNVERIFIED: policy.stir_unverified,
        Stir.ABSENT: policy.stir_absent,
    }.get(status, Action.ALLOW)
    if action is Action.ALLOW:
        return ALLOW
    shown = (verstat or "").strip()[:40] or "absent"
    return Verdict(action, f"STIR/SHAKEN {status.value} ({shown})")


def _short_calls(policy: Policy, recent_calls: Sequence[RecentCall], now: dt.datetime) -> Verdict:
    if not policy.needs_history:
        return ALLOW
    since = now - dt.timedelta(minutes=policy.short_calls_window_minutes)
    short = sum(
        1
        for call in recent_calls
        # A call still in progress (no duration yet) is not evidence either way.
        if call.start_time >= since
        and call.seconds is not None
        and call.seconds < policy.short_calls_max_seconds
    )
    if short < policy.short_calls_count:
        return ALLOW
    return Verdict(
        policy.short_calls_action,
        f"repeated short calls: {short} calls under {policy.short_calls_max_seconds} s "
        f"in {policy.short_calls_window_minutes} min",
    )


@dataclass(frozen=True)
class ScreeningConfig:
    """One account's screening set-up, as cached per process: policies and block rules."""

    account_policy: Policy | None = None
    number_policies: Mapping[int, Policy] = field(default_factory=dict)
    rules: tuple[BlockRule, ...] = ()
    # Exact-number rules by number, so a long block list costs one lookup, not a scan.
    _by_number: Mapping[str, tuple[BlockRule, ...]] = field(init=False, repr=False, compare=False)
    _patterns: tuple[BlockRule, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        by_number: dict[str, list[BlockRule]] = {}
        for rule in self.rules:
            if rule.kind is RuleKind.NUMBER:
                by_number.setdefault(rule.pattern, []).append(rule)
        object.__setattr__(self, "_by_number", {k: tuple(v) for k, v in by_number.items()})
        patterns = tuple(rule for rule in self.rules if rule.kind is not RuleKind.NUMBER)
        object.__setattr__(self, "_patterns", patterns)

    def policy_for(self, tracking_number_id: int | None) -> Policy:
        """A number's own policy replaces the account's; without either, nothing is screened."""
        if tracking_number_id is not None and tracking_number_id in self.number_policies:
            return self.number_policies[tracking_number_id]
        return self.account_policy or NO_SCREENING

    def rules_for(self, tracking_number_id: int | None) -> tuple[BlockRule, ...]:
        return tuple(
            rule
            for rule in self.rules
            if rule.tracking_number_id is None or rule.tracking_number_id == tracking_number_id
        )

    def candidate_rules(self, tracking_number_id: int | None, caller: Caller) -> tuple[BlockRule, ...]:
        """The rules in scope that could match this caller: its exact-number rules, then patterns."""
        return tuple(
            rule
            for rule in (*self._by_number.get(caller.number, ()), *self._patterns)
            if rule.tracking_number_id is None or rule.tracking_number_id == tracking_number_id
        )

    def screens(self, tracking_number_id: int | None) -> bool:
        return bool(self.rules_for(tracking_number_id)) or self.policy_for(tracking_number_id).screens


EMPTY_CONFIG = ScreeningConfig()

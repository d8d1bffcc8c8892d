"""The screening decision, without a database: block rules, STIR/SHAKEN policy, repeated short calls."""

from __future__ import annotations

import datetime as dt

import pytest

from ringtrail.screening.rules import (
    ALLOW,
    EMPTY_CONFIG,
    NO_SCREENING,
    Action,
    BlockRule,
    Caller,
    Policy,
    RecentCall,
    RuleKind,
    ScreeningConfig,
    Stir,
    Verdict,
    classify_verstat,
    screen,
    validate_pattern,
)

NOW = dt.datetime(2026, 11, 22, 12, 0, tzinfo=dt.UTC)
CALLER = Caller("+12125550143", "JOHN SMITH", "TN-Validation-Passed-A")


def ago(minutes: float, seconds: int | None) -> RecentCall:
    return RecentCall(NOW - dt.timedelta(minutes=minutes), seconds)


def verdict(
    rules: tuple[BlockRule, ...] = (),
    caller: Caller = CALLER,
    policy: Policy = NO_SCREENING,
    recent: tuple[RecentCall, ...] = (),
) -> Verdict:
    return screen(policy, rules, caller, recent, NOW)


# --- block list ---------------------------------------------------------------------------------


def test_nothing_configured_allows_everything() -> None:
    assert verdict() == ALLOW
    assert verdict(caller=Caller("+19005550100", "SCAM LIKELY", "TN-Validation-Failed-A")) == ALLOW


@pytest.mark.parametrize(
    "rule, caller, blocked",
    [
        (BlockRule(RuleKind.NUMBER, "+12125550143"), CALLER, True),
        (BlockRule(RuleKind.NUMBER, "+12125550144"), CALLER, False),
        (BlockRule(RuleKind.NUMBER, "+1212555014"), CALLER, False),  # exact, not a prefix
        (BlockRule(RuleKind.PREFIX, "+1212"), CALLER, True),
        (BlockRule(RuleKind.PREFIX, "+1900"), CALLER, False),
        (BlockRule(RuleKind.PREFIX, "+1"), Caller("anonymous"), False),
        (BlockRule(RuleKind.NAME, "*smith*"), CALLER, True),  # case-insensitive
        (BlockRule(RuleKind.NAME, "JOHN"), CALLER, False),  # a glob matches the whole name
        (BlockRule(RuleKind.NAME, "john ?mith"), CALLER, True),
        (BlockRule(RuleKind.NAME, "SCAM*"), Caller("+12125550143", "Scam Likely"), True),
        (BlockRule(RuleKind.NAME, "*"), Caller("+12125550143", ""), False),  # no name, no match
        (BlockRule(RuleKind.NAME, "[sS]pam*"), Caller("+1", "spam risk"), True),
        (BlockRule(RuleKind.NAME, "*.*"), Caller("+1", "abc"), False),  # "." is literal, not a regex
    ],
)
def test_block_rules(rule: BlockRule, caller: Caller, blocked: bool) -> None:
    result = verdict((rule,), caller)
    assert result.action is (Action.REJECT if blocked else Action.ALLOW)
    if blocked:
        assert result.reason.startswith("block list: ") and rule.pattern in result.reason


def test_first_matching_rule_names_the_reason() -> None:
    rules = (BlockRule(RuleKind.PREFIX, "+1212"), BlockRule(RuleKind.NUMBER, "+12125550143"))
    assert verdict(rules).reason == "block list: prefix +1212"


def test_name_patterns_do_not_backtrack_catastrophically() -> None:
    # A classic exponential case for naive regex globbing (it would hang here for hours);
    # fnmatch's translation matches each "*" atomically.
    rule = BlockRule(RuleKind.NAME, validate_pattern(RuleKind.NAME, "*a*a*a*a*a*a*a*b"))
    assert verdict((rule,), Caller("+1", "a" * 200)) == ALLOW


@pytest.mark.parametrize(
    "kind, pattern, error",
    [
        (RuleKind.PREFIX, "1900", "a prefix is \\+ and 1 to 15 digits"),
        (RuleKind.PREFIX, "+1-900", "a prefix is"),
        (RuleKind.PREFIX, "+" + "1" * 16, "a prefix is"),
        (RuleKind.NAME, "", "must not be empty"),
        (RuleKind.NAME, "   ", "must not be empty"),
        (RuleKind.NAME, "x" * 101, "longer than 100"),
        (RuleKind.NAME, "*" * 9, "more than 8 wildcards"),
        (RuleKind.NAME, "bad\x00name", "control characters"),
    ],
)
def test_invalid_patterns_say_why(kind: RuleKind, pattern: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        validate_pattern(kind, pattern)


def test_valid_patterns_are_trimmed() -> None:
    assert validate_pattern(RuleKind.PREFIX, " +1900 ") == "+1900"
    assert validate_pattern(RuleKind.NAME, " *spam* ") == "*spam*"


# --- STIR/SHAKEN ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "verstat, status",
    [
        ("TN-Validation-Passed-A", Stir.PASSED),
        ("TN-Validation-Passed-B", Stir.PASSED),
        ("TN-Validation-Passed", Stir.PASSED),
        ("TN-Validation-Passed-C", Stir.UNVERIFIED),
        ("No-TN-Validation", Stir.UNVERIFIED),
        ("something-new", Stir.UNVERIFIED),
        ("TN-Validation-Failed-A", Stir.FAILED),
        ("TN-Validation-Failed-B", Stir.FAILED),
        ("TN-Validation-Failed-C", Stir.FAILED),
        ("TN-Validation-Failed", Stir.FAILED),
        ("", Stir.ABSENT),
        (None, Stir.ABSENT),
    ],
)
def test_verstat_classification(verstat: str | None, status: Stir) -> None:
    assert classify_verstat(verstat) is status


STRICT = Policy(stir_failed=Action.REJECT, stir_unverified=Action.CHALLENGE, stir_absent=Action.ALLOW)


@pytest.mark.parametrize(
    "verstat, action",
    [
        ("TN-Validation-Passed-A", Action.ALLOW),
        ("TN-Validation-Passed-C", Action.CHALLENGE),
        ("No-TN-Validation", Action.CHALLENGE),
        ("TN-Validation-Failed-B", Action.REJECT),
        (None, Action.ALLOW),
    ],
)
def test_stir_policy(verstat: str | None, action: Action) -> None:
    result = verdict(caller=Caller("+12125550143", "", verstat), policy=STRICT)
    assert result.action is action
    if action is not Action.ALLOW:
        assert result.reason.startswith("STIR/SHAKEN ") and (verstat or "") in result.reason


def test_absent_verstat_can_be_challenged_too() -> None:
    policy = Policy(stir_absent=Action.CHALLENGE)
    assert verdict(caller=Caller("+12125550143"), policy=policy).reason == "STIR/SHAKEN absent (absent)"


def test_a_long_verstat_is_cut_in_the_reason() -> None:
    result = verdict(caller=Caller("+1", "", "No-" + "X" * 500), policy=STRICT)
    assert len(result.reason) < 80


# --- repeated short calls ---------------------------------------------------------------------------

SHORT = Policy(short_calls_action=Action.REJECT)  # defaults: 3 calls under 10 s within 60 min


def test_short_call_defaults_are_documented_values() -> None:
    assert (SHORT.short_calls_count, SHORT.short_calls_window_minutes, SHORT.short_calls_max_seconds) == (
        3,
        60,
        10,
    )
    assert not NO_SCREENING.needs_history and SHORT.needs_history


@pytest.mark.parametrize(
    "recent, spam",
    [
        ((ago(5, 2), ago(10, 3), ago(20, 9)), True),
        ((ago(5, 2), ago(10, 3)), False),  # only two
        ((ago(5, 2), ago(10, 3), ago(20, 10)), False),  # the third was not shorter than 10 s
        ((ago(5, 2), ago(10, 3), ago(61, 1)), False),  # the third is outside the window
        ((ago(5, 2), ago(10, 3), ago(20, None)), False),  # duration unknown is not evidence
        ((ago(1, 0), ago(2, 0), ago(3, 0), ago(4, 0)), True),
    ],
)
def test_repeated_short_calls(recent: tuple[RecentCall, ...], spam: bool) -> None:
    result = verdict(policy=SHORT, recent=recent)
    assert result.action is (Action.REJECT if spam else Action.ALLOW)
    if spam:
        assert result.reason.startswith("repeated short calls: ")


def test_short_calls_are_ignored_when_the_heuristic_is_off() -> None:
    assert verdict(recent=(ago(1, 0),) * 10) == ALLOW


# --- combining ----------------------------------------------------------------------------------


def test_the_strongest_action_wins() -> None:
    caller = Caller("+12125550143", "", "No-TN-Validation")
    challenge = verdict(caller=caller, policy=STRICT)
    assert challenge.action is Action.CHALLENGE
    rejected = verdict((BlockRule(RuleKind.NUMBER, "+12125550143"),), caller, STRICT)
    assert rejected.action is Action.REJECT and rejected.reason.startswith("block list")
    challenge_short = Policy(stir_unverified=Action.CHALLENGE, short_calls_action=Action.REJECT)
    both = verdict(caller=caller, policy=challenge_short, recent=(ago(1, 1),) * 3)
    assert both.action is Action.REJECT and both.reason.startswith("repeated short calls")


def test_verdict_is_spam_unless_allowed() -> None:
    assert not ALLOW.is_spam
    assert Verdict(Action.CHALLENGE, "x").is_spam and Verdict(Action.REJECT, "x").is_spam


# --- per account and per number -------------------------------------------------------------------


def test_number_policy_replaces_the_account_policy() -> None:
    config = ScreeningConfig(account_policy=STRICT, number_policies={7: SHORT})
    assert config.policy_for(7) is SHORT
    assert config.policy_for(8) is STRICT
    assert config.policy_for(None) is STRICT
    assert EMPTY_CONFIG.policy_for(7) is NO_SCREENING


def test_number_rules_apply_only_to_their_number() -> None:
    everywhere = BlockRule(RuleKind.PREFIX, "+1900")
    only_seven = BlockRule(RuleKind.NUMBER, "+12125550143", tracking_number_id=7)
    config = ScreeningConfig(rules=(everywhere, only_seven))
    assert config.rules_for(7) == (everywhere, only_seven)
    assert config.rules_for(8) == (everywhere,)


def test_screens_says_whether_anything_could_stop_a_call() -> None:
    assert not EMPTY_CONFIG.screens(1)
    assert not ScreeningConfig(account_policy=Policy()).screens(1)
    assert ScreeningConfig(account_policy=STRICT).screens(1)
    assert ScreeningConfig(rules=(BlockRule(RuleKind.PREFIX, "+1", 2),)).screens(2)
    assert not ScreeningConfig(rules=(BlockRule(RuleKind.PREFIX, "+1", 2),)).screens(3)


def test_candidate_rules_use_the_number_index_and_respect_scope() -> None:
    mine = BlockRule(RuleKind.NUMBER, "+12125550143")
    theirs = BlockRule(RuleKind.NUMBER, "+12125550199")
    scoped_elsewhere = BlockRule(RuleKind.NUMBER, "+12125550143", tracking_number_id=9)
    name = BlockRule(RuleKind.NAME, "*spam*")
    config = ScreeningConfig(rules=(theirs, mine, scoped_elsewhere, name))
    assert config.candidate_rules(7, CALLER) == (mine, name)
    assert config.candidate_rules(9, CALLER) == (mine, scoped_elsewhere, name)
    blocked = screen(NO_SCREENING, config.candidate_rules(7, CALLER), CALLER, (), NOW)
    assert blocked.reason == "block list: number +12125550143"

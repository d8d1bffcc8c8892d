"""Signed flow references: a forged, edited or replayed reference never moves a caller."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ringtrail.flows.context import Phase, Position
from ringtrail.flows.position import (
    FlowReference,
    MalformedReference,
    StaleReference,
    TamperedReference,
    WrongCall,
    WrongFlowVersion,
    decode_position,
    derive_key,
    encode_position,
    plain_params,
    require_fresh,
    signer,
    verify,
)

KEY = derive_key("django-insecure-test-secret")
POSITION = Position("main-menu", hop=3, phase=Phase.INPUT, attempt=1, index=2, entered_at=1_795_446_000)
SIGN = signer(KEY, account_id=7, call_id="CA0001", version_id=42)


def check(params: dict[str, str], **overrides: object) -> FlowReference:
    expected: dict[str, object] = {"account_id": 7, "call_id": "CA0001", "version_id": 42}
    expected.update(overrides)
    return verify(params, KEY, **expected)  # type: ignore[arg-type]


def test_round_trip() -> None:
    params = SIGN(POSITION)
    assert set(params) == {"fp", "fv", "fc", "fs"}
    assert params["fp"] == "main-menu.3.in.1.2.1795446000" and params["fv"] == "42"
    assert len(params["fc"]) == 11 and len(params["fs"]) == 22
    assert check(params) == FlowReference(42, POSITION)
    assert check(params, version_id=None) == FlowReference(42, POSITION)  # the version to load


@given(
    st.builds(
        Position,
        step=st.from_regex(r"[A-Za-z0-9_-]{1,40}", fullmatch=True),
        hop=st.integers(0, 999_999),
        phase=st.sampled_from(list(Phase)),
        attempt=st.integers(0, 9999),
        index=st.integers(0, 9999),
        entered_at=st.integers(0, 10**12 - 1),
    )
)
def test_any_position_survives_encoding(position: Position) -> None:
    assert decode_position(encode_position(position)) == position
    assert decode_position(plain_params(position)["fp"]) == position


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("fp", "main-menu.3.in.1.2.1795446001"),  # entered_at edited
        ("fp", "main-menu.9.in.1.2.1795446000"),  # hop bumped to dodge the replay check
        ("fp", "main-menu.3.in.0.2.1795446000"),  # retries reset
        ("fp", "sales.3.in.1.2.1795446000"),  # jump to another step
        ("fp", "main-menu.3.to.1.2.1795446000"),  # another phase
        ("fv", "43"),  # another version, forged
        ("fc", "AAAAAAAAAAA"),  # another call's tag, forged
        ("fs", "A" * 22),
        ("fs", ""),
    ],
)
def test_any_edit_is_tampering(field: str, value: str) -> None:
    params = {**SIGN(POSITION), field: value}
    with pytest.raises(TamperedReference if value else MalformedReference):
        check(params)


def test_another_calls_genuine_reference_is_refused() -> None:
    with pytest.raises(WrongCall):
        check(SIGN(POSITION), call_id="CA0002")
    with pytest.raises(WrongCall):  # the same call id under another account (another carrier account)
        check(SIGN(POSITION), account_id=8)


def test_another_flow_versions_genuine_reference_is_refused() -> None:
    old = signer(KEY, account_id=7, call_id="CA0001", version_id=41)(POSITION)
    with pytest.raises(WrongFlowVersion):
        check(old)


def test_another_key_is_tampering() -> None:
    with pytest.raises(TamperedReference):
        verify(SIGN(POSITION), derive_key("another secret"), account_id=7, call_id="CA0001")


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"fp": "main-menu.3.in.1.2.1795446000"},  # plain, unsigned
        {**SIGN(POSITION), "fp": "main menu.3.in.1.2.1"},
        {**SIGN(POSITION), "fp": "main-menu.3.xx.1.2.1"},  # unknown phase
        {**SIGN(POSITION), "fp": "main-menu.3.in.1.2"},
        {**SIGN(POSITION), "fp": "a.1.in.1.2.3.4"},
        {**SIGN(POSITION), "fp": "a." + "9" * 50 + ".in.1.2.3"},
        {**SIGN(POSITION), "fv": "x"},
        {**SIGN(POSITION), "fv": "9" * 40},
        {**SIGN(POSITION), "fc": ""},
        {**SIGN(POSITION), "fs": "x" * 500},
    ],
)
def test_malformed_references(params: dict[str, str]) -> None:
    with pytest.raises(MalformedReference):
        check(params)


def test_every_refusal_is_a_value_error_the_wiring_can_catch_once() -> None:
    for error in (MalformedReference, TamperedReference, WrongCall, WrongFlowVersion, StaleReference):
        assert issubclass(error, ValueError)


def test_replays_are_refused_by_hop_except_on_answering_legs() -> None:
    require_fresh(Position("m", 4), last_served_hop=3)
    require_fresh(Position("m", 1), last_served_hop=None)
    for stale in (Position("m", 3), Position("m", 2, Phase.INPUT)):
        with pytest.raises(StaleReference):
            require_fresh(stale, last_served_hop=3)
    require_fresh(Position("f", 1, Phase.WHISPER), last_served_hop=5)
    require_fresh(Position("f", 2, Phase.ACCEPT), last_served_hop=5)


def test_derived_key_depends_on_the_secret() -> None:
    assert derive_key("a") != derive_key("b") and len(derive_key("a")) == 32

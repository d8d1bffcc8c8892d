"""The A/B script's own logic: variants from the command line, and the order they run in."""

from __future__ import annotations

import argparse

import pytest

from bench.dni_ab import Variant, parse_args, parse_variant, rotated


def test_a_variant_is_a_name_and_the_servers_extra_environment() -> None:
    assert parse_variant("base") == Variant("base", {})
    assert parse_variant("small:DNI_RECORD_BATCH=25,X=a=b") == Variant(
        "small", {"DNI_RECORD_BATCH": "25", "X": "a=b"}
    )
    for bad in (":A=1", "name:A", "name:=1"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_variant(bad)


def test_each_round_starts_with_the_next_variant_so_drift_falls_on_all_alike() -> None:
    variants = tuple(Variant(name, {}) for name in "abc")
    orders = ["".join(v.name for v in rotated(variants, index)) for index in range(4)]
    assert orders == ["abc", "bca", "cab", "abc"]


def test_smoke_defaults_are_short_and_paced_at_a_fixed_rate() -> None:
    options = parse_args(["--smoke", "a", "b:DNI_RECORD_BATCH=25"])
    assert (options.rounds, options.duration, options.concurrency, options.rate) == (1, 1.0, 8, 200.0)
    assert [v.name for v in options.variants] == ["a", "b"]
    assert parse_args(["a"]).rate is None  # measured from the bare view once


def test_closed_new_is_off_unless_asked() -> None:
    assert parse_args(["a"]).closed_new is False
    assert parse_args(["--closed-new", "a"]).closed_new is True

"""Erlang B pool sizing (pure, no database)."""

from __future__ import annotations

import itertools
import math

import pytest

from ringtrail.dni.erlang import erlang_b, offered_load, pool_size_for


def test_design_example_fifty_erlangs_needs_64_numbers_for_one_percent() -> None:
    assert pool_size_for(50, 0.01) == 64
    assert erlang_b(64, 50) <= 0.01 < erlang_b(63, 50)


@pytest.mark.parametrize("servers, load, expected", [(1, 1.0, 0.5), (2, 1.0, 0.2), (10, 5.0, 0.01838)])
def test_known_values(servers: int, load: float, expected: float) -> None:
    assert math.isclose(erlang_b(servers, load), expected, rel_tol=1e-3)


def test_more_numbers_never_hurt_and_zero_load_needs_none() -> None:
    rates = [erlang_b(n, 20.0) for n in range(0, 60)]
    assert all(a >= b for a, b in itertools.pairwise(rates))
    assert pool_size_for(0, 0.01) == 0 and erlang_b(5, 0) == 0.0


def test_offered_load_counts_active_time_plus_hold() -> None:
    assert offered_load(2.0, 5.0, 15.0) == 40.0
    assert pool_size_for(offered_load(2.0, 5.0, 15.0), 0.001) > pool_size_for(40.0, 0.01)

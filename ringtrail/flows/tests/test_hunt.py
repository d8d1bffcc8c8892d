"""Round-robin order: fair by weight over a cycle, a permutation of the targets every time."""

from __future__ import annotations

from collections import Counter

from hypothesis import given
from hypothesis import strategies as st

from ringtrail.flows.hunt import rotate, weighted_cycle
from ringtrail.flows.schema import ForwardTarget


@given(st.lists(st.integers(1, 100), min_size=1, max_size=20))
def test_a_cycle_gives_each_target_its_weight(weights: list[int]) -> None:
    cycle = weighted_cycle(weights)
    assert len(cycle) == sum(weights)
    assert Counter(cycle) == {index: weight for index, weight in enumerate(weights)}


@given(st.lists(st.integers(1, 100), min_size=1, max_size=20), st.integers(0, 10**9))
def test_rotation_orders_every_target_once(weights: list[int], rotation: int) -> None:
    targets = [ForwardTarget(receiving_number=n + 1, weight=w) for n, w in enumerate(weights)]
    ordered = rotate(targets, rotation)
    assert sorted(t.receiving_number for t in ordered) == [t.receiving_number for t in targets]


def test_smooth_interleaving() -> None:
    assert weighted_cycle([5, 1, 1]) == [0, 0, 1, 0, 2, 0, 0]
    assert weighted_cycle([1, 1]) == [0, 1]

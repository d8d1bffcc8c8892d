"""The load generator's own pauses must not be counted as server latency."""

from __future__ import annotations

import gc

import pytest

from bench.common import collector_paused


def test_no_cyclic_collection_while_a_phase_runs_and_it_comes_back_after() -> None:
    assert gc.isenabled()
    with collector_paused():
        assert not gc.isenabled()
    assert gc.isenabled()


def test_the_collector_comes_back_when_a_phase_fails() -> None:
    with pytest.raises(RuntimeError), collector_paused():
        raise RuntimeError("server died")
    assert gc.isenabled()

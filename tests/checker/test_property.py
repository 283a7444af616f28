"""Histories of a simulated linearizable store always check as linearizable; one read changed to a value
never written always makes them fail, naming that read; 10,000 operations check in seconds."""

from __future__ import annotations

import itertools
import random
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from raftstore.checker import SimConfig, check_history, corrupt_read, simulate_history

SMALL = SimConfig(ops=300, clients=4, keys=3, timeouts=0.03)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), clients=st.integers(1, 8), keys=st.integers(1, 5))
def test_simulated_histories_are_linearizable(seed: int, clients: int, keys: int) -> None:
    ops = simulate_history(SimConfig(ops=300, clients=clients, keys=keys, timeouts=0.05), seed)
    assert any(op.outcome == "info" for op in ops) or len(ops) == 300
    result = check_history(ops, time_limit=30)
    assert result.status == "linearizable", result.report()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_a_read_of_a_never_written_value_is_found(seed: int) -> None:
    ops = simulate_history(SMALL, seed)
    bad, line = corrupt_read(ops, random.Random(seed))
    result = check_history(bad, time_limit=30)
    assert result.status == "not linearizable", result.report()
    [violation] = result.violations
    assert violation.key == bad[line - 1].key
    assert line in violation.lines
    assert violation.unplaced[0].line == line


def test_simulated_history_mixes_outcomes() -> None:
    """The generator exercises every outcome, and concurrency: the property tests above depend on it."""
    ops = simulate_history(SimConfig(ops=2000), 1)
    outcomes = {(op.op, op.outcome) for op in ops}
    assert {("put", "ok"), ("get", "ok"), ("cas", "ok"), ("cas", "fail"), ("put", "info"), ("delete", "ok")} <= outcomes
    overlapping = sum(a.complete is not None and b.invoke < a.complete for a, b in itertools.pairwise(ops))
    assert overlapping > len(ops) // 2


def test_2000_operations_check_fast() -> None:
    ops = simulate_history(SimConfig(ops=2000), 7)
    started = time.monotonic()
    assert check_history(ops).status == "linearizable"
    assert time.monotonic() - started < 5


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(5))
def test_10000_operations_8_clients_5_keys_check_in_seconds(seed: int) -> None:
    """The issue's figure: 10,000 operations of 8 clients on 5 keys, with timeouts, in seconds."""
    ops = simulate_history(SimConfig(ops=10_000, clients=8, keys=5), seed)
    started = time.monotonic()
    result = check_history(ops)
    elapsed = time.monotonic() - started
    assert result.status == "linearizable"
    assert elapsed < 10, elapsed

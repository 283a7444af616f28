"""The checker on hand-made histories that are, and are not, linearizable; reports name key and lines."""

from __future__ import annotations

import pytest

from raftstore.checker import Violation, check_history

from .helpers import Row, history

# LINEARIZABLE: name -> rows (client, op, key, value, invoke, complete, outcome[, expected]).
LINEARIZABLE: dict[str, list[Row]] = {
    "sequential put then get": [(1, "put", "x", "a", 0, 1, "ok"), (2, "get", "x", "a", 2, 3, "ok")],
    "get of a missing key": [(1, "get", "x", None, 0, 1, "ok")],
    "reads overlapping a write see old or new": [
        (1, "put", "x", "a", 0, 1, "ok"),
        (1, "put", "x", "b", 2, 10, "ok"),
        (2, "get", "x", "b", 3, 4, "ok"),
        (3, "get", "x", "a", 3, 4, "ok"),  # linearized before the write, client 2's read after it
    ],
    "reads in real-time order may flip only while the write is open": [
        (1, "put", "x", "a", 0, 10, "ok"),
        (2, "get", "x", None, 1, 2, "ok"),
        (3, "get", "x", "a", 3, 4, "ok"),
    ],
    "touching intervals are concurrent": [(1, "put", "x", "a", 0, 1, "ok"), (2, "get", "x", None, 1, 2, "ok")],
    "concurrent writes in either order": [
        (1, "put", "x", "a", 0, 5, "ok"),
        (2, "put", "x", "b", 0, 5, "ok"),
        (3, "get", "x", "a", 6, 7, "ok"),
    ],
    "cas success": [(1, "put", "x", "a", 0, 1, "ok"), (1, "cas", "x", "b", 2, 3, "ok", "a"), (2, "get", "x", "b", 4, 5, "ok")],
    "cas fail observes another value": [
        (1, "put", "x", "a", 0, 1, "ok"),
        (1, "cas", "x", "b", 2, 3, "fail", "z"),
        (2, "get", "x", "a", 4, 5, "ok"),
    ],
    "cas expecting null on a missing key": [(1, "cas", "x", "a", 0, 1, "ok", None), (2, "get", "x", "a", 2, 3, "ok")],
    "cas expecting null fails on a present key": [
        (1, "put", "x", "a", 0, 1, "ok"),
        (1, "cas", "x", "b", 2, 3, "fail", None),
    ],
    "info write that took effect": [
        (1, "put", "x", "a", 0, 1, "ok"),
        (1, "put", "x", "b", 2, None, "info"),
        (2, "get", "x", "b", 5, 6, "ok"),
    ],
    "info write that never took effect": [
        (1, "put", "x", "a", 0, 1, "ok"),
        (1, "put", "x", "b", 2, None, "info"),
        (2, "get", "x", "a", 5, 6, "ok"),
    ],
    "info write taking effect long after its timeout": [
        (1, "put", "x", "a", 0, 1, "ok"),
        (1, "put", "x", "b", 2, 3, "info"),
        (2, "get", "x", "a", 4, 5, "ok"),
        (2, "get", "x", "b", 6, 7, "ok"),
    ],
    "info cas that took effect": [
        (1, "put", "x", "a", 0, 1, "ok"),
        (1, "cas", "x", "b", 2, None, "info", "a"),
        (2, "get", "x", "b", 5, 6, "ok"),
    ],
    "delete then get null": [
        (1, "put", "x", "a", 0, 1, "ok"),
        (1, "delete", "x", None, 2, 3, "ok"),
        (2, "get", "x", None, 4, 5, "ok"),
    ],
    "failed put and unknown get constrain nothing": [
        (1, "put", "x", "a", 0, 1, "fail"),
        (2, "get", "x", None, 0, None, "info"),
        (2, "get", "x", None, 2, 3, "ok"),
    ],
    "keys are independent": [
        (1, "put", "x", "a", 0, 1, "ok"),
        (2, "put", "y", "b", 0, 1, "ok"),
        (1, "get", "y", "b", 2, 3, "ok"),
        (2, "get", "x", "a", 2, 3, "ok"),
    ],
    "timed-out writes nobody read, around a failed cas": [
        (1, "put", "x", "a", 0, 1, "ok"),
        (2, "put", "x", "u1", 2, None, "info"),
        (3, "put", "x", "u2", 2, None, "info"),
        (1, "cas", "x", "c", 5, 6, "fail", "a"),  # needs a timed-out write to have landed before it
        (1, "put", "x", "a", 7, 8, "ok"),
        (1, "cas", "x", "c", 9, 10, "fail", "a"),  # and the other one here
    ],
}

# VIOLATIONS: name -> (rows, the key, lines the report must name).
VIOLATIONS: dict[str, tuple[list[Row], str, list[int]]] = {
    "stale read": (
        [(1, "put", "x", "a", 0, 1, "ok"), (1, "put", "x", "b", 2, 3, "ok"), (2, "get", "x", "a", 4, 5, "ok")],
        "x", [2, 3],
    ),
    "lost write": ([(1, "put", "x", "a", 0, 1, "ok"), (2, "get", "x", None, 2, 3, "ok")], "x", [1, 2]),
    "read of a never-written value": ([(1, "put", "x", "a", 0, 1, "ok"), (2, "get", "x", "zz", 2, 3, "ok")], "x", [2]),
    "reads flip back": (
        [(1, "put", "x", "a", 0, 10, "ok"), (2, "get", "x", "a", 1, 2, "ok"), (3, "get", "x", None, 3, 4, "ok")],
        "x", [3],
    ),
    "cas fail while the value matched": (
        [(1, "put", "x", "a", 0, 1, "ok"), (2, "cas", "x", "b", 2, 3, "fail", "a")], "x", [2],
    ),
    "cas success on the wrong value": (
        [(1, "put", "x", "a", 0, 1, "ok"), (2, "cas", "x", "b", 2, 3, "ok", None)], "x", [2],
    ),
    "info write read before its invoke": (
        [(2, "get", "x", "b", 0, 1, "ok"), (1, "put", "x", "b", 2, None, "info")], "x", [1],
    ),
    "info write undone": (
        [
            (1, "put", "x", "a", 0, 1, "ok"),
            (1, "put", "x", "b", 2, None, "info"),
            (2, "get", "x", "b", 3, 4, "ok"),
            (2, "get", "x", "a", 5, 6, "ok"),
        ],
        "x", [4],
    ),
    "delete then stale get": (
        [(1, "put", "x", "a", 0, 1, "ok"), (1, "delete", "x", None, 2, 3, "ok"), (2, "get", "x", "a", 4, 5, "ok")],
        "x", [2, 3],
    ),
    "a failed put is seen": ([(1, "put", "x", "a", 0, 1, "fail"), (2, "get", "x", "a", 2, 3, "ok")], "x", [2]),
    "1 and '1' differ": ([(1, "put", "x", 1, 0, 1, "ok"), (2, "get", "x", "1", 2, 3, "ok")], "x", [2]),
    "only the bad key is reported": (
        [(1, "put", "y", "a", 0, 1, "ok"), (1, "put", "x", "a", 0, 1, "ok"), (1, "get", "y", "a", 2, 3, "ok"),
         (1, "get", "x", "b", 2, 3, "ok")],
        "x", [4],
    ),
}


@pytest.mark.parametrize("name", LINEARIZABLE)
def test_linearizable(name: str) -> None:
    result = check_history(history(*LINEARIZABLE[name]))
    assert result.status == "linearizable", result.report()
    assert result.violations == [] and result.undecided == []


@pytest.mark.parametrize("name", VIOLATIONS)
def test_not_linearizable(name: str) -> None:
    rows, key, lines = VIOLATIONS[name]
    result = check_history(history(*rows))
    assert result.status == "not linearizable"
    [violation] = result.violations
    assert violation.key == key
    assert set(lines) <= set(violation.lines), violation.report()
    report = result.report()
    assert f'key "{key}": not linearizable' in report
    for line in lines:
        assert f"line {line}:" in report


def test_report_shows_the_linearization_and_the_blocking_operation() -> None:
    """The stale read: the search places both writes, then cannot place the read of "a" (the key holds "b")."""
    rows, _, _ = VIOLATIONS["stale read"]
    [violation] = check_history(history(*rows)).violations
    assert isinstance(violation, Violation)
    assert [op.line for op in violation.linearized] == [1, 2]
    assert violation.state == "b"
    assert [op.line for op in violation.unplaced] == [3]
    assert violation.prefix_ops == 3
    assert 'the key then holds "b"' in violation.report()


def test_shortest_failing_prefix_cuts_later_operations() -> None:
    """Operations after the violation are not in the window: the prefix ends when the bad read completes."""
    rows = [(1, "put", "x", "a", 0, 1, "ok"), (2, "get", "x", "zz", 2, 3, "ok")]
    rows += [(1, "put", "x", f"v{i}", 4 + 2 * i, 5 + 2 * i, "ok") for i in range(50)]
    [violation] = check_history(history(*rows)).violations
    assert violation.prefix_ops == 2
    assert violation.lines == [1, 2]


def test_undecided_past_the_time_limit() -> None:
    """A hard history with a tiny time limit is undecided, never reported linearizable."""
    # 16 writes all concurrent, and reads that no order satisfies: the search must try every order.
    rows: list[Row] = [(c, "put", "x", f"v{c}", 0, 100, "ok") for c in range(16)]
    rows += [(100 + c, "get", "x", f"v{c}", 1, 99, "ok") for c in range(16)]
    rows += [(200, "get", "x", "nope", 101, 102, "ok")]
    result = check_history(history(*rows), time_limit=0.05)
    assert result.status == "undecided"
    assert result.undecided == ["x"]

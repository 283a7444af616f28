"""Shrinking a non-linearizable history keeps a failing window and never drops a write."""

from __future__ import annotations

from raftstore.chaos.shrink import failing_prefix, shrink
from raftstore.checker import check_history, parse_history

# A stale read (line 6: "a" after "b" was acknowledged), with reads around it that explain nothing, and
# an operation on another key.
STALE = """\
{"client": 1, "op": "put", "key": "k", "value": "a", "invoke": 0, "complete": 1, "outcome": "ok"}
{"client": 2, "op": "get", "key": "k", "value": "a", "invoke": 1.5, "complete": 1.8, "outcome": "ok"}
{"client": 1, "op": "put", "key": "k", "value": "b", "invoke": 2, "complete": 3, "outcome": "ok"}
{"client": 2, "op": "get", "key": "k", "value": "b", "invoke": 3.2, "complete": 3.4, "outcome": "ok"}
{"client": 3, "op": "put", "key": "other", "value": "z", "invoke": 3.3, "complete": 3.5, "outcome": "ok"}
{"client": 2, "op": "get", "key": "k", "value": "a", "invoke": 4, "complete": 5, "outcome": "ok"}
{"client": 2, "op": "get", "key": "k", "value": "b", "invoke": 6, "complete": 7, "outcome": "ok"}
{"client": 1, "op": "cas", "key": "k", "expected": "x", "value": "c", "invoke": 6, "complete": 7, "outcome": "fail"}
"""


def test_the_window_is_the_failing_prefix_without_the_reads_that_explain_nothing() -> None:
    ops = parse_history(STALE.splitlines())
    violation = check_history(ops).violations[0]
    assert [op.line for op in failing_prefix(ops, violation)] == [1, 2, 3, 4, 6]
    window = shrink(ops, violation)
    assert [op.line for op in window] == [1, 3, 6]
    assert check_history(window).status == "not linearizable"


def test_operations_still_running_at_the_failing_point_keep_their_writes_as_unknown() -> None:
    ops = parse_history(
        [
            '{"client": 1, "op": "put", "key": "k", "value": "a", "invoke": 0, "complete": 1, "outcome": "ok"}',
            '{"client": 3, "op": "put", "key": "k", "value": "c", "invoke": 1.5, "complete": 9, "outcome": "ok"}',
            '{"client": 1, "op": "put", "key": "k", "value": "b", "invoke": 2, "complete": 3, "outcome": "ok"}',
            '{"client": 2, "op": "get", "key": "k", "value": "a", "invoke": 4, "complete": 5, "outcome": "ok"}',
        ]
    )
    violation = check_history(ops).violations[0]
    prefix = failing_prefix(ops, violation)
    assert [(op.line, op.outcome) for op in prefix] == [(1, "ok"), (2, "info"), (3, "ok"), (4, "ok")]
    assert check_history(prefix).status == "not linearizable"

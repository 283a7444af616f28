"""The JSON-lines history format: parsing, blank lines, round trip, and malformed lines named by number."""

from __future__ import annotations

from pathlib import Path

import pytest

from raftstore.checker import (
    HistoryFileError,
    HistoryFormatError,
    Operation,
    format_history,
    parse_history,
    read_history,
)

GOOD = [
    '{"client": 3, "op": "put", "key": "k1", "value": "v7", "invoke": 12.50, "complete": 12.61, "outcome": "ok"}',
    "",
    '{"client": 1, "op": "get", "key": "k1", "value": null, "invoke": 1, "complete": 2, "outcome": "ok"}',
    '{"client": 2, "op": "cas", "key": 7, "expected": null, "value": 5, "invoke": 3, "outcome": "info"}',
    "   ",
    '{"client": 2, "op": "delete", "key": "k1", "invoke": 4, "complete": null, "outcome": "info", "note": "x"}',
    '{"client": 4, "op": "get", "key": "k1", "invoke": 5, "complete": 6, "outcome": "fail"}',
]


def test_parse_keeps_line_numbers_and_fields() -> None:
    """Blank lines are skipped but counted; nulls, integers and an absent complete are read as such."""
    ops = parse_history(GOOD)
    assert [op.line for op in ops] == [1, 3, 4, 6, 7]
    assert ops[0] == Operation(1, 3, "put", "k1", "v7", 12.5, 12.61, "ok")
    assert ops[1] == Operation(3, 1, "get", "k1", None, 1.0, 2.0, "ok")
    assert ops[2] == Operation(4, 2, "cas", 7, 5, 3.0, None, "info", expected=None)
    assert ops[3] == Operation(6, 2, "delete", "k1", None, 4.0, None, "info")
    assert ops[4].value is None and ops[4].outcome == "fail"


def test_format_round_trips(tmp_path: Path) -> None:
    """format_history writes what read_history reads back (line numbers renumbered from 1)."""
    ops = parse_history(GOOD)
    path = tmp_path / "h.jsonl"
    path.write_text(format_history(ops))
    again = read_history(path)
    assert [(o.op, o.key, o.value, o.expected, o.invoke, o.complete, o.outcome) for o in again] == [
        (o.op, o.key, o.value, o.expected, o.invoke, o.complete, o.outcome) for o in ops
    ]
    assert [o.line for o in again] == [1, 2, 3, 4, 5]


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ('{"client": 1, "op": "put"', "not JSON"),
        ("[1, 2]", "not a JSON object"),
        ('{"client": "a", "op": "get", "key": "k", "value": null, "invoke": 1, "complete": 2, "outcome": "ok"}',
         '"client" must be an integer'),
        ('{"client": 1, "op": "scan", "key": "k", "invoke": 1, "complete": 2, "outcome": "ok"}', '"op" must be one of'),
        ('{"client": 1, "op": "get", "key": "k", "value": null, "invoke": 1, "complete": 2, "outcome": "maybe"}',
         '"outcome" must be one of'),
        ('{"client": 1, "op": "get", "key": 1.5, "value": null, "invoke": 1, "complete": 2, "outcome": "ok"}',
         '"key" must be a string or an integer'),
        ('{"client": 1, "op": "put", "key": "k", "value": true, "invoke": 1, "complete": 2, "outcome": "ok"}',
         'a put needs "value"'),
        ('{"client": 1, "op": "put", "key": "k", "invoke": 1, "complete": 2, "outcome": "ok"}', 'a put needs "value"'),
        ('{"client": 1, "op": "get", "key": "k", "invoke": 1, "complete": 2, "outcome": "ok"}', 'an ok get needs "value"'),
        ('{"client": 1, "op": "cas", "key": "k", "value": "b", "invoke": 1, "complete": 2, "outcome": "ok"}',
         'a cas needs "expected"'),
        ('{"client": 1, "op": "delete", "key": "k", "value": "x", "invoke": 1, "complete": 2, "outcome": "ok"}',
         'a delete has no "value"'),
        ('{"client": 1, "op": "delete", "key": "k", "invoke": "now", "complete": 2, "outcome": "ok"}', '"invoke" must be'),
        ('{"client": 1, "op": "delete", "key": "k", "invoke": 1, "outcome": "ok"}', 'needs "complete"'),
        ('{"client": 1, "op": "delete", "key": "k", "invoke": 3, "complete": 2, "outcome": "fail"}', "is before"),
    ],
)
def test_malformed_line_is_named(line: str, message: str) -> None:
    """A malformed line fails the whole parse with an error naming its line number (blank lines count)."""
    with pytest.raises(HistoryFormatError) as err:
        parse_history([GOOD[0], "", line], source="h.jsonl")
    assert err.value.line == 3
    assert str(err.value).startswith("h.jsonl:3: ") and message in str(err.value)


def test_unreadable_file(tmp_path: Path) -> None:
    """A missing file, or one that is not UTF-8, is a HistoryFileError naming the path."""
    with pytest.raises(HistoryFileError, match="missing.jsonl"):
        read_history(tmp_path / "missing.jsonl")
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(HistoryFileError, match="binary.jsonl"):
        read_history(binary)

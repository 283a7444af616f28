"""tests.checker.helpers: hand-made histories in a compact notation."""

from __future__ import annotations

from raftstore.checker import Operation

# Row: (client, op, key, value, invoke, complete, outcome) or the same with `expected` last (cas).
Row = tuple


def history(*rows: Row) -> list[Operation]:
    """history builds operations from rows, numbered as lines 1, 2, ... in row order."""
    ops = []
    for line, row in enumerate(rows, start=1):
        client, op, key, value, invoke, complete, outcome, *expected = row
        ops.append(
            Operation(line, client, op, key, value, float(invoke), None if complete is None else float(complete),
                      outcome, expected[0] if expected else None)
        )
    return ops

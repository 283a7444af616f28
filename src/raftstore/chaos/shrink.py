"""raftstore.chaos.shrink: cut a non-linearizable history down to a small failing window.

Two reductions, both sound (the smaller history fails only if the original does, so it is a witness):
- the checker's shortest failing prefix of the failing key: the operations invoked by the time the
  blocking one completes; those still running then lose their reads and keep their writes as
  unknown (info) writes;
- removing observations (ok gets, failed cas): a linearization of a history is still one after an
  observation is dropped, so if the history without some observations fails, the original fails for the
  same reason. Writes are never removed (dropping a write can make a correct history fail).

Observations are removed in chunks, halving the chunk until single operations (ddmin), within a time limit.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Sequence

from ..checker import Operation, Violation, check_key

__all__ = ["failing_prefix", "shrink"]


def failing_prefix(ops: Sequence[Operation], violation: Violation) -> list[Operation]:
    """failing_prefix: the operations of violation's key invoked by the time its blocking operation
    completes (see the module docstring), in history order."""
    blocked = violation.unplaced[0]
    end = blocked.complete if blocked.complete is not None else math.inf
    out: list[Operation] = []
    for op in ops:
        if op.key != violation.key or op.invoke > end:
            continue
        if op.outcome == "info" or (op.complete is not None and op.complete <= end):
            out.append(op)
        elif op.op != "get" and not (op.op == "cas" and op.outcome == "fail"):
            out.append(dataclasses.replace(op, outcome="info", complete=None))
    return out


def _observes(op: Operation) -> bool:
    return (op.op == "get" and op.outcome == "ok") or (op.op == "cas" and op.outcome == "fail")


def shrink(ops: Sequence[Operation], violation: Violation, time_limit: float = 20.0) -> list[Operation]:
    """shrink is a small failing sub-history of ops around violation (module docstring)."""
    deadline = time.monotonic() + time_limit
    current = failing_prefix(ops, violation)
    if not isinstance(check_key(violation.key, current, deadline), Violation):
        return [op for op in ops if op.key == violation.key]  # not confirmed in time: the key's whole history
    parts = 2
    while time.monotonic() < deadline:
        seen = [i for i, op in enumerate(current) if _observes(op)]
        if not seen:
            break
        size = max(len(seen) // parts, 1)
        for start in range(0, len(seen), size):
            drop = set(seen[start:start + size])
            candidate = [op for i, op in enumerate(current) if i not in drop]
            if isinstance(check_key(violation.key, candidate, deadline), Violation):
                current, parts = candidate, max(parts - 1, 2)
                break
        else:
            if size == 1:
                break
            parts = min(parts * 2, len(seen))
    return current

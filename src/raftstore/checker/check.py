"""raftstore.checker.check: check a whole history for linearizability, key by key, and explain a violation.

A history of a key-value store is linearizable exactly when the history of each key is (linearizability is
compositional: Herlihy & Wing's locality, Porcupine's P-compositionality), so every key is searched on its
own (wgl.search) with the steps its operations compile to (model.py).

On a violation the key's history is cut down to its shortest failing prefix: the operations invoked by the
time the n-th operation completes, those still running then counted as not yet returned (their reads
dropped, their writes optional). A prefix of a linearizable history is linearizable, so the first prefix
that fails (found by bisection) ends at the operation that makes the history impossible. The report shows
the longest linearization the search built in that prefix, the register's value after it, and the
operations it could not place: the one whose completion blocked it and those invoked before and still open.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from .history import Operation, Value
from .model import Kind, Step, canonicalize, compile_op
from .wgl import search

__all__ = ["CheckResult", "Status", "Violation", "check_history", "check_key"]

Status = Literal["linearizable", "not linearizable", "undecided"]

# _TAIL: how many of the last linearized operations a report shows before the ones it could not place.
_TAIL = 5


@dataclass
class Violation:
    """Violation: the operations of `key` are not linearizable.

    `linearized`: the longest linearization found in the shortest failing prefix (in order), `state` the
    key's value after it (None: missing); `unplaced`: operations that could not follow it, the blocking one
    first, then those invoked before it completed and still open (timed-out writes aside: `open_info`
    counts them); `window`: the last linearized operations and the unplaced ones, by line.
    """

    key: Value
    prefix_ops: int
    linearized: list[Operation]
    state: Value | None
    unplaced: list[Operation]
    open_info: int = 0

    @property
    def window(self) -> list[Operation]:
        return sorted(self.linearized[-_TAIL:] + self.unplaced, key=lambda op: op.line)

    @property
    def lines(self) -> list[int]:
        """lines: the line numbers (from 1) of the window's operations."""
        return [op.line for op in self.window]

    def report(self) -> str:
        blocked = self.unplaced[0]
        out = [
            f"key {json.dumps(self.key)}: not linearizable (lines {', '.join(map(str, self.lines))})",
            (
                f"  shortest failing prefix: the {self.prefix_ops} operations of the key invoked by the time "
                f"line {blocked.line} completes"
            ),
            f"  longest linearization found there: {len(self.linearized)} operations"
            + (", ending with:" if self.linearized else ""),
        ]
        out += [f"    {op.describe()}" for op in self.linearized[-_TAIL:]]
        held = "nothing (missing)" if self.state is None else json.dumps(self.state)
        out.append(f"  the key then holds {held}")
        out.append("  could not be placed next:")
        out += [f"    {op.describe()}" for op in self.unplaced]
        if self.open_info:
            out.append(f"  ({self.open_info} timed-out operations, open then too, could not help either)")
        return "\n".join(out)


@dataclass
class CheckResult:
    """CheckResult of check_history: `status`, the violations found (one per key at most), the keys left
    undecided when the time limit passed, and counts."""

    status: Status
    operations: int
    keys: int
    violations: list[Violation] = field(default_factory=list)
    undecided: list[Value] = field(default_factory=list)
    elapsed: float = 0.0

    def report(self) -> str:
        head = f"{self.status}: {self.operations} operations on {self.keys} keys checked in {self.elapsed:.2f} s"
        parts = [head] + [v.report() for v in self.violations]
        if self.undecided:
            parts.append("undecided within the time limit: keys " + ", ".join(json.dumps(k) for k in self.undecided))
        return "\n".join(parts)


def check_history(ops: Sequence[Operation], time_limit: float | None = None) -> CheckResult:
    """check_history checks ops key by key. Status: "not linearizable" if any key fails, else "undecided"
    if any key is undecided when time_limit (seconds) runs out, else "linearizable".

    With a time limit, a first pass gives each key an equal share of what is left, so that one hard key
    cannot starve the others; a second pass gives the keys still undecided the rest of the time."""
    started = time.monotonic()
    deadline = math.inf if time_limit is None else started + time_limit
    by_key: dict[Value, list[Operation]] = {}
    for op in ops:
        by_key.setdefault(op.key, []).append(op)  # 1 and "1" are different keys
    result = CheckResult("linearizable", len(ops), len(by_key))
    undecided = list(by_key)
    for fair in (True, False):
        pending, undecided = undecided, []
        for n, key in enumerate(pending):
            share = (deadline - time.monotonic()) / (len(pending) - n) if fair else math.inf
            outcome = check_key(key, by_key[key], min(deadline, time.monotonic() + share))
            if outcome is None:
                undecided.append(key)
            elif isinstance(outcome, Violation):
                result.violations.append(outcome)
    result.undecided = undecided
    if result.violations:
        result.status = "not linearizable"
    elif result.undecided:
        result.status = "undecided"
    result.elapsed = time.monotonic() - started
    return result


def check_key(key: Value, ops: Sequence[Operation], deadline: float = math.inf) -> Violation | bool | None:
    """check_key checks the operations of one key: True when linearizable, a Violation when not, None when
    the deadline passed first."""
    steps = [s for s in map(compile_op, ops) if s is not None]
    found = search(canonicalize(steps), deadline)
    if found.linearizable is not False:
        return found.linearizable
    return _explain(key, steps, deadline)


def _explain(key: Value, steps: list[Step], deadline: float) -> Violation:
    """_explain bisects for the shortest failing prefix and describes the search's deepest point in it.
    Past the deadline it describes the shortest failing prefix found so far (the whole history at worst)."""
    ends = sorted({s.op.complete for s in steps if not s.optional and s.op.complete is not None})
    low, high = 0, len(ends) - 1  # invariant: the prefix at ends[high] fails
    while low < high:
        mid = (low + high) // 2
        if search(canonicalize(_prefix(steps, ends[mid])), deadline).linearizable is False:
            high = mid
        else:
            low = mid + 1  # linearizable, or undecided: keep the prefix known to fail
    prefix = canonicalize(_prefix(steps, ends[high]))
    found = search(prefix)
    assert found.linearizable is False and found.blocked is not None, "a failing prefix failed before"
    placed = set(found.deepest)
    blocked = prefix[found.blocked]
    end = blocked.op.complete if blocked.op.complete is not None else math.inf
    open_before = [s for i, s in enumerate(prefix) if i not in placed and s is not blocked and s.op.invoke <= end]
    return Violation(
        key,
        prefix_ops=len(prefix),
        linearized=[prefix[i].op for i in found.deepest],
        state=_replay([prefix[i].op for i in found.deepest]),
        unplaced=[blocked.op, *sorted((s.op for s in open_before if not s.optional), key=lambda op: op.line)],
        open_info=sum(s.optional for s in open_before),
    )


def _replay(ops: list[Operation]) -> Value | None:
    """_replay is the value the key holds after ops, in this order, all taking effect (the search merged
    the values nobody read: this gives the written value back)."""
    state: Value | None = None
    for op in ops:
        if op.op == "put" or (op.op == "cas" and op.outcome != "fail"):
            state = op.value
        elif op.op == "delete":
            state = None
    return state


def _prefix(steps: list[Step], end: float) -> list[Step]:
    """_prefix: the steps invoked by `end`; those not complete by then become optional writes, or are
    dropped when they only observe (their reads had not returned yet)."""
    cut: list[Step] = []
    for s in steps:
        if s.op.invoke > end:
            continue
        if s.optional or (s.op.complete is not None and s.op.complete <= end):
            cut.append(s)
        elif s.kind in (Kind.WRITE, Kind.CAS):
            cut.append(s._replace(optional=True))
    return cut

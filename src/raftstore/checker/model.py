"""raftstore.checker.model: the register each key is, and what each operation of a history asks of it.

Every key is an independent register holding a value or nothing (None, "missing"); it starts missing. An
operation becomes a step on that register (Step), or nothing when it constrains nothing:

| operation                      | step                       | must linearize? |
|--------------------------------|----------------------------|-----------------|
| put v, ok                      | WRITE v                    | yes             |
| delete, ok                     | WRITE None                 | yes             |
| get -> v, ok                   | READ v: state == v         | yes             |
| cas e -> v, ok                 | CAS: state == e, then v    | yes             |
| cas e -> v, fail               | DIFFER e: state != e       | yes (see below) |
| put / delete / cas, info       | as their ok step           | no: at any time after invoke, or never |
| get, info or fail              | (nothing was observed)     | dropped         |
| put / delete, fail             | (did not take effect)      | dropped         |

A cas with outcome "fail" is, as the format says, a cas whose compare failed: it changed nothing but it
observed that the key did not hold `expected` at some instant between its invoke and complete. A harness
that sees a cas refused before its compare ran (e.g. not leader) must record it as "info" or leave it out:
recorded as "fail" it would claim an observation that was never made.

canonicalize merges the values nobody read and drops the info writes no linearization needs.
"""

from __future__ import annotations

import enum
from collections.abc import Hashable, Sequence
from typing import NamedTuple

from .history import Operation

__all__ = ["UNREAD", "Kind", "Step", "canonicalize", "compile_op", "is_spare_write"]


class Kind(enum.IntEnum):
    """Kind of a Step on a register."""

    WRITE = 0  # state := arg (None deletes)
    READ = 1  # requires state == arg
    CAS = 2  # requires state == arg, then state := new
    DIFFER = 3  # requires state != arg


class Step(NamedTuple):
    """Step is what one operation does to its key's register; `optional` steps (info outcomes) may be left
    out of a linearization. `op` is the operation it came from."""

    kind: Kind
    arg: Hashable  # a Value, None (missing) or UNREAD
    new: Hashable
    optional: bool
    op: Operation


def compile_op(op: Operation) -> Step | None:
    """compile_op is op's step (see the module table), None when op constrains nothing."""
    info = op.outcome == "info"
    if op.op == "get":
        return Step(Kind.READ, op.value, None, False, op) if op.outcome == "ok" else None
    if op.op == "cas":
        if op.outcome == "fail":
            return Step(Kind.DIFFER, op.expected, None, False, op)
        return Step(Kind.CAS, op.expected, op.value, info, op)
    if op.outcome == "fail":
        return None
    return Step(Kind.WRITE, op.value if op.op == "put" else None, None, info, op)


class _Unread:
    """_Unread is the type of UNREAD, the value standing for every written value that no step observes."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNREAD"


# UNREAD: after canonicalize, the value of every write whose value no READ, CAS or DIFFER names. It equals
# no value of the history, so exactly the same steps may happen after it as after the value it replaces.
UNREAD = _Unread()


def canonicalize(steps: Sequence[Step]) -> list[Step]:
    """canonicalize prepares the steps of one key for the search:

    - a written value (WRITE arg, CAS new value) that no step names (no READ of it, no CAS or DIFFER
      expecting it) becomes UNREAD: states that differ only there are the same state to the memo;
    - optional WRITEs of UNREAD (timed-out writes nobody read) are dropped when no DIFFER exists: nothing
      can need them (proof: the steps after one, up to the next change of state, would observe UNREAD,
      so they are blind writes: dropping it changes no other step's outcome). With DIFFERs they stay, and
      the search uses them in invoke order only (see wgl.search).
    """
    named = {s.arg for s in steps if s.kind is not Kind.WRITE}
    differ = any(s.kind is Kind.DIFFER for s in steps)
    out: list[Step] = []
    for s in steps:
        if s.kind is Kind.WRITE and s.arg not in named:
            if s.optional and not differ:
                continue
            s = s._replace(arg=UNREAD)
        elif s.kind is Kind.CAS and s.new not in named:
            s = s._replace(new=UNREAD)
        out.append(s)
    return out


def is_spare_write(step: Step) -> bool:
    """is_spare_write: an optional WRITE of UNREAD (after canonicalize). All spare writes of a key act the
    same, so a linearization may always use the earliest-invoked unused one: if it places spare writes at
    points p1 < p2 < ..., the j writes it uses by p_j were invoked by p_j, hence so were the j earliest."""
    return step.optional and step.kind is Kind.WRITE and step.arg is UNREAD

"""raftstore.checker.wgl: the Wing & Gong linearizability search with Lowe's memoisation (as Porcupine and
Knossos do it), for the steps of one key.

The history becomes a list of events sorted by time: each step's call at its invoke and its return at its
complete; an optional step (an info outcome) returns at +infinity. On equal times calls come first, so two
operations that touch are concurrent. The search walks the list from the front: a call whose step may
happen in the current state is linearized (the call and its return leave the list, the state moves on)
unless the pair (set of linearized steps, state) was seen before; reaching a return means the steps still
in the list before it cannot be ordered: backtrack to the last choice and try the next call.

It succeeds when the first event left is a return at +infinity (or nothing is left): every step that
returned is linearized, and the optional steps still in the list are the ones that never took effect.

The list is a doubly linked list in two int arrays; the set of linearized steps is an int bitset; the memo
is a set of (bitset, state). Invariant: `nxt`/`prv` link exactly the events of the steps not linearized.
"""

from __future__ import annotations

import math
import time
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, field

from .model import Kind, Step, is_spare_write

__all__ = ["SearchResult", "search"]

# _CHECK_EVERY: iterations of the search between two looks at the clock.
_CHECK_EVERY = 4096
_WRITE, _READ, _CAS, _DIFFER = Kind.WRITE.value, Kind.READ.value, Kind.CAS.value, Kind.DIFFER.value


@dataclass
class SearchResult:
    """SearchResult of one search: `linearizable` is True, False, or None when the deadline passed first.

    When not linearizable, `deepest` is the longest linearization the search built (indexes into the steps,
    in linearization order), `state` the register's value after it, and `blocked` the step whose return
    could not be passed there: it and the steps invoked before it and not linearized could not be placed.
    """

    linearizable: bool | None
    deepest: list[int] = field(default_factory=list)
    state: Hashable = None
    blocked: int | None = None
    explored: int = 0


def search(steps: Sequence[Step], deadline: float = math.inf) -> SearchResult:
    """search decides whether steps (of one key, starting missing) are linearizable; gives up with
    linearizable=None once time.monotonic() passes deadline."""
    n = len(steps)
    if n == 0:
        return SearchResult(True)
    # events: (time, 0 for a call / 1 for a return, step index); sorted, calls first on ties.
    events = sorted(
        [(s.op.invoke, 0, i) for i, s in enumerate(steps)]
        + [(math.inf if s.optional or s.op.complete is None else s.op.complete, 1, i) for i, s in enumerate(steps)]
    )
    size = len(events)
    head = size
    ev_step = [i for _, _, i in events]
    ev_call = [kind == 0 for _, kind, _ in events]
    ev_inf = [t == math.inf and kind == 1 for t, kind, _ in events]
    ret_of = [0] * n
    for e, (_, kind, i) in enumerate(events):
        if kind == 1:
            ret_of[i] = e
    match = [ret_of[i] if call else -1 for i, call in zip(ev_step, ev_call)]
    nxt = list(range(1, size + 1)) + [0]
    nxt[size - 1] = -1
    prv = [head] + list(range(size - 1)) + [-1]
    kinds = [s.kind.value for s in steps]
    args = [s.arg for s in steps]
    news = [s.new for s in steps]
    bits = [1 << i for i in range(n)]
    # rank: the place of each spare write in invoke order (-1 for other steps); only the earliest unused
    # spare write may be placed (model.is_spare_write), so `spares` of them are used, always the first ones.
    rank = [-1] * n
    for r, i in enumerate(sorted((i for i in range(n) if is_spare_write(steps[i])), key=lambda i: steps[i].op.invoke)):
        rank[i] = r
    spares = 0

    state: Hashable = None
    linearized = 0
    memo: set[tuple[int, Hashable]] = set()
    stack: list[tuple[int, Hashable]] = []  # (call event, state before it) of each linearized step
    best = SearchResult(False)
    best_depth = -1
    entry = nxt[head]
    countdown = _CHECK_EVERY
    explored = 0
    while True:
        countdown -= 1
        if countdown == 0:
            countdown = _CHECK_EVERY
            explored += _CHECK_EVERY
            if time.monotonic() > deadline:
                return SearchResult(None, explored=explored)
        if ev_call[entry]:
            i = ev_step[entry]
            kind = kinds[i]
            if kind == _WRITE:
                ok, new = rank[i] == spares or rank[i] < 0, args[i]
            elif kind == _READ:
                ok, new = state == args[i], state
            elif kind == _CAS:
                ok = state == args[i]
                new = news[i] if ok else state
            else:
                ok, new = state != args[i], state
            if ok:
                key = (linearized | bits[i], new)
                if key not in memo:
                    memo.add(key)
                    stack.append((entry, state))
                    state, linearized = new, key[0]
                    if rank[i] >= 0:
                        spares += 1
                    # lift: unlink the call and its return.
                    ret = match[entry]
                    nxt[prv[entry]] = nxt[entry]
                    prv[nxt[entry]] = prv[entry]
                    nxt[prv[ret]] = nxt[ret]
                    if nxt[ret] != -1:
                        prv[nxt[ret]] = prv[ret]
                    entry = nxt[head]
                    if entry == -1:
                        return SearchResult(True, explored=explored + _CHECK_EVERY - countdown)
                    continue
            entry = nxt[entry]
            continue
        if ev_inf[entry]:
            return SearchResult(True, explored=explored + _CHECK_EVERY - countdown)
        if len(stack) > best_depth:
            best_depth = len(stack)
            best = SearchResult(False, [ev_step[e] for e, _ in stack], state, ev_step[entry])
        if not stack:
            break
        entry, state = stack.pop()
        i = ev_step[entry]
        linearized ^= bits[i]
        if rank[i] >= 0:
            spares -= 1
        # unlift: link the return, then the call, back where they were.
        ret = match[entry]
        nxt[prv[ret]] = ret
        if nxt[ret] != -1:
            prv[nxt[ret]] = ret
        nxt[prv[entry]] = entry
        prv[nxt[entry]] = entry
        entry = nxt[entry]
    best.explored = explored + _CHECK_EVERY - countdown
    return best

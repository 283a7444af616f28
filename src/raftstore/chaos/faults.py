"""raftstore.chaos.faults: the fault schedule of a chaos run, drawn from a seed.

A run is a sequence of cycles; each cycle injects one Fault, holds it, and undoes it (run.py does that):

| kind                  | what happens                                                                   |
|-----------------------|--------------------------------------------------------------------------------|
| kill                  | SIGKILL a store; it stays down `hold` seconds, then restarts with the same flags |
| pause                 | SIGSTOP a store for `hold` seconds, then SIGCONT (a paused leader still believes it leads) |
| partition-majority    | a random minority is cut off from the majority, both ways                      |
| partition-leader      | the leader alone is cut off from every other store, both ways                  |
| partition-bridge      | two halves cannot talk; one store (the bridge) still talks to both             |
| partition-one-way     | one store cannot send to the others, or cannot receive from them               |
| transfer-leader       | the leader of a random key's region hands leadership to another store (Admin)  |
| split                 | the region of a random key splits there (Admin; refused if already a boundary) |
| conf-change           | a follower's peer of a random key's region is removed, then added back as a    |
|                       | voter after `hold` seconds (Admin; it catches up through a snapshot)           |

Kills and pauses hit the leader (the store that led the first key's region when the cycle started) half
the time, a random store otherwise. Kinds are dealt from a shuffled deck (DECK) so that a run of
n * len(DECK) cycles holds exactly n times each entry: 7 kills, 2 pauses, 2 partitions of a random kind
and 1 admin change of a random kind per 12 cycles.
Everything random comes from `random.Random(seed)`: the same seed gives the same schedule for the same
leaders.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from dataclasses import dataclass, field

from .proxy import Link

__all__ = ["ADMIN", "DECK", "KINDS", "PARTITIONS", "Fault", "Schedule", "partition_links"]

PARTITIONS = ("partition-majority", "partition-leader", "partition-bridge", "partition-one-way")
ADMIN = ("transfer-leader", "split", "conf-change")
KINDS = ("kill", "pause", *PARTITIONS, *ADMIN)
# DECK: the kinds of 12 cycles ("partition", "admin": one of PARTITIONS, ADMIN, drawn per cycle).
DECK = ("kill",) * 7 + ("pause",) * 2 + ("partition",) * 2 + ("admin",)
_GROUPS = {"partition": PARTITIONS, "admin": ADMIN}

# Hold times (seconds): a kill's downtime, a pause, a partition. Elections take 0.5-1 s at 50 ms ticks,
# so the longer holds see a new leader elected meanwhile.
_HOLD = {"kill": (0.1, 1.0), "pause": (0.3, 2.5), "partition": (0.5, 3.0), "admin": (0.2, 1.0)}
# _GAP: the quiet time after a cycle before the next one (seconds).
_GAP = (0.1, 0.6)


@dataclass(frozen=True)
class Fault:
    """Fault: one cycle. `store`: the store killed or paused, or the target of an admin change (None for
    partitions); `links`: the links cut (partitions); `key`: the key whose region an admin change acts
    on; `hold`: seconds the fault lasts; `gap`: quiet seconds after it is undone; `detail`: a short
    description for the report."""

    kind: str
    hold: float
    gap: float
    store: int | None = None
    links: frozenset[Link] = field(default_factory=frozenset)
    key: str = ""
    detail: str = ""


def partition_links(groups: list[set[int]]) -> frozenset[Link]:
    """partition_links are the links between stores of different groups, both ways."""
    return frozenset(
        (a, b) for g, h in itertools.permutations(groups, 2) for a in g for b in h
    )


class Schedule:
    """Schedule: the faults of a run over `stores`, from `seed`; `kinds` limits them (default KINDS).

    `next_fault(leader)` draws the next cycle's fault knowing the current leader (None when unknown)."""

    def __init__(self, seed: int, stores: list[int], kinds: tuple[str, ...] = KINDS, keys: tuple[str, ...] = ("k0",)) -> None:
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds: {', '.join(sorted(unknown))} (known: {', '.join(KINDS)})")
        self.rng = random.Random(seed)
        self.stores = sorted(stores)
        self.kinds = kinds
        self.keys = keys
        self._deck = self._deal()

    def _deal(self) -> Iterator[str]:
        deck = [k for k in DECK if k in self.kinds or set(_GROUPS.get(k, ())) & set(self.kinds)]
        if not deck:
            raise ValueError("no fault kind left to schedule")
        while True:
            self.rng.shuffle(deck)
            yield from deck

    def next_fault(self, leader: int | None) -> Fault:
        kind = next(self._deck)
        rng = self.rng
        hold = rng.uniform(*_HOLD[kind])
        gap = rng.uniform(*_GAP)
        target = leader if leader is not None and rng.random() < 0.5 else rng.choice(self.stores)
        if kind in ("kill", "pause"):
            return Fault(kind, hold, gap, store=target, detail=f"store {target}")
        kind = rng.choice([k for k in _GROUPS[kind] if k in self.kinds])
        if kind in ADMIN:
            key = rng.choice(self.keys)
            other = rng.choice([s for s in self.stores if s != leader])
            what = {"transfer-leader": f"to store {other}", "split": f"at {key!r}", "conf-change": f"store {other}"}
            return Fault(kind, hold, gap, store=other, key=key, detail=f"{what[kind]} (region of {key!r})")
        links, detail = self._partition(kind, target if leader is None else leader)
        return Fault(kind, hold, gap, links=links, detail=detail)

    def _partition(self, kind: str, leader: int) -> tuple[frozenset[Link], str]:
        rng, stores = self.rng, self.stores
        if kind == "partition-leader":
            rest = set(stores) - {leader}
            return partition_links([{leader}, rest]), f"leader {leader} | {sorted(rest)}"
        if kind == "partition-majority":
            minority = set(rng.sample(stores, rng.randint(1, (len(stores) - 1) // 2)))
            rest = set(stores) - minority
            return partition_links([minority, rest]), f"{sorted(minority)} | {sorted(rest)}"
        if kind == "partition-bridge":
            order = rng.sample(stores, len(stores))
            bridge, others = order[0], order[1:]
            half = len(others) // 2
            a, b = set(others[:half]), set(others[half:])
            return partition_links([a, b]), f"{sorted(a)} | {sorted(b)}, bridge {bridge}"
        node = rng.choice(stores)
        others = [s for s in stores if s != node]
        if rng.random() < 0.5:
            return frozenset((node, o) for o in others), f"store {node} cannot send"
        return frozenset((o, node) for o in others), f"store {node} cannot receive"

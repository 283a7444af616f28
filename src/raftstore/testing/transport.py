"""raftstore.testing.transport: the simulated network between the stores of a Cluster.

Messages sent in one step are delivered at the next (`SimTransport.take`), after passing every filter in
the order they were added. A filter sees the whole batch of a step and returns what goes on; it may keep
messages back (Delay) and release them at a later step. Filters are deterministic: the random ones take
a seed.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Collection, Iterable
from typing import Protocol

from ..proto.raft_serverpb_pb2 import RaftMessage

__all__ = [
    "Filter",
    "DropFilter",
    "PartitionFilter",
    "IsolateStore",
    "DropMessageTypes",
    "DropRate",
    "Delay",
    "SimTransport",
]


class Filter(Protocol):
    """Filter: called once per step with the messages of that step; returns the messages to deliver."""

    def before(self, msgs: list[RaftMessage]) -> list[RaftMessage]: ...


class DropFilter:
    """DropFilter drops every message for which `drop(msg)` is true."""

    def __init__(self, drop: Callable[[RaftMessage], bool]) -> None:
        self.drop = drop
        self.dropped = 0

    def before(self, msgs: list[RaftMessage]) -> list[RaftMessage]:
        kept = [m for m in msgs if not self.drop(m)]
        self.dropped += len(msgs) - len(kept)
        return kept


class PartitionFilter(DropFilter):
    """PartitionFilter: the stores of `groups` talk only within their own group (a store in no group is
    cut from everyone)."""

    def __init__(self, *groups: Iterable[int]) -> None:
        side = {store: i for i, group in enumerate(groups) for store in group}
        super().__init__(
            lambda m: side.get(m.from_peer.store_id, -1) != side.get(m.to_peer.store_id, -2)
        )


class IsolateStore(DropFilter):
    """IsolateStore drops every message from or to the store."""

    def __init__(self, store_id: int) -> None:
        super().__init__(lambda m: store_id in (m.from_peer.store_id, m.to_peer.store_id))


class DropMessageTypes(DropFilter):
    """DropMessageTypes drops raft messages of the given types (eraftpb MessageType values, e.g. MessageType.MsgAppend)."""

    def __init__(self, types: Collection[int]) -> None:
        kinds = frozenset(types)
        super().__init__(lambda m: m.message.msg_type in kinds)


class DropRate(DropFilter):
    """DropRate drops each message with probability `rate`, drawn from random.Random(seed)."""

    def __init__(self, rate: float, seed: int = 0) -> None:
        rng = random.Random(seed)
        super().__init__(lambda m: rng.random() < rate)


class Delay:
    """Delay holds every message back for `steps` steps (order kept), then delivers it."""

    def __init__(self, steps: int) -> None:
        self.steps = steps
        self._now = 0
        self._held: list[tuple[int, RaftMessage]] = []

    def before(self, msgs: list[RaftMessage]) -> list[RaftMessage]:
        self._now += 1
        self._held += [(self._now + self.steps, m) for m in msgs]
        due = [m for at, m in self._held if at <= self._now]
        self._held = [(at, m) for at, m in self._held if at > self._now]
        return due


class SimTransport:
    """SimTransport: messages sent during a step, delivered (filtered) at the next; counts what it saw."""

    def __init__(self) -> None:
        self.filters: list[Filter] = []
        self._in_flight: list[RaftMessage] = []
        self.sent = 0
        self.delivered = 0

    def send(self, msgs: list[RaftMessage]) -> None:
        self._in_flight.extend(msgs)
        self.sent += len(msgs)

    def take(self) -> list[RaftMessage]:
        """take is the messages to deliver now: those sent since the last take, through every filter."""
        msgs, self._in_flight = self._in_flight, []
        for f in self.filters:
            msgs = f.before(msgs)
        self.delivered += len(msgs)
        return msgs

    def add_filter(self, f: Filter) -> Filter:
        self.filters.append(f)
        return f

    def remove_filter(self, f: Filter) -> None:
        self.filters.remove(f)

    def clear_filters(self) -> None:
        self.filters.clear()

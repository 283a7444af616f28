"""raftstore.raft.read_only: linearizable read-only requests (ReadIndex), with raft-rs semantics.

A leader answers a read-only request with the commit index it had when the request arrived, once it
knows it is still the leader: under `ReadOnlyOption.SAFE` by a quorum of heartbeat acknowledgements
carrying the request's context, under `ReadOnlyOption.LEASE_BASED` at once (relying on its lease).
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass, field

from ..proto.eraftpb_pb2 import Message
from .errors import InvariantError

__all__ = ["ReadOnlyOption", "ReadState", "ReadIndexStatus", "ReadOnly"]


class ReadOnlyOption(enum.Enum):
    """ReadOnlyOption chooses how a leader proves it is still the leader before serving a read.

    SAFE: by a quorum of heartbeat acknowledgements (linearizable; the default).
    LEASE_BASED: by the leader lease; needs `check_quorum`, and is unsafe under unbounded clock drift.
    """

    SAFE = 0
    LEASE_BASED = 1


@dataclass(frozen=True, slots=True)
class ReadState:
    """ReadState: the answer to one read-only request.

    `index` is the commit index the read must wait to apply; `request_ctx` is the context the caller
    gave the request (the caller tells its requests apart by it, e.g. with a unique id).
    """

    index: int
    request_ctx: bytes


@dataclass(slots=True)
class ReadIndexStatus:
    """ReadIndexStatus: one pending request. `req` is the original MsgReadIndex (owned: a copy),
    `index` the leader's commit index when it arrived, `acks` the ids that acknowledged its heartbeat
    (always including the leader itself)."""

    req: Message
    index: int
    acks: set[int] = field(default_factory=set)


class ReadOnly:
    """ReadOnly: the leader's queue of pending read-only requests.

    Invariant: `read_index_queue` holds exactly the keys of `pending_read_index`, in arrival order,
    each once. A request's key is the data of its first entry (its context).
    """

    __slots__ = ("option", "pending_read_index", "read_index_queue")

    def __init__(self, option: ReadOnlyOption = ReadOnlyOption.SAFE) -> None:
        self.option: ReadOnlyOption = option
        self.pending_read_index: dict[bytes, ReadIndexStatus] = {}
        self.read_index_queue: deque[bytes] = deque()

    def add_request(self, index: int, req: Message, self_id: int) -> None:
        """add_request queues `req` (a MsgReadIndex, copied) answered at commit index `index`, acked by
        `self_id`. A request whose context is already pending is ignored."""
        ctx = bytes(req.entries[0].data)
        if ctx in self.pending_read_index:
            return
        owned = Message()
        owned.CopyFrom(req)
        self.pending_read_index[ctx] = ReadIndexStatus(owned, index, {self_id})
        self.read_index_queue.append(ctx)

    def recv_ack(self, id: int, ctx: bytes) -> set[int] | None:
        """recv_ack records that `id` acknowledged the heartbeat carrying `ctx`; returns the acks of
        that request so far, or None when no request with that context is pending."""
        rs = self.pending_read_index.get(bytes(ctx))
        if rs is None:
            return None
        rs.acks.add(id)
        return rs.acks

    def advance(self, ctx: bytes) -> list[ReadIndexStatus]:
        """advance dequeues and returns the requests up to and including the one with context `ctx`
        (a quorum acked it, so every earlier request is answered too); [] when `ctx` is not pending."""
        ctx = bytes(ctx)
        pos = -1
        for i, key in enumerate(self.read_index_queue):
            if key not in self.pending_read_index:
                raise InvariantError("cannot find correspond read state from pending map")
            if key == ctx:
                pos = i
                break
        rss: list[ReadIndexStatus] = []
        for _ in range(pos + 1):
            key = self.read_index_queue.popleft()
            rss.append(self.pending_read_index.pop(key))
        return rss

    def last_pending_request_ctx(self) -> bytes | None:
        """last_pending_request_ctx is the context of the newest pending request, or None."""
        if not self.read_index_queue:
            return None
        return self.read_index_queue[-1]

    def pending_read_count(self) -> int:
        """pending_read_count is the number of pending requests."""
        return len(self.read_index_queue)

    def __repr__(self) -> str:
        return f"ReadOnly(option={self.option}, pending={list(self.read_index_queue)!r})"

"""raftstore.store.lease: the leader lease that lets a leader serve reads without a raft round (TiKV's
Lease in raftstore/src/store/util.rs, reduced to what lease reads need).

Time is the driver's monotonic clock in units of base ticks (StoreCore.clock), never the count of ticks
the peer saw: a leader whose process was stopped (SIGSTOP, a long pause) ticks nothing meanwhile, yet
its clock moves on and its lease expires.

Safety: a follower that heard from the leader ignores vote requests for election_tick of its ticks (raft
check_quorum, thesis 4.2.3), so no other leader is elected before `send + election_tick` for any
message the leader sent at `send` that a quorum received. The lease bound is `send + max_lease` with
max_lease < election_tick, renewed only from rounds a quorum acknowledged: an entry of the leader's term
committed (the send time is when it was proposed, before its appends left), or a ReadIndex confirmed
(when it was asked, before its heartbeats left). A leader transfer lets the transferee campaign through
the followers' leases (MsgTimeoutNow), so starting one expires the lease, and none is renewed while it
runs.
"""

from __future__ import annotations

from collections import deque

__all__ = ["Lease"]


class Lease:
    """Lease: `bound` is when the lease ends (None: no lease); a read is served locally while now < bound.
    `marks` are (index, time) of the leader's appends not yet known committed, oldest first.

    Invariants: bound never moves backwards except by expire(); marks grow in index and time."""

    __slots__ = ("bound", "marks", "max_lease")

    def __init__(self, max_lease: float) -> None:
        self.max_lease = max_lease
        self.bound: float | None = None
        self.marks: deque[tuple[int, float]] = deque()

    def mark(self, index: int, send_ts: float) -> None:
        """mark: the leader appended up to index at send_ts (before its appends left)."""
        self.marks.append((index, send_ts))

    def on_committed(self, committed: int) -> None:
        """on_committed renews the lease from the newest mark a quorum has acknowledged (committed)."""
        marks = self.marks
        send_ts = None
        while marks and marks[0][0] <= committed:
            send_ts = marks.popleft()[1]
        if send_ts is not None:
            self.renew(send_ts)

    def renew(self, send_ts: float) -> None:
        """renew extends the lease to send_ts + max_lease: a quorum acknowledged what was sent at send_ts."""
        bound = send_ts + self.max_lease
        if self.bound is None or self.bound < bound:
            self.bound = bound

    def valid(self, now: float) -> bool:
        return self.bound is not None and now < self.bound

    def expire(self) -> None:
        """expire ends the lease and forgets the marks (leadership lost, or a transfer started)."""
        self.bound = None
        self.marks.clear()

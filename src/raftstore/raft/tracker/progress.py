"""raftstore.raft.tracker.progress: Progress, the leader's view of one peer's log."""

from __future__ import annotations

from ..errors import InvariantError
from ..util import INVALID_INDEX
from .inflights import Inflights
from .state import ProgressState

__all__ = ["Progress"]


class Progress:
    """Progress is what the leader knows of a peer's log and how it replicates to it (raft-rs semantics).

    Fields: `matched` (highest index known to be replicated on the peer), `next_idx` (next index to
    send; matched < next_idx once the leader has probed), `state` (ProgressState), `paused` (PROBE only:
    one message was sent this heartbeat interval), `pending_snapshot` (SNAPSHOT only: index of the
    snapshot in flight, 0 after a failure), `pending_request_snapshot` (index at which the peer asked for
    a snapshot, INVALID_INDEX if none), `recent_active` (heard from the peer since the last CheckQuorum
    round), `ins` (Inflights window, REPLICATE only), `commit_group_id` (group commit group, 0: none),
    `committed_index` (highest commit index the peer reported).
    """

    __slots__ = (
        "matched",
        "next_idx",
        "state",
        "paused",
        "pending_snapshot",
        "pending_request_snapshot",
        "recent_active",
        "ins",
        "commit_group_id",
        "committed_index",
    )

    def __init__(self, next_idx: int, ins_size: int) -> None:
        self.matched: int = 0
        self.next_idx: int = next_idx
        self.state: ProgressState = ProgressState.PROBE
        self.paused: bool = False
        self.pending_snapshot: int = 0
        self.pending_request_snapshot: int = 0
        self.recent_active: bool = False
        self.ins: Inflights = Inflights(ins_size)
        self.commit_group_id: int = 0
        self.committed_index: int = 0

    def clone(self) -> Progress:
        """clone is an independent copy (the inflights window included)."""
        pr = Progress(self.next_idx, 0)
        pr.matched = self.matched
        pr.state = self.state
        pr.paused = self.paused
        pr.pending_snapshot = self.pending_snapshot
        pr.pending_request_snapshot = self.pending_request_snapshot
        pr.recent_active = self.recent_active
        pr.ins = self.ins.clone()
        pr.commit_group_id = self.commit_group_id
        pr.committed_index = self.committed_index
        return pr

    def reset_state(self, state: ProgressState) -> None:
        """reset_state enters state, unpaused, with no pending snapshot and an empty inflights window."""
        self.paused = False
        self.pending_snapshot = 0
        self.state = state
        self.ins.reset()

    def reset(self, next_idx: int) -> None:
        """reset forgets everything about the peer (as a new leader does) and restarts at next_idx."""
        self.matched = 0
        self.next_idx = next_idx
        self.state = ProgressState.PROBE
        self.paused = False
        self.pending_snapshot = 0
        self.pending_request_snapshot = INVALID_INDEX
        self.recent_active = False
        self.ins.reset()

    def become_probe(self) -> None:
        """become_probe enters PROBE. After a snapshot, probing starts past the snapshot
        (max(matched, pending_snapshot) + 1); otherwise at matched + 1."""
        if self.state is ProgressState.SNAPSHOT:
            pending_snapshot = self.pending_snapshot
            self.reset_state(ProgressState.PROBE)
            self.next_idx = max(self.matched + 1, pending_snapshot + 1)
        else:
            self.reset_state(ProgressState.PROBE)
            self.next_idx = self.matched + 1

    def become_replicate(self) -> None:
        """become_replicate enters REPLICATE, sending from matched + 1."""
        self.reset_state(ProgressState.REPLICATE)
        self.next_idx = self.matched + 1

    def become_snapshot(self, snapshot_idx: int) -> None:
        """become_snapshot enters SNAPSHOT with the snapshot at snapshot_idx in flight."""
        self.reset_state(ProgressState.SNAPSHOT)
        self.pending_snapshot = snapshot_idx

    def snapshot_failure(self) -> None:
        """snapshot_failure forgets the pending snapshot."""
        self.pending_snapshot = 0

    def is_snapshot_caught_up(self) -> bool:
        """is_snapshot_caught_up tells whether, in SNAPSHOT, matched reached the pending snapshot."""
        return self.state is ProgressState.SNAPSHOT and self.matched >= self.pending_snapshot

    def maybe_update(self, n: int) -> bool:
        """maybe_update records that the peer has index n: False if n is stale (<= matched), else
        matched becomes n and the progress resumes; next_idx is raised to at least n + 1 either way."""
        need_update = self.matched < n
        if need_update:
            self.matched = n
            self.paused = False
        if self.next_idx < n + 1:
            self.next_idx = n + 1
        return need_update

    def update_committed(self, committed_index: int) -> None:
        """update_committed raises committed_index to committed_index if it is higher."""
        if committed_index > self.committed_index:
            self.committed_index = committed_index

    def optimistic_update(self, n: int) -> None:
        """optimistic_update sets next_idx to n + 1, ahead of any acknowledgement."""
        self.next_idx = n + 1

    def maybe_decr_to(self, rejected: int, match_hint: int, request_snapshot: int) -> bool:
        """maybe_decr_to handles a rejected append at index rejected (the peer's last index is
        match_hint). Returns False for a stale rejection. In REPLICATE, next_idx drops to matched + 1
        (or a snapshot request is recorded). Otherwise the rejection must be for next_idx - 1 (unless it
        requests a snapshot); next_idx drops to max(min(rejected, match_hint + 1), matched + 1), or the
        first snapshot request is recorded, and the progress resumes."""
        if self.state is ProgressState.REPLICATE:
            # Stale when below matched, or at matched without a snapshot request.
            if rejected < self.matched or (
                rejected == self.matched and request_snapshot == INVALID_INDEX
            ):
                return False
            if request_snapshot == INVALID_INDEX:
                self.next_idx = self.matched + 1
            else:
                self.pending_request_snapshot = request_snapshot
            return True

        # Stale unless it rejects next_idx - 1, except for a snapshot request.
        if (self.next_idx == 0 or self.next_idx - 1 != rejected) and request_snapshot == INVALID_INDEX:
            return False

        if request_snapshot == INVALID_INDEX:
            self.next_idx = min(rejected, match_hint + 1)
            if self.next_idx < self.matched + 1:
                self.next_idx = self.matched + 1
        elif self.pending_request_snapshot == INVALID_INDEX:
            # A snapshot may be requested in any state.
            self.pending_request_snapshot = request_snapshot
        self.paused = False
        return True

    def is_paused(self) -> bool:
        """is_paused tells whether sending appends must wait: PROBE when paused, REPLICATE when the
        inflights window is full, SNAPSHOT always."""
        state = self.state
        if state is ProgressState.PROBE:
            return self.paused
        if state is ProgressState.REPLICATE:
            return self.ins.full()
        return True

    def resume(self) -> None:
        """resume clears paused."""
        self.paused = False

    def pause(self) -> None:
        """pause sets paused."""
        self.paused = True

    def update_state(self, last: int) -> None:
        """update_state accounts for an append ending at last: REPLICATE moves next_idx past it and
        records it in flight; PROBE pauses. Raises InvariantError in SNAPSHOT."""
        state = self.state
        if state is ProgressState.REPLICATE:
            self.next_idx = last + 1
            self.ins.add(last)
        elif state is ProgressState.PROBE:
            self.paused = True
        else:
            raise InvariantError(
                f"updating progress state in unhandled state {state.name.capitalize()}"
            )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Progress):
            return NotImplemented
        return (
            self.matched == other.matched
            and self.next_idx == other.next_idx
            and self.state is other.state
            and self.paused == other.paused
            and self.pending_snapshot == other.pending_snapshot
            and self.pending_request_snapshot == other.pending_request_snapshot
            and self.recent_active == other.recent_active
            and self.ins == other.ins
            and self.commit_group_id == other.commit_group_id
            and self.committed_index == other.committed_index
        )

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return (
            f"Progress(matched={self.matched}, next_idx={self.next_idx}, state={self.state!s}, "
            f"paused={self.paused}, pending_snapshot={self.pending_snapshot}, "
            f"pending_request_snapshot={self.pending_request_snapshot}, "
            f"recent_active={self.recent_active}, ins={self.ins!r}, "
            f"commit_group_id={self.commit_group_id}, committed_index={self.committed_index})"
        )

"""raftstore.raft.status: Status, a snapshot of one Raft peer's state for monitoring (raft-rs Status)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..proto.eraftpb_pb2 import HardState
from .raft import Raft, SoftState, StateRole
from .tracker import ProgressTracker

__all__ = ["Status"]


@dataclass
class Status:
    """Status: the id, hard state, soft state and applied index of a peer; `progress` is the leader's
    ProgressTracker (a live reference, as raft-rs's borrow) and None on any other role."""

    id: int = 0
    hs: HardState = field(default_factory=HardState)
    ss: SoftState | None = None
    applied: int = 0
    progress: ProgressTracker | None = None

    @staticmethod
    def new(raft: Raft) -> Status:
        """Status.new: the current status of raft."""
        ss = raft.soft_state()
        return Status(
            id=raft.id,
            hs=raft.hard_state(),
            ss=ss,
            applied=raft.raft_log.applied,
            progress=raft.prs if ss.raft_state == StateRole.LEADER else None,
        )

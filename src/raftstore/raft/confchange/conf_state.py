"""raftstore.raft.confchange.conf_state: conf_state_eq (raft-proto's confstate.rs)."""

from __future__ import annotations

from ...proto.eraftpb_pb2 import ConfState

__all__ = ["conf_state_eq"]


def conf_state_eq(lhs: ConfState, rhs: ConfState) -> bool:
    """conf_state_eq tells whether lhs and rhs describe the same configuration: the same voters,
    learners, outgoing voters and learners_next in any order, and the same auto_leave."""
    if lhs.auto_leave != rhs.auto_leave:
        return False
    return (
        set(lhs.voters) == set(rhs.voters)
        and set(lhs.learners) == set(rhs.learners)
        and set(lhs.voters_outgoing) == set(rhs.voters_outgoing)
        and set(lhs.learners_next) == set(rhs.learners_next)
    )

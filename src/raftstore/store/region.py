"""raftstore.store.region: what a region's metadata says about its raft group.

A leaf module (it imports only the protobuf classes), so that PeerStorage, the snapshot package and the
store can all use it without an import cycle.
"""

from __future__ import annotations

from ..proto.eraftpb_pb2 import ConfState
from ..proto.metapb_pb2 import PeerRole, Region

__all__ = ["is_region_initialized", "conf_state_from_region"]


def is_region_initialized(region: Region) -> bool:
    """is_region_initialized: a region is initialized once it knows its peers (TiKV's rule)."""
    return len(region.peers) > 0


def conf_state_from_region(region: Region) -> ConfState:
    """conf_state_from_region derives raft's ConfState from the region's peers and their roles.

    Voters vote in both halves of a joint configuration; an IncomingVoter only in the incoming half, a
    DemotingVoter only in the outgoing half (and becomes a learner next); outside a joint configuration
    voters_outgoing is empty.
    """
    cs = ConfState()
    in_joint = False
    for p in region.peers:
        if p.role == PeerRole.Voter:
            cs.voters.append(p.id)
            cs.voters_outgoing.append(p.id)
        elif p.role == PeerRole.Learner:
            cs.learners.append(p.id)
        elif p.role == PeerRole.IncomingVoter:
            in_joint = True
            cs.voters.append(p.id)
        elif p.role == PeerRole.DemotingVoter:
            in_joint = True
            cs.voters_outgoing.append(p.id)
            cs.learners_next.append(p.id)
    if not in_joint:
        del cs.voters_outgoing[:]
    return cs

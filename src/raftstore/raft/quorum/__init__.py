"""raftstore.raft.quorum: majority and joint quorums (raft-rs's `quorum` module).

`MajorityConfig` is a set of voter ids deciding by simple majority; `JointConfig` pairs an incoming and an
outgoing MajorityConfig and needs both to agree. Both compute committed indexes from an `AckedIndexer`
and election outcomes (`VoteResult`) from a vote lookup.
"""

from __future__ import annotations

from .base import U64_MAX, AckedIndexer, AckIndexer, Index, VoteResult
from .joint import JointConfig, Union
from .majority import MajorityConfig

__all__ = [
    "U64_MAX",
    "AckedIndexer",
    "AckIndexer",
    "Index",
    "VoteResult",
    "JointConfig",
    "Union",
    "MajorityConfig",
]

"""raftstore.raft.quorum.base: VoteResult, Index and the AckedIndexer protocol shared by the quorums."""

from __future__ import annotations

import enum
from typing import Protocol

from ..util import NO_LIMIT

__all__ = ["U64_MAX", "VoteResult", "Index", "AckedIndexer", "AckIndexer"]

# U64_MAX is raft-rs's u64::MAX: the committed index of an empty majority ("everything is committed"),
# so that a joint quorum with one empty half behaves like its other half.
U64_MAX = NO_LIMIT


class VoteResult(enum.Enum):
    """VoteResult is the outcome of a vote: PENDING until a quorum says yes (WON) or no (LOST)."""

    PENDING = 0
    LOST = 1
    WON = 2

    def __str__(self) -> str:
        return _VOTE_RESULT_NAMES[self]


_VOTE_RESULT_NAMES: dict[VoteResult, str] = {
    VoteResult.PENDING: "VotePending",
    VoteResult.LOST: "VoteLost",
    VoteResult.WON: "VoteWon",
}


class Index:
    """Index is a Raft log position acknowledged by a voter, with the voter's commit group (0: none).

    A value type (raft-rs's Copy struct): treat instances as immutable; equal when both fields are.
    """

    __slots__ = ("index", "group_id")

    def __init__(self, index: int = 0, group_id: int = 0) -> None:
        self.index = index
        self.group_id = group_id

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Index):
            return NotImplemented
        return self.index == other.index and self.group_id == other.group_id

    def __hash__(self) -> int:
        return hash((self.index, self.group_id))

    def __repr__(self) -> str:
        return f"Index(index={self.index}, group_id={self.group_id})"

    def __str__(self) -> str:
        idx = "∞" if self.index == U64_MAX else str(self.index)
        if self.group_id == 0:
            return idx
        return f"[{self.group_id}]{idx}"


class AckedIndexer(Protocol):
    """AckedIndexer looks up the index a voter has acknowledged; None when nothing is known of it."""

    def acked_index(self, voter_id: int) -> Index | None: ...


class AckIndexer(dict[int, Index]):
    """AckIndexer is the plain AckedIndexer: a dict from voter id to its acknowledged Index."""

    def acked_index(self, voter_id: int) -> Index | None:
        return self.get(voter_id)

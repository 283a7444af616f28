"""raftstore.raft.tracker.state: ProgressState, how the leader replicates to one peer."""

from __future__ import annotations

import enum

__all__ = ["ProgressState"]


class ProgressState(enum.Enum):
    """ProgressState is the replication state of a peer as seen by the leader.

    PROBE (the default): at most one append per heartbeat interval while the peer's log position is
    found. REPLICATE: appends are streamed optimistically, bounded by the inflight window. SNAPSHOT: a
    snapshot is in flight and no appends are sent. `str()` gives raft-rs's names ("StateProbe", ...).
    """

    PROBE = 0
    REPLICATE = 1
    SNAPSHOT = 2

    def __str__(self) -> str:
        return _NAMES[self]


_NAMES: dict[ProgressState, str] = {
    ProgressState.PROBE: "StateProbe",
    ProgressState.REPLICATE: "StateReplicate",
    ProgressState.SNAPSHOT: "StateSnapshot",
}

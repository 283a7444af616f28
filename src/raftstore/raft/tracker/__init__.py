"""raftstore.raft.tracker: what the leader tracks of each peer (raft-rs's `tracker` module).

`Progress` (one peer's log position and replication state), `Inflights` (its window of unacknowledged
appends), `ProgressState`, and `ProgressTracker` (the configuration, every peer's Progress and the
votes of the current election).
"""

from __future__ import annotations

from .inflights import Inflights
from .progress import Progress
from .progress_tracker import Configuration, MapChange, MapChangeType, ProgressMap, ProgressTracker
from .state import ProgressState

__all__ = [
    "Inflights",
    "Progress",
    "ProgressState",
    "Configuration",
    "MapChange",
    "MapChangeType",
    "ProgressMap",
    "ProgressTracker",
]

"""raftstore.raft.errors: the errors of the consensus core, raised (never returned).

The tree::

    RaftError                          root of every error the core raises on purpose
    ├── StorageError                   raft-rs StorageError; plain instances are StorageError::Other
    │   ├── CompactedError             the requested index is below the first index
    │   ├── UnavailableError           the requested index is above the last index
    │   ├── LogTemporarilyUnavailableError   entries are being fetched asynchronously
    │   ├── SnapshotOutOfDateError     the snapshot is older than what is asked for
    │   └── SnapshotTemporarilyUnavailableError   the snapshot is being generated: try later
    ├── ProposalDroppedError           no leader, a leader transfer, or a full uncommitted log
    ├── RequestSnapshotDroppedError    request_snapshot was refused (not a follower, or pending)
    ├── StepLocalMsgError              a local message (MsgHup, MsgBeat, ...) given to RawNode.step
    ├── StepPeerNotFoundError          a response from a peer the tracker does not know
    ├── ConfigInvalidError             Config.validate failed
    ├── ConfChangeError                a conf change that cannot be applied
    ├── ExistsError                    a node is already in a set
    └── NotExistsError                 a node is not in a set
    InvariantError                     a broken invariant (where raft-rs panics); separate root, never caught

Two errors compare equal when they are of the same class and carry the same message, as raft-rs's
PartialEq does for its variants.
"""

from __future__ import annotations

__all__ = [
    "RaftError",
    "StorageError",
    "CompactedError",
    "UnavailableError",
    "LogTemporarilyUnavailableError",
    "SnapshotOutOfDateError",
    "SnapshotTemporarilyUnavailableError",
    "ProposalDroppedError",
    "RequestSnapshotDroppedError",
    "StepLocalMsgError",
    "StepPeerNotFoundError",
    "ConfigInvalidError",
    "ConfChangeError",
    "ExistsError",
    "NotExistsError",
    "InvariantError",
]


class RaftError(Exception):
    """RaftError is the root of the errors the consensus core raises."""

    default_message = "raft error"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message if message is not None else self.default_message)

    def __eq__(self, other: object) -> bool:
        return type(self) is type(other) and self.args == other.args  # type: ignore[union-attr]

    def __hash__(self) -> int:
        return hash((type(self), self.args))


class StorageError(RaftError):
    """StorageError is an error of a Storage; a plain instance is raft-rs's StorageError::Other."""

    default_message = "unknown storage error"


class CompactedError(StorageError):
    default_message = "log compacted"


class UnavailableError(StorageError):
    default_message = "log unavailable"


class LogTemporarilyUnavailableError(StorageError):
    default_message = "log is temporarily unavailable"


class SnapshotOutOfDateError(StorageError):
    default_message = "snapshot out of date"


class SnapshotTemporarilyUnavailableError(StorageError):
    default_message = "snapshot is temporarily unavailable"


class ProposalDroppedError(RaftError):
    default_message = "raft: proposal dropped"


class RequestSnapshotDroppedError(RaftError):
    default_message = "raft: request snapshot dropped"


class StepLocalMsgError(RaftError):
    default_message = "raft: cannot step raft local message"


class StepPeerNotFoundError(RaftError):
    default_message = "raft: cannot step as peer not found"


class ConfigInvalidError(RaftError):
    default_message = "invalid config"


class ConfChangeError(RaftError):
    default_message = "invalid conf change"


class ExistsError(RaftError):
    """ExistsError: the node is already in the named set."""

    def __init__(self, id: int, set_name: str) -> None:
        super().__init__(f"The node {id} already exists in the {set_name} set.")


class NotExistsError(RaftError):
    """NotExistsError: the node is not in the named set."""

    def __init__(self, id: int, set_name: str) -> None:
        super().__init__(f"The node {id} is not in the {set_name} set.")


class InvariantError(Exception):
    """InvariantError: an invariant is broken where raft-rs panics. Never caught inside the library."""

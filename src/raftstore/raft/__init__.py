"""raftstore.raft: a sans-IO Raft consensus core with raft-rs semantics.

Nothing in this package touches disk, sockets, threads, clocks or RocksDB: time is `tick()`, randomness
is a `random.Random` per Raft, and the core is driven only through RawNode and Ready.
"""

from ..proto.eraftpb_pb2 import (
    ConfChange,
    ConfChangeSingle,
    ConfChangeTransition,
    ConfChangeType,
    ConfChangeV2,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    Snapshot,
    SnapshotMetadata,
)
from .errors import (
    CompactedError,
    ConfChangeError,
    ConfigInvalidError,
    ExistsError,
    InvariantError,
    LogTemporarilyUnavailableError,
    NotExistsError,
    ProposalDroppedError,
    RaftError,
    RequestSnapshotDroppedError,
    SnapshotOutOfDateError,
    SnapshotTemporarilyUnavailableError,
    StepLocalMsgError,
    StepPeerNotFoundError,
    StorageError,
    UnavailableError,
)
from .util import INVALID_ID, INVALID_INDEX, NO_LIMIT, limit_size
from .storage import GetEntriesContext, GetEntriesFor, MemStorage, MemStorageCore, RaftState, Storage
from .log_unstable import Unstable
from .raft_log import RaftLog

__all__ = [
    "GetEntriesContext",
    "GetEntriesFor",
    "MemStorage",
    "MemStorageCore",
    "RaftState",
    "Storage",
    "Unstable",
    "RaftLog",
    "ConfChange",
    "ConfChangeSingle",
    "ConfChangeTransition",
    "ConfChangeType",
    "ConfChangeV2",
    "ConfState",
    "Entry",
    "EntryType",
    "HardState",
    "Message",
    "MessageType",
    "Snapshot",
    "SnapshotMetadata",
    "CompactedError",
    "ConfChangeError",
    "ConfigInvalidError",
    "ExistsError",
    "InvariantError",
    "LogTemporarilyUnavailableError",
    "NotExistsError",
    "ProposalDroppedError",
    "RaftError",
    "RequestSnapshotDroppedError",
    "SnapshotOutOfDateError",
    "SnapshotTemporarilyUnavailableError",
    "StepLocalMsgError",
    "StepPeerNotFoundError",
    "StorageError",
    "UnavailableError",
    "INVALID_ID",
    "INVALID_INDEX",
    "NO_LIMIT",
    "limit_size",
]

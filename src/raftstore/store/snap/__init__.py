"""raftstore.store.snap: region snapshots — generation, the snapshot manager, transfer, apply.

- files: a snapshot's files (SnapKey, names, meta, verification); see docs/snapshots.md for the layout;
- manager: SnapManager (registry of snapshots in use, size limit, GC, receive slots, IO rate limit);
- gen: generate_snapshot / SnapGenerator / SnapWorker (complete a PeerStorage GenSnapTask);
- transfer: the chunked, resumable protocol (SnapSender, SnapReceiver);
- apply: the apply job (apply_snapshot, handle_apply, ApplySnapTask, SnapApplyWorker);
- status: apply job statuses and the peer's snapshot state (TiKV's tables);
- errors: the SnapError tree.
"""

from .apply import (
    ApplySnapTask,
    SnapApplyWorker,
    apply_snapshot,
    applying_snap_key,
    handle_apply,
)
from .errors import (
    SnapAbortedError,
    SnapCorruptionError,
    SnapError,
    SnapInUseError,
    SnapIOError,
    SnapNotFoundError,
    SnapStatusError,
    SnapTransferError,
    TooManyReceivesError,
    TooManySnapshotsError,
)
from .files import SNAPSHOT_CFS, SnapFiles, SnapKey
from .gen import (
    BuildProgress,
    GenSnapRequest,
    SnapGenerator,
    SnapWorker,
    build_snapshot,
    generate_snapshot,
)
from .manager import SnapEntry, SnapManager
from .status import (
    TRANSITIONS,
    ApplySnapState,
    ApplyStatus,
    CheckApplyingSnapStatus,
    JobStatus,
    SnapStateKind,
)
from .task import GenSnapTask
from .transfer import (
    CHUNK_SIZE,
    FileChunk,
    FileHeader,
    ReceiveState,
    SnapHeader,
    SnapReceiver,
    SnapSender,
    SnapStreamSender,
    transfer,
)

__all__ = [
    "applying_snap_key",
    "apply_snapshot",
    "ApplySnapTask",
    "SnapApplyWorker",
    "handle_apply",
    "SnapAbortedError",
    "SnapCorruptionError",
    "SnapError",
    "SnapInUseError",
    "SnapIOError",
    "SnapNotFoundError",
    "SnapStatusError",
    "SnapTransferError",
    "TooManyReceivesError",
    "TooManySnapshotsError",
    "SNAPSHOT_CFS",
    "SnapFiles",
    "SnapKey",
    "BuildProgress",
    "GenSnapRequest",
    "SnapGenerator",
    "SnapWorker",
    "build_snapshot",
    "generate_snapshot",
    "GenSnapTask",
    "SnapEntry",
    "SnapManager",
    "TRANSITIONS",
    "ApplySnapState",
    "ApplyStatus",
    "CheckApplyingSnapStatus",
    "JobStatus",
    "SnapStateKind",
    "CHUNK_SIZE",
    "FileChunk",
    "SnapHeader",
    "SnapReceiver",
    "SnapSender",
    "SnapStreamSender",
    "FileHeader",
    "ReceiveState",
    "transfer",
]

"""raftstore.store.snap.errors: the errors of region snapshots (generation, transfer, apply).

The tree::

    StoreError (raftstore.store.errors)
    └── SnapError                     root of every snapshot error
        ├── SnapAbortedError          the job was cancelled (TiKV's Abort)
        ├── SnapNotFoundError         no complete snapshot with this key on disk
        ├── SnapCorruptionError       a meta or data file does not verify (size, CRC32, format)
        ├── SnapInUseError            the snapshot is registered as in use and cannot be deleted
        ├── TooManySnapshotsError     the total-size limit is reached and no idle snapshot can be evicted
        ├── TooManyReceivesError      the concurrent-receive limit is reached
        ├── SnapStatusError           an apply job status change its transition table forbids
        ├── SnapTransferError         a chunk stream that breaks the protocol (dropped/duplicated chunk,
        │                             a chunk that fails its checksum, an unknown file, a bad header)
        └── SnapIOError               the file system failed (the OSError is its __cause__)
"""

from __future__ import annotations

from ..errors import StoreError

__all__ = [
    "SnapError",
    "SnapAbortedError",
    "SnapNotFoundError",
    "SnapCorruptionError",
    "SnapInUseError",
    "TooManySnapshotsError",
    "TooManyReceivesError",
    "SnapStatusError",
    "SnapTransferError",
    "SnapIOError",
]


class SnapError(StoreError):
    """SnapError is the root of the snapshot errors."""


class SnapAbortedError(SnapError):
    """SnapAbortedError: the generation or apply was cancelled at one of its abort checks.

    A cancelled generation removed its temporary files; a cancelled apply may have deleted the region's
    data range but never wrote PeerState Normal, so the region stays Applying and the next start applies
    again. The caller reports the job as cancelled (JobStatus.CANCELLED) and does not retry by itself.
    """


class SnapNotFoundError(SnapError):
    """SnapNotFoundError: the snapshot's meta file or one of its data files is missing.

    Nothing was changed. A sender generates the snapshot again; an apply fails (the peer is destroyed
    and caught up by a new snapshot).
    """


class SnapCorruptionError(SnapError):
    """SnapCorruptionError: a meta file does not parse, or a data file's size or CRC32 differs from the meta.

    Nothing was published or applied. The damaged snapshot should be deleted: a generator rebuilds it,
    a receiver drops the transfer (the sender's files are bad: it must generate again), an apply fails.
    """


class SnapInUseError(SnapError):
    """SnapInUseError: the snapshot is registered (generating, sending, receiving or applying).

    Nothing was deleted; the caller tries again once the snapshot is idle.
    """


class TooManySnapshotsError(SnapError):
    """TooManySnapshotsError: the snapshots on disk exceed the manager's total-size limit and every one
    of them is in use, so none could be evicted. Nothing was built; the caller fails this generation
    (raft asks again later) once some snapshot is sent, applied or deleted."""


class TooManyReceivesError(SnapError):
    """TooManyReceivesError: the receiver already has its limit of concurrent receives open.

    Nothing was received or created; the sender retries later (TiKV's receivers answer the same way).
    """


class SnapStatusError(SnapError):
    """SnapStatusError: a change of an apply job's status that status.TRANSITIONS forbids (a bug in the
    caller). The status is unchanged; the caller must not go on as if the change had happened."""


class SnapTransferError(SnapError):
    """SnapTransferError: the chunk stream broke the protocol (a dropped, duplicated or reordered chunk, a
    chunk failing its checksum, an unknown file, or a header that does not describe a snapshot).

    Nothing was published. The chunk was not written: the receiver keeps every chunk verified before it
    and `resume_point()` tells the sender where to continue.
    """


class SnapIOError(SnapError):
    """SnapIOError: the file system failed (the OSError is __cause__). Temporary files may remain; nothing
    was published. The caller fails the job; SnapManager.init() removes temporary files at the next start."""

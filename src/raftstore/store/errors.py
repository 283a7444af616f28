"""raftstore.store.errors: the errors of the store layer.

The tree::

    StoreError                      root of every error the store layer raises on purpose; raised as such
                                    by write_tasks when a round fails (the engines then refuse writes)
    ├── InvalidStateError           persisted state fails validation (names the region; nothing is written)
    │   └── RegionCorruptionError   the region's persisted data is damaged (an engine read failed or the
    │                               log has a hole): never reported as a compacted or empty log
    ├── CompactLogError             compact_raft_log was asked for an index or term it cannot take
    ├── RegionNotFoundError         a region the store does not host
    ├── PeerTombstoneError          the peer was destroyed; its state is a tombstone
    └── StoreIdentError             the data directory belongs to another store or cluster, or has no
                                    store identity (nothing is written)

Storage methods of PeerStorage raise raft's errors (raftstore.raft.errors), as raft expects; engine errors
(raftstore.engine.errors) are converted to StoreError where they cross into this layer.
"""

from __future__ import annotations

__all__ = [
    "StoreError",
    "InvalidStateError",
    "RegionCorruptionError",
    "CompactLogError",
    "RegionNotFoundError",
    "PeerTombstoneError",
    "StoreIdentError",
]


class StoreError(Exception):
    """StoreError is the root of the store layer's errors.

    Raised as such by write_tasks, a failed write round is fatal to the engines: both refuse every further
    write (naming the first failure) until reopened, the KV batch may be durable without the raft batch,
    and the PeerStorages that staged the round are ahead of the disk. The owner must not retry: it drops
    its PeerStorages, closes and reopens the engines and builds its peers again from disk.
    """


class InvalidStateError(StoreError):
    """InvalidStateError: persisted state is inconsistent; the message names the region by its id and the
    check that failed. Nothing is written or reset; the region cannot be served from this state."""

    def __init__(self, region_id: int, reason: str) -> None:
        super().__init__(f"[region {region_id}] invalid persisted state: {reason}")
        self.region_id = region_id
        self.reason = reason


class RegionCorruptionError(InvalidStateError):
    """RegionCorruptionError: the region's persisted data is damaged (checksum failure, a hole in the log).

    Nothing is written. The peer cannot serve from this data: its owner must stop it and rebuild the
    region from a replica (a snapshot) or restore the engines; retrying the read fails the same way.
    """


class CompactLogError(StoreError):
    """CompactLogError: a compact-log request that the apply state cannot take."""


class RegionNotFoundError(StoreError):
    """RegionNotFoundError: the store hosts no peer of this region."""

    def __init__(self, region_id: int) -> None:
        super().__init__(f"region {region_id} not found")
        self.region_id = region_id


class PeerTombstoneError(StoreError):
    """PeerTombstoneError: the peer of this region was destroyed."""

    def __init__(self, region_id: int) -> None:
        super().__init__(f"[region {region_id}] peer is a tombstone")
        self.region_id = region_id


class StoreIdentError(StoreError):
    """StoreIdentError: the engines' StoreIdent (at STORE_IDENT_KEY) does not name this cluster and store,
    is missing where it must exist, or exists where a fresh store was expected. Nothing is written: the
    caller must point the store at its own data directory (or bootstrap an empty one)."""

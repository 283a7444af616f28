"""raftstore.engine.base: the interfaces in front of the engines.

PeerStorage and the store see the engines only through these Protocols, so that an in-memory engine can
back pure-logic unit tests. Both engines of a store have the same shape: a KV engine with the column
families CF_DEFAULT, CF_LOCK, CF_WRITE and CF_RAFT, and a raft engine that uses CF_DEFAULT only.

Keys and values are bytes. Ranges are half-open, [start, end); end None means unbounded.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Protocol

__all__ = [
    "CF_DEFAULT",
    "CF_LOCK",
    "CF_WRITE",
    "CF_RAFT",
    "ALL_CFS",
    "DATA_CFS",
    "WriteBatch",
    "Readable",
    "KvEngine",
    "RaftEngine",
    "EngineStats",
    "SstWriter",
]

CF_DEFAULT = "default"
CF_LOCK = "lock"
CF_WRITE = "write"
CF_RAFT = "raft"
# ALL_CFS are the column families of the KV engine; DATA_CFS those that hold user data.
ALL_CFS = (CF_DEFAULT, CF_LOCK, CF_WRITE, CF_RAFT)
DATA_CFS = (CF_DEFAULT, CF_LOCK, CF_WRITE)


class EngineStats:
    """EngineStats counts what an engine did; an operator reads it, tests assert on it.

    `writes` counts write() calls, `synced_writes` those made with sync=True (one fsync of the WAL each),
    `bytes_written` the data size of the batches written.
    """

    __slots__ = ("writes", "synced_writes", "bytes_written")

    def __init__(self) -> None:
        self.writes = 0
        self.synced_writes = 0
        self.bytes_written = 0


class WriteBatch(Protocol):
    """WriteBatch collects puts and deletes that one write() applies atomically, in order."""

    def put(self, cf: str, key: bytes, value: bytes) -> None: ...

    def put_many(self, cf: str, items: Sequence[tuple[bytes, bytes]]) -> None:
        """put_many puts every (key, value) of items, in order (the hot path of log appends)."""
        ...

    def delete(self, cf: str, key: bytes) -> None: ...

    def delete_range(self, cf: str, start: bytes, end: bytes) -> None: ...

    def count(self) -> int:
        """count is the number of operations in the batch."""
        ...

    def data_size(self) -> int:
        """data_size is the batch's size in bytes (keys and values)."""
        ...

    def is_empty(self) -> bool: ...

    def clear(self) -> None: ...


class Readable(Protocol):
    """Readable is what both an engine and a consistent snapshot of it can answer."""

    def get(self, cf: str, key: bytes) -> bytes | None: ...

    def scan(
        self, cf: str, start: bytes, end: bytes | None, *, reverse: bool = False, limit: int | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        """scan yields (key, value) for start <= key < end in key order (descending when reverse)."""
        ...


class KvEngine(Readable, Protocol):
    """KvEngine is one database with column families: write batches, synced writes, snapshots.

    A write that fails in the storage (an I/O error: a full disk, a failed fsync) fails the engine: it raises
    EngineIOError, and every later write (write, put, delete, delete_range, sync_wal, ingest_sst) raises
    EngineFailedError naming that first failure until the engine is closed and reopened."""

    stats: EngineStats

    def write_batch(self) -> WriteBatch: ...

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        """write applies the batch atomically; with sync the WAL is fsynced before it returns."""
        ...

    def put(self, cf: str, key: bytes, value: bytes) -> None: ...

    def delete(self, cf: str, key: bytes) -> None: ...

    def delete_range(self, cf: str, start: bytes, end: bytes) -> None: ...

    def snapshot(self) -> Readable:
        """snapshot is a consistent, read-only view of the engine as of now."""
        ...

    def sync_wal(self) -> None: ...

    @property
    def failed(self) -> str | None:
        """failed is the engine's first write failure (or the reason given to fail()); None while it writes."""
        ...

    def fail(self, reason: str) -> None:
        """fail makes the engine refuse every further write with EngineFailedError naming `reason`, until it is
        closed and reopened (a write that RocksDB fails does this itself); reads keep working."""
        ...

    def close(self) -> None: ...

    def sst_writer(self, cf: str, path: str) -> SstWriter:
        """sst_writer makes a writer of an SST file at path that ingest_sst(cf, ...) of this engine's kind
        takes (see raftstore.engine.sst)."""
        ...

    def ingest_sst(self, cf: str, paths: Sequence[str]) -> None:
        """ingest_sst adds the SST files at paths to cf, their keys overwriting existing ones; the files
        themselves are left unchanged (they can be ingested again)."""
        ...


# RaftEngine has the KV engine's shape; raftstore keeps raft logs and RaftLocalStates in its CF_DEFAULT.
RaftEngine = KvEngine


class SstWriter(Protocol):
    """SstWriter writes one SST file of sorted, unique keys (see raftstore.engine.sst)."""

    def put(self, key: bytes, value: bytes) -> None:
        """put appends (key, value); key must be greater than every key put before."""
        ...

    def file_size(self) -> int:
        """file_size is the file's size so far (an estimate until finish)."""
        ...

    def finish(self) -> int:
        """finish completes the file and returns its size (not yet fsynced); an empty writer raises
        EngineIOError (RocksDB cannot make an empty SST file)."""
        ...

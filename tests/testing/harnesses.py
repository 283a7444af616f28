"""tests.testing.harnesses: StorageHarness adapters of the conformance suite for PeerStorage (on RocksDB
and on the in-memory engines), and deliberately broken MemStorages that the suite must catch."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from raftstore.engine.engines import Engines, memory_engines, open_engines
from raftstore.proto.eraftpb_pb2 import Entry, HardState, Snapshot
from raftstore.raft.errors import SnapshotTemporarilyUnavailableError
from raftstore.raft.storage import GetEntriesContext, MemStorage, Storage
from raftstore.store import PeerStorage, WriteTask, write_tasks
from raftstore.store.snap import SnapGenerator
from raftstore.testing.storage_suite import MemStorageHarness, StorageHarness

from ..store.helpers import new_storage_from_ents, uninitialized_region
from ..store.snap.helpers import new_manager, snap_region

# _SNAPSHOT_TRIES: snapshot() calls before the harness gives up on a generation.
_SNAPSHOT_TRIES = 3


class PeerStorageHarness(StorageHarness):
    """PeerStorageHarness drives PeerStorage through its write path: every change is staged into a WriteTask,
    written with write_tasks (KV then raft batch, synced) and acknowledged with on_persisted, so reopen()
    (a new PeerStorage, on engines closed and opened again for RocksDB) sees only what is durable. Each
    new_storage() bootstraps a new region (ids 1, 2, ...; voters 1..3, peer 1) on the same engines."""

    persistent = True

    def __init__(self, path: Path, *, rocksdb: bool) -> None:
        self.path = path
        self.rocksdb = rocksdb
        self.engines: Engines = open_engines(path / "db") if rocksdb else memory_engines()
        self.mgr = new_manager(path / "snap")
        self._regions = 0
        self._ready = 0

    def new_storage(self, ents: Sequence[Entry]) -> PeerStorage:
        self._regions += 1
        return new_storage_from_ents(self.engines, list(ents), snap_region(self._regions))

    def _write(self, storage: Storage, stage: Callable[[PeerStorage, WriteTask], None]) -> None:
        ps = _peer(storage)
        self._ready += 1
        task = WriteTask(ps.region.id, ps.peer_id, self._ready)
        stage(ps, task)
        write_tasks(self.engines, [task])
        ps.on_persisted(task)

    def append(self, storage: Storage, ents: Sequence[Entry]) -> None:
        self._write(storage, lambda ps, task: ps.append(list(ents), task))

    def compact(self, storage: Storage, index: int) -> None:
        if index > storage.first_index():
            self._write(storage, lambda ps, task: ps.compact_to(index - 1, ps.term(index - 1), task))

    def set_hard_state(self, storage: Storage, hs: HardState) -> None:
        self._write(storage, lambda ps, task: ps.set_hard_state(hs, task))

    def snapshot(self, storage: Storage, request_index: int, to: int) -> Snapshot:
        """snapshot runs PeerStorage's asynchronous generation: the first call schedules it, the generator
        runs it here (as the snapshot worker would), the next call returns the snapshot."""
        ps = _peer(storage)
        generator = SnapGenerator(self.mgr, self.engines.kv)
        for _ in range(_SNAPSHOT_TRIES):
            try:
                return ps.snapshot(request_index, to)
            except SnapshotTemporarilyUnavailableError:
                request = ps.take_gen_snap_request()
                if request is not None:
                    generator.handle(request)
        return ps.snapshot(request_index, to)

    def new_uninitialized(self) -> PeerStorage:
        return PeerStorage(self.engines, uninitialized_region(1000), 4)

    def reopen(self, storage: Storage) -> PeerStorage:
        ps = _peer(storage)
        if self.rocksdb:
            self.engines.close()
            self.engines = open_engines(self.path / "db")
        return PeerStorage(self.engines, ps.region, ps.peer_id)

    def close(self) -> None:
        self.engines.close()


def _peer(storage: Storage) -> PeerStorage:
    assert isinstance(storage, PeerStorage)
    return storage


class OffByOneTermStorage(MemStorage):
    """OffByOneTermStorage: a broken MemStorage whose term() of every stored entry is one too high."""

    __slots__ = ()

    def term(self, idx: int) -> int:
        return super().term(idx) + (1 if idx >= self.first_index() else 0)


class UnlimitedEntriesStorage(MemStorage):
    """UnlimitedEntriesStorage: a broken MemStorage whose entries() ignores max_size."""

    __slots__ = ()

    def entries(
        self, low: int, high: int, max_size: int | None = None, context: GetEntriesContext | None = None
    ) -> list[Entry]:
        return super().entries(low, high, None, context)


class OffByOneTermHarness(MemStorageHarness):
    storage_class = OffByOneTermStorage


class UnlimitedEntriesHarness(MemStorageHarness):
    storage_class = UnlimitedEntriesStorage

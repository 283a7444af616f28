"""write_tasks: engine failures become StoreError and stop the engines; WriteTask.set_append merges appends."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import pytest

from raftstore.engine.base import ALL_CFS, CF_DEFAULT, CF_RAFT, WriteBatch
from raftstore.engine.engines import Engines, open_engines
from raftstore.engine.errors import EngineFailedError, EngineIOError
from raftstore.engine.memory import MemEngine
from raftstore.proto.eraftpb_pb2 import Entry, HardState
from raftstore.store import PeerStorage, StoreError, WriteTask, write_initial_states, write_initial_states_many, write_tasks

from ..helpers import remount, tmpfs
from .helpers import new_entry, new_region, new_storage_from_ents, plain, raft_log_indexes


def _staged(engines: Engines) -> tuple[PeerStorage, WriteTask]:
    write_initial_states(engines, new_region(1))
    ps = PeerStorage(engines, new_region(1), 1)
    task = WriteTask(1, 1, 1)
    ps.append([new_entry(6, 5), new_entry(7, 5)], task)
    ps.save_apply_state_to(task)
    return ps, task


@pytest.mark.parametrize("closed", ["kv", "raft"])
def test_write_tasks_on_a_closed_engine_raises_store_error(engines: Engines, closed: str) -> None:
    """An engine that fails (here: closed) makes write_tasks raise StoreError, never an engine error."""
    _, task = _staged(engines)
    getattr(engines, closed).close()
    with pytest.raises(StoreError) as info:
        write_tasks(engines, [task])
    assert "write round of 1 tasks failed" in str(info.value)


def test_kv_failure_writes_nothing_of_the_raft_batch(engines: Engines) -> None:
    """When the KV batch fails, the raft batch (entries, raft state) is not written either."""
    _, task = _staged(engines)
    kv_write = engines.kv.write

    def failing_write(batch: object, *, sync: bool = False) -> None:
        engines.kv.close()
        kv_write(batch, sync=sync)  # type: ignore[arg-type]

    engines.kv.write = failing_write  # type: ignore[method-assign]
    with pytest.raises(StoreError):
        write_tasks(engines, [task])
    assert raft_log_indexes(engines, 1) == []


class FailingWriteEngine(MemEngine):
    """FailingWriteEngine: a MemEngine whose next write() raises `error` (an I/O error RocksDB reported)."""

    def __init__(self, cfs: tuple[str, ...], name: str) -> None:
        super().__init__(cfs, name=name)
        self.error: EngineIOError | None = None

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        error, self.error = self.error, None
        if error is not None:
            raise error
        super().write(batch, sync=sync)


@pytest.mark.parametrize("failing", ["kv", "raft"])
def test_failed_round_stops_both_engines(failing: str) -> None:
    """After a failed round both engines refuse every write, write_tasks included, naming the first failure;
    reads still work."""
    engines = Engines(FailingWriteEngine(ALL_CFS, "kv"), FailingWriteEngine((CF_DEFAULT,), "raft"))
    ps, task = _staged(engines)
    engine = engines.kv if failing == "kv" else engines.raft
    assert isinstance(engine, FailingWriteEngine)
    engine.error = EngineIOError("IO error: No space left on device")
    with pytest.raises(StoreError) as first:
        write_tasks(engines, [task])
    assert "No space left on device" in str(first.value)
    writes = (engines.kv.stats.writes, engines.raft.stats.writes)
    for retry in ([task], [WriteTask(2, 2, 1)], []):
        retry_task = WriteTask(1, 1, 2)
        retry_task.put_kv(CF_RAFT, b"k", b"v")
        with pytest.raises(StoreError) as info:
            write_tasks(engines, [*retry, retry_task])
        assert "No space left on device" in str(info.value)
    for e in (engines.kv, engines.raft):
        with pytest.raises(EngineFailedError):
            e.put(CF_DEFAULT, b"k", b"v")
    assert (engines.kv.stats.writes, engines.raft.stats.writes) == writes
    assert raft_log_indexes(engines, 1) == []
    assert PeerStorage(engines, new_region(1), 1).last_index() == 5  # disk is behind ps, which says 7
    assert ps.last_index() == 7


# -- WriteTask.set_append -------------------------------------------------------------------------------


def run(first: int, last: int, term: int) -> list[Entry]:
    return [new_entry(i, term) for i in range(first, last + 1)]


@pytest.mark.parametrize(
    "first, second, entries, overwrite_to",
    [
        # (overwrite_to, entries) of two appends in one task -> staged entries (index, term), overwrite_to
        ((6, run(6, 8, 5)), (9, run(9, 10, 5)), [(i, 5) for i in range(6, 11)], 9),  # continues
        ((6, run(6, 10, 5)), (11, run(8, 8, 6)), [(6, 5), (7, 5), (8, 6)], 11),  # overwrites inside
        ((8, run(8, 10, 5)), (11, run(6, 6, 6)), [(6, 6)], 11),  # overwrites below the staged first
        ((11, run(6, 6, 6)), (7, run(7, 8, 6)), [(6, 6), (7, 6), (8, 6)], 11),  # keeps the longer stale tail
        ((6, run(6, 7, 5)), (8, run(10, 10, 5)), [(10, 5)], 8),  # not adjacent: replaced
    ],
    ids=["continue", "overwrite inside", "overwrite below", "stale tail kept", "replaced"],
)
def test_set_append_merges(
    first: tuple[int, list[Entry]], second: tuple[int, list[Entry]], entries: list[tuple[int, int]], overwrite_to: int
) -> None:
    """set_append twice into one task: entries from the second's first index on are replaced, and the stale
    tail to delete ends at the larger overwrite_to; encodings follow the entries."""
    task = WriteTask(1, 1, 1)
    for ow, ents in (first, second):
        task.set_append(ow, ents, [e.SerializeToString() for e in ents])
    assert [(e.index, e.term) for e in task.entries] == entries
    assert task.overwrite_to == overwrite_to
    assert task.encoded == [e.SerializeToString() for e in task.entries]


def test_set_append_without_encodings_drops_them() -> None:
    """Entries merged without their encodings leave the task without any (write_tasks encodes them)."""
    task = WriteTask(1, 1, 1)
    task.set_append(6, run(6, 8, 5), [e.SerializeToString() for e in run(6, 8, 5)])
    task.set_append(9, run(9, 9, 5))
    assert task.encoded is None and [e.index for e in task.entries] == [6, 7, 8, 9]


def test_overwrite_merge_deletes_the_whole_stale_tail(engines: Engines) -> None:
    """One task: an overwrite at 6 of a log ending at 10 (stale tail 7..10), then an append of 7..8. The
    write deletes 9 and 10 too: the first overwrite's tail end is kept."""
    store = new_storage_from_ents(engines, run(3, 10, 5), commit=5, applied=5)
    task = WriteTask(1, 1, 2)
    store.append([new_entry(6, 6)], task)
    store.append(run(7, 8, 6), task)
    write_tasks(engines, [task])
    assert raft_log_indexes(engines, 1) == [4, 5, 6, 7, 8]
    again = PeerStorage(engines, store.region, 1)
    assert plain(again.entries(4, 9)) == plain(run(4, 5, 5) + run(6, 8, 6))


# -- a full disk (a small tmpfs) --------------------------------------------------------------------------

REGIONS = 8


def test_enospc_stops_the_engines_and_loses_nothing_persisted(tmp_path: Path) -> None:
    """On a full disk (an 8 MiB tmpfs) a round fails with StoreError, a retry is refused, and after the disk
    grows and the engines are reopened every region validates and holds all that was reported persisted."""
    with tmpfs(tmp_path / "mnt", "8m") as mnt:
        path = mnt / "db"
        engines = open_engines(path)
        try:
            regions = [new_region(rid) for rid in range(1, REGIONS + 1)]
            write_initial_states_many(engines, regions)
            stores = [PeerStorage(engines, r, r.id) for r in regions]
            durable = {r.id: [] for r in regions}  # region -> entries reported persisted, from index 6
            failure = None
            for rnd in range(10_000):
                tasks = []
                for s in stores:
                    task = WriteTask(s.region_id, s.peer_id, rnd + 1)
                    done = durable[s.region_id]
                    # apply and commit only what earlier rounds made durable (the KV-first rule)
                    s.apply_state.applied_index = s.apply_state.commit_index = 5 + len(done)
                    s.apply_state.commit_term = 5
                    s.save_apply_state_to(task)
                    last = s.last_index()
                    s.append([new_entry(i, 5, os.urandom(2000)) for i in range(last + 1, last + 5)], task)
                    s.set_hard_state(HardState(term=5, commit=5 + len(done)), task)
                    tasks.append(task)
                try:
                    write_tasks(engines, tasks)
                except StoreError as err:
                    failure = err
                    break
                for s, task in zip(stores, tasks):
                    durable[s.region_id] += task.entries
            assert failure is not None and rnd > 0
            assert "No space left on device" in str(failure), str(failure)
            with pytest.raises(StoreError) as retry:
                write_tasks(engines, [WriteTask(1, 1, 1)] + tasks[:1])
            assert "No space left on device" in str(retry.value)
            remount(mnt, "size=64m")
        finally:
            # Closing engines that RocksDB failed may report that failure again ("Writer has previous error").
            with contextlib.suppress(EngineIOError):
                engines.close()
        with open_engines(path) as engines:
            for r in regions:
                s = PeerStorage(engines, r, r.id)
                done = durable[r.id]
                assert s.last_index() in (5 + len(done), 5 + len(done) + 4)
                assert s.hard_state().commit >= 5 + len(done) - 4
                assert plain(s.entries(6, 6 + len(done))) == plain(done)


def _commit_only(ps: PeerStorage, commit: int, must_sync: bool) -> WriteTask:
    task = WriteTask(1, 1, 2)
    task.must_sync = must_sync
    ps.set_hard_state(HardState(term=5, vote=1, commit=commit), task)
    return task


# SYNC_CASES: (name, the second round's tasks given a storage, whether write_tasks syncs the raft batch).
SYNC_CASES = [
    ("a commit index alone, must_sync off", lambda ps: [_commit_only(ps, 7, False)], False),
    ("a commit index with must_sync on (the default)", lambda ps: [_commit_only(ps, 7, True)], True),
    ("one task of the round needs a sync", lambda ps: [_commit_only(ps, 7, False), WriteTask(2, 2, 1)], True),
    ("entries always sync", lambda ps: [_with_entry(ps)], True),
]


def _with_entry(ps: PeerStorage) -> WriteTask:
    task = WriteTask(1, 1, 2)
    task.must_sync = False  # an owner's mistake: entries are synced whatever the flag says
    ps.append([new_entry(8, 5)], task)
    ps.set_hard_state(HardState(term=5, vote=1, commit=7), task)
    return task


@pytest.mark.parametrize("name,tasks,synced", SYNC_CASES, ids=[c[0] for c in SYNC_CASES])
def test_a_round_of_commit_indexes_alone_is_not_synced(name: str, tasks: object, synced: bool) -> None:
    """Raft's Ready.must_sync: a round whose raft writes are only commit indexes is written without sync,
    so a machine crash may lose it; any other write of the round syncs the whole raft batch."""
    engines = Engines(MemEngine(ALL_CFS, track_sync=True), MemEngine((CF_DEFAULT,), track_sync=True))
    ps, first = _staged(engines)
    ps.set_hard_state(HardState(term=5, vote=1, commit=6), first)
    write_tasks(engines, [first])
    assert callable(tasks)
    stats = write_tasks(engines, tasks(ps))
    assert stats.syncs == int(synced)
    for engine in (engines.kv, engines.raft):
        assert isinstance(engine, MemEngine)
        engine.crash()
    assert PeerStorage(engines, new_region(1), 1).hard_state().commit == (7 if synced else 6)

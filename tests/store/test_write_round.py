"""write_round: a round staged through a RoundStage writes what write_tasks writes for the same tasks.

Each case stages one round on PeerStorages with the same history, once into plain tasks written by
write_tasks and once into tasks made with a RoundStage written by write_round, each on its own real
RocksDB: both engines must then hold the same bytes (raft log keys, RaftLocalState, apply and region
states), the rounds must report the same batches and syncs, on_persisted must leave the storages alike, and
a restart must load the same states and log.
"""

from __future__ import annotations

import gc
from collections.abc import Callable
from pathlib import Path

import pytest

from raftstore.engine import keys
from raftstore.engine.base import ALL_CFS, CF_DEFAULT, CF_RAFT
from raftstore.engine.engines import Engines, open_engines
from raftstore.engine.errors import EngineIOError
from raftstore.proto.eraftpb_pb2 import Entry, HardState
from raftstore.proto.raft_serverpb_pb2 import RaftLocalState, RaftSnapshotData
from raftstore.store import (
    PeerStorage,
    StoreError,
    WriteTask,
    write_initial_states_many,
    write_tasks,
)
from raftstore.store.snap.files import SNAPSHOT_VERSION
from raftstore.store.store_core import WriteRound
from raftstore.store.write import RoundStage, WriteRoundStats, write_round
from raftstore.testing import Cluster

from .helpers import new_entry, new_region, plain, raft_log_indexes, scan_all
from .test_peer_storage import make_snapshot
from .test_write import FailingWriteEngine

REGIONS = (1, 2, 3)
NewTask = Callable[[int, int], WriteTask]  # (region id, ready number) -> a task of the round
Stager = Callable[[dict[int, PeerStorage], NewTask], None]


def run(first: int, last: int, term: int) -> list[Entry]:
    return [new_entry(i, term, b"d%d" % i) for i in range(first, last + 1)]


def history(engines: Engines) -> dict[int, PeerStorage]:
    """history: regions 1-3 bootstrapped, each holding entries 6..10 (term 5), committed and applied to 7."""
    write_initial_states_many(engines, [new_region(rid) for rid in REGIONS])
    storages = {rid: PeerStorage(engines, new_region(rid), rid) for rid in REGIONS}
    tasks = []
    for rid, ps in storages.items():
        task = WriteTask(rid, rid, 1)
        ps.append(run(6, 10, 5), task)
        ps.set_hard_state(HardState(term=5, vote=rid, commit=7), task)
        ps.apply_state.applied_index = ps.apply_state.commit_index = 7
        ps.apply_state.commit_term = 5
        ps.save_apply_state_to(task)
        tasks.append(task)
    write_tasks(engines, tasks)
    for task in tasks:
        storages[task.region_id].on_persisted(task)
    return storages


def hot_path(per_region: int) -> Stager:
    """hot_path: what a store's round stages most: per region entries and a new hard state."""

    def stage(storages: dict[int, PeerStorage], new_task: NewTask) -> None:
        for rid, ps in storages.items():
            task = new_task(rid, 2)
            ps.append(run(11, 10 + per_region, 5), task)
            ps.set_hard_state(HardState(term=5, vote=rid, commit=10 + per_region - 1), task)

    return stage


def overwrite_tail(storages: dict[int, PeerStorage], new_task: NewTask) -> None:
    """A new leader's entry at 8 (term 6) replaces the uncommitted tail 8..10 of region 1."""
    task = new_task(1, 2)
    storages[1].append([new_entry(8, 6, b"new")], task)
    storages[1].set_hard_state(HardState(term=6, vote=1, commit=8), task)


def merged_appends(storages: dict[int, PeerStorage], new_task: NewTask) -> None:
    """Two appends into one task, the second overwriting inside the first (11..14, then 13 of term 6)."""
    task = new_task(1, 2)
    storages[1].append(run(11, 14, 5), task)
    storages[1].append([new_entry(13, 6, b"over")], task)
    storages[1].set_hard_state(HardState(term=6, vote=1, commit=10), task)


def two_tasks_one_region(storages: dict[int, PeerStorage], new_task: NewTask) -> None:
    """Two tasks of region 1 in one round (Readies 2 and 3), the second overwriting the first's tail."""
    first, second = new_task(1, 2), new_task(1, 3)
    storages[1].append(run(11, 13, 5), first)
    storages[1].append(run(12, 12, 6), second)
    storages[1].set_hard_state(HardState(term=6, vote=0, commit=11), second)


def log_gc(storages: dict[int, PeerStorage], new_task: NewTask) -> None:
    """Region 2 compacts to 7 (apply state in the KV batch, log 6..7 deleted after it) and appends 11."""
    task = new_task(2, 2)
    storages[2].append(run(11, 11, 5), task)
    storages[2].compact_to(7, 5, task)


def tombstone_after_append(storages: dict[int, PeerStorage], new_task: NewTask) -> None:
    """Region 3 appends, then is destroyed in the same task: nothing of its log or raft state is left."""
    task = new_task(3, 2)
    storages[3].append(run(11, 12, 5), task)
    storages[3].tombstone(task)
    hot_path(1)({1: storages[1]}, new_task)


def snapshot_then_entries(storages: dict[int, PeerStorage], new_task: NewTask) -> None:
    """Region 1 receives a snapshot at 20 (term 6) with an entry after it: the old log goes first."""
    task = new_task(1, 2)
    snap = make_snapshot(storages[1].region, 20, 6)
    data = RaftSnapshotData.FromString(snap.data)
    data.version = SNAPSHOT_VERSION
    snap.data = data.SerializeToString()
    storages[1].apply_snapshot(snap, task)
    storages[1].append([new_entry(21, 6, b"after")], task)
    storages[1].set_hard_state(HardState(term=6, vote=0, commit=20), task)


def assigned_raft_state(storages: dict[int, PeerStorage], new_task: NewTask) -> None:
    """An owner assigns a task's raft state as a message (the API's assignable raft_state)."""
    task = new_task(2, 2)
    task.raft_state = RaftLocalState(hard_state=HardState(term=7, vote=2, commit=10), last_index=10)


def commit_alone(storages: dict[int, PeerStorage], new_task: NewTask) -> None:
    """A round of commit indexes alone (must_sync off): written without sync by both paths."""
    for rid, ps in storages.items():
        task = new_task(rid, 2)
        task.must_sync = False
        ps.set_hard_state(HardState(term=5, vote=rid, commit=10), task)


def kv_alone(storages: dict[int, PeerStorage], new_task: NewTask) -> None:
    """Apply states only: a KV batch and no raft write."""
    for rid, ps in storages.items():
        ps.save_apply_state_to(new_task(rid, 0))


# CASES: (name, the round's staging, whether both paths build raft batches of the same size: a task appended
# to twice holds its merged entries, while its stage holds both appends' puts, the later winning).
CASES: list[tuple[str, Stager, bool]] = [
    ("one entry per region", hot_path(1), True),
    ("ten entries per region", hot_path(10), True),
    ("overwrite a tail", overwrite_tail, True),
    ("two appends merged in one task", merged_appends, False),
    ("two tasks of one region", two_tasks_one_region, True),
    ("log gc with an append", log_gc, True),
    ("tombstone after an append", tombstone_after_append, True),
    ("snapshot then an entry", snapshot_then_entries, True),
    ("raft state assigned as a message", assigned_raft_state, True),
    ("commit indexes alone", commit_alone, True),
    ("apply states alone", kv_alone, True),
]


Written = tuple[Engines, dict[int, PeerStorage], WriteRoundStats]


def write_one_round(path: Path, stager: Stager, staged: bool) -> Written:
    """write_one_round: history, then the round of stager written by write_round (staged) or write_tasks,
    then on_persisted of every task."""
    engines = open_engines(path)
    storages = history(engines)
    stage = RoundStage()
    tasks: list[WriteTask] = []

    def new_task(region_id: int, ready_number: int) -> WriteTask:
        task = WriteTask(region_id, region_id, ready_number, stage if staged else None)
        tasks.append(task)
        return task

    stager(storages, new_task)
    assert stage.tasks == (tasks if staged else [])
    stats = write_round(engines, stage) if staged else write_tasks(engines, tasks)
    for task in tasks:
        storages[task.region_id].on_persisted(task)
    return engines, storages, stats


def summary(ps: PeerStorage) -> tuple[object, ...]:
    """summary: what a PeerStorage tells raft and its owner (states, log bounds, the log, the cache)."""
    ps.cancel_applying_snap()
    return (
        ps.raft_state.SerializeToString(),
        ps.apply_state.SerializeToString(),
        ps.first_index(),
        ps.last_index(),
        ps.last_term(),
        plain(ps.entries(ps.first_index(), ps.last_index() + 1)) if ps.last_index() >= ps.first_index() else [],
        ps.cache.persisted,
    )


@pytest.mark.parametrize("stager, same_batches", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_write_round_writes_what_write_tasks_writes(tmp_path: Path, stager: Stager, same_batches: bool) -> None:
    """The same round, staged (write_round) and not (write_tasks): the same bytes in both engines, the same
    batches (see CASES) and syncs, the same storages after on_persisted and after a restart."""
    old, old_storages, old_stats = write_one_round(tmp_path / "tasks", stager, staged=False)
    new, new_storages, new_stats = write_one_round(tmp_path / "stage", stager, staged=True)
    try:
        assert scan_all(new) == scan_all(old)
        same = ("tasks", "kv_bytes", "syncs") + (("raft_bytes", "entries") if same_batches else ())
        assert [getattr(new_stats, f) for f in same] == [getattr(old_stats, f) for f in same]
        assert new.raft.stats.synced_writes == old.raft.stats.synced_writes
        alive = [rid for rid in REGIONS if old.kv.get(CF_RAFT, keys.apply_state_key(rid)) is not None]
        for rid in alive:
            assert summary(new_storages[rid]) == summary(old_storages[rid]), rid
    finally:
        old.close()
        new.close()
    with open_engines(tmp_path / "tasks") as old, open_engines(tmp_path / "stage") as new:
        for rid in alive:
            assert summary(PeerStorage(new, new_region(rid), rid)) == summary(PeerStorage(old, new_region(rid), rid))


def test_the_hot_path_round_writes_two_keys_per_region(tmp_path: Path) -> None:
    """One entry and a hard state per region: the raft batch holds the entry and the RaftLocalState of each
    region, one synced write, and the KV engine is not written."""
    engines, storages, stats = write_one_round(tmp_path / "db", hot_path(1), staged=True)
    try:
        assert (stats.tasks, stats.entries, stats.kv_bytes, stats.syncs) == (3, 3, 0, 1)
        for rid, ps in storages.items():
            raw = engines.raft.get(CF_DEFAULT, keys.raft_state_key(rid))
            state = RaftLocalState(hard_state=HardState(term=5, vote=rid, commit=10), last_index=11)
            assert raw == state.SerializeToString()
            assert (ps.last_index(), ps.cache.persisted) == (11, 11)
    finally:
        engines.close()


@pytest.mark.parametrize("failing", ["kv", "raft"])
def test_a_failed_write_round_stops_both_engines(failing: str) -> None:
    """write_round fails as write_tasks does: StoreError, both engines refuse writes naming the failure,
    nothing of the raft batch written when the KV write failed, the storages left ahead of the disk."""
    engines = Engines(FailingWriteEngine(ALL_CFS, "kv"), FailingWriteEngine((CF_DEFAULT,), "raft"))
    storages = history(engines)
    stage = RoundStage()
    task = WriteTask(1, 1, 2, stage)
    storages[1].append(run(11, 12, 5), task)
    storages[1].save_apply_state_to(task)
    engine = engines.kv if failing == "kv" else engines.raft
    assert isinstance(engine, FailingWriteEngine)
    engine.error = EngineIOError("IO error: No space left on device")
    with pytest.raises(StoreError) as info:
        write_round(engines, stage)
    assert "write round of 1 tasks failed" in str(info.value) and "No space left" in str(info.value)
    for e in (engines.kv, engines.raft):
        assert e.failed is not None and "No space left" in e.failed
    retry = RoundStage()
    WriteTask(2, 2, 2, retry).put_kv(CF_RAFT, b"k", b"v")
    with pytest.raises(StoreError):
        write_round(engines, retry)
    assert PeerStorage(engines, new_region(1), 1).last_index() == 10
    assert storages[1].last_index() == 12


def test_a_stage_is_written_once_and_only_by_write_round(engines: Engines) -> None:
    """A staged task given to write_tasks, a second write_round of a stage and a task made with a written
    stage are refused with ValueError, before anything is written."""
    stage = RoundStage()
    task = WriteTask(1, 1, 1, stage)
    task.put_kv(CF_RAFT, b"k", b"v")
    with pytest.raises(ValueError, match="write_round"):
        write_tasks(engines, [WriteTask(2, 2, 1), task])
    assert engines.kv.get(CF_RAFT, b"k") is None
    write_round(engines, stage)
    assert engines.kv.get(CF_RAFT, b"k") == b"v"
    with pytest.raises(ValueError, match="written already"):
        write_round(engines, stage)
    with pytest.raises(ValueError, match="written already"):
        WriteTask(1, 1, 2, stage)


@pytest.mark.parametrize(
    "region_ids",
    [[], [1], [1, 2, 3], [0, keys.U64_MAX], [7, 7]],
    ids=["none", "one", "several", "bounds", "twice"],
)
def test_raft_state_keys_are_raft_state_key_each(region_ids: list[int]) -> None:
    assert keys.raft_state_keys(region_ids) == [keys.raft_state_key(rid) for rid in region_ids]


@pytest.mark.parametrize("bad", [-1, keys.U64_MAX + 1])
def test_raft_state_keys_refuse_a_non_u64(bad: int) -> None:
    with pytest.raises(keys.InvalidKeyError, match=str(bad)):
        keys.raft_state_keys([1, bad])


def test_the_store_round_stages_every_task_through_its_round_stage(tmp_path: Path) -> None:
    """A store's round (StoreCore.collect, Peer.handle_ready, run_round) makes every task of the round with
    the round's stage, in order, and writes it with write_round: a put is acknowledged and every store
    holds it; a round's tasks handed to write_tasks instead are refused."""
    with Cluster(3, path=tmp_path) as cluster:
        cluster.start()
        leader = cluster.wait_leader().store_id
        rounds: list[WriteRound] = []
        core = cluster.cores[leader]
        collect = core.collect

        def observed() -> WriteRound:
            wr = collect()
            rounds.append(wr)
            return wr

        core.collect = observed  # type: ignore[method-assign]
        cluster.must_put(b"k", b"v")
        staged = [wr for wr in rounds if wr.tasks]
        assert staged and all(wr.stage.written and all(t.stage is wr.stage for t in wr.tasks) for wr in staged)
        assert sum(wr.stage.entries for wr in staged) >= 1
        for sid in cluster.store_ids:
            cluster.must_get_on_store(sid, b"k", b"v")
        with pytest.raises(ValueError, match="write_round"):
            write_tasks(cluster.engines[leader], staged[-1].tasks)


def test_a_written_round_leaves_no_reference_cycle(engines: Engines) -> None:
    """Its tasks refer to their stage, so a written stage lets go of them: a round's garbage is freed by
    reference counting, not left to the cyclic collector (which it would make walk every round's tasks)."""
    write_initial_states_many(engines, [new_region(rid) for rid in REGIONS])
    gc.collect()
    enabled = gc.isenabled()
    gc.disable()
    try:
        stage = RoundStage()
        for rid in REGIONS:
            WriteTask(rid, rid, 1, stage).set_append(6, run(6, 7, 5), None)
        write_round(engines, stage)
        assert stage.tasks == []
        del stage
        assert gc.collect() == 0
    finally:
        if enabled:
            gc.enable()
    assert {rid: raft_log_indexes(engines, rid) for rid in REGIONS} == {rid: [6, 7] for rid in REGIONS}

"""PeerStorage and snapshots on real RocksDB: TiKV's test_storage_create_snapshot, test_storage_apply_snapshot,
test_canceling_apply_snapshot and test_try_finish_snapshot (peer_storage.rs) re-expressed with the generation
worker of snap/gen.py, plus what staging a snapshot refuses and what it writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from raftstore.engine import keys
from raftstore.engine.base import CF_DEFAULT, CF_RAFT
from raftstore.engine.engines import Engines, open_engines
from raftstore.proto.eraftpb_pb2 import Entry, HardState, Snapshot
from raftstore.proto.metapb_pb2 import Region
from raftstore.proto.raft_serverpb_pb2 import (
    PeerState,
    RaftApplyState,
    RaftLocalState,
    RaftSnapshotData,
    RegionLocalState,
)
from raftstore.raft.errors import SnapshotTemporarilyUnavailableError, StorageError
from raftstore.store import MAX_SNAP_TRY_CNT, PeerStorage, WriteTask, write_tasks
from raftstore.store.snap import (
    ApplySnapState,
    ApplyStatus,
    CheckApplyingSnapStatus,
    JobStatus,
    SnapCorruptionError,
    SnapEntry,
    SnapError,
    SnapGenerator,
    SnapHeader,
    SnapKey,
    SnapManager,
    SnapReceiver,
    SnapSender,
    SnapStateKind,
    SnapWorker,
    handle_apply,
    transfer,
)
from raftstore.store.snap.gen import BuildProgress

from .helpers import (
    ReopenableEngines,
    new_entry,
    new_storage,
    new_storage_from_ents,
    raft_log_indexes,
    uninitialized_region,
)
from .snap.helpers import dump, new_manager, populate, region_range, snap_region

APPLYING, SUCCESS, IDLE = (
    CheckApplyingSnapStatus.APPLYING,
    CheckApplyingSnapStatus.SUCCESS,
    CheckApplyingSnapStatus.IDLE,
)
RELAX, ABORTED, APPLYING_STATE = SnapStateKind.RELAX, SnapStateKind.APPLY_ABORTED, SnapStateKind.APPLYING

UNAVAILABLE = SnapshotTemporarilyUnavailableError


def generate(storage: PeerStorage, mgr: SnapManager) -> Snapshot:
    """generate: snapshot() schedules, the generator runs the request PeerStorage builds, snapshot() returns it."""
    with pytest.raises(UNAVAILABLE):
        storage.snapshot(0, 2)
    request = storage.take_gen_snap_request()
    assert request is not None
    SnapGenerator(mgr, storage.engines.kv).handle(request)
    return storage.snapshot(0, 2)


def send(src: SnapManager, dst: SnapManager, snap: Snapshot) -> None:
    """send moves a built snapshot's files from src to dst (the transfer protocol, in process)."""
    with SnapSender(src, snap) as sender, SnapReceiver(dst, SnapHeader(snap)) as receiver:
        transfer(sender, receiver)


def stage(storage: PeerStorage, snap: Snapshot, ready_number: int = 2) -> WriteTask:
    task = WriteTask(storage.region.id, storage.peer_id, ready_number)
    storage.apply_snapshot(snap, task)
    return task


# -- generation --------------------------------------------------------------------------------------


def test_take_gen_snap_request_captures_one_moment(engines: Engines, tmp_path: Path) -> None:
    """The request holds the applied term, a copy of the apply state and an engine snapshot of that moment:
    what is written after it is not in the snapshot, and the storage's apply state may move on."""
    region = snap_region()
    storage = new_storage_from_ents(engines, [new_entry(3, 3), new_entry(4, 4), new_entry(5, 5)], region)
    assert storage.take_gen_snap_request() is None  # nothing scheduled
    populate(engines.kv, n=20)
    with pytest.raises(UNAVAILABLE):
        storage.snapshot(0, 2)
    progress = BuildProgress()
    request = storage.take_gen_snap_request(progress=progress)
    assert request is not None and request.task is storage.gen_snap_task and request.progress is progress
    assert storage.take_gen_snap_request() is None  # taken once
    assert (request.applied_term, request.apply_state) == (5, storage.apply_state)
    assert request.apply_state is not storage.apply_state
    start, end = region_range(region)
    before = dump(engines.kv, start, end)
    populate(engines.kv, n=40, seed=9)  # after the request: not in the snapshot
    storage.apply_state.applied_index = 99  # the apply moves on in memory: the request keeps its copy
    assert request.apply_state.applied_index == 5
    mgr = new_manager(tmp_path / "snap")
    SnapGenerator(mgr, engines.kv).handle(request)
    storage.apply_state.applied_index = 5
    snap = storage.snapshot(0, 2)
    files = mgr.gen_files(SnapKey.from_snapshot(snap))
    assert [f.name for f in progress.follow()] == [f.name for f in files.files(files.load_meta())]
    with open_engines(tmp_path / "check") as check:
        for f in files.files(files.load_meta()):
            check.kv.ingest_sst(f.cf, [files.path(f.name)])
        assert dump(check.kv) == before


def test_storage_create_snapshot(engines: Engines, tmp_path: Path) -> None:
    """TiKV's test_storage_create_snapshot with the real worker: the tried-count sequence, a request index
    above the snapshot, a snapshot made stale by compaction, a failed worker, giving up after five."""
    region = snap_region()
    s = new_storage_from_ents(engines, [new_entry(3, 3), new_entry(4, 4), new_entry(5, 5)], region)
    populate(engines.kv, n=10)
    mgr = new_manager(tmp_path / "snap")
    worker = SnapWorker(SnapGenerator(mgr, engines.kv))
    def run_worker() -> None:
        request = s.take_gen_snap_request()
        assert request is not None
        worker.schedule(request)
        worker.wait_idle()

    # an unknown peer asking for a snapshot is ignored and not counted
    with pytest.raises(UNAVAILABLE):
        s.snapshot(0, 99)
    assert s.snap_tried_cnt == 0
    with pytest.raises(UNAVAILABLE):
        s.snapshot(0, 2)
    assert s.snap_tried_cnt == 1
    # a fake cancellation (compact_to too small to make the snapshot stale) changes nothing
    s.cancel_generating_snap(0)
    with pytest.raises(UNAVAILABLE):
        s.snapshot(0, 2)
    assert s.snap_tried_cnt == 1

    run_worker()
    snap = s.snapshot(0, 2)
    assert (snap.metadata.index, snap.metadata.term) == (5, 5)
    assert s.snap_tried_cnt == 0
    data = RaftSnapshotData.FromString(snap.data)
    assert data.region == region and len(data.region.peers) == 3
    assert data.file_size > 0

    # stale: the snapshot's index 5 < the request index 6: abandoned, generated again (one try)
    with pytest.raises(UNAVAILABLE):
        s.snapshot(6, 2)
    run_worker()
    with pytest.raises(UNAVAILABLE):
        s.snapshot(6, 2)
    assert s.snap_tried_cnt == 1
    s.gen_snap_task = None  # drop the task

    # stale after compaction: generated at 5, then the log is compacted to 7
    with pytest.raises(UNAVAILABLE):
        s.snapshot(0, 2)
    run_worker()
    task = WriteTask(1, 1, 2)
    s.append([new_entry(6, 5), new_entry(7, 5)], task)
    s.set_hard_state(HardState(term=5, commit=7), task)
    s.apply_state.applied_index = 7
    s.save_apply_state_to(task)
    write_tasks(engines, [task])
    s.on_persisted(task)
    task = WriteTask(1, 1, 3)
    s.compact_to(7, s.term(7), task)
    write_tasks(engines, [task])
    s.on_persisted(task)
    with pytest.raises(UNAVAILABLE):
        s.snapshot(0, 2)
    assert s.snap_tried_cnt == 1
    run_worker()
    assert s.snapshot(0, 2).metadata.index == 7

    # a stopped worker fails the task: another try
    worker.stop()
    with pytest.raises(UNAVAILABLE):
        s.snapshot(0, 2)
    run_worker()
    assert s.gen_snap_task is not None and s.gen_snap_task.error == "snapshot worker stopped"
    with pytest.raises(UNAVAILABLE):
        s.snapshot(0, 2)
    assert s.snap_tried_cnt == 2
    # canceled generations are not counted
    for _ in range(10):
        s.cancel_generating_snap(None)
        with pytest.raises(UNAVAILABLE):
            s.snapshot(0, 2)
        assert s.snap_tried_cnt == 2
    # failed ones are, up to MAX_SNAP_TRY_CNT; then snapshot() gives up with a plain StorageError
    for cnt in range(3, MAX_SNAP_TRY_CNT + 1):
        run_worker()
        with pytest.raises(UNAVAILABLE):
            s.snapshot(0, 2)
        assert s.snap_tried_cnt == cnt
    run_worker()
    with pytest.raises(StorageError, match="failed to get snapshot after 5 times") as info:
        s.snapshot(0, 2)
    assert not isinstance(info.value, UNAVAILABLE)


# -- staging a snapshot ------------------------------------------------------------------------------


@pytest.fixture
def source(tmp_path: Path) -> Iterator[tuple[PeerStorage, SnapManager, Snapshot]]:
    """source: TiKV's s1 (log truncated at (3, 3), entries 4..6 of terms 4..6, all applied) over snap_region
    with data, and the snapshot generated from it: index 6, term 6."""
    engines = open_engines(tmp_path / "src")
    try:
        populate(engines.kv, n=50, seed=1)
        ents = [new_entry(3, 3), new_entry(4, 4), new_entry(5, 5), new_entry(6, 6)]
        s1 = new_storage_from_ents(engines, ents, snap_region())
        mgr = new_manager(tmp_path / "src_snap")
        snap = generate(s1, mgr)
        assert (snap.metadata.index, snap.metadata.term) == (6, 6)
        assert (s1.truncated_index(), s1.truncated_term()) == (3, 3)
        yield s1, mgr, snap
    finally:
        engines.close()


def _populated_target(engines: Engines) -> PeerStorage:
    s3 = new_storage_from_ents(engines, [new_entry(3, 3), new_entry(4, 3)], snap_region())
    assert [e.index for e in s3.entries(4, 5)] == [4] and not s3.cache.is_empty()
    return s3


@pytest.mark.parametrize("target", ["fresh", "populated", "uninitialized"])
def test_storage_apply_snapshot(
    source: tuple[PeerStorage, SnapManager, Snapshot], db: ReopenableEngines, tmp_path: Path, target: str
) -> None:
    """TiKV's test_storage_apply_snapshot onto a fresh peer (bootstrapped at 5), a populated one (a log and
    a cached entry) and an uninitialized one; then the staged task is written, the job applies the files and
    a reopened storage sees the same states."""
    s1, src_mgr, snap = source
    if target == "fresh":
        s2 = new_storage(db.engines, snap_region())
        assert s2.first_index() == s2.applied_index() + 1
    elif target == "populated":
        s2 = _populated_target(db.engines)
    else:
        s2 = PeerStorage(db.engines, uninitialized_region(1), 2)
    populate(db.engines.kv, n=30, value_size=20, seed=2)  # data inside and outside the region
    task = stage(s2, snap)
    region = s2.region
    assert region == RaftSnapshotData.FromString(snap.data).region == s1.region
    assert s2.last_term() == 6
    assert s2.applied_index() == 6 and s2.applied_term() == 6
    assert s2.last_index() == 6
    assert (s2.truncated_index(), s2.truncated_term()) == (6, 6)
    assert s2.first_index() == s2.applied_index() + 1 == 7
    assert s2.cache.is_empty() and len(s2.term_cache) == 0
    assert s2.hard_state().commit == 6 and s2.hard_state().term >= 6

    dst_mgr = new_manager(tmp_path / "dst_snap")
    send(src_mgr, dst_mgr, snap)
    start, end = region_range(region)
    outside = dump(db.engines.kv, b"", start), dump(db.engines.kv, end, None)
    write_tasks(db.engines, [task])
    job = s2.on_persisted(task)
    assert job is not None and (job.region_id, job.peer_id) == (1, s2.peer_id)
    assert s2.snap_state.kind is APPLYING_STATE and job.status is s2.snap_state.status
    assert s2.check_applying_snap() is APPLYING  # PENDING
    assert handle_apply(db.engines, dst_mgr, job.region_id, job.status) is False
    assert s2.check_applying_snap() is SUCCESS and s2.snap_state.kind is RELAX
    assert not s2.pending_remove
    assert dump(db.engines.kv, start, end) == dump(s1.engines.kv, start, end)
    assert (dump(db.engines.kv, b"", start), dump(db.engines.kv, end, None)) == outside

    again = PeerStorage(db.reopen(), region, s2.peer_id)
    assert again.raft_state == s2.raft_state and again.apply_state == s2.apply_state
    assert (again.first_index(), again.last_index(), again.last_term(), again.applied_term()) == (7, 6, 6, 6)
    assert raft_log_indexes(db.engines, 1) == []
    state = again.region_state()
    assert state is not None and (state.state, state.region) == (PeerState.Normal, region)
    assert db.engines.kv.get(CF_RAFT, keys.snapshot_raft_state_key(1)) is None


def test_staged_snapshot_writes(source: tuple[PeerStorage, SnapManager, Snapshot], engines: Engines) -> None:
    """What one staged snapshot writes: KV: Applying with the snapshot's region, the apply state, the
    snapshot raft state; raft: the old log gone, the new raft state."""
    _, _, snap = source
    s3 = _populated_target(engines)
    s3.set_hard_state(HardState(term=7, vote=2, commit=4), task := WriteTask(1, 1, 2))
    write_tasks(engines, [task])
    task = stage(s3, snap, 3)
    write_tasks(engines, [task])
    state = RegionLocalState.FromString(engines.kv.get(CF_RAFT, keys.region_state_key(1)) or b"")
    assert (state.state, state.region) == (PeerState.Applying, RaftSnapshotData.FromString(snap.data).region)
    apply_state = RaftApplyState.FromString(engines.kv.get(CF_RAFT, keys.apply_state_key(1)) or b"")
    want = RaftApplyState(applied_index=6, commit_index=6, commit_term=6)
    want.truncated_state.index, want.truncated_state.term = 6, 6
    assert apply_state == want
    # the hard state of a higher term is kept (with its vote), the commit rises to the snapshot's index
    want_raft = RaftLocalState(last_index=6)
    want_raft.hard_state.CopyFrom(HardState(term=7, vote=2, commit=6))
    assert RaftLocalState.FromString(engines.kv.get(CF_RAFT, keys.snapshot_raft_state_key(1)) or b"") == want_raft
    assert RaftLocalState.FromString(engines.raft.get(CF_DEFAULT, keys.raft_state_key(1)) or b"") == want_raft
    assert raft_log_indexes(engines, 1) == []


def test_handle_raft_ready_with_snapshot_and_entries(
    source: tuple[PeerStorage, SnapManager, Snapshot], db: ReopenableEngines
) -> None:
    """A Ready with a snapshot, entries after it and a hard state: one task, the old log (longer than the
    snapshot) is deleted before the new entries are written, the snapshot raft state has the Ready's hard
    state with commit = the snapshot's index, and the storage reopens valid."""
    _, _, snap = source
    s = new_storage_from_ents(db.engines, [new_entry(3, 3)] + [new_entry(i, 3) for i in range(4, 10)], snap_region(),
                              commit=5, applied=5)
    assert s.last_index() == 9
    hs = HardState(term=7, vote=0, commit=8)
    ready = SimpleNamespace(snapshot=snap, entries=[new_entry(7, 7), new_entry(8, 7)], hs=hs)
    task = WriteTask(1, 1, 2)
    s.handle_raft_ready(ready, task)  # type: ignore[arg-type]
    assert (s.last_index(), s.last_term(), s.first_index()) == (8, 7, 7)
    write_tasks(db.engines, [task])
    assert s.on_persisted(task) is not None
    assert raft_log_indexes(db.engines, 1) == [7, 8]
    snap_raft = RaftLocalState.FromString(db.engines.kv.get(CF_RAFT, keys.snapshot_raft_state_key(1)) or b"")
    assert (snap_raft.last_index, snap_raft.hard_state) == (6, HardState(term=7, vote=0, commit=6))
    again = PeerStorage(db.reopen(), s.region, 1)
    assert (again.first_index(), again.last_index(), again.hard_state()) == (7, 8, hs)
    assert [(e.index, e.term) for e in again.entries(7, 9)] == [(7, 7), (8, 7)]


def _changed_region(snap: Snapshot) -> Snapshot:
    data = RaftSnapshotData.FromString(snap.data)
    data.region.id = 2
    other = Snapshot()
    other.CopyFrom(snap)
    other.data = data.SerializeToString()
    return other


@pytest.mark.parametrize(
    "case, error, match",
    [
        ("other_region", SnapError, "mismatch region id 1 != 2"),
        ("garbage", SnapCorruptionError, "not a RaftSnapshotData"),
        ("stale", SnapError, "snapshot at 6 is not newer than the applied index 6"),
        ("applying", SnapError, "still applying a snapshot"),
    ],
)
def test_apply_snapshot_refused(
    source: tuple[PeerStorage, SnapManager, Snapshot], engines: Engines, case: str, error: type, match: str
) -> None:
    """A snapshot of another region, undecodable data, one not newer than the applied index, or one while an
    apply is in progress: refused with nothing staged and nothing changed in memory."""
    _, _, snap = source
    s = _populated_target(engines)
    if case == "other_region":
        snap = _changed_region(snap)
    elif case == "garbage":
        snap = Snapshot(data=b"\xff\xff")
        snap.metadata.index = 6
    elif case == "stale":
        s.apply_state.applied_index = 6
    else:
        s.snap_state.set_applying()
    before = (Region(), RaftApplyState(), RaftLocalState())
    for saved, now in zip(before, (s.region, s.apply_state, s.raft_state), strict=True):
        saved.CopyFrom(now)  # type: ignore[attr-defined]
    task = WriteTask(1, 1, 2)
    with pytest.raises(error, match=match):
        s.apply_snapshot(snap, task)
    assert (task.kv_ops, task.raft_deletes, task.raft_state, task.snapshot_index) == ([], [], None, None)
    assert (s.region, s.apply_state, s.raft_state) == before
    assert not s.cache.is_empty()


# -- the apply job's status on the peer: TiKV's tables ------------------------------------------------


@pytest.mark.parametrize(
    "status, result, kind, status_after, remove",
    [
        (JobStatus.PENDING, True, ABORTED, None, False),  # PENDING can be canceled directly
        (JobStatus.RUNNING, False, APPLYING_STATE, JobStatus.CANCELLING, False),  # RUNNING can't
        (JobStatus.CANCELLING, False, APPLYING_STATE, JobStatus.CANCELLING, False),  # can't be canceled again
        (JobStatus.CANCELLED, True, ABORTED, None, False),
        (JobStatus.FINISHED, True, RELAX, None, False),
        (JobStatus.FAILED, True, ABORTED, None, True),
    ],
)
def test_canceling_apply_snapshot(
    engines: Engines, status: JobStatus, result: bool, kind: SnapStateKind, status_after: JobStatus | None, remove: bool
) -> None:
    """TiKV's test_canceling_apply_snapshot on PeerStorage: a FAILED job also marks the peer for removal."""
    s = new_storage(engines)
    s.snap_state = ApplySnapState()
    job = s.snap_state.set_applying(ApplyStatus(status))
    assert s.cancel_applying_snap() is result
    assert s.snap_state.kind is kind
    assert (s.snap_state.status.load() if s.snap_state.status is not None else None) == status_after
    assert s.pending_remove is remove
    if status == JobStatus.PENDING:
        assert job.load() == JobStatus.CANCELLING  # the worker sees the cancel and never runs it
    if status == JobStatus.RUNNING:
        assert s.cancel_applying_snap() is False  # CANCELLING can't be canceled again


@pytest.mark.parametrize(
    "status, result, kind, remove",
    [
        (JobStatus.PENDING, APPLYING, APPLYING_STATE, False),
        (JobStatus.RUNNING, APPLYING, APPLYING_STATE, False),
        (JobStatus.CANCELLING, APPLYING, APPLYING_STATE, False),
        (JobStatus.CANCELLED, IDLE, ABORTED, False),
        (JobStatus.FINISHED, SUCCESS, RELAX, False),
        (JobStatus.FAILED, IDLE, ABORTED, True),
    ],
)
def test_try_finish_snapshot(
    engines: Engines, status: JobStatus, result: CheckApplyingSnapStatus, kind: SnapStateKind, remove: bool
) -> None:
    """TiKV's test_try_finish_snapshot on PeerStorage: check_applying_snap's table; Relax and ApplyAborted are
    not applying (idle again, unchanged); a FAILED job marks the peer for removal."""
    s = new_storage(engines)
    s.snap_state.set_applying(ApplyStatus(status))
    assert s.check_applying_snap() is result
    assert s.snap_state.kind is kind
    assert s.is_applying_snapshot() is (kind is APPLYING_STATE)
    assert s.pending_remove is remove
    if kind is not APPLYING_STATE:
        assert s.check_applying_snap() is IDLE and s.snap_state.kind is kind
        assert s.cancel_applying_snap() is False


def test_failed_apply_marks_peer_for_removal(
    source: tuple[PeerStorage, SnapManager, Snapshot], engines: Engines, tmp_path: Path
) -> None:
    """A job whose files are missing fails: the peer learns it from check_applying_snap (pending_remove), the
    region stays Applying, and tombstone() clears every meta key including the snapshot raft state."""
    _, _, snap = source
    s = _populated_target(engines)
    task = stage(s, snap)
    write_tasks(engines, [task])
    job = s.on_persisted(task)
    assert job is not None
    assert handle_apply(engines, new_manager(tmp_path / "empty"), 1, job.status) is True
    assert s.check_applying_snap() is IDLE and s.pending_remove
    task = WriteTask(1, 1, 3)
    s.tombstone(task)
    write_tasks(engines, [task])
    assert list(engines.kv.scan(CF_RAFT, *keys.region_raft_range(1))) == []
    assert list(engines.raft.scan(CF_DEFAULT, *keys.region_raft_range(1))) == []


def test_snap_mgr_gc_after_compaction(engines: Engines, tmp_path: Path) -> None:
    """With a snap_mgr, a durable compaction past a snapshot's index deletes the region's snapshots below it;
    one at the new truncated index, another region's, and one in use stay."""
    mgr = new_manager(tmp_path / "snap")
    region = snap_region()
    new_storage_from_ents(engines, [new_entry(3, 3)] + [new_entry(i, 5) for i in range(4, 12)], region)
    s = PeerStorage(engines, region, 1, snap_mgr=mgr)
    everything = {SnapKey(1, 5, 6), SnapKey(1, 5, 8), SnapKey(1, 5, 10), SnapKey(2, 5, 6)}
    for key in everything:
        files = mgr.gen_files(key)
        files.save_meta(RaftSnapshotData().meta)  # an empty snapshot: a meta file with no data files
    mgr.register(SnapKey(1, 5, 8), SnapEntry.SENDING)
    task = WriteTask(1, 1, 2)
    s.compact_to(10, 5, task)
    assert {k for k, _ in mgr.list_snapshots()} == everything  # not durable yet: nothing collected
    write_tasks(engines, [task])
    s.on_persisted(task)  # the truncated index 10 is durable now
    assert {k for k, _ in mgr.list_snapshots()} == {SnapKey(1, 5, 8), SnapKey(1, 5, 10), SnapKey(2, 5, 6)}
    mgr.deregister(SnapKey(1, 5, 8), SnapEntry.SENDING)
    task = WriteTask(1, 1, 3)
    s.compact_to(11, 5, task)
    write_tasks(engines, [task])
    s.on_persisted(task)
    assert {k for k, _ in mgr.list_snapshots()} == {SnapKey(2, 5, 6)}


def test_entries_are_plain_after_apply(source: tuple[PeerStorage, SnapManager, Snapshot], engines: Engines) -> None:
    """After a staged snapshot the storage serves raft's reads at the boundary: term(snapshot index) is the
    snapshot's term, entries below it are compacted, and an append right after it is accepted."""
    _, _, snap = source
    s = _populated_target(engines)
    task = stage(s, snap)
    assert s.term(6) == 6
    with pytest.raises(StorageError):
        s.entries(6, 7)
    s.append([Entry(index=7, term=6, data=b"x")], task)
    write_tasks(engines, [task])
    s.on_persisted(task)
    assert [(e.index, e.data) for e in s.entries(7, 8)] == [(7, b"x")]
    assert raft_log_indexes(engines, 1) == [7]

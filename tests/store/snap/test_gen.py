"""Generation: SnapGenerator completes or fails PeerStorage's GenSnapTask; SnapWorker runs it on a thread;
the snapshot is read from the KV engine snapshot taken with the request, not from later writes."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from raftstore.engine import keys
from raftstore.engine.base import CF_DEFAULT, KvEngine
from raftstore.engine.engines import Engines, open_engines
from raftstore.proto.raft_serverpb_pb2 import PeerState, RaftApplyState
from raftstore.raft.errors import SnapshotTemporarilyUnavailableError
from raftstore.store.peer_storage import GenSnapTask
from raftstore.store.snap import (
    GenSnapRequest,
    SnapAbortedError,
    SnapGenerator,
    SnapKey,
    SnapManager,
    SnapWorker,
)
from raftstore.store.snap.files import SnapFileInfo
from raftstore.store.snap.gen import BuildProgress

from ..helpers import new_storage
from .helpers import dump, new_manager, populate, region_range, set_states, snap_region


def test_peer_storage_handshake_with_generator(engines: Engines, tmp_path: Path) -> None:
    """PeerStorage.snapshot() schedules a task, the generator completes it, the next call returns it."""
    region = snap_region()
    storage = new_storage(engines, region)
    populate(engines.kv)
    with pytest.raises(SnapshotTemporarilyUnavailableError):
        storage.snapshot(0, 2)
    task = storage.take_gen_snap_task()
    assert task is not None
    request = GenSnapRequest(task, storage.applied_term(), storage.apply_state, engines.kv.snapshot())
    SnapGenerator(new_manager(tmp_path / "snap"), engines.kv).handle(request)
    assert task.index == storage.applied_index() == 5
    snap = storage.snapshot(0, 2)
    assert (snap.metadata.index, snap.metadata.term) == (5, 5)


@pytest.mark.parametrize(
    "case, error",
    [
        ("canceled_before", "canceled before generation started"),
        ("canceled_during", "generation cancelled"),
        ("apply_moved", "apply state moved from applied index 10 to 11"),
        ("not_normal", "peer state is Applying"),
        ("no_state", "has no apply state"),
    ],
)
def test_generation_failures_fail_the_task(mem_engines: Engines, tmp_path: Path, case: str, error: str) -> None:
    region = snap_region()
    populate(mem_engines.kv, n=3000)  # several limiter steps, so a cancel during the scan is seen
    apply_state = set_states(mem_engines.kv, region, 10)
    task = GenSnapTask(1, 2, 0)
    request = GenSnapRequest(task, 6, apply_state)
    mgr = new_manager(tmp_path / "snap")
    if case == "canceled_before":
        task.canceled = True
    elif case == "canceled_during":
        mgr.limiter.consume = lambda n: setattr(task, "canceled", True)  # type: ignore[method-assign]
    elif case == "apply_moved":
        set_states(mem_engines.kv, region, 11)
    elif case == "not_normal":
        set_states(mem_engines.kv, region, 10, PeerState.Applying)
    else:
        mem_engines.kv.delete("raft", keys.apply_state_key(1))
    SnapGenerator(mgr, mem_engines.kv).handle(request)
    assert task.done and task.result is None
    assert task.error is not None and error in task.error
    assert mgr.list_snapshots() == []
    assert [n for n in (tmp_path / "snap").iterdir()] == []  # no temporary file left behind


def test_generation_uses_the_request_engine_snapshot(engines: Engines, tmp_path: Path) -> None:
    region = snap_region()
    populate(engines.kv, n=20)
    apply_state = set_states(engines.kv, region, 10)
    kv_snap = engines.kv.snapshot()
    start, end = region_range(region)
    before = dump(kv_snap, start, end)
    populate(engines.kv, n=40, seed=7)  # written after the snapshot: must not be in the files
    task = GenSnapTask(1, 2, 0)
    mgr = new_manager(tmp_path / "snap")
    SnapGenerator(mgr, engines.kv).handle(GenSnapRequest(task, 6, apply_state, kv_snap))
    assert task.result is not None
    files = mgr.gen_files(SnapKey.from_snapshot(task.result))
    # the files are RocksDB SSTs: ingest them into a second RocksDB engine to read them back
    with open_engines(tmp_path / "check") as check:
        for f in files.files(files.load_meta()):
            check.kv.ingest_sst(f.cf, [files.path(f.name)])
        assert dump(check.kv) == before
    assert dump(engines.kv, start, end) != before


def test_worker_thread_runs_tasks_in_order(mem_engines: Engines, tmp_path: Path) -> None:
    populate(mem_engines.kv)
    mgr = new_manager(tmp_path / "snap")
    worker = SnapWorker(SnapGenerator(mgr, mem_engines.kv))
    tasks = []
    for region_id in (1, 2):
        region = snap_region(region_id)
        tasks.append(GenSnapTask(region_id, 2, 0))
        worker.schedule(GenSnapRequest(tasks[-1], 6, set_states(mem_engines.kv, region, 10)))
    worker.wait_idle()
    worker.stop()
    worker.wait_idle()  # returns after stop() too
    late = GenSnapTask(1, 2, 0)
    worker.schedule(GenSnapRequest(late, 6, set_states(mem_engines.kv, snap_region(), 10)))
    assert [(t.done, t.error, t.result is not None) for t in tasks] == [(True, None, True)] * 2
    assert (late.done, late.error) == (True, "snapshot worker stopped")
    assert [k for k, _ in mgr.list_snapshots()] == [SnapKey(1, 6, 10), SnapKey(2, 6, 10)]
    assert mem_engines.kv.get(CF_DEFAULT, keys.data_key(b"k000001")) is not None


def run_with_progress(mgr: SnapManager, kv: KvEngine, apply_state: RaftApplyState, *, cancel_at: int = 0) -> tuple[GenSnapRequest, list[SnapFileInfo]]:
    """run_with_progress runs one generation on a thread while this thread follows its BuildProgress;
    with cancel_at > 0 the task is canceled once that many files were announced (the scan waits at its
    limiter until then). Returns the request and the files announced before the progress ended."""
    request = GenSnapRequest(GenSnapTask(1, 2, 0), 6, apply_state, progress=BuildProgress())
    assert request.progress is not None
    canceled = threading.Event()
    if cancel_at:
        mgr.limiter.consume = lambda n: canceled.wait(10)  # type: ignore[method-assign,assignment,return-value]
    worker = threading.Thread(target=SnapGenerator(mgr, kv).handle, args=(request,))
    worker.start()
    seen: list[SnapFileInfo] = []
    try:
        for info in request.progress.follow():
            seen.append(info)
            if len(seen) == cancel_at:
                request.task.canceled = True
                canceled.set()
    finally:
        worker.join()
    return request, seen


def test_progress_announces_each_file_then_the_snapshot(mem_engines: Engines, tmp_path: Path) -> None:
    """A follower sees every file, in meta order, under its final name and complete (size and CRC32 as
    the meta records), then the snapshot the task completes with; a rerun reuses and announces it all."""
    populate(mem_engines.kv, n=400, value_size=100)
    apply_state = set_states(mem_engines.kv, snap_region(), 10)
    mgr = new_manager(tmp_path / "snap", max_file_raw_size=8 << 10)
    for _ in ("built", "reused"):
        request, seen = run_with_progress(mgr, mem_engines.kv, apply_state)
        assert request.progress is not None and request.task.result is not None
        assert request.progress.snapshot == request.task.result
        files = mgr.gen_files(request.key)
        assert seen == files.files(files.verify())
        assert [(f.cf, f.part) for f in seen][:2] == [("default", 0), ("default", 1)] and len(seen) > 6


def test_progress_of_a_canceled_build_fails(mem_engines: Engines, tmp_path: Path) -> None:
    """A build canceled after its first file fails its progress: the follower stops with
    SnapAbortedError, and the files it was shown are gone."""
    populate(mem_engines.kv, n=3000, value_size=100)
    apply_state = set_states(mem_engines.kv, snap_region(), 10)
    mgr = new_manager(tmp_path / "snap", max_file_raw_size=8 << 10)
    with pytest.raises(SnapAbortedError, match="generation cancelled"):
        run_with_progress(mgr, mem_engines.kv, apply_state, cancel_at=1)
    assert os.listdir(tmp_path / "snap") == []

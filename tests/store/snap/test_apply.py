"""Apply: a snapshot generated on one RocksDB store, sent to another and applied there — data equal inside
the region, untouched outside; corrupt files rejected before any data changes; re-running after a failure
or a SIGKILL at each step gives identical data; the job statuses."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from raftstore import failpoints
from raftstore.engine import keys
from raftstore.engine.base import CF_RAFT
from raftstore.engine.engines import open_engines
from raftstore.proto.eraftpb_pb2 import Snapshot
from raftstore.proto.raft_serverpb_pb2 import PeerState, RegionLocalState
from raftstore.store.snap import (
    ApplySnapTask,
    ApplyStatus,
    JobStatus,
    SnapHeader,
    SnapKey,
    SnapManager,
    SnapReceiver,
    SnapApplyWorker,
    SnapSender,
    apply_snapshot,
    applying_snap_key,
    handle_apply,
    transfer,
)

from .helpers import (
    dump,
    generate,
    new_manager,
    populate,
    region_range,
    snap_region,
    stage_applying,
)
from .test_files import flip_byte

STEPS = ["apply_snap_before_delete_range", "apply_snap_after_delete_range", "apply_snap_mid_ingest", "apply_snap_before_normal"]


@pytest.fixture
def failpoint_reset() -> Iterator[None]:
    yield
    failpoints.teardown()


class Stores:
    """Stores: a populated source store with a built snapshot, and a target store (engines + manager)
    that has received it and staged it as Applying."""

    def __init__(self, tmp_path: Path, *, populated_target: bool, max_file_raw_size: int = 8 << 10) -> None:
        self.region = snap_region()
        self.src = open_engines(tmp_path / "src")
        self.dst_path = tmp_path / "dst"
        self.dst = open_engines(self.dst_path)
        populate(self.src.kv, n=100, value_size=200, seed=1)
        # the target holds other values in and around the region, and keys the source does not have
        populate(self.dst.kv, n=150 if populated_target else 0, value_size=50, seed=2)
        self.src_mgr = new_manager(tmp_path / "src_snap", max_file_raw_size=max_file_raw_size)
        self.dst_mgr = new_manager(tmp_path / "dst_snap")
        self.snap: Snapshot = generate(self.src_mgr, self.src, self.region, applied_index=10, term=6)
        with SnapSender(self.src_mgr, self.snap) as s, SnapReceiver(self.dst_mgr, SnapHeader(self.snap)) as r:
            transfer(s, r)
        stage_applying(self.dst.kv, self.snap, self.region)
        self.start, self.end = region_range(self.region)
        self.outside_before = self.outside()

    def outside(self) -> tuple[dict[str, list], dict[str, list]]:
        return dump(self.dst.kv, b"", self.start), dump(self.dst.kv, self.end, None)

    def assert_applied(self) -> None:
        assert dump(self.dst.kv, self.start, self.end) == dump(self.src.kv, self.start, self.end)
        assert self.outside() == self.outside_before
        raw = self.dst.kv.get(CF_RAFT, keys.region_state_key(1))
        assert raw is not None
        state = RegionLocalState.FromString(raw)
        assert (state.state, state.region) == (PeerState.Normal, self.region)
        assert self.dst.kv.get(CF_RAFT, keys.snapshot_raft_state_key(1)) is None

    def close(self) -> None:
        self.src.close()
        self.dst.close()


@pytest.fixture
def stores(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Stores]:
    s = Stores(tmp_path, populated_target=getattr(request, "param", True))
    try:
        yield s
    finally:
        s.close()


@pytest.mark.parametrize("stores", [False, True], ids=["fresh_target", "populated_target"], indirect=True)
def test_round_trip_apply(stores: Stores) -> None:
    meta = stores.dst_mgr.rev_files(SnapKey(1, 6, 10)).load_meta()
    assert sum(1 for f in meta.cf_files if f.cf == "default") > 1  # the CFs were split into several files
    assert applying_snap_key(stores.dst, 1) == SnapKey(1, 6, 10)
    status = ApplyStatus()
    assert handle_apply(stores.dst, stores.dst_mgr, 1, status) is False
    assert status.load() == JobStatus.FINISHED
    stores.assert_applied()
    assert applying_snap_key(stores.dst, 1) is None
    assert stores.dst_mgr.registered(SnapKey(1, 6, 10)) == []


def test_apply_worker_runs_jobs_in_order_and_cancels_after_stop(stores: Stores) -> None:
    """SnapApplyWorker runs each ApplySnapTask with handle_apply (FINISHED, then FAILED for a region that is
    no longer Applying); after stop() a scheduled job is CANCELLED without running."""
    worker = SnapApplyWorker(stores.dst, stores.dst_mgr)
    jobs = [ApplySnapTask(1, 2, ApplyStatus()), ApplySnapTask(1, 2, ApplyStatus())]
    for job in jobs:
        worker.schedule(job)
    worker.wait_idle()
    assert [job.status.load() for job in jobs] == [JobStatus.FINISHED, JobStatus.FAILED]
    stores.assert_applied()
    worker.stop()
    worker.wait_idle()  # returns after stop() too
    late = ApplySnapTask(1, 2, ApplyStatus())
    worker.schedule(late)
    assert late.status.load() == JobStatus.CANCELLED


def test_corrupt_file_fails_before_any_data_changes(stores: Stores) -> None:
    files = stores.dst_mgr.rev_files(SnapKey(1, 6, 10))
    flip_byte(files.path(files.prefix + "_write.sst"), 1000)
    before = dump(stores.dst.kv)
    status = ApplyStatus()
    assert handle_apply(stores.dst, stores.dst_mgr, 1, status) is True  # the peer must be destroyed
    assert status.load() == JobStatus.FAILED
    assert dump(stores.dst.kv) == before
    assert applying_snap_key(stores.dst, 1) == SnapKey(1, 6, 10)


def test_region_not_applying_fails(stores: Stores) -> None:
    assert handle_apply(stores.dst, stores.dst_mgr, 1, ApplyStatus()) is False
    status = ApplyStatus()
    assert handle_apply(stores.dst, stores.dst_mgr, 1, status) is True
    assert status.load() == JobStatus.FAILED


def test_cancelled_before_start(stores: Stores) -> None:
    status = ApplyStatus()
    assert status.compare_exchange(JobStatus.PENDING, JobStatus.CANCELLING)
    before = dump(stores.dst.kv)
    assert handle_apply(stores.dst, stores.dst_mgr, 1, status) is False
    assert status.load() == JobStatus.CANCELLED
    assert dump(stores.dst.kv) == before


@pytest.mark.parametrize("step", STEPS)
def test_rerun_after_failure_at_each_step(stores: Stores, step: str, failpoint_reset: None) -> None:
    failpoints.cfg(step, "panic")
    with pytest.raises(failpoints.FailpointPanic):
        apply_snapshot(stores.dst, stores.dst_mgr, 1)
    assert applying_snap_key(stores.dst, 1) == SnapKey(1, 6, 10)  # still Applying
    failpoints.remove(step)
    apply_snapshot(stores.dst, stores.dst_mgr, 1)
    stores.assert_applied()


@pytest.mark.parametrize(
    "step", [pytest.param(s, marks=[] if s == "apply_snap_mid_ingest" else [pytest.mark.slow]) for s in STEPS]
)
def test_sigkill_at_each_step_then_restart_finishes(tmp_path: Path, step: str) -> None:
    """The apply job runs in a child process that a failpoint SIGKILLs at `step`; after a restart the
    region is still Applying and running the job again gives the source's data."""
    s = Stores(tmp_path, populated_target=True)
    try:
        s.dst.close()
        env = dict(os.environ, RAFTSTORE_FAILPOINTS=f"{step}=kill")
        proc = subprocess.run(
            [sys.executable, "-m", "tests.store.snap.apply_child", str(s.dst_path), s.dst_mgr.path, "1"],
            env=env,
            capture_output=True,
            timeout=60,
        )
        assert proc.returncode == -9, proc.stderr.decode()
        s.dst = open_engines(s.dst_path)
        mgr = SnapManager(s.dst_mgr.path)
        mgr.init()  # a restart: leftovers (an ingest's .clone files) go
        assert applying_snap_key(s.dst, 1) == SnapKey(1, 6, 10)
        status = ApplyStatus()
        assert handle_apply(s.dst, mgr, 1, status) is False
        assert status.load() == JobStatus.FINISHED
        s.assert_applied()
    finally:
        s.close()


def test_failpoints_off_by_default_and_from_env() -> None:
    assert failpoints.ENABLED is False
    failpoints.fail_point("apply_snap_before_normal")  # does nothing
    try:
        failpoints.load_env("a=panic; b=sleep(1) ;c=off")
        assert failpoints.ENABLED
        with pytest.raises(failpoints.FailpointPanic, match="failpoint a panic"):
            failpoints.fail_point("a")
        failpoints.fail_point("b")
        failpoints.fail_point("c")
        with pytest.raises(ValueError, match="unknown failpoint action"):
            failpoints.cfg("d", "explode")
        with pytest.raises(ValueError, match="not name=action"):
            failpoints.load_env("justaname")
    finally:
        failpoints.teardown()
    assert failpoints.ENABLED is False

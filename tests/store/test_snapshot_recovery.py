"""Startup recovery (recover_store) and crash safety of a snapshot's staging, on real RocksDB.

A follower (peer 2, bootstrapped at index 5 with data of its own) receives a snapshot of region 1 at
(term 6, index 10). A child process (tests/store/snap/apply_child.py) stages it through PeerStorage, persists
the round and runs the apply job; a failpoint SIGKILLs it before Applying is durable, between the KV and the
raft fsync, or at a step of the job. After a restart, recover_store finishes the apply (or, killed before
Applying, leaves the region as it was, and the snapshot sent again applies) with the source's data."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from raftstore import failpoints
from raftstore.engine import keys
from raftstore.engine.base import CF_DEFAULT, CF_RAFT
from raftstore.engine.engines import Engines, open_engines
from raftstore.proto.eraftpb_pb2 import HardState, Snapshot
from raftstore.proto.raft_serverpb_pb2 import PeerState, RaftLocalState, RegionLocalState
from raftstore.store import (
    InvalidStateError,
    PeerStorage,
    StoreError,
    WriteTask,
    recover_store,
    write_initial_states,
    write_tasks,
)
from raftstore.store.snap import JobStatus, SnapKey, SnapManager, SnapNotFoundError

from .helpers import new_entry, new_region, new_storage_from_ents, raft_log_indexes
from .snap.apply_child import stage_and_apply
from .snap.helpers import dump, generate, new_manager, populate, region_range, snap_region
from .test_snapshot_storage import send

PEER = 2  # the follower's peer id (store 2)


class Follower:
    """Follower: a source store with the built snapshot (term 6, index 10) of region 1, and the follower's
    store: bootstrapped at 5 with other data in and around the region, the snapshot already received."""

    def __init__(self, tmp_path: Path) -> None:
        self.region = snap_region()
        self.src = open_engines(tmp_path / "src")
        populate(self.src.kv, n=100, value_size=200, seed=1)
        self.src_mgr = new_manager(tmp_path / "src_snap", max_file_raw_size=8 << 10)
        self.snap: Snapshot = generate(self.src_mgr, self.src, self.region, applied_index=10, term=6)
        self.dst_path = tmp_path / "dst"
        self.dst = open_engines(self.dst_path)
        write_initial_states(self.dst, self.region)
        populate(self.dst.kv, n=150, value_size=50, seed=2)
        self.mgr = new_manager(tmp_path / "dst_snap")
        send(self.src_mgr, self.mgr, self.snap)
        self.snap_file = tmp_path / "snapshot.pb"
        self.snap_file.write_bytes(self.snap.SerializeToString())
        self.start, self.end = region_range(self.region)
        self.before = dump(self.dst.kv)
        self.outside_before = self.outside()

    def outside(self) -> tuple[dict[str, list], dict[str, list]]:
        return dump(self.dst.kv, b"", self.start), dump(self.dst.kv, self.end, None)

    def restart(self) -> Engines:
        """restart reopens the follower's engines and manager (init removes an ingestion's leftovers)."""
        self.dst.close()
        self.dst = open_engines(self.dst_path)
        self.mgr = SnapManager(self.mgr.path)
        self.mgr.init()
        return self.dst

    def region_state(self) -> RegionLocalState:
        return RegionLocalState.FromString(self.dst.kv.get(CF_RAFT, keys.region_state_key(1)) or b"")

    def assert_applied(self) -> None:
        """The follower holds the source's data in the region, its own outside, and a valid peer at 10."""
        assert dump(self.dst.kv, self.start, self.end) == dump(self.src.kv, self.start, self.end)
        assert self.outside() == self.outside_before
        assert (self.region_state().state, self.region_state().region) == (PeerState.Normal, self.region)
        assert self.dst.kv.get(CF_RAFT, keys.snapshot_raft_state_key(1)) is None
        storage = PeerStorage(self.dst, self.region, PEER)
        assert (storage.first_index(), storage.last_index(), storage.applied_index()) == (11, 10, 10)
        assert (storage.truncated_term(), storage.last_term(), storage.hard_state().commit) == (6, 6, 10)
        assert raft_log_indexes(self.dst, 1) == []

    def close(self) -> None:
        self.src.close()
        self.dst.close()


@pytest.fixture
def follower(tmp_path: Path) -> Iterator[Follower]:
    f = Follower(tmp_path)
    try:
        yield f
    finally:
        f.close()


@pytest.fixture
def failpoint_reset() -> Iterator[None]:
    yield
    failpoints.teardown()


def test_stage_and_apply_in_process(follower: Follower) -> None:
    """Without a crash: staging, the round and the job give the source's data; recovery then has nothing to do."""
    assert stage_and_apply(follower.dst, follower.mgr, 1, follower.snap, PEER).load() == JobStatus.FINISHED
    follower.assert_applied()
    result = recover_store(follower.dst, follower.mgr)
    assert ([s.region.id for s in result.regions], result.applied, result.failed) == ([1], [], {})


# -- SIGKILL at each step ------------------------------------------------------------------------------

# STEPS: (failpoint, what is durable when it fires). Killed at raft_after_apply_snap nothing is: the region is
# as before and a snapshot sent again must apply; at every other step the region is Applying.
STEPS = [
    ("raft_after_apply_snap", "nothing"),
    ("write_tasks_between_batches", "kv"),
    ("apply_snap_before_delete_range", "kv+raft"),
    ("apply_snap_mid_ingest", "kv+raft"),
    ("apply_snap_before_normal", "kv+raft"),
]


@pytest.mark.parametrize("step, durable", STEPS)
def test_sigkill_while_staging_or_applying_then_restart_finishes(follower: Follower, step: str, durable: str) -> None:
    follower.dst.close()
    env = dict(os.environ, **{failpoints.ENV_VAR: f"{step}=kill"})
    argv = [str(follower.dst_path), follower.mgr.path, "1", str(follower.snap_file), str(PEER)]
    proc = subprocess.run(
        [sys.executable, "-m", "tests.store.snap.apply_child", *argv], env=env, capture_output=True, timeout=60
    )
    assert proc.returncode == -9, proc.stderr.decode()
    engines = follower.restart()
    raft_state = RaftLocalState.FromString(engines.raft.get(CF_DEFAULT, keys.raft_state_key(1)) or b"")
    if durable == "nothing":
        assert dump(engines.kv) == follower.before
        assert follower.region_state().state == PeerState.Normal
    else:
        assert follower.region_state().state == PeerState.Applying
        # between the fsyncs the raft engine still has the old raft state: recovery takes the snapshot's
        assert raft_state.last_index == (5 if durable == "kv" else 10)

    result = recover_store(engines, follower.mgr)
    assert [s.region.id for s in result.regions] == [1] and result.failed == {}
    if durable == "nothing":
        assert result.applied == [] and follower.region_state().state == PeerState.Normal
        assert dump(engines.kv) == follower.before
        # raft sends the snapshot again; it applies as if nothing had happened
        assert stage_and_apply(engines, follower.mgr, 1, follower.snap, PEER).load() == JobStatus.FINISHED
    else:
        assert result.applied == [1]
        assert result.regions[0].state == PeerState.Normal
    follower.assert_applied()


def test_recover_between_batches_in_process(follower: Follower, failpoint_reset: None) -> None:
    """The same window as the SIGKILL at write_tasks_between_batches, with a panic failpoint: recovery
    restores the raft state from the snapshot raft state (the old log is deleted) and finishes the apply."""
    storage = PeerStorage(follower.dst, follower.region, PEER)
    task = WriteTask(1, PEER, 1)
    storage.apply_snapshot(follower.snap, task)
    failpoints.cfg("write_tasks_between_batches", "panic")
    with pytest.raises(failpoints.FailpointPanic):
        write_tasks(follower.dst, [task])
    failpoints.teardown()
    engines = follower.restart()
    raft_state = RaftLocalState.FromString(engines.raft.get(CF_DEFAULT, keys.raft_state_key(1)) or b"")
    assert raft_state.last_index == 5  # the old raft state: no peer can be opened on this without recovery
    with pytest.raises(InvalidStateError, match="log at recorded commit index .6. 10 doesn't exist"):
        PeerStorage(engines, follower.region, PEER)
    result = recover_store(engines, follower.mgr)
    assert (result.applied, result.failed) == ([1], {})
    follower.assert_applied()


# -- recovery of each region state ----------------------------------------------------------------------


def test_recover_store_tombstone_leftovers(engines: Engines, tmp_path: Path, failpoint_reset: None) -> None:
    """A tombstone whose raft half was lost in a crash has its leftover meta cleared (its Tombstone state
    stays); a clean tombstone is left alone; Normal regions are returned; a second run changes nothing."""
    ents = [new_entry(3, 3), new_entry(4, 4), new_entry(5, 5)]
    crashed = new_storage_from_ents(engines, ents, new_region(1))
    normal = new_storage_from_ents(engines, ents, new_region(2))
    clean = new_storage_from_ents(engines, ents, new_region(3))
    task = WriteTask(3, 3, 9)
    clean.tombstone(task)
    write_tasks(engines, [task])
    task = WriteTask(1, 1, 9)
    crashed.tombstone(task)
    failpoints.cfg("write_tasks_between_batches", "panic")
    with pytest.raises(failpoints.FailpointPanic):
        write_tasks(engines, [task])
    failpoints.teardown()
    assert raft_log_indexes(engines, 1) == [4, 5]  # the raft half was not written
    mgr = new_manager(tmp_path / "snap")

    result = recover_store(engines, mgr)
    assert [s.region for s in result.regions] == [normal.region]
    assert (result.tombstones, result.cleared, result.applied, result.failed) == ([1, 3], [1], [], {})
    assert list(engines.raft.scan(CF_DEFAULT, *keys.region_raft_range(1))) == []
    assert list(engines.kv.scan(CF_RAFT, *keys.region_raft_range(1))) == []
    state = RegionLocalState.FromString(engines.kv.get(CF_RAFT, keys.region_state_key(1)) or b"")
    assert (state.state, state.region) == (PeerState.Tombstone, crashed.region)
    again = recover_store(engines, mgr)
    assert (again.tombstones, again.cleared) == ([1, 3], [])
    assert PeerStorage(engines, normal.region, 2).last_index() == 5


@pytest.mark.parametrize("case", ["files_missing", "no_snapshot_raft_state"])
def test_recover_store_failed_apply(follower: Follower, tmp_path: Path, case: str) -> None:
    """An Applying region whose snapshot files are gone, or that lacks its snapshot raft state, is reported
    in `failed`, not opened, and left Applying on disk; other regions are still returned."""
    storage = PeerStorage(follower.dst, follower.region, PEER)
    task = WriteTask(1, PEER, 1)
    storage.apply_snapshot(follower.snap, task)
    write_tasks(follower.dst, [task])
    write_initial_states(follower.dst, new_region(7, start_key=b"x", end_key=b"y"))
    if case == "files_missing":
        follower.mgr.rev_files(SnapKey(1, 6, 10)).delete()
    else:
        follower.dst.kv.delete(CF_RAFT, keys.snapshot_raft_state_key(1))
    result = recover_store(follower.dst, follower.mgr)
    assert [s.region.id for s in result.regions] == [7] and result.applied == []
    assert list(result.failed) == [1]
    if case == "files_missing":
        assert isinstance(result.failed[1], SnapNotFoundError)
    else:
        assert isinstance(result.failed[1], StoreError) and "no snapshot raft state" in str(result.failed[1])
    assert follower.region_state().state == PeerState.Applying


def test_recovered_peer_takes_raft_after_snapshot(follower: Follower) -> None:
    """After recovery the follower's storage takes the entries after the snapshot index."""
    assert stage_and_apply(follower.dst, follower.mgr, 1, follower.snap, PEER).load() == JobStatus.FINISHED
    storage = PeerStorage(follower.dst, follower.region, PEER)
    task = WriteTask(1, PEER, 2)
    storage.append([new_entry(11, 6), new_entry(12, 7)], task)
    storage.set_hard_state(HardState(term=7, commit=12), task)
    write_tasks(follower.dst, [task])
    assert raft_log_indexes(follower.dst, 1) == [11, 12]
    assert PeerStorage(follower.restart(), follower.region, PEER).last_index() == 12


"""Crashes at each point of a round, restarts from the data directory, and the store identity.

A crash in the harness drops the store's memory (its core, every waiting command) and closes its
engines; the restart rebuilds every peer from disk. The driver's failpoints put the crash between the
round's IO steps."""

from __future__ import annotations

from pathlib import Path

import pytest

from raftstore.engine import keys
from raftstore.engine.engines import open_engines
from raftstore.proto.raft_serverpb_pb2 import RaftApplyState
from raftstore.store.bootstrap import bootstrap_store
from raftstore.store.errors import StoreIdentError
from raftstore.store.store_core import StoreConfig, StoreCore
from raftstore.testing import Cluster

from .helpers import leader_cmd, log_entries, put


def _committed_not_applied(core: StoreCore) -> bool:
    peer = core.peers[1]
    return bool(peer.raft_group.raft.raft_log.committed > peer.storage.applied_index())


def _has_unpersisted_entries(core: StoreCore) -> bool:
    return bool(core.peers[1].raft_group.raft.raft_log.unstable_entries())


def test_leader_crash_before_apply_keeps_the_committed_write(cluster: Cluster) -> None:
    """The leader's round persisted and committed a write, then the store died before writing the apply
    batch: no one was answered, but the write is committed, so every store applies it — the crashed one
    by replaying its durable log at restart."""
    for i in range(5):
        cluster.must_put(b"acked%d" % i, b"v")
    sid, cmd = leader_cmd(cluster, put(b"k", b"committed"))
    box = cluster.propose(sid, cmd)
    cluster.crash_store_at(sid, "store_round_before_apply", _committed_not_applied)
    cluster.run_until(lambda: sid not in cluster.cores, what="the crash")
    assert box == []
    assert cluster.get_on_store(sid, b"k") is None  # the apply batch was never written
    cluster.start_store(sid)
    # The restarted store's durable apply state is behind the write's entry: it applies it again.
    storage = cluster.cores[sid].peers[1].storage
    index = next(e.index for e in log_entries(cluster, sid, storage.applied_index() + 1) if b"committed" in e.data)
    assert storage.applied_index() < index
    for other in (1, 2, 3):
        cluster.must_get_on_store(other, b"k", b"committed")
        for i in range(5):
            assert cluster.get_on_store(other, b"acked%d" % i) == b"v"


@pytest.mark.parametrize("point", ["store_round_before_persist", "store_round_before_apply", "store_round_before_answer"])
def test_follower_crash_at_each_point_of_a_round_then_restart_catches_up(cluster: Cluster, point: str) -> None:
    leader = cluster.wait_leader().store_id
    follower = next(s for s in (1, 2, 3) if s != leader)
    cluster.must_put(b"before", b"crash")
    condition = _has_unpersisted_entries if point == "store_round_before_persist" else _committed_not_applied
    cluster.crash_store_at(follower, point, condition)
    for i in range(10):
        cluster.must_put(b"k%d" % i, b"v%d" % i)
    cluster.run_until(lambda: follower not in cluster.cores, what="the crash")
    cluster.must_put(b"while", b"down")
    cluster.start_store(follower)
    for key, value in [(b"before", b"crash"), (b"while", b"down")] + [(b"k%d" % i, b"v%d" % i) for i in range(10)]:
        cluster.must_get_on_store(follower, key, value)


def test_leader_crash_before_answer_the_write_is_there_after_restart(cluster: Cluster) -> None:
    sid, cmd = leader_cmd(cluster, put(b"k", b"applied"))
    box = cluster.propose(sid, cmd)
    cluster.crash_store_at(sid, "store_round_before_answer", _committed_not_applied)
    cluster.run_until(lambda: sid not in cluster.cores, what="the crash")
    assert box == []
    cluster.start_store(sid)
    assert cluster.must_get(b"k") == b"applied"


def test_every_store_crashes_at_once_and_nothing_acknowledged_is_lost(tmp_path: Path) -> None:
    with Cluster(3, path=tmp_path) as cluster:
        cluster.start()
        acked = {}
        for round_no in range(3):
            for i in range(10):
                key, value = b"k%d" % i, b"r%d" % round_no
                cluster.must_put(key, value)
                acked[key] = value
            for sid in (1, 2, 3):
                cluster.stop_store(sid)
            for sid in (1, 2, 3):
                cluster.start_store(sid)
        for key, value in acked.items():
            assert cluster.must_get(key) == value


def test_restart_of_a_bootstrapped_cluster_does_not_bootstrap_again(tmp_path: Path) -> None:
    with Cluster(3, path=tmp_path) as cluster:
        cluster.start()
        cluster.must_put(b"k", b"v")
        for sid in (1, 2, 3):
            cluster.stop_store(sid)
    with Cluster(3, path=tmp_path) as again:
        again.start()  # same identities, regions already there: nothing written, nothing refused
        assert again.must_get(b"k") == b"v"


def test_another_stores_or_clusters_data_directory_is_refused(tmp_path: Path) -> None:
    with Cluster(3, path=tmp_path, cluster_id=7) as cluster:
        cluster.start()
        cluster.must_put(b"k", b"v")
        cluster.stop_store(1)
        engines = open_engines(tmp_path / "store-1")
        try:
            for cluster_id, store_id, what in ((7, 2, "store 1 of cluster 7"), (8, 1, "store 1 of cluster 7")):
                with pytest.raises(StoreIdentError, match=what):
                    StoreCore(engines, cluster_id, store_id)
                with pytest.raises(StoreIdentError, match=what):
                    bootstrap_store(engines, cluster_id, store_id)
            StoreCore(engines, 7, 1)  # its own identity opens
        finally:
            engines.close()


def test_a_directory_without_identity_is_refused(tmp_path: Path) -> None:
    with open_engines(tmp_path / "fresh") as engines:
        with pytest.raises(StoreIdentError, match="no store identity"):
            StoreCore(engines, 1, 1)
        engines.kv.put("default", b"zstray", b"data")
        with pytest.raises(StoreIdentError, match="hold data but no store identity"):
            bootstrap_store(engines, 1, 1)


def test_a_follower_acks_an_append_only_after_persisting_it(cluster: Cluster) -> None:
    """The leader and one follower form the quorum (the other is cut off). The follower crashes after
    taking the append but before persisting it: its ack must not have left, so the write is not
    acknowledged — else the leader could answer a write that only the leader holds, and lose it when it
    dies and the other two elect a leader without it."""
    leader = cluster.wait_leader().store_id
    a, b = (s for s in (1, 2, 3) if s != leader)
    cluster.must_put(b"warm", b"up")
    cluster.isolate_store(b)
    cluster.crash_store_at(a, "store_round_before_persist", _has_unpersisted_entries)
    sid, cmd = leader_cmd(cluster, put(b"k", b"v"))
    box = cluster.propose(sid, cmd)
    cluster.run_until(lambda: a not in cluster.cores, what="the crash")
    cluster.run_steps(30)
    assert box == []
    # The leader dies; the two others elect a leader and agree, without the unacknowledged write or with it.
    cluster.stop_store(leader)
    cluster.clear_filters()
    cluster.start_store(a)
    value = cluster.must_get(b"k")
    assert cluster.must_get(b"warm") == b"up"
    cluster.must_get_on_store(a, b"k", value)
    cluster.must_get_on_store(b, b"k", value)


@pytest.mark.parametrize("role", ["leader", "follower"])
def test_crash_between_the_two_fsyncs_of_a_log_gc_round(tmp_path: Path, role: str) -> None:
    """A round that stages log GC writes both halves of write_tasks: the apply state (KV, synced first),
    then the log deletion and the round's entries (raft). A crash between the two leaves the new truncated
    state durable over a log that still holds the old entries (and lacks the round's new ones); the
    restarted store validates, keeps every acknowledged write, and collects the leftovers later."""
    config = StoreConfig(raft_log_gc_tick_interval=2, raft_log_gc_threshold=5)
    with Cluster(3, path=tmp_path, config=config) as cluster:
        cluster.start()
        leader = cluster.wait_leader().store_id
        sid = leader if role == "leader" else next(s for s in (1, 2, 3) if s != leader)
        cluster.crash_store_at(sid, "write_tasks_between_batches", lambda core: core.peers[1].gc_pending)
        acked = {}
        for i in range(60):
            if sid not in cluster.cores:
                break
            cluster.must_put(b"k%02d" % i, b"v%d" % i)
            acked[b"k%02d" % i] = b"v%d" % i
        cluster.run_until(lambda: sid not in cluster.cores, what="the crash")
        storage_dir_truncated = _durable_truncated_of(cluster, sid)
        cluster.start_store(sid)
        storage = cluster.cores[sid].peers[1].storage
        assert storage.truncated_index() == storage_dir_truncated > 5
        for key, value in acked.items():
            assert cluster.must_get(key) == value
            cluster.must_get_on_store(sid, key, value)
        cluster.must_put(b"after", b"crash")
        cluster.must_get_on_store(sid, b"after", b"crash")


def _durable_truncated_of(cluster: Cluster, sid: int) -> int:
    """_durable_truncated_of: the truncated index in the apply state on store sid's disk."""
    engines = open_engines(cluster.path / f"store-{sid}", read_only=True)
    try:
        raw = engines.kv.get("raft", keys.apply_state_key(1))
        assert raw is not None
        return int(RaftApplyState.FromString(raw).truncated_state.index)
    finally:
        engines.close()

"""CompactLog and raft log GC: the leader's policy, apply on every replica, and deletion of the log only
once an apply state covering it is durable."""

from __future__ import annotations

from pathlib import Path

from raftstore.engine import keys
from raftstore.engine.base import CF_DEFAULT, CF_RAFT
from raftstore.proto.raft_cmdpb_pb2 import AdminCmdType
from raftstore.proto.raft_serverpb_pb2 import RaftApplyState
from raftstore.store.store_core import StoreConfig
from raftstore.testing import Cluster

from .helpers import leader_cmd

GC = StoreConfig(raft_log_gc_tick_interval=2, raft_log_gc_threshold=5, raft_log_gc_count_limit=1000)


def _truncated(cluster: Cluster, sid: int) -> int:
    return cluster.cores[sid].peers[1].storage.truncated_index()


def _durable_truncated(cluster: Cluster, sid: int) -> int:
    raw = cluster.engines[sid].kv.get(CF_RAFT, keys.apply_state_key(1))
    assert raw is not None
    return int(RaftApplyState.FromString(raw).truncated_state.index)


def _lowest_log_index(cluster: Cluster, sid: int) -> int | None:
    rows = cluster.engines[sid].raft.scan(CF_DEFAULT, keys.raft_log_key(1, 0), keys.raft_log_key(1, 2**63), limit=1)
    first = next(iter(rows), None)
    return None if first is None else keys.raft_log_index(first[0])


def test_the_log_is_compacted_on_every_store_and_collected_once_durable(tmp_path: Path) -> None:
    with Cluster(3, path=tmp_path, config=GC) as cluster:
        cluster.start()
        for i in range(40):
            cluster.must_put(b"k%02d" % i, b"v%d" % i)
        cluster.run_until(lambda: all(_truncated(cluster, s) > 30 for s in (1, 2, 3)), what="compaction")
        cluster.run_steps(5)
        for sid in (1, 2, 3):
            truncated = _truncated(cluster, sid)
            # The truncated state on disk is the one in memory, and no entry at or below it is left.
            assert _durable_truncated(cluster, sid) == truncated
            assert (_lowest_log_index(cluster, sid) or truncated + 1) > truncated
        for sid in (1, 2, 3):
            cluster.restart_store(sid)  # the compacted states validate
        for i in range(40):
            assert cluster.must_get(b"k%02d" % i) == b"v%d" % i
        cluster.must_put(b"after", b"restart")


def test_a_lagging_follower_keeps_the_entries_it_needs(tmp_path: Path) -> None:
    with Cluster(3, path=tmp_path, config=GC) as cluster:
        cluster.start()
        leader = cluster.wait_leader().store_id
        follower = next(s for s in (1, 2, 3) if s != leader)
        cluster.must_put(b"before", b"stop")
        cluster.run_steps(5)
        cluster.stop_store(follower)
        matched = cluster.cores[leader].peers[1].raft_group.raft.prs.get(follower).matched  # type: ignore[union-attr]
        for i in range(40):
            cluster.must_put(b"k%02d" % i, b"v")
        cluster.run_steps(10)
        assert _truncated(cluster, leader) < matched
        cluster.start_store(follower)  # catches up from the log, no snapshot needed
        for i in range(40):
            cluster.must_get_on_store(follower, b"k%02d" % i, b"v")


def test_past_the_count_limit_the_log_is_compacted_past_a_lagging_follower(tmp_path: Path) -> None:
    config = StoreConfig(raft_log_gc_tick_interval=2, raft_log_gc_threshold=5, raft_log_gc_count_limit=20)
    with Cluster(3, path=tmp_path, config=config) as cluster:
        cluster.start()
        leader = cluster.wait_leader().store_id
        follower = next(s for s in (1, 2, 3) if s != leader)
        cluster.must_put(b"before", b"stop")
        cluster.stop_store(follower)
        matched = cluster.cores[leader].peers[1].raft_group.raft.prs.get(follower).matched  # type: ignore[union-attr]
        for i in range(60):
            cluster.must_put(b"k%02d" % i, b"v")
        cluster.run_steps(10)
        # That follower now needs a snapshot (test_cluster_snapshot.py: the catch-up).
        assert _truncated(cluster, leader) > matched


def test_compact_log_command_table(cluster: Cluster) -> None:
    """A CompactLog proposed by hand: (compact index, term) -> error message or the truncated index after."""
    for i in range(10):
        cluster.must_put(b"k%d" % i, b"v")
    sid, _ = leader_cmd(cluster)
    storage = cluster.cores[sid].peers[1].storage
    applied = storage.applied_index()
    table = [
        (8, storage.term(8), None, 8),
        (8, storage.term(8), None, 8),  # at or below the first index: nothing to do
        (applied + 50, 5, "compact index", 8),  # beyond the applied index at apply
        (10, 0, "term 0", 8),
        (applied - 1, storage.term(applied - 1), None, applied - 1),
    ]
    for index, term, error, truncated in table:
        _, cmd = leader_cmd(cluster)
        cmd.admin_request.cmd_type = AdminCmdType.CompactLog
        cmd.admin_request.compact_log.compact_index = index
        cmd.admin_request.compact_log.compact_term = term
        result = cluster.call(sid, cmd)
        if error is None:
            assert result.error is None and result.response.admin_response.cmd_type == AdminCmdType.CompactLog
        else:
            assert result.error is not None and error in result.error.message, (index, result.error)
        for other in (1, 2, 3):
            cluster.run_until(lambda: _truncated(cluster, other) == truncated, what=f"truncated {truncated}")
    cluster.run_steps(3)
    for other in (1, 2, 3):
        assert _durable_truncated(cluster, other) == applied - 1
        assert _lowest_log_index(cluster, other) == applied

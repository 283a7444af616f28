"""Catch-up by snapshot on a Cluster: the leader's generation on its snapshot IO, the files carried with
the MsgSnapshot, the follower's staging, its apply job, and startup finishing an interrupted apply."""

from __future__ import annotations

from pathlib import Path

from raftstore.engine import keys
from raftstore.engine.base import CF_DEFAULT
from raftstore.store.store_core import StoreConfig
from raftstore.testing import Cluster

# COMPACT: the log is compacted past a stopped follower after 20 entries (the count limit).
COMPACT = StoreConfig(raft_log_gc_tick_interval=2, raft_log_gc_threshold=5, raft_log_gc_count_limit=20)


def region_data(cluster: Cluster, sid: int) -> list[tuple[bytes, bytes]]:
    """region_data: every user key and value in store sid's CF default."""
    return list(cluster.engines[sid].kv.scan(CF_DEFAULT, keys.DATA_MIN_KEY, keys.DATA_MAX_KEY))


def lag_follower_past_the_log(cluster: Cluster, puts: int = 60) -> tuple[int, int]:
    """lag_follower_past_the_log stops a follower, writes until the leader's log is compacted past it and
    returns (leader, follower)."""
    leader = cluster.wait_leader().store_id
    follower = next(s for s in (1, 2, 3) if s != leader)
    cluster.must_put(b"before", b"stop")
    cluster.stop_store(follower)
    matched = cluster.cores[leader].peers[1].raft_group.raft.prs.get(follower).matched  # type: ignore[union-attr]
    for i in range(puts):
        cluster.must_put(b"k%02d" % i, b"v%d" % i)
    cluster.run_until(lambda: cluster.cores[leader].peers[1].storage.truncated_index() > matched, what="compaction")
    return leader, follower


def test_a_follower_behind_the_compacted_log_catches_up_by_snapshot(tmp_path: Path) -> None:
    with Cluster(3, path=tmp_path, config=COMPACT) as cluster:
        cluster.start()
        leader, follower = lag_follower_past_the_log(cluster)
        cluster.start_store(follower)
        cluster.must_get_on_store(follower, b"k59", b"v59")
        storage = cluster.cores[follower].peers[1].storage
        # It took a snapshot: its log starts after one (nothing was appended below it), and it got files.
        assert storage.truncated_index() > 6
        assert any(not built for _, built in cluster.snap_mgrs[follower].list_snapshots())
        cluster.must_put(b"after", b"snapshot")  # the log goes on after the snapshot
        cluster.must_get_on_store(follower, b"after", b"snapshot")
        cluster.run_steps(5)
        assert region_data(cluster, follower) == region_data(cluster, leader)
        cluster.restart_store(follower)  # the applied snapshot's states validate
        cluster.must_put(b"after", b"restart")
        cluster.must_get_on_store(follower, b"after", b"restart")
        assert region_data(cluster, follower) == region_data(cluster, leader)


def test_startup_finishes_a_snapshot_apply_a_crash_interrupted(tmp_path: Path) -> None:
    with Cluster(3, path=tmp_path, config=COMPACT) as cluster:
        cluster.start()
        leader, follower = lag_follower_past_the_log(cluster)
        cluster.crash_store_at(follower, "apply_snap_before_normal", lambda core: True)
        cluster.start_store(follower)
        cluster.run_until(lambda: follower not in cluster.cores, what="the crash in the apply job")
        cluster.start_store(follower)
        # The region was left Applying on disk; startup ran the job again before opening the peer.
        assert cluster.recovered[follower].applied == [1]
        assert cluster.engines[follower].kv.get(CF_DEFAULT, keys.data_key(b"k59")) == b"v59"
        cluster.must_put(b"after", b"recovery")
        cluster.must_get_on_store(follower, b"after", b"recovery")
        cluster.run_steps(5)
        assert region_data(cluster, follower) == region_data(cluster, leader)

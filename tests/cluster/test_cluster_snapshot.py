"""Catch-up by snapshot on a Cluster: the leader's generation on its snapshot IO, the files carried with
the MsgSnapshot, the follower's staging, its apply job, and startup finishing an interrupted apply."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from raftstore.engine import keys
from raftstore.engine.base import CF_DEFAULT
from raftstore.store.driver import SnapIO
from raftstore.store.snap.apply import ApplySnapTask
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


class DeferredSnapIO(SnapIO):
    """DeferredSnapIO: a store's snapshot IO whose apply jobs wait until release(), as the jobs of a busy
    apply worker do (the jobs themselves are the real ones)."""

    def __init__(self, base: SnapIO) -> None:
        super().__init__(base.engines, base.mgr)
        self.pending: list[ApplySnapTask] = []

    def apply(self, tasks: Iterable[ApplySnapTask]) -> None:
        self.pending.extend(tasks)

    def release(self) -> None:
        tasks, self.pending = self.pending, []
        super().apply(tasks)


def test_a_follower_applying_a_snapshot_waits_for_the_job(tmp_path: Path) -> None:
    """While its snapshot's apply job runs, a follower's log starts past its applied index. It must not
    tick (TiKV's on_raft_base_tick): an election timeout would make it scan its unapplied entries for conf
    changes, below its first index (a fatal error). And the messages of the snapshot's Ready wait for the
    job (TiKV's apply_snap_ctx.msgs), so its leader does not count it caught up (nor transfer to it)."""
    with Cluster(3, path=tmp_path, config=COMPACT) as cluster:
        cluster.start()
        leader, follower = lag_follower_past_the_log(cluster)
        cluster.start_store(follower)
        deferred = DeferredSnapIO(cluster.snap_io[follower])
        cluster.snap_io[follower] = deferred

        def staged() -> bool:
            peer = cluster.cores[follower].peers.get(1)
            return peer is not None and peer.storage.is_applying_snapshot() and bool(deferred.pending)

        cluster.run_until(staged, what="the snapshot staged, its job waiting")
        peer_id = cluster.cores[follower].peers[1].peer_id
        snapshot_index = cluster.cores[follower].peers[1].storage.truncated_index()

        def matched() -> int:
            progress = cluster.cores[leader].peers[1].raft_group.raft.prs.get(peer_id)
            assert progress is not None
            return int(progress.matched)

        cluster.run_steps(5)
        assert matched() < snapshot_index  # nothing acknowledged the snapshot yet
        cluster.isolate_store(follower)
        cluster.run_steps(3 * cluster.cores[follower].config.election_tick)  # no heartbeat: it would campaign
        assert follower in cluster.cores and cluster.cores[follower].peers[1].term == cluster.cores[leader].peers[1].term
        cluster.clear_filters()
        deferred.release()
        cluster.must_put(b"after", b"the job")
        cluster.must_get_on_store(follower, b"after", b"the job")
        assert region_data(cluster, follower) == region_data(cluster, leader)
        assert matched() >= snapshot_index

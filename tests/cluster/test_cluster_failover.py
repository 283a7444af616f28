"""Leader crash, re-election and catch-up; a partitioned minority (TiKV's test_multi and
test_stale_read / test_lease_read scenarios, on ReadIndex)."""

from __future__ import annotations

from raftstore.proto.raft_cmdpb_pb2 import RaftCmdRequest
from raftstore.testing import Cluster

from .helpers import get, leader_cmd, put


def test_leader_crash_reelects_without_losing_acknowledged_writes(cluster: Cluster) -> None:
    for i in range(10):
        cluster.must_put(b"k%d" % i, b"v%d" % i)
    old = cluster.wait_leader()
    cluster.stop_store(old.store_id)
    new = cluster.wait_leader()
    assert new.store_id != old.store_id
    for i in range(10):
        assert cluster.must_get(b"k%d" % i) == b"v%d" % i
    cluster.must_put(b"after", b"crash")
    # The old leader restarts from its data directory and catches up.
    cluster.start_store(old.store_id)
    cluster.must_get_on_store(old.store_id, b"after", b"crash")
    for i in range(10):
        assert cluster.get_on_store(old.store_id, b"k%d" % i) == b"v%d" % i


def test_a_follower_down_misses_writes_and_catches_up_after_restart(cluster: Cluster) -> None:
    follower = next(s for s in (1, 2, 3) if s != cluster.wait_leader().store_id)
    cluster.stop_store(follower)
    for i in range(30):
        cluster.must_put(b"k%d" % i, b"v")
    cluster.start_store(follower)
    for i in range(30):
        cluster.must_get_on_store(follower, b"k%d" % i, b"v")


def test_no_quorum_no_progress(cluster: Cluster) -> None:
    """With two of three stores down, a write is never answered as done."""
    leader = cluster.wait_leader().store_id
    for sid in (1, 2, 3):
        if sid != leader:
            cluster.stop_store(sid)
    sid, cmd = leader_cmd(cluster, put(b"k", b"v"))
    box = cluster.propose(sid, cmd)
    cluster.run_steps(100)
    assert all(r.error is not None for r in box)
    assert cluster.get_on_store(leader, b"k") is None


def _partition_leader_away(cluster: Cluster) -> tuple[int, RaftCmdRequest, RaftCmdRequest]:
    """Puts k=old, then cuts the leader off; returns its store and a put and a read addressed to it."""
    cluster.must_put(b"k", b"old")
    old_sid, old_put = leader_cmd(cluster, put(b"k", b"minority"))
    _, old_read = leader_cmd(cluster, get(b"k"))
    others = [s for s in (1, 2, 3) if s != old_sid]
    cluster.partition([old_sid], others)
    return old_sid, old_put, old_read


def test_a_partitioned_minority_makes_no_progress_and_serves_no_stale_read(cluster: Cluster) -> None:
    old_sid, old_put, old_read = _partition_leader_away(cluster)
    write_box = cluster.propose(old_sid, old_put)
    read_box = cluster.propose(old_sid, old_read)
    cluster.step()
    # The majority elects a leader of a new term and moves k on.
    cluster.run_until(lambda: (ld := cluster.leader_of()) is not None and ld.store_id != old_sid, what="a majority leader")
    cluster.must_put(b"k", b"new")
    # The cut-off leader never confirms the read index: when check_quorum steps it down, the read is
    # refused (NotLeader), never served with the old value; its write stays unanswered.
    cluster.run_steps(60)
    assert not cluster.cores[old_sid].peers[1].is_leader()
    assert len(read_box) == 1 and read_box[0].error is not None and read_box[0].error.HasField("not_leader")
    assert write_box == []
    # A read sent to it now is refused with the hint it has (none, or the new leader).
    result = cluster.call(old_sid, old_read)
    assert result.error is not None and result.error.HasField("not_leader")
    cluster.clear_filters()
    cluster.must_get_on_store(old_sid, b"k", b"new")
    assert cluster.must_get(b"k") == b"new"


def test_the_cut_off_leaders_proposal_is_answered_stale_after_healing(cluster: Cluster) -> None:
    """The minority leader appended the write but could not commit it; once the partition heals its
    entry is overwritten by the new leader's log and the proposal is answered StaleCommand."""
    old_sid, old_put, _ = _partition_leader_away(cluster)
    box = cluster.propose(old_sid, old_put)
    cluster.run_until(lambda: (ld := cluster.leader_of()) is not None and ld.store_id != old_sid, what="a majority leader")
    cluster.must_put(b"k", b"new")
    cluster.clear_filters()
    cluster.run_until(lambda: bool(box), what="an answer to the cut-off proposal")
    error = box[0].error
    assert error is not None and error.HasField("stale_command"), error
    cluster.must_get_on_store(old_sid, b"k", b"new")
    assert cluster.must_get(b"k") == b"new"

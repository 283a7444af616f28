"""Lease reads (store/lease.py, StoreConfig.lease_read): a leader serves reads without a raft round while
its lease holds; a leader that was paused past its lease (its clock moved on, it ticked and heard
nothing) does not answer a stale read when it resumes; lease reads are off by default."""

from __future__ import annotations

import pytest

from raftstore.proto.eraftpb_pb2 import MessageType
from raftstore.proto.raft_serverpb_pb2 import RaftMessage
from raftstore.store.store_core import StoreConfig
from raftstore.testing.cluster import FIRST_REGION_ID, Cluster

from .helpers import get


class ReadIndexCounter:
    """ReadIndexCounter: a transport filter collecting the read contexts the leaders' heartbeats carry (one
    per ReadIndex round); it drops nothing."""

    def __init__(self) -> None:
        self.contexts: set[bytes] = set()

    def before(self, msgs: list[RaftMessage]) -> list[RaftMessage]:
        for m in msgs:
            if m.message.msg_type == MessageType.MsgHeartbeat and m.message.context:
                self.contexts.add(bytes(m.message.context))
        return msgs


def use_step_clock(cluster: Cluster) -> None:
    """use_step_clock gives every running store the cluster's step count as its monotonic clock (base
    ticks): it moves on for a store that is not ticked, as a wall clock does for a stopped process."""
    for core in cluster.cores.values():
        core.clock = lambda: float(cluster.steps)


# (lease_read, reads served by the lease, ReadIndex rounds) for 20 reads one after the other, one step
# (one base tick) each: with lease reads, a ReadIndex round only once the lease (8 ticks) ran out, which
# renews it; without, a ReadIndex round each.
LEASE_READS = [(True, 17, 3), (False, 0, 20)]


@pytest.mark.parametrize(("lease_read", "lease_reads", "read_index_rounds"), LEASE_READS)
def test_reads_served_by_lease(lease_read: bool, lease_reads: int, read_index_rounds: int) -> None:
    with Cluster(3, config=StoreConfig(lease_read=lease_read)) as cluster:
        cluster.start()
        use_step_clock(cluster)
        cluster.must_put(b"k", b"v")
        counter = ReadIndexCounter()
        cluster.transport.add_filter(counter)
        leader = cluster.wait_leader()
        for _ in range(20):
            assert cluster.must_get(b"k") == b"v"
        core = cluster.cores[leader.store_id]
        assert core.lease_reads == lease_reads
        assert len(counter.contexts) == read_index_rounds


def test_lease_read_off_by_default() -> None:
    config = StoreConfig()
    assert config.lease_read is False
    with Cluster(3) as cluster:
        cluster.start()
        cluster.must_put(b"k", b"v")
        leader = cluster.wait_leader()
        assert cluster.must_get(b"k") == b"v"
        assert cluster.cores[leader.store_id].peers[FIRST_REGION_ID].lease is None
        assert cluster.cores[leader.store_id].lease_reads == 0


def test_max_lease_below_election_timeout() -> None:
    with pytest.raises(ValueError, match="max_lease"):
        StoreConfig(lease_read=True, election_tick=10, max_lease=10)


def test_paused_leader_serves_no_stale_read() -> None:
    """The leader is paused (not ticked, messages to it lost) while its clock moves on; the others elect
    a new leader and accept a write. Resumed, the old leader's first read must not return the old value:
    its lease expired, the read goes through ReadIndex, which finds the newer term."""
    with Cluster(3, config=StoreConfig(lease_read=True)) as cluster:
        cluster.start()
        use_step_clock(cluster)
        cluster.must_put(b"k", b"v1")
        assert cluster.must_get(b"k") == b"v1"
        old = cluster.wait_leader()
        paused = cluster.cores.pop(old.store_id)  # SIGSTOP: no tick, no message in or out
        peer = paused.peers[FIRST_REGION_ID]
        assert peer.lease is not None and peer.lease.valid(paused.clock())
        new = cluster.wait_leader()
        assert new.store_id != old.store_id
        cluster.must_put(b"k", b"v2")
        cluster.cores[old.store_id] = paused  # SIGCONT
        assert peer.is_leader() and not peer.lease.valid(paused.clock())
        region = peer.region
        box = cluster.propose(old.store_id, cluster.new_cmd(region, old, [get(b"k")]))
        cluster.run_until(lambda: bool(box), 50, "an answer from the resumed leader")
        result = box[0]
        assert result.error is not None and result.error.HasField("not_leader")
        assert paused.lease_reads == 1  # the read before the pause only


def test_leader_transfer_ends_the_lease() -> None:
    with Cluster(3, config=StoreConfig(lease_read=True)) as cluster:
        cluster.start()
        use_step_clock(cluster)
        cluster.must_put(b"k", b"v")
        old = cluster.wait_leader()
        peer = cluster.cores[old.store_id].peers[FIRST_REGION_ID]
        assert peer.lease is not None and peer.lease.valid(float(cluster.steps))
        target = next(s for s in cluster.store_ids if s != old.store_id)
        cluster.must_transfer_leader(FIRST_REGION_ID, target)
        assert not peer.lease.valid(float(cluster.steps))
        assert cluster.must_get(b"k") == b"v"

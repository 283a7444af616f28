"""Hibernate regions (store/hibernate.py, TiKV's hibernate-regions) on a 3-store Cluster: an idle region
stops ticking on every store, commands and messages wake it, a dead leader's sleeping followers elect a
new one, a lagging follower keeps the region awake, and a tick visits no hibernated peer."""

from __future__ import annotations

import pytest

from raftstore.proto.raft_serverpb_pb2 import ExtraMessageType, RaftMessage
from raftstore.store.store_core import StoreConfig
from raftstore.testing.cluster import FIRST_REGION_ID, Cluster
from raftstore.testing.transport import DropFilter

from .helpers import get


class Record:
    """Record: a transport filter that keeps a copy of every message and drops none."""

    def __init__(self) -> None:
        self.msgs: list[RaftMessage] = []

    def before(self, msgs: list[RaftMessage]) -> list[RaftMessage]:
        self.msgs.extend(msgs)
        return msgs


def hibernated(cluster: Cluster, region_id: int = FIRST_REGION_ID) -> list[bool]:
    """hibernated: per running store (in id order), whether it does not tick the region."""
    return [cluster.cores[s].hibernated(region_id) for s in sorted(cluster.cores)]


def steps_until_hibernated(cluster: Cluster, region_id: int = FIRST_REGION_ID, max_steps: int = 200) -> int:
    start = cluster.steps
    cluster.run_until(lambda: all(hibernated(cluster, region_id)), max_steps, "the region hibernated")
    return cluster.steps - start


# (election_tick, heartbeat_tick, steps after a put until all three peers sleep): the leader polls at its
# check-quorum ticks (every election_tick) and sleeps at the second idle one once every follower agreed;
# a follower sleeps after 2 * heartbeat_tick + 1 ticks (at most election_tick - 2) without a heartbeat.
HIBERNATE_STEPS = [
    (10, 2, 20),
    (10, 1, 18),
    (20, 3, 41),
    (6, 1, 10),
]


@pytest.mark.parametrize(("election", "heartbeat", "expected"), HIBERNATE_STEPS)
def test_idle_region_hibernates_on_all_peers(election: int, heartbeat: int, expected: int) -> None:
    config = StoreConfig(election_tick=election, heartbeat_tick=heartbeat)
    with Cluster(3, config=config) as cluster:
        cluster.start()
        cluster.must_put(b"k", b"v")
        assert hibernated(cluster) == [False, False, False]
        assert steps_until_hibernated(cluster) == expected
        cluster.step()
        assert [c.ticked_peers for c in cluster.cores.values()] == [0, 0, 0]
        cluster.run_steps(5 * election)  # it stays asleep: nothing is sent, nothing wakes it
        assert hibernated(cluster) == [True, True, True]
        # The gauges' counts, without visiting the sleeping peers: one leader, nothing unapplied.
        assert [c.leader_count() for c in cluster.cores.values()].count(1) == 1
        assert sum(c.leader_count() + c.apply_lag() for c in cluster.cores.values()) == 1


def test_hibernation_off_ticks_every_peer() -> None:
    with Cluster(3, config=StoreConfig(hibernate_regions=False)) as cluster:
        cluster.start()
        cluster.must_put(b"k", b"v")
        cluster.run_steps(100)
        assert hibernated(cluster) == [False, False, False]
        assert [c.ticked_peers for c in cluster.cores.values()] == [1, 1, 1]


@pytest.mark.parametrize("op", ["put", "get"])
def test_command_wakes_hibernated_region(op: str) -> None:
    with Cluster(3) as cluster:
        cluster.start()
        cluster.must_put(b"k", b"v1")
        steps_until_hibernated(cluster)
        start = cluster.steps
        if op == "put":
            cluster.must_put(b"k", b"v2")
            assert cluster.must_get(b"k") == b"v2"
        else:
            assert cluster.must_get(b"k") == b"v1"
        assert cluster.steps - start <= 8
        assert hibernated(cluster) == [False, False, False]  # the leader's append / heartbeat woke them
        steps_until_hibernated(cluster)


def test_command_to_sleeping_follower_wakes_the_region() -> None:
    """A command on a sleeping follower is refused NotLeader and wakes the other peers (MsgRegionWakeUp)."""
    with Cluster(3) as cluster:
        cluster.start()
        cluster.must_put(b"k", b"v")
        steps_until_hibernated(cluster)
        leader = cluster.wait_leader()
        follower = next(s for s in cluster.store_ids if s != leader.store_id)
        region = cluster.get_region(b"k")
        me = next(p for p in region.peers if p.store_id == follower)
        box = cluster.propose(follower, cluster.new_cmd(region, me, [get(b"k")]))
        cluster.run_steps(2)  # answered and MsgRegionWakeUp sent; delivered
        assert box and box[0].error is not None and box[0].error.HasField("not_leader")
        assert hibernated(cluster) == [False, False, False]


def test_leader_crash_while_hibernated_elects_a_new_leader() -> None:
    with Cluster(3) as cluster:
        cluster.start()
        cluster.must_put(b"k", b"v1")
        steps_until_hibernated(cluster)
        old = cluster.wait_leader()
        cluster.stop_store(old.store_id)
        start = cluster.steps
        cluster.run_steps(30)  # well within the probes' detection: still asleep, nobody campaigned
        assert hibernated(cluster) == [True, True]
        new = cluster.wait_leader(max_steps=200)
        assert new.store_id != old.store_id
        assert cluster.steps - start < 120
        cluster.must_put(b"k2", b"v2")
        assert cluster.must_get(b"k") == b"v1"
        assert cluster.must_get(b"k2") == b"v2"


def test_lagging_follower_keeps_the_region_awake() -> None:
    """A follower that missed entries keeps the leader from hibernating until it caught up."""
    with Cluster(3) as cluster:
        cluster.start()
        cluster.must_put(b"k", b"v1")
        leader = cluster.wait_leader()
        lagging = next(s for s in cluster.store_ids if s != leader.store_id)
        cluster.must_get_on_store(lagging, b"k", b"v1")
        cluster.transport.add_filter(DropFilter(lambda m: m.to_peer.store_id == lagging))
        cluster.must_put(b"k", b"v2")
        cluster.run_steps(100)
        assert not cluster.cores[leader.store_id].hibernated(FIRST_REGION_ID)
        assert cluster.get_on_store(lagging, b"k") == b"v1"
        cluster.clear_filters()
        cluster.must_get_on_store(lagging, b"k", b"v2")
        steps_until_hibernated(cluster)


def test_idle_regions_cost_no_tick() -> None:
    """1000 idle regions: once they hibernate, StoreCore.tick visits no peer on any store."""
    keys = [b"k%04d" % i for i in range(1, 1000)]
    with Cluster(3, engine="memory", split_keys=keys) as cluster:
        cluster.start()
        cluster.run_until(lambda: all(all(hibernated(cluster, r.id)) for r in cluster.initial_regions()), 400,
                          "1000 regions hibernated")
        cluster.step()
        assert [len(c.peers) for c in cluster.cores.values()] == [1000, 1000, 1000]
        assert [c.ticked_peers for c in cluster.cores.values()] == [0, 0, 0]
        assert sum(c.leader_count() for c in cluster.cores.values()) == 1000
        seen = Record()
        cluster.transport.add_filter(seen)
        cluster.run_steps(20)
        probes = seen.msgs
        # What still flows between the stores: the probes (region 0), one per store pair and interval.
        assert probes and all(m.region_id == 0 and m.HasField("extra_msg") for m in probes)
        assert {m.extra_msg.type for m in probes} <= {ExtraMessageType.MsgHibernateRequest,
                                                      ExtraMessageType.MsgHibernateResponse}
        assert len(probes) <= 2 * 3 * 2 * 2

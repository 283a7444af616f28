"""Membership on a Cluster: ChangePeer / ChangePeerV2 through the log, a new store's peer created by a
message and initialized by a snapshot, removed peers destroyed (tombstone, data deleted), learners,
joint changes, and a stale peer collected through a gc message."""

from __future__ import annotations

from pathlib import Path

from raftstore.engine import keys
from raftstore.engine.base import CF_DEFAULT, CF_RAFT
from raftstore.proto.eraftpb_pb2 import ConfChangeType, Message, MessageType
from raftstore.proto.metapb_pb2 import Peer, PeerRole, Region
from raftstore.proto.raft_serverpb_pb2 import PeerState, RaftMessage, RegionLocalState
from raftstore.testing import Cluster

from .helpers import put
from .test_cluster_snapshot import region_data

# NEW_PEER: region 1's peer on store 4 (the initial peers are 1, 2, 3).
NEW_PEER = Peer(id=100, store_id=4)


def four_stores(tmp_path: Path) -> Cluster:
    """four_stores: region 1 on stores 1-3, store 4 empty, started with a leader."""
    cluster = Cluster(4, path=tmp_path, initial_stores=[1, 2, 3])
    cluster.start()
    cluster.wait_leader()
    return cluster


def region_state(cluster: Cluster, sid: int, region_id: int = 1) -> RegionLocalState | None:
    raw = cluster.engines[sid].kv.get(CF_RAFT, keys.region_state_key(region_id))
    return None if raw is None else RegionLocalState.FromString(raw)


def conf_ver(cluster: Cluster, sid: int) -> int | None:
    state = region_state(cluster, sid)
    return None if state is None else int(state.region.region_epoch.conf_ver)


def roles(region: Region) -> dict[int, int]:
    return {p.id: p.role for p in region.peers}


def test_add_a_voter_on_a_new_store_then_remove_it(tmp_path: Path) -> None:
    with four_stores(tmp_path) as cluster:
        for i in range(10):
            cluster.must_put(b"k%d" % i, b"v%d" % i)
        region = cluster.must_add_peer(1, NEW_PEER)
        assert region.region_epoch.conf_ver == 2 and roles(region)[100] == PeerRole.Voter
        # Store 4 had no peer: the leader's heartbeat creates it, a snapshot initializes it.
        cluster.must_get_on_store(4, b"k9", b"v9")
        cluster.must_put(b"new", b"voter")
        cluster.must_get_on_store(4, b"new", b"voter")
        assert region_data(cluster, 4) == region_data(cluster, 1)
        # The new region is written in every replica's apply batch.
        cluster.run_until(lambda: all(conf_ver(cluster, sid) == 2 for sid in (1, 2, 3, 4)), what="conf_ver 2 on disk")
        region = cluster.must_remove_peer(1, NEW_PEER)
        assert region.region_epoch.conf_ver == 3 and 100 not in roles(region)
        cluster.run_until(lambda: cluster.peer_on_store(4) is None, what="peer 100 destroyed")
        cluster.run_steps(3)
        state = region_state(cluster, 4)
        assert state is not None and state.state == PeerState.Tombstone
        assert region_data(cluster, 4) == []  # its data range is deleted
        assert cluster.engines[4].raft.get(CF_DEFAULT, keys.raft_state_key(1)) is None
        cluster.must_put(b"after", b"removal")
        cluster.restart_store(4)  # the tombstone is skipped at startup
        assert cluster.recovered[4].tombstones == [1] and cluster.peer_on_store(4) is None
        cluster.run_steps(20)
        assert cluster.peer_on_store(4) is None and region_data(cluster, 4) == []


def test_a_learner_replicates_without_voting_then_is_promoted(tmp_path: Path) -> None:
    with four_stores(tmp_path) as cluster:
        cluster.must_put(b"k", b"v")
        region = cluster.must_add_learner(1, NEW_PEER)
        assert roles(region)[100] == PeerRole.Learner
        cluster.must_get_on_store(4, b"k", b"v")
        learner = cluster.peer_on_store(4)
        assert learner is not None and 100 in learner.raft_group.raft.prs.conf().learners
        # With stores 2 and 3 down the learner and the leader are no quorum: a write is not committed.
        leader = cluster.wait_leader().store_id
        others = [s for s in (1, 2, 3) if s != leader]
        for sid in others:
            cluster.stop_store(sid)
        leader_peer = cluster.leader_of()
        assert leader_peer is not None
        box = cluster.propose(leader, cluster.new_cmd(cluster.region_on_leader(), leader_peer, [put(b"k", b"lost")]))
        cluster.run_steps(30)
        assert box == [] and cluster.get_on_store(4, b"k") == b"v"
        for sid in others:
            cluster.start_store(sid)
        region = cluster.must_add_peer(1, NEW_PEER)  # AddNode of a learner promotes it
        assert roles(region)[100] == PeerRole.Voter and region.region_epoch.conf_ver == 3
        cluster.must_put(b"k2", b"v2")
        cluster.must_get_on_store(4, b"k2", b"v2")


def test_a_joint_change_swaps_a_voter(tmp_path: Path) -> None:
    """Replace store 3's voter by store 4's in one joint change: enter (IncomingVoter, DemotingVoter),
    leave (Voter, Learner), then remove the learner."""
    with four_stores(tmp_path) as cluster:
        cluster.must_transfer_leader(1, 1)
        cluster.must_put(b"k", b"v")
        old = Peer(id=3, store_id=3)
        region = cluster.must_enter_joint(1, [(ConfChangeType.AddNode, NEW_PEER), (ConfChangeType.AddLearnerNode, old)])
        assert roles(region) == {1: PeerRole.Voter, 2: PeerRole.Voter, 3: PeerRole.DemotingVoter, 100: PeerRole.IncomingVoter}
        assert region.region_epoch.conf_ver == 3
        leader = cluster.peer_on_store(1)
        assert leader is not None and leader.raft_group.raft.prs.conf().voters.outgoing
        region = cluster.must_leave_joint(1)
        assert roles(region) == {1: PeerRole.Voter, 2: PeerRole.Voter, 3: PeerRole.Learner, 100: PeerRole.Voter}
        assert region.region_epoch.conf_ver == 5 and not leader.raft_group.raft.prs.conf().voters.outgoing
        region = cluster.must_remove_peer(1, Peer(id=3, store_id=3, role=PeerRole.Learner))
        assert roles(region) == {1: PeerRole.Voter, 2: PeerRole.Voter, 100: PeerRole.Voter}
        cluster.run_until(lambda: cluster.peer_on_store(3) is None, what="store 3's peer destroyed")
        cluster.must_put(b"k2", b"v2")
        cluster.must_get_on_store(4, b"k2", b"v2")


def test_conf_change_refusals(tmp_path: Path) -> None:
    """Refused at propose (message of the error) and at apply (nothing changes)."""
    with four_stores(tmp_path) as cluster:
        leader = cluster.wait_leader()
        table = [
            ([(ConfChangeType.RemoveNode, leader)], "remove leader"),
            ([(ConfChangeType.AddNode, NEW_PEER), (ConfChangeType.AddNode, NEW_PEER)], "multiple commands"),
            ([(ConfChangeType.AddLearnerNode, NEW_PEER), (ConfChangeType.AddLearnerNode, Peer(id=101, store_id=5))],
             "only effect learner"),
            ([(ConfChangeType.AddNode, NEW_PEER), (ConfChangeType.RemoveNode, Peer(id=2, store_id=2))],
             "remove voter directly"),
            ([(ConfChangeType.AddNode, Peer(id=2, store_id=2))], "duplicated peer"),
            ([(ConfChangeType.RemoveNode, Peer(id=100, store_id=4))], "remove missing peer"),
        ]
        for changes, message in table:
            try:
                cluster.must_enter_joint(1, changes) if len(changes) > 1 else cluster._must_change(1, changes, v2=True)
            except AssertionError as err:
                assert message in str(err), (message, err)
            else:
                raise AssertionError(f"{message}: accepted")
        assert cluster.region_on_leader().region_epoch.conf_ver == 1


def test_a_stale_peer_that_missed_its_removal_is_collected(tmp_path: Path) -> None:
    """Store 3 is cut off while its peer is removed: it never learns. Once the network heals, its
    campaign reaches peers whose epoch no longer lists it; they answer with a gc message and it destroys
    itself."""
    with Cluster(3, path=tmp_path) as cluster:
        cluster.start()
        cluster.must_transfer_leader(1, 1)
        cluster.must_put(b"k", b"v")
        cluster.must_get_on_store(3, b"k", b"v")
        cluster.isolate_store(3)
        region = cluster.must_remove_peer(1, Peer(id=3, store_id=3))
        assert 3 not in roles(region)
        cluster.must_put(b"k2", b"v2")
        stale = cluster.peer_on_store(3)
        assert stale is not None and stale.region.region_epoch.conf_ver == 1
        cluster.clear_filters()
        cluster.run_until(lambda: cluster.peer_on_store(3) is None, max_steps=200, what="the stale peer collected")
        cluster.run_steps(2)
        state = region_state(cluster, 3)
        assert state is not None and state.state == PeerState.Tombstone
        assert region_data(cluster, 3) == []
        # Its old messages cannot bring it back: a message older than the tombstone is dropped.
        cluster.run_steps(30)
        assert cluster.peer_on_store(3) is None


def _message(msg_type: int, to: int, conf_ver: int, *, commit: int = 0, region_id: int = 1,
             keys_: tuple[bytes, bytes] = (b"", b""), store: int = 3) -> RaftMessage:
    m = RaftMessage(region_id=region_id, from_peer=Peer(id=1, store_id=1), to_peer=Peer(id=to, store_id=store))
    m.message.CopyFrom(Message(msg_type=msg_type, to=to, term=9, commit=commit))  # type: ignore[arg-type]
    m.region_epoch.conf_ver, m.region_epoch.version = conf_ver, 1
    m.start_key, m.end_key = keys_
    return m


def test_maybe_create_peer_checks(tmp_path: Path) -> None:
    """Messages for region 1 stepped into store 3 after its peer 3 was removed (tombstone at conf_ver 2),
    and for an unknown region 9: whether each creates a peer (TiKV's check_msg / maybe_create_peer)."""
    with Cluster(3, path=tmp_path) as cluster:
        cluster.start()
        cluster.must_transfer_leader(1, 1)
        cluster.must_remove_peer(1, Peer(id=3, store_id=3))
        cluster.run_until(lambda: cluster.peer_on_store(3) is None, what="peer 3 destroyed")
        core = cluster.cores[3]
        hb, vote, app = MessageType.MsgHeartbeat, MessageType.MsgRequestVote, MessageType.MsgAppend
        # (what, the store stepping it, the message, the peer id it creates: None for none)
        table = [
            ("older than the tombstone", 3, _message(vote, 3, 1), None),
            ("for another store", 3, _message(hb, 7, 3, store=2), None),
            ("not an initial message", 3, _message(app, 7, 3), None),
            ("a heartbeat that knows a commit", 3, _message(hb, 7, 3, commit=4), None),
            ("region 9 overlapping region 1 on store 1", 1, _message(hb, 7, 3, region_id=9, store=1), None),
            ("a heartbeat to a newer peer", 3, _message(hb, 7, 3), 7),
        ]
        for what, sid, msg, created in table:
            cluster.cores[sid].step(msg)
            peer = cluster.peer_on_store(sid, msg.region_id)
            assert (peer.peer_id if peer is not None else None) == created, what
        peer = core.peer(1)
        assert peer is not None and not peer.storage.is_initialized()
        assert core.region_for_key(b"k") is None  # an uninitialized peer is not routed

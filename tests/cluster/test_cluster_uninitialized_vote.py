"""Election safety (Raft paper §5.2, "at most one leader per term") across the restart of a voter that is
still uninitialized. TiKV's PeerStorage persists no hard state for a peer that has not applied its first
snapshot (last index 0), and neither does raftstore's, so such a voter used to forget its vote when its
store restarted (tikv/tikv#3572, #8381, #9579; found here by the store simulation, seed 10104). The store
now keeps that peer's term and vote itself (keys.uninit_hard_state_key); on the old code this test saw
two leaders of term 8."""

from __future__ import annotations

import pytest

from raftstore.proto.eraftpb_pb2 import MessageType
from raftstore.proto.metapb_pb2 import Peer
from raftstore.raft.raft import StateRole
from raftstore.testing import Cluster
from raftstore.testing.transport import DropFilter, DropMessageTypes


def _leaders_by_term(cluster: Cluster, seen: dict[int, set[int]]) -> None:
    for core in cluster.cores.values():
        peer = core.peer(1)
        if peer is not None and peer.raft_group.raft.state == StateRole.LEADER:
            seen.setdefault(peer.raft_group.raft.term, set()).add(peer.peer_id)


def _isolated(sid: int) -> DropFilter:
    return DropFilter(lambda m: sid in (m.from_peer.store_id, m.to_peer.store_id))


def test_an_uninitialized_voter_restarted_does_not_vote_twice_in_a_term() -> None:
    seen: dict[int, set[int]] = {}
    with Cluster(3, engine="memory", initial_stores=[1, 2]) as cluster:
        cluster.start()
        cluster.must_put(b"k", b"v")
        cluster.must_transfer_leader(1, 1)
        cluster.transport.add_filter(DropMessageTypes([MessageType.MsgSnapshot]))
        cluster.must_add_peer(1, Peer(id=3, store_id=3))  # store 3's peer stays uninitialized
        cluster.run_until(lambda: cluster.peer_on_store(3) is not None, what="store 3's peer created")
        cut_1 = cluster.transport.add_filter(_isolated(1))
        cluster.run_until(lambda: cluster.leader_of() is not None and cluster.leader_of().id == 2, max_steps=600,
                          what="peer 2 elected with the vote of the uninitialized peer 3")
        _leaders_by_term(cluster, seen)
        cluster.restart_store(3)
        cluster.transport.remove_filter(cut_1)
        cluster.transport.add_filter(_isolated(2))
        for _ in range(600):
            cluster.step()
            _leaders_by_term(cluster, seen)
    assert all(len(leaders) == 1 for leaders in seen.values()), seen

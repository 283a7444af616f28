"""Stale peer collection (TiKV's check_stale_state / MsgCheckStalePeer): a peer removed while it was cut
off, which no one sends anything to afterwards, finds out by asking its region's peers once it has heard
from no leader for max_leader_missing_duration ticks, and destroys itself (tombstone, data deleted)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from raftstore.engine import keys
from raftstore.engine.base import CF_RAFT
from raftstore.proto.eraftpb_pb2 import MessageType
from raftstore.proto.metapb_pb2 import Peer
from raftstore.proto.raft_serverpb_pb2 import (
    ExtraMessageType,
    PeerState,
    RaftMessage,
    RegionLocalState,
)
from raftstore.store import StoreConfig
from raftstore.testing import Cluster, DropFilter

STALE = Peer(id=100, store_id=4)
VOTES = (MessageType.MsgRequestPreVote, MessageType.MsgRequestVote)


def _config(max_missing: int) -> StoreConfig:
    return StoreConfig(peer_stale_state_check_interval=5, max_leader_missing_duration=max_missing)


@dataclass(frozen=True)
class Case:
    """Case: the removed peer's role, whether the stale check runs soon (max_leader_missing_duration 30
    ticks) or not within the test (100,000), and whether the peer ends destroyed."""

    name: str
    learner: bool
    max_missing: int
    destroyed: bool


CASES = [
    Case("learner, found by its own check", True, 30, True),
    Case("voter whose votes are dropped, found by its own check", False, 30, True),
    Case("learner, no check within the test: stays", True, 100_000, False),
]


class Recorder:
    """Recorder: a transport filter that keeps the stale checks sent and drops store 4's votes (a removed
    voter's votes would reach the others and get it a gc message without its own check)."""

    def __init__(self) -> None:
        self.checks: list[RaftMessage] = []

    def before(self, msgs: list[RaftMessage]) -> list[RaftMessage]:
        self.checks += [m for m in msgs if m.HasField("extra_msg") and m.extra_msg.type == ExtraMessageType.MsgCheckStalePeer]
        return [m for m in msgs if not (m.from_peer.store_id == 4 and m.message.msg_type in VOTES)]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_a_peer_removed_while_cut_off_collects_itself(tmp_path: Path, case: Case) -> None:
    with Cluster(4, path=tmp_path, initial_stores=[1, 2, 3], config=_config(case.max_missing)) as cluster:
        cluster.start()
        cluster.wait_leader()
        recorder = Recorder()
        cluster.transport.add_filter(recorder)
        if case.learner:
            cluster.must_add_learner(1, STALE)
        else:
            cluster.must_add_peer(1, STALE)
        cluster.must_put(b"k", b"v")
        cluster.must_get_on_store(4, b"k", b"v")
        cut = DropFilter(lambda m: 4 in (m.from_peer.store_id, m.to_peer.store_id))
        cluster.transport.add_filter(cut)
        cluster.must_remove_peer(1, STALE)
        cluster.run_steps(20)
        cluster.transport.remove_filter(cut)
        assert cluster.peer_on_store(4) is not None
        if case.destroyed:
            cluster.run_until(lambda: cluster.peer_on_store(4) is None, 200, "the stale peer's destruction")
            cluster.run_steps(2)
            raw = cluster.engines[4].kv.get(CF_RAFT, keys.region_state_key(1))
            assert raw is not None and RegionLocalState.FromString(raw).state == PeerState.Tombstone
            assert cluster.get_on_store(4, b"k") is None
            assert any(m.from_peer.id == STALE.id for m in recorder.checks)
        else:
            cluster.run_steps(200)
            assert cluster.peer_on_store(4) is not None and not recorder.checks
        cluster.must_put(b"k2", b"v2")
        assert cluster.must_get(b"k2") == b"v2"


def test_tombstones_name_newer_peers_to_ask(tmp_path: Path) -> None:
    """The region moved off every store the stale peer knows (their peers are tombstones that still list
    it): they answer MsgCheckStalePeerResponse with the peers they knew, and those tell it to gc."""
    with Cluster(6, path=tmp_path, initial_stores=[1, 2, 3], config=_config(30)) as cluster:
        cluster.start()
        cluster.wait_leader()
        recorder = Recorder()
        cluster.transport.add_filter(recorder)
        cluster.must_add_learner(1, STALE)
        cluster.must_put(b"k", b"v")
        cluster.must_get_on_store(4, b"k", b"v")
        cut = DropFilter(lambda m: 4 in (m.from_peer.store_id, m.to_peer.store_id))
        cluster.transport.add_filter(cut)
        cluster.must_add_peer(1, Peer(id=101, store_id=5))
        cluster.must_add_peer(1, Peer(id=102, store_id=6))
        cluster.must_transfer_leader(1, 5)
        for sid in (1, 2, 3):
            cluster.must_remove_peer(1, Peer(id=sid, store_id=sid))
        cluster.must_remove_peer(1, STALE)
        cluster.run_until(lambda: all(cluster.peer_on_store(s) is None for s in (1, 2, 3)), 100, "tombstones")
        cluster.run_steps(20)
        cluster.transport.remove_filter(cut)
        responses: list[RaftMessage] = []
        cluster.transport.add_filter(DropFilter(lambda m: _record_response(m, responses)))
        cluster.run_until(lambda: cluster.peer_on_store(4) is None, 300, "the stale peer's destruction")
        assert responses and {p.store_id for p in responses[0].extra_msg.check_peers} >= {5, 6}
        assert {m.to_peer.store_id for m in recorder.checks} >= {1, 2, 3, 5}
        cluster.must_put(b"k2", b"v2")


def _record_response(m: RaftMessage, into: list[RaftMessage]) -> bool:
    if m.HasField("extra_msg") and m.extra_msg.type == ExtraMessageType.MsgCheckStalePeerResponse:
        into.append(m)
    return False


def test_peers_that_hear_their_leader_send_no_check(tmp_path: Path) -> None:
    # A busy region (a write every few steps: its leader never hibernates) for 200 steps, over 6 times
    # max_leader_missing_duration.
    with Cluster(3, path=tmp_path, config=_config(30)) as cluster:
        cluster.start()
        cluster.wait_leader()
        recorder = Recorder()
        cluster.transport.add_filter(recorder)
        start = cluster.steps
        while cluster.steps - start < 200:
            cluster.must_put(b"k", b"v%d" % cluster.steps)
            cluster.run_steps(3)
        assert recorder.checks == []
        assert all(cluster.peer_on_store(s) is not None for s in cluster.store_ids)


@pytest.mark.parametrize(
    ("kind", "gc"),
    [
        (MessageType.MsgRequestPreVote, True),
        (MessageType.MsgRequestVote, True),
        ("check", True),
        (MessageType.MsgAppendResponse, False),
        (MessageType.MsgHeartbeatResponse, False),
    ],
)
def test_only_a_vote_or_a_stale_check_from_a_non_member_gets_a_gc_message(
    tmp_path: Path, kind: int | str, gc: bool
) -> None:
    """TiKV's need_gc_msg: a new peer's first answers carry an uninitialized region's empty epoch; a gc
    message in reply from a replica that has not applied its addition yet would destroy it for good."""
    with Cluster(3, path=tmp_path) as cluster:
        cluster.start()
        leader = cluster.wait_leader()
        msg = RaftMessage(region_id=1, from_peer=Peer(id=99, store_id=4), to_peer=leader)
        msg.region_epoch.SetInParent()
        if kind == "check":
            msg.extra_msg.type = ExtraMessageType.MsgCheckStalePeer
        else:
            msg.message.msg_type, msg.message.to, msg.message.term = kind, leader.id, 1  # type: ignore[assignment]
        sent: list[RaftMessage] = []
        cluster.transport.add_filter(DropFilter(lambda m: m.to_peer.store_id == 4 and not sent.append(m)))
        cluster.cores[leader.store_id].step(msg)
        cluster.run_steps(2)
        assert [m.is_tombstone for m in sent] == ([True] if gc else [])

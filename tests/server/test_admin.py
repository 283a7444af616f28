"""The Admin service (raftstorepb.Admin) and its client against a 3-store cluster of real processes."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf.message import Message

from raftstore.client import Client
from raftstore.proto.raftstorepb_pb2 import (
    ConsistencyVerdict,
    PeerChangeKind,
    PeerChangeRequest,
    PeerChangeResponse,
    RegionStatusRequest,
    RegionStatusResponse,
    StoreStatusRequest,
    StoreStatusResponse,
    TransferLeaderRequest,
    TransferLeaderResponse,
)
from raftstore.raft import ProgressState
from raftstore.server.admin_client import AdminClient
from raftstore.server.errors import AdminError
from raftstore.server.rpc import admin_method
from raftstore.testing import Cluster

from .helpers import ProcCluster


def admin_call(addr: str, method: str, request: Message, response_cls: type[Any], timeout: float = 10) -> Any:
    """admin_call calls raftstorepb.Admin/method on addr directly (no hint following)."""
    with grpc.insecure_channel(addr) as channel:
        call = channel.unary_unary(admin_method(method), request_serializer=lambda m: m.SerializeToString(),
                                   response_deserializer=response_cls.FromString)
        return call(request, timeout=timeout)


def test_store_status_counts_regions_and_knows_every_store(cluster: ProcCluster) -> None:
    leader = cluster.leader_store()
    for sid, addr in cluster.addrs.items():
        got = admin_call(addr, "StoreStatus", StoreStatusRequest(), StoreStatusResponse)
        assert (got.store_id, got.address, got.cluster_id) == (sid, addr, 1)
        assert {s.id: s.address for s in got.stores} == cluster.addrs
        assert got.region_count == len(got.regions) >= 1
        assert got.hibernated_count == sum(1 for r in got.regions if r.hibernated)
        region1 = next(r for r in got.regions if r.region.id == 1)
        assert region1.peer.store_id == sid
        assert region1.role == ("Leader" if sid == leader else "Follower")
        assert region1.applied <= region1.commit <= region1.last_index
        assert region1.apply_state.applied_index == region1.applied


@pytest.mark.parametrize("method", ["TransferLeader", "ChangePeer"])
def test_a_follower_answers_not_leader_with_the_hint(cluster: ProcCluster, method: str) -> None:
    """A change sent to a store that does not lead the region is NotLeader with the leader, and changes nothing."""
    leader = cluster.leader_store()
    follower = next(sid for sid in cluster.ids if sid != leader)
    deadline = time.monotonic() + 10
    while True:  # a follower learns its leader from the leader's first message
        before = admin_call(cluster.addrs[follower], "RegionStatus", RegionStatusRequest(region_id=1),
                            RegionStatusResponse)
        if before.status.leader.store_id == leader or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    if method == "TransferLeader":
        got = admin_call(cluster.addrs[follower], method, TransferLeaderRequest(region_id=1, store_id=follower),
                         TransferLeaderResponse)
    else:
        got = admin_call(cluster.addrs[follower], method,
                         PeerChangeRequest(region_id=1, kind=PeerChangeKind.REMOVE, store_id=leader), PeerChangeResponse)
    assert got.region_error.not_leader.leader.store_id == leader
    assert got.error == ""
    after = admin_call(cluster.addrs[follower], "RegionStatus", RegionStatusRequest(region_id=1), RegionStatusResponse)
    assert after.status.region.region_epoch == before.status.region.region_epoch


@pytest.mark.parametrize(
    ("request_", "refusal"),
    [
        (PeerChangeRequest(region_id=1, kind=PeerChangeKind.ADD_LEARNER, store_id=9), "store 9 is unknown"),
        (PeerChangeRequest(region_id=1, kind=PeerChangeKind.ADD_VOTER, store_id=2), "already has voter"),
        (PeerChangeRequest(region_id=1, kind=PeerChangeKind.REMOVE, store_id=0), "has no peer on store 0"),
    ],
)
def test_invalid_peer_changes_are_refused(cluster: ProcCluster, request_: PeerChangeRequest, refusal: str) -> None:
    leader = cluster.leader_store()
    got = admin_call(cluster.addrs[leader], "ChangePeer", request_, PeerChangeResponse)
    assert refusal in got.error
    assert not got.HasField("region")


def test_removing_the_leaders_peer_asks_for_a_transfer_first(cluster: ProcCluster) -> None:
    leader = cluster.leader_store()
    got = admin_call(cluster.addrs[leader], "ChangePeer",
                     PeerChangeRequest(region_id=1, kind=PeerChangeKind.REMOVE, store_id=leader), PeerChangeResponse)
    assert "transfer leadership first" in got.error


def test_unknown_region_is_region_not_found(cluster: ProcCluster) -> None:
    got = admin_call(cluster.addrs[1], "RegionStatus", RegionStatusRequest(region_id=999), RegionStatusResponse)
    assert got.region_error.region_not_found.region_id == 999


def test_malformed_request_is_invalid_argument(cluster: ProcCluster) -> None:
    with grpc.insecure_channel(cluster.addrs[1]) as channel, pytest.raises(grpc.RpcError) as info:
        channel.unary_unary(admin_method("SplitRegion"))(b"\xff\xff\xff", timeout=5)
    assert info.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed SplitRegionRequest" in info.value.details()


def test_split_transfer_and_check_through_any_store(cluster: ProcCluster) -> None:
    """Through a follower's address: split at a key, write both halves, move the new region's leadership,
    and a consistency check of each half finds the replicas identical at one index."""
    leader = cluster.leader_store()
    follower = next(sid for sid in cluster.ids if sid != leader)
    with AdminClient(cluster.addrs[follower], timeout=20) as admin:
        left, right = admin.split(b"adm-m")
        assert (left.end_key, right.start_key) == (b"adm-m", b"adm-m")
        assert len(right.peers) == 3 and right.id not in (0, left.id)
        with Client(list(cluster.addrs.values()), timeout=10) as client:
            client.put(b"adm-a", b"left")
            client.put(b"adm-z", b"right")
            assert (client.get(b"adm-a"), client.get(b"adm-z")) == (b"left", b"right")
        target = next(p.store_id for p in right.peers if p.store_id != admin._leader_status(right.id).leader.store_id)
        assert admin.transfer_leader(right.id, target).store_id == target
        assert admin.region_status(right.id, cluster.addrs[target]).role == "Leader"
        for region in (left, right):
            check = admin.consistency_check(region.id)
            assert check.identical, check
            assert sorted(r.store_id for r in check.replicas) == cluster.ids
            assert {(r.state.index, r.state.hash) for r in check.replicas} == {(check.index, check.hash)}
            assert all(r.state.verdict == ConsistencyVerdict.MATCHED for r in check.replicas)
        with pytest.raises(AdminError, match="not inside region"):
            admin.split(b"adm-m", region_id=right.id)


def test_report_unreachable_makes_the_leader_probe(tmp_path: Path) -> None:
    """StoreCore.report_unreachable (what the transport's lost messages turn into): the leader's progress of
    that peer leaves REPLICATE for PROBE; an unknown region is ignored."""
    with Cluster(3, path=tmp_path) as cluster:
        cluster.start()
        cluster.must_put(b"k", b"v")
        leader = cluster.wait_leader()
        follower = next(sid for sid in (1, 2, 3) if sid != leader.store_id)
        core = cluster.cores[leader.store_id]
        progress = core.peers[1].raft_group.raft.prs.get(follower)
        assert progress is not None and progress.state == ProgressState.REPLICATE
        core.report_unreachable(1, follower)
        core.report_unreachable(404, follower)
        assert progress.state == ProgressState.PROBE


def test_idle_regions_are_reported_hibernated(cluster: ProcCluster) -> None:
    """Once idle, a region hibernates (StoreCore.hibernated): StoreStatus and /metrics say so."""
    deadline = time.monotonic() + 15
    while True:
        got = admin_call(cluster.addrs[1], "StoreStatus", StoreStatusRequest(), StoreStatusResponse)
        metric = cluster.metrics(1)["raftstore_hibernated_regions"]
        if got.hibernated_count >= 1 and metric >= 1:
            break
        assert time.monotonic() < deadline, (got.hibernated_count, metric)
        time.sleep(0.2)
    assert got.hibernated_count == sum(1 for r in got.regions if r.hibernated)

"""What the chaos harness found, as regression tests (each names the make chaos run that found it)."""

from __future__ import annotations

import time
from pathlib import Path

import grpc
import pytest

from raftstore.chaos.cluster import StoreProcs
from raftstore.client import Client
from raftstore.proto.raftstorepb_pb2 import (
    Context,
    GetRequest,
    GetResponse,
    PeerChangeKind,
)
from raftstore.server.rpc import kv_method


@pytest.mark.slow
def test_a_request_to_a_peer_still_waiting_for_its_snapshot_does_not_stop_the_store(tmp_path: Path) -> None:
    """make chaos, data/chaos/20261203T180403Z seeds 2 and 3 (conf-change cycles): stores exited with
    "Parameter to CopyFrom() must be instance of same class: expected Peer got NoneType" (the KV service
    addressed a command to a peer its region does not list yet; now RegionNotInitialized). Here: a
    store's peer is removed and added back while the store cannot receive, then gets are sent to it
    (region 1 in the Context) while its new peer is created and waits for its snapshot."""
    procs = StoreProcs(tmp_path, 3)
    try:
        procs.start_all()
        leader = procs.leader(timeout=30) or 1
        victim = next(s for s in procs.ids if s != leader)
        with Client(list(procs.addrs.values())) as client:
            for i in range(300):
                client.put(b"k%04d" % i, b"x" * 1000)
        with procs.admin(via=leader, timeout=15) as admin:
            admin.change_peer(1, PeerChangeKind.REMOVE, victim)
            time.sleep(1.0)
            procs.net.cut([(s, victim) for s in procs.ids if s != victim])
            admin.change_peer(1, PeerChangeKind.ADD_VOTER, victim)
        with grpc.insecure_channel(procs.addrs[victim]) as channel:
            get = channel.unary_unary(kv_method("KvGet"), request_serializer=GetRequest.SerializeToString,
                                      response_deserializer=GetResponse.FromString)
            procs.net.heal_all()
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and procs.procs[victim].poll() is None:
                try:
                    get(GetRequest(context=Context(region_id=1), key=b"k0001"), timeout=1)
                except grpc.RpcError:
                    pass
        assert procs.procs[victim].poll() is None, procs.log(victim).read_text()[-400:]
    finally:
        procs.close()

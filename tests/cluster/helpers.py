"""tests.cluster.helpers: builders of commands and requests shared by the Cluster tests."""

from __future__ import annotations

from raftstore.engine.base import CF_DEFAULT
from raftstore.proto.eraftpb_pb2 import Entry
from raftstore.proto.raft_cmdpb_pb2 import CmdType, RaftCmdRequest, Request
from raftstore.testing import Cluster


def put(key: bytes, value: bytes) -> Request:
    req = Request(cmd_type=CmdType.Put)
    req.put.cf, req.put.key, req.put.value = CF_DEFAULT, key, value
    return req


def get(key: bytes) -> Request:
    req = Request(cmd_type=CmdType.Get)
    req.get.cf, req.get.key = CF_DEFAULT, key
    return req


def cas(key: bytes, expected: bytes | None, value: bytes) -> Request:
    req = Request(cmd_type=CmdType.CompareAndSwap)
    req.cas.key, req.cas.value = key, value
    if expected is None:
        req.cas.expect_missing = True
    else:
        req.cas.expected = expected
    return req


def leader_cmd(cluster: Cluster, *requests: Request) -> tuple[int, RaftCmdRequest]:
    """leader_cmd: the leader's store id and a command of requests on region 1 addressed to it."""
    leader = cluster.wait_leader()
    region = cluster.cores[leader.store_id].peers[1].region
    return leader.store_id, cluster.new_cmd(region, leader, list(requests))


def log_entries(cluster: Cluster, sid: int, low: int) -> list[Entry]:
    """log_entries: store sid's log of region 1 from index low to its last index."""
    storage = cluster.cores[sid].peers[1].storage
    return storage.entries(low, storage.last_index() + 1)

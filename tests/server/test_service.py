"""The KV service and the client against a 3-store cluster of real processes on 127.0.0.1 (gRPC)."""

from __future__ import annotations

import threading
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from raftstore.client import Client, ClientError
from raftstore.proto.raftstorepb_pb2 import (
    BatchCommandsRequest,
    BatchCommandsResponse,
    Context,
    GetRegionRequest,
    GetRegionResponse,
    GetRequest,
    GetResponse,
    PutRequest,
    PutResponse,
    ScanRequest,
    ScanResponse,
)
from raftstore.server.limits import MAX_KEY_SIZE, MAX_VALUE_SIZE
from raftstore.server.rpc import CHANNEL_OPTIONS, kv_method

from .helpers import ProcCluster, unary, unary_raw


def test_read_after_write_through_any_store(cluster: ProcCluster) -> None:
    """A client given one store's address, follower or leader, writes; every store then reads it."""
    for sid, addr in cluster.addrs.items():
        with Client([addr], timeout=10) as client:
            client.put(b"raw-%d" % sid, b"v%d" % sid)
    for addr in cluster.addrs.values():
        with Client(addr, timeout=10) as client:
            assert [client.get(b"raw-%d" % sid) for sid in cluster.ids] == [b"v1", b"v2", b"v3"]


def test_store_addrs_win_over_the_addresses_stores_report(cluster: ProcCluster) -> None:
    """A client told other addresses for the stores (here the same stores named localhost) sends its
    commands there, never to the addresses the stores report."""
    aliases = {sid: addr.replace("127.0.0.1", "localhost") for sid, addr in cluster.addrs.items()}
    seed = cluster.addrs[1]
    with Client([seed], timeout=10, store_addrs=aliases) as client:
        client.put(b"alias", b"1")
        assert client.get(b"alias") == b"1"
        assert client._stores == aliases
        used = set(client._streams)
    assert used - {seed} and used <= {seed, *aliases.values()}


def test_operations(cluster: ProcCluster) -> None:
    """get/put/delete/compare_and_swap/scan/batch_put behave as API.md says."""
    with Client(",".join(cluster.addrs.values()), timeout=10) as c:
        assert c.get(b"op-missing") is None
        c.put(b"op-empty", b"")
        assert c.get(b"op-empty") == b""
        assert c.compare_and_swap(b"op-cas", None, b"1") == (True, None)
        assert c.compare_and_swap(b"op-cas", None, b"2") == (False, b"1")
        assert c.compare_and_swap(b"op-cas", b"0", b"2") == (False, b"1")
        assert c.compare_and_swap(b"op-cas", b"1", b"2") == (True, b"1")
        c.delete(b"op-cas")
        c.delete(b"op-cas")  # a missing key is no error
        assert c.get(b"op-cas") is None
        c.batch_put([(b"op-s%d" % i, b"%d" % i) for i in range(5)])
        assert c.scan(b"op-s", b"op-t") == [(b"op-s%d" % i, b"%d" % i) for i in range(5)]
        assert c.scan(b"op-s1", b"op-s3") == [(b"op-s1", b"1"), (b"op-s2", b"2")]
        assert c.scan(b"op-s", b"op-t", limit=2) == [(b"op-s0", b"0"), (b"op-s1", b"1")]
        assert c.scan(b"op-s4") [0] == (b"op-s4", b"4")


def test_concurrent_callers_share_one_stream_per_store(cluster: ProcCluster) -> None:
    """16 threads of one client write and read back; the client holds at most one stream per store."""
    errors: list[BaseException] = []
    with Client(list(cluster.addrs.values()), timeout=10) as c:

        def work(t: int) -> None:
            try:
                for i in range(30):
                    c.put(b"mt-%d-%d" % (t, i), b"%d" % i)
                    assert c.get(b"mt-%d-%d" % (t, i)) == b"%d" % i
            except BaseException as err:  # noqa: BLE001 - reported below
                errors.append(err)

        threads = [threading.Thread(target=work, args=(t,)) for t in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert len(c._streams) <= len(cluster.ids)
        assert len(c.scan(b"mt-", b"mt.")) == 16 * 30


@pytest.mark.parametrize(
    "call, why",
    [
        (lambda c: c.put(b"", b"v"), "empty key"),
        (lambda c: c.get(b""), "empty key"),
        (lambda c: c.put(b"k" * (MAX_KEY_SIZE + 1), b"v"), "exceeds the limit"),
        (lambda c: c.put(b"big", b"v" * (MAX_VALUE_SIZE + 1)), "exceeds the limit"),
        (lambda c: c.compare_and_swap(b"big", None, b"v" * (MAX_VALUE_SIZE + 1)), "exceeds the limit"),
        (lambda c: c.batch_put([(b"a", b"1"), (b"", b"2")]), "empty key"),
        (lambda c: c.batch_put([(b"b%d" % i, b"v" * (MAX_VALUE_SIZE - 10)) for i in range(2)]), "batch put"),
    ],
)
def test_client_refuses_promptly(cluster: ProcCluster, call, why: str) -> None:  # type: ignore[no-untyped-def]
    with Client(cluster.addrs[1], timeout=10) as c:
        started = time.monotonic()
        with pytest.raises(ClientError, match=why):
            call(c)
        assert time.monotonic() - started < 0.5
        assert c.get(b"big") is None and c.get(b"a") is None


def _leader_addr(cluster: ProcCluster) -> tuple[str, GetRegionResponse]:
    got = unary(cluster.addrs[1], "GetRegion", GetRegionRequest(key=b"x"), GetRegionResponse)
    leader = cluster.leader_store()
    return cluster.addrs[leader], got  # type: ignore[return-value]


def test_region_errors(cluster: ProcCluster) -> None:
    """Unknown region, stale epoch and a follower each get their errorpb error; nothing is written."""
    addr, got = _leader_addr(cluster)
    region = got.region
    stale = Context(region_id=region.id)
    stale.region_epoch.conf_ver = region.region_epoch.conf_ver
    stale.region_epoch.version = region.region_epoch.version + 7
    cases = [
        (Context(region_id=999), "region_not_found"),
        (stale, "epoch_not_match"),
    ]
    for ctx, variant in cases:
        resp = unary(addr, "KvPut", PutRequest(context=ctx, key=b"re-k", value=b"v"), PutResponse)
        assert resp.region_error.HasField(variant), resp
        assert resp.region_error.message
    assert stale.region_epoch.version != resp.region_error.epoch_not_match.current_regions[0].region_epoch.version
    follower = next(a for a in cluster.addrs.values() if a != addr)
    resp = unary(follower, "KvPut", PutRequest(key=b"re-k", value=b"v"), PutResponse)
    assert resp.region_error.not_leader.leader.store_id == cluster.leader_store()
    got_back = unary(addr, "KvGet", GetRequest(key=b"re-k"), GetResponse)
    assert got_back.not_found


def test_oversized_and_malformed_requests(cluster: ProcCluster) -> None:
    """The server refuses an oversized value and a malformed message with a clear error; nothing changes."""
    addr, _ = _leader_addr(cluster)
    resp = unary(addr, "KvPut", PutRequest(key=b"ov", value=b"v" * (MAX_VALUE_SIZE + 1)), PutResponse)
    assert "exceeds the limit of" in resp.error
    resp = unary(addr, "KvPut", PutRequest(key=b"", value=b"v"), PutResponse)
    assert resp.error == "empty key"
    scan = unary(addr, "KvScan", ScanRequest(start_key=b"b", end_key=b"a"), ScanResponse)
    assert "invalid scan range" in scan.error
    assert unary(addr, "KvGet", GetRequest(key=b"ov"), GetResponse).not_found
    with pytest.raises(grpc.RpcError) as err:
        unary_raw(addr, "KvPut", b"\xff\xff\xff")
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed PutRequest" in err.value.details()
    with grpc.insecure_channel(addr, options=CHANNEL_OPTIONS) as channel:
        stream = channel.stream_stream(kv_method("BatchCommands"))
        with pytest.raises(grpc.RpcError) as err:
            list(stream(iter([b"\x0a\xff"]), timeout=5))
    assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "malformed BatchCommandsRequest" in err.value.details()


def test_batch_commands_many_requests_per_message(cluster: ProcCluster) -> None:
    """One BatchCommands message carries many requests; every id is answered once (in any order)."""
    addr, _ = _leader_addr(cluster)
    leader = cluster.leader_store()
    entries_before = cluster.metrics(leader)["raftstore_entries_appended_total"]
    batch = BatchCommandsRequest()
    for i in range(50):
        batch.requests.add(put={"key": b"bc-%02d" % i, "value": b"%d" % i})
        batch.request_ids.append(1000 + i)
    batch.requests.add(get={"key": b""})
    batch.request_ids.append(7)
    with grpc.insecure_channel(addr, options=CHANNEL_OPTIONS) as channel:
        stream = channel.stream_stream(
            kv_method("BatchCommands"),
            request_serializer=BatchCommandsRequest.SerializeToString,
            response_deserializer=BatchCommandsResponse.FromString,
        )
        answers: dict[int, BatchCommandsResponse.Response] = {}
        for out in stream(iter([batch]), timeout=10):
            answers.update(zip(out.request_ids, out.responses))
    assert sorted(answers) == [7, *range(1000, 1050)]
    assert answers[7].get.error == "empty key"
    assert all(not answers[1000 + i].put.HasField("region_error") for i in range(50))
    # the 50 puts of one message reach the driver together: a few proposals (raft entries), not 50
    assert cluster.metrics(leader)["raftstore_entries_appended_total"] - entries_before <= 10
    with Client(addr) as c:
        assert len(c.scan(b"bc-", b"bc.")) == 50


def test_health_and_metrics(cluster: ProcCluster) -> None:
    """The standard health service says SERVING; /metrics counts rounds, fsyncs and batched raft messages."""
    with grpc.insecure_channel(cluster.addrs[2]) as channel:
        reply = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(service="raftstorepb.Kv"))
    assert reply.status == health_pb2.HealthCheckResponse.SERVING
    with Client(cluster.addrs[1]) as c:
        c.batch_put([(b"m-%d" % i, b"v") for i in range(10)])
    values = cluster.metrics(cluster.leader_store())
    assert values["raftstore_ready_rounds_total"] > 0
    assert values["raftstore_fsyncs_total"] > 0
    assert values["raftstore_leaders"] == 1
    assert 0 < values["raftstore_raft_batches_sent_total"] < values["raftstore_raft_messages_sent_total"]
    deadline = time.monotonic() + 5  # the hit ratio is refreshed every second
    while cluster.metrics(cluster.leader_store())["raftstore_entry_cache_hit_ratio"] == 0:
        assert time.monotonic() < deadline, "no entry cache hit counted"
        time.sleep(0.2)
    assert cluster.metrics(cluster.leader_store())["raftstore_entry_cache_hit_ratio"] <= 1

"""The client and UndeterminedResult: a store that proposed a command but cannot know whether it took effect
answers errorpb UndeterminedResult. A write then raises RequestTimeoutError (outcome unknown) and is never
sent again; a read is simply retried. The store here is a real gRPC server on 127.0.0.1 that plays a fixed
script of answers, so each case is exact."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent import futures

import grpc
import pytest

from raftstore.client import Client, RequestTimeoutError
from raftstore.proto.errorpb_pb2 import Error
from raftstore.proto.metapb_pb2 import Peer, Region, Store
from raftstore.proto.raftstorepb_pb2 import BatchCommandsRequest, BatchCommandsResponse, GetRegionResponse
from raftstore.server.rpc import KV_SERVICE

UNDETERMINED = Error(message="peer destroyed with the command in flight")
UNDETERMINED.undetermined_result.SetInParent()


class ScriptedStore:
    """ScriptedStore answers BatchCommands: get_region with one region led by itself, other requests with
    UndeterminedResult the first `undetermined` times, then a plain success; it counts what it was sent."""

    def __init__(self, undetermined: int) -> None:
        self.undetermined = undetermined
        self.sent: list[str] = []
        self.lock = threading.Lock()
        self.server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        handler = grpc.stream_stream_rpc_method_handler(
            self.batch_commands,
            request_deserializer=BatchCommandsRequest.FromString,
            response_serializer=BatchCommandsResponse.SerializeToString,
        )
        service = grpc.method_handlers_generic_handler(KV_SERVICE, {"BatchCommands": handler})
        self.server.add_generic_rpc_handlers((service,))
        port = self.server.add_insecure_port("127.0.0.1:0")
        self.addr = f"127.0.0.1:{port}"
        self.server.start()

    def batch_commands(
        self, requests: Iterator[BatchCommandsRequest], context: grpc.ServicerContext
    ) -> Iterator[BatchCommandsResponse]:
        context.send_initial_metadata(())  # a store accepts the stream at once, as the real one does
        for batch in requests:
            out = BatchCommandsResponse(request_ids=batch.request_ids)
            for req in batch.requests:
                out.responses.append(self.answer(req))
            yield out

    def answer(self, req: BatchCommandsRequest.Request) -> BatchCommandsResponse.Response:
        kind = req.WhichOneof("cmd")
        resp = BatchCommandsResponse.Response()
        if kind == "get_region":
            resp.get_region.CopyFrom(self.region())
            return resp
        inner = getattr(resp, kind)
        inner.SetInParent()
        with self.lock:
            self.sent.append(kind)
            first = self.undetermined > 0
            self.undetermined -= 1
        if first:
            inner.region_error.CopyFrom(UNDETERMINED)
        elif kind == "get":
            inner.value = b"v"
        return resp

    def region(self) -> GetRegionResponse:
        leader = Peer(id=1, store_id=1)
        return GetRegionResponse(region=Region(id=1, peers=[leader]), leader=leader, stores=[Store(id=1, address=self.addr)])


@pytest.fixture
def store() -> Iterator[ScriptedStore]:
    s = ScriptedStore(undetermined=1)
    try:
        yield s
    finally:
        s.server.stop(None)


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        (lambda c: c.put(b"k", b"v"), "put"),
        (lambda c: c.delete(b"k"), "delete"),
        (lambda c: c.compare_and_swap(b"k", None, b"v"), "cas"),
    ],
)
def test_an_undetermined_write_raises_timeout_and_is_sent_once(store: ScriptedStore, call, kind: str) -> None:  # type: ignore[no-untyped-def]
    with Client([store.addr], timeout=2.0) as client:
        with pytest.raises(RequestTimeoutError, match="outcome is unknown"):
            call(client)
    assert store.sent == [kind]


def test_an_undetermined_read_is_retried(store: ScriptedStore) -> None:
    with Client([store.addr], timeout=2.0) as client:
        assert client.get(b"k") == b"v"
    assert store.sent == ["get", "get"]

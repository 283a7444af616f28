"""RaftTransport against a BatchRaft receiver in another process (it stamps each batch's arrival)."""

from __future__ import annotations

import multiprocessing
import sys
import time
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
import pytest

from raftstore.proto.metapb_pb2 import Peer
from raftstore.proto.raft_serverpb_pb2 import BatchRaftMessage, Done, RaftMessage
from raftstore.server.metrics import StoreMetrics
from raftstore.server.resolve import StoreResolver
from raftstore.server.rpc import RAFT_SERVICE
from raftstore.server.transport import RaftTransport
from raftstore.store.snap.manager import SnapManager

# Arrival: (time.monotonic() when a batch arrived, region ids of its messages).
Arrival = tuple[float, list[int]]


def _receive(ports: Any, arrivals: Any) -> None:
    """_receive (child process) serves BatchRaft and puts an Arrival per batch on arrivals."""

    def batch_raft(batches: Iterator[bytes], _context: grpc.ServicerContext) -> bytes:
        for raw in batches:
            arrivals.put((time.monotonic(), [m.region_id for m in BatchRaftMessage.FromString(raw).msgs]))
        return bytes(Done().SerializeToString())

    server = grpc.server(futures.ThreadPoolExecutor(2))
    server.add_generic_rpc_handlers(
        (grpc.method_handlers_generic_handler(RAFT_SERVICE, {"BatchRaft": grpc.stream_unary_rpc_method_handler(batch_raft)}),)
    )
    ports.put(server.add_insecure_port("127.0.0.1:0"))
    server.start()
    server.wait_for_termination()


@pytest.fixture
def receiver() -> Iterator[tuple[str, Any]]:
    ctx = multiprocessing.get_context("spawn")
    ports, arrivals = ctx.Queue(), ctx.Queue()
    proc = ctx.Process(target=_receive, args=(ports, arrivals), daemon=True)
    proc.start()
    try:
        yield f"127.0.0.1:{ports.get(timeout=30)}", arrivals
    finally:
        proc.kill()
        proc.join()


def _msgs(*region_ids: int) -> list[RaftMessage]:
    return [RaftMessage(region_id=r, from_peer=Peer(id=1, store_id=1), to_peer=Peer(id=2, store_id=2)) for r in region_ids]


def _send_then_hold_gil(transport: RaftTransport, msgs: list[RaftMessage], seconds: float) -> float:
    """_send_then_hold_gil sends msgs, then runs Python code for `seconds` without letting another thread
    of this process run (as a RocksDB write holds the GIL for its fsync); returns when it ended. The switch
    interval is raised before send, as a thread waiting for the GIL reads it when it starts waiting."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    try:
        transport.send(msgs)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            pass
    finally:
        sys.setswitchinterval(interval)
    return time.monotonic()


def test_send_hands_messages_over_before_returning(receiver: tuple[str, Any], tmp_path: Path) -> None:
    """A round's messages leave while the driver holds the GIL right after send (its group commit)."""
    addr, arrivals = receiver
    unreachable: list[tuple[int, int]] = []
    transport = RaftTransport(1, StoreResolver({2: addr}), unreachable.extend, StoreMetrics(), SnapManager(tmp_path), lambda *a: None)
    try:
        transport.send(_msgs(1))  # opens the stream
        assert arrivals.get(timeout=10)[1] == [1]
        ended = _send_then_hold_gil(transport, _msgs(2, 3), 0.3)
        arrived, regions = arrivals.get(timeout=10)
        assert regions == [2, 3]  # one batch
        assert arrived < ended - 0.2, f"arrived {arrived - ended:+.3f} s after the GIL was released"
        assert unreachable == []
    finally:
        transport.close()

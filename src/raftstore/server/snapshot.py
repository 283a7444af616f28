"""raftstore.server.snapshot: a MsgSnapshot and its files between stores (`raftstorepb.Raft/Snapshot`).

The transport hands every MsgSnapshot to `send_snapshot` on a thread of its own (one stream per
snapshot): the sender opens the stream with the message, the receiving store answers the resume point
of its SnapReceiver (what it already holds of these files, all zeros for a new transfer), the sender
streams the chunks its SnapSender yields from there and closes its side; the receiver publishes the files
(`finish`), steps the message into its core, and answers done. The sender then reports FINISH to its
core (`report_snapshot`), or FAILURE on any error, so raft sends the snapshot again later. A transfer that
breaks off keeps the receiver's verified prefix; the next one resumes after it.
"""

from __future__ import annotations

import logging
import queue
from collections.abc import Callable, Iterator

import grpc
from google.protobuf.message import DecodeError

from ..proto.raft_serverpb_pb2 import RaftMessage
from ..proto.raftstorepb_pb2 import SnapshotFileChunk, SnapshotRequest, SnapshotResponse
from ..raft.raw_node import SnapshotStatus
from ..store.errors import StoreError
from ..store.snap.manager import SnapManager
from ..store.snap.transfer import FileChunk, SnapHeader, SnapReceiver, SnapSender
from .metrics import StoreMetrics
from .rpc import Connect, raft_method

__all__ = ["send_snapshot", "receive_snapshot", "SNAPSHOT_TIMEOUT"]

logger = logging.getLogger("raftstore.server.snapshot")

# SNAPSHOT_TIMEOUT: seconds one transfer may take before it counts as failed.
SNAPSHOT_TIMEOUT = 600.0

# Report: (region id, peer id, status) to the sending core.
Report = Callable[[int, int, SnapshotStatus], None]


def send_snapshot(
    mgr: SnapManager, addr: str, msg: RaftMessage, report: Report, connect: Connect, metrics: StoreMetrics
) -> None:
    """send_snapshot sends msg (a MsgSnapshot) and its files to the store at addr (module docstring);
    metrics count the snapshots sent whole and the chunk bytes sent."""
    status = SnapshotStatus.FAILURE
    requests: queue.Queue[SnapshotRequest | None] = queue.Queue()
    requests.put(SnapshotRequest(message=msg))
    try:
        with SnapSender(mgr, msg.message.snapshot) as sender, connect(addr) as ch:
            stream = ch.stream_stream(
                raft_method("Snapshot"),
                request_serializer=SnapshotRequest.SerializeToString,
                response_deserializer=SnapshotResponse.FromString,
            )
            responses = stream(iter(requests.get, None), timeout=SNAPSHOT_TIMEOUT)
            resume = next(responses).resume
            for chunk in sender.chunks(list(resume)):
                metrics.snapshot_bytes.labels("sent").inc(len(chunk.data))
                requests.put(SnapshotRequest(chunk=SnapshotFileChunk(
                    file=chunk.file, offset=chunk.offset, data=chunk.data, checksum=chunk.checksum)))
            requests.put(None)
            if any(r.done for r in responses):
                status = SnapshotStatus.FINISH
                metrics.snapshots.labels("sent").inc()
    except (StoreError, grpc.RpcError, StopIteration) as err:
        logger.info("snapshot of region %d to store %d failed: %s", msg.region_id, msg.to_peer.store_id, err)
    finally:
        requests.put(None)
        report(msg.region_id, msg.to_peer.id, status)


def _decode(raw: bytes, context: grpc.ServicerContext) -> SnapshotRequest:
    try:
        return SnapshotRequest.FromString(raw)
    except DecodeError as err:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"malformed SnapshotRequest: {err}")
        raise  # abort raised already


def receive_snapshot(
    mgr: SnapManager,
    step: Callable[[RaftMessage], None],
    metrics: StoreMetrics,
    requests: Iterator[bytes],
    context: grpc.ServicerContext,
) -> Iterator[bytes]:
    """receive_snapshot is the server side of a Snapshot stream (module docstring); a snapshot that
    fails to arrive whole ends the call with FAILED_PRECONDITION and steps nothing. metrics count the
    snapshots received whole and the chunk bytes received."""
    first = next(requests, None)
    if first is None:
        return
    msg = _decode(first, context).message
    try:
        with SnapReceiver(mgr, SnapHeader(msg.message.snapshot)) as receiver:
            yield SnapshotResponse(resume=receiver.resume_point()).SerializeToString()
            for raw in requests:
                c = _decode(raw, context).chunk
                receiver.feed(FileChunk(c.file, c.offset, c.data, c.checksum))
                metrics.snapshot_bytes.labels("received").inc(len(c.data))
            receiver.finish()
    except StoreError as err:
        context.abort(grpc.StatusCode.FAILED_PRECONDITION, f"snapshot of region {msg.region_id}: {err}")
    step(msg)
    metrics.snapshots.labels("received").inc()
    yield SnapshotResponse(done=True).SerializeToString()

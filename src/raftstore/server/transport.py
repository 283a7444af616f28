"""raftstore.server.transport: raft messages between stores over gRPC.

`RaftTransport.send(msgs)` (called by the driver, twice per round) groups the messages by destination
store and queues them on that store's connection. Each connection has one long-lived client stream
(`raftstorepb.Raft/BatchRaft`, kvproto's tikvpb.BatchRaft) and one thread: every message queued since its
last write goes out as ONE BatchRaftMessage (cut only at MAX_BATCH_BYTES), never one call per message. So a
store holds one stream to each store it talks to, and that store one back.

send returns once every connection's writer has taken what was queued (at most FLUSH_WAIT): a RocksDB
write holds the GIL for its whole fsync, so a round's messages would otherwise wait for the round's own
group commit (and the rest of the round) before the writer thread could run; taken first, they are on the
wire while the sender persists (raft thesis 10.2.1). A writer still busy with its previous batch (or a
stream being opened) only delays the round by FLUSH_WAIT.

Raft tolerates loss: while a store cannot be reached (the stream failed, the connection is backing off)
its messages are dropped and each (region, peer) they were for is reported unreachable to raft once per
drop (`on_unreachable`), so its leader stops pipelining appends to it (raft-rs report_unreachable). A
failed stream is retried after a backoff that doubles from BACKOFF_MIN to BACKOFF_MAX and resets once a
stream has stayed up for a second.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator

import grpc

from ..proto.eraftpb_pb2 import MessageType
from ..proto.raft_serverpb_pb2 import Done, RaftMessage
from ..raft.raw_node import SnapshotStatus
from ..store.snap.manager import SnapManager
from .metrics import StoreMetrics
from .resolve import StoreResolver
from .rpc import Connect, open_channel, raft_method
from .snapshot import Report, send_snapshot

__all__ = ["BACKOFF_MAX", "BACKOFF_MIN", "FLUSH_WAIT", "MAX_BATCH_BYTES", "RaftTransport"]

logger = logging.getLogger("raftstore.server.transport")

MAX_BATCH_BYTES = 8 * 1024 * 1024
# FLUSH_WAIT: the longest send waits for the writers to take its messages (module docstring).
FLUSH_WAIT = 0.001
BACKOFF_MIN = 0.05
BACKOFF_MAX = 2.0
# _STABLE: a stream that stayed up this long resets the backoff.
_STABLE = 1.0

# Unreachable: (region id, peer id) of a message that could not be delivered.
Unreachable = Callable[[list[tuple[int, int]]], None]


def _targets(msgs: list[RaftMessage]) -> list[tuple[int, int]]:
    return list(dict.fromkeys((m.region_id, m.to_peer.id) for m in msgs))


class _Connection:
    """_Connection: the stream to one store and the thread that keeps it (module docstring).

    Invariant: `_queue` holds messages only while `_up` (a stream is open or being opened); otherwise
    push drops and reports them."""

    def __init__(
        self, store_id: int, resolver: StoreResolver, on_unreachable: Unreachable, metrics: StoreMetrics, connect: Connect
    ):
        self.store_id = store_id
        self._connect = connect
        self._resolver = resolver
        self._on_unreachable = on_unreachable
        self._metrics = metrics
        self._cond = threading.Condition()
        self._queue: list[RaftMessage] = []
        self._up = False
        self._closed = False
        self._channel: grpc.Channel | None = None
        self._thread = threading.Thread(target=self._run, name=f"raft-conn-{store_id}", daemon=True)
        self._thread.start()

    def push(self, msgs: list[RaftMessage]) -> None:
        with self._cond:
            if self._up and not self._closed:
                self._queue.extend(msgs)
                self._cond.notify_all()
                return
        self._drop(msgs)

    def wait_taken(self, deadline: float) -> None:
        """wait_taken returns once the writer took everything queued (or the stream is down), or at deadline."""
        with self._cond:
            self._cond.wait_for(lambda: not (self._queue and self._up) or self._closed, deadline - time.monotonic())

    def _drop(self, msgs: list[RaftMessage]) -> None:
        if msgs:
            self._metrics.unreachable.inc(len(msgs))
            self._on_unreachable(_targets(msgs))

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        if self._channel is not None:
            self._channel.close()
        self._thread.join(2.0)

    def _run(self) -> None:
        backoff = BACKOFF_MIN
        while True:
            addr = self._resolver.address(self.store_id)
            with self._cond:
                if self._closed:
                    return
                self._up = addr is not None
            started = time.monotonic()
            if addr is not None:
                self._stream(addr)
            with self._cond:
                self._up = False
                lost, self._queue = self._queue, []
                if self._closed:
                    return
            self._drop(lost)
            backoff = BACKOFF_MIN if time.monotonic() - started >= _STABLE else min(backoff * 2, BACKOFF_MAX)
            with self._cond:
                self._cond.wait_for(lambda: self._closed, backoff)

    def _stream(self, addr: str) -> None:
        """_stream runs one BatchRaft stream until it fails or the connection closes."""
        if self._channel is None:
            self._channel = self._connect(addr)
        call = self._channel.stream_unary(
            raft_method("BatchRaft"),
            request_serializer=None,  # _batches yields encoded BatchRaftMessages (see _frame)
            response_deserializer=Done.FromString,
        )
        failed = threading.Event()
        future = call.future(self._batches(failed))
        future.add_done_callback(lambda _f: self._fail(failed))
        failed.wait()
        if not self._closed:
            future.cancel()
            try:
                future.result(timeout=0)
            except (grpc.RpcError, grpc.FutureCancelledError, grpc.FutureTimeoutError) as err:
                logger.info("raft stream to store %d (%s) ended: %s", self.store_id, addr, _describe(err))

    def _fail(self, failed: threading.Event) -> None:
        with self._cond:
            failed.set()
            self._cond.notify_all()

    def _batches(self, failed: threading.Event) -> Iterator[bytes]:
        """_batches yields one encoded BatchRaftMessage of everything queued, each time something is."""
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self._closed or failed.is_set())
                if self._closed or failed.is_set():
                    return
                msgs, self._queue = self._queue, []
                self._cond.notify_all()  # wait_taken
            frames: list[bytes] = []
            size = 0
            for msg in msgs:
                frame = _frame(msg)
                if frames and size + len(frame) > MAX_BATCH_BYTES:
                    yield self._sent(frames)
                    frames, size = [], 0
                frames.append(frame)
                size += len(frame)
            yield self._sent(frames)

    def _sent(self, frames: list[bytes]) -> bytes:
        self._metrics.batches_sent.inc()
        self._metrics.messages_sent.inc(len(frames))
        return b"".join(frames)


def _frame(msg: RaftMessage) -> bytes:
    """_frame is msg encoded as one element of BatchRaftMessage.msgs (field 1, length-delimited): the
    frames of a batch joined are the encoded BatchRaftMessage. Appending msg to a BatchRaftMessage instead
    would deep-copy it (every entry of a MsgAppend) before the batch is encoded."""
    data = msg.SerializeToString()
    n = len(data)
    head = bytearray(b"\x0a")
    while n >= 0x80:
        head.append(n & 0x7F | 0x80)
        n >>= 7
    head.append(n)
    return bytes(head) + data


def _describe(err: BaseException) -> str:
    if isinstance(err, grpc.RpcError) and isinstance(err, grpc.Call):
        return f"{err.code().name}: {err.details()}"
    return type(err).__name__


class RaftTransport:
    """RaftTransport: one _Connection per destination store, opened on first use (module docstring); a
    MsgSnapshot goes on a Snapshot stream of its own, on a thread of its own (server.snapshot), and its
    outcome is reported through on_snapshot."""

    def __init__(
        self,
        store_id: int,
        resolver: StoreResolver,
        on_unreachable: Unreachable,
        metrics: StoreMetrics,
        snap_mgr: SnapManager,
        on_snapshot: Report,
        connect: Connect = open_channel,
    ):
        self.store_id = store_id
        self._connect = connect
        self._resolver = resolver
        self._on_unreachable = on_unreachable
        self._metrics = metrics
        self._snap_mgr = snap_mgr
        self._on_snapshot = on_snapshot
        self._lock = threading.Lock()
        self._conns: dict[int, _Connection] = {}
        self._closed = False

    def send(self, msgs: list[RaftMessage]) -> None:
        by_store: dict[int, list[RaftMessage]] = {}
        for msg in msgs:
            if msg.message.msg_type == MessageType.MsgSnapshot:
                self._send_snapshot(msg)
            else:
                by_store.setdefault(msg.to_peer.store_id, []).append(msg)
        pushed = []
        for store_id, group in by_store.items():
            conn = self._connection(store_id)
            if conn is None:
                self._on_unreachable(_targets(group))
            else:
                conn.push(group)
                pushed.append(conn)
        deadline = time.monotonic() + FLUSH_WAIT
        for conn in pushed:
            conn.wait_taken(deadline)

    def _send_snapshot(self, msg: RaftMessage) -> None:
        addr = self._resolver.address(msg.to_peer.store_id)
        if addr is None or self._closed:
            self._on_snapshot(msg.region_id, msg.to_peer.id, SnapshotStatus.FAILURE)
            return
        threading.Thread(
            target=send_snapshot,
            args=(self._snap_mgr, addr, msg, self._on_snapshot, self._connect, self._metrics),
            name=f"snapshot-{msg.region_id}-to-{msg.to_peer.store_id}",
            daemon=True,
        ).start()

    def _connection(self, store_id: int) -> _Connection | None:
        with self._lock:
            if self._closed or store_id == self.store_id:
                return None
            conn = self._conns.get(store_id)
            if conn is None:
                conn = self._conns[store_id] = _Connection(
                    store_id, self._resolver, self._on_unreachable, self._metrics, self._connect
                )
            return conn

    def close(self) -> None:
        with self._lock:
            self._closed = True
            conns, self._conns = list(self._conns.values()), {}
        for conn in conns:
            conn.close()

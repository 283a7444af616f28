"""raftstore.server.service: the key-value service (raftstorepb.Kv) on top of the threaded driver.

Every request, unary or in a BatchCommands stream, becomes a `BatchCommandsRequest.Request` and goes
through `KvService.submit`: it is checked (sizes, empty keys, ranges) on the calling thread, then handed
to the driver as a task that routes it (the region of the request's Context, or the region this store
hosts for its key), builds a RaftCmdRequest with the region's id, epoch and this store's peer, and
proposes it. Reads (get, scan) are ReadIndex reads through the core: linearizable. The answer comes
back on the driver thread as a thunk (`Answer`) that the caller's thread turns into the response, so
that the driver thread never builds responses or scans. After each round the driver waits, at most
ANSWER_WAIT, until every BatchCommands stream took the answers it got: the stream's thread needs the GIL,
which the driver would otherwise keep through its next round.

Errors: `region_error` (errorpb, from the core: NotLeader with the leader hint, EpochNotMatch,
RegionNotFound, KeyNotInRegion, ...) or `error` (refused before reaching the core: nothing changed).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from functools import partial

import grpc
from google.protobuf.message import DecodeError, Message

from ..engine import keys
from ..engine.base import CF_DEFAULT
from ..proto.errorpb_pb2 import Error
from ..proto.raft_cmdpb_pb2 import CmdType, RaftCmdRequest, RaftRequestHeader, Request
from ..proto.raftstorepb_pb2 import (
    BatchCommandsRequest,
    BatchCommandsResponse,
    BatchPutRequest,
    CompareAndSwapRequest,
    Context,
    DeleteRequest,
    GetRegionRequest,
    GetRequest,
    PutRequest,
    ScanRequest,
)
from ..store.cmd import (
    CmdResult,
    key_in_region,
    key_not_in_region,
    other_error,
    region_not_found,
    region_not_initialized,
)
from ..store.store_core import StoreCore
from .driver import StoreDriver, Task
from .limits import (
    MAX_GRPC_MESSAGE,
    MAX_KEY_SIZE,
    SCAN_BYTES,
    SCAN_LIMIT,
    check_key,
    check_pairs,
    check_value,
)
from .metrics import StoreMetrics
from .resolve import StoreResolver

__all__ = ["UNARY_METHODS", "Answer", "KvService"]

logger = logging.getLogger("raftstore.server.service")

Response = BatchCommandsResponse.Response
# Answer: builds the response on the thread that sends it; Deliver: how the driver hands an Answer back.
Answer = Callable[[], Response]
Deliver = Callable[[Answer], None]

# UNARY_METHODS: rpc name -> (the oneof field of BatchCommandsRequest.Request, the request class).
UNARY_METHODS: dict[str, tuple[str, type[Message]]] = {
    "KvGet": ("get", GetRequest),
    "KvPut": ("put", PutRequest),
    "KvDelete": ("delete", DeleteRequest),
    "KvCompareAndSwap": ("cas", CompareAndSwapRequest),
    "KvScan": ("scan", ScanRequest),
    "KvBatchPut": ("batch_put", BatchPutRequest),
    "GetRegion": ("get_region", GetRegionRequest),
}

# UNARY_TIMEOUT: how long a unary call waits for its answer when the caller set no deadline.
UNARY_TIMEOUT = 30.0
# ANSWER_WAIT: the longest the driver waits after a round for the streams to take their answers.
ANSWER_WAIT = 0.001


def _response(kind: str) -> tuple[Response, Message]:
    resp = Response()
    inner = getattr(resp, kind)
    inner.SetInParent()
    return resp, inner


def _refused(kind: str, why: str) -> Answer:
    def answer() -> Response:
        resp, inner = _response(kind)
        inner.error = why  # type: ignore[attr-defined]
        return resp

    return answer


def _region_error(kind: str, error: Error) -> Response:
    resp, inner = _response(kind)
    inner.region_error.CopyFrom(error)  # type: ignore[attr-defined]
    return resp


def _address(core: StoreCore, ctx: Context, key: bytes, header: RaftRequestHeader) -> Error | None:
    """_address fills a command's header: the Context's region (its epoch, this store's peer unless the
    Context names one), or with no region in the Context the region this store hosts for key."""
    if ctx.region_id:
        peer = core.peer(ctx.region_id)
        if peer is None:
            return region_not_found(ctx.region_id)
        header.region_id = ctx.region_id
        if ctx.HasField("region_epoch"):
            header.region_epoch.CopyFrom(ctx.region_epoch)
    else:
        region = core.region_for_key(key)
        if region is None:
            return other_error(f"store {core.store_id} hosts no region for key {key!r}")
        peer = core.peers[region.id]
        header.region_id = region.id
        header.region_epoch.CopyFrom(region.region_epoch)
    if ctx.HasField("peer") and ctx.peer.id:
        header.peer.CopyFrom(ctx.peer)
        return None
    meta = peer.meta_peer(peer.peer_id)
    if meta is None:  # a peer waiting for its first snapshot: its region does not list it yet
        return region_not_initialized(header.region_id)
    header.peer.CopyFrom(meta)
    return None


def _write(kind: str, result: CmdResult) -> Response:
    if result.error is not None:
        return _region_error(kind, result.error)
    resp, inner = _response(kind)
    if kind == "cas":
        cas = result.response.responses[0].cas
        inner.swapped, inner.previous, inner.previous_exists = cas.swapped, cas.previous, cas.previous_exists  # type: ignore[attr-defined]
    return resp


def _get(result: CmdResult) -> Response:
    if result.error is not None:
        return _region_error("get", result.error)
    resp, inner = _response("get")
    got = result.response.responses[0].get
    inner.value, inner.not_found = got.value, got.not_found  # type: ignore[attr-defined]
    return resp


def _scan(req: ScanRequest, result: CmdResult) -> Response:
    """_scan reads the pairs of req from the consistent snapshot the read returned, within its region."""
    if result.error is not None or result.snapshot is None:
        return _region_error("scan", result.error or other_error("scan: no snapshot"))
    region = result.response.responses[0].snap.region
    start, end = req.start_key, req.end_key
    if not key_in_region(start, region):
        return _region_error("scan", key_not_in_region(start, region))
    if region.end_key and (not end or end > region.end_key):
        end = region.end_key
    resp, inner = _response("scan")
    limit = min(req.limit or SCAN_LIMIT, SCAN_LIMIT)
    size = 0
    dend = keys.data_key(end) if end else keys.DATA_MAX_KEY
    for dkey, value in result.snapshot.scan(CF_DEFAULT, keys.data_key(start), dend, limit=limit):
        inner.pairs.add(key=keys.origin_key(dkey), value=value)  # type: ignore[attr-defined]
        size += len(dkey) + len(value)
        if size >= SCAN_BYTES:
            break
    inner.truncated = len(inner.pairs) >= limit or size >= SCAN_BYTES  # type: ignore[attr-defined]
    return resp


def _check(kind: str, req: Message) -> str | None:
    """_check is why a request is refused before it reaches the core (None: it may go on)."""
    if kind in ("get", "delete"):
        return check_key(req.key)  # type: ignore[attr-defined]
    if kind in ("put", "cas"):
        return check_key(req.key) or check_value(req.value) or (  # type: ignore[attr-defined]
            check_value(req.expected) if kind == "cas" else None  # type: ignore[attr-defined]
        )
    if kind == "batch_put":
        return check_pairs([(p.key, p.value) for p in req.pairs])  # type: ignore[attr-defined]
    if kind == "scan":
        start, end = req.start_key, req.end_key  # type: ignore[attr-defined]
        for bound in (start, end):
            if len(bound) > MAX_KEY_SIZE:
                return f"scan bound of {len(bound)} bytes exceeds the key limit of {MAX_KEY_SIZE} bytes"
        if end and end <= start:
            return f"invalid scan range [{start!r}, {end!r})"
    return None


def _requests(kind: str, req: Message) -> list[Request]:
    """_requests are the raft_cmdpb requests a write or get turns into."""
    if kind == "get":
        return [Request(cmd_type=CmdType.Get, get={"key": req.key})]  # type: ignore[attr-defined]
    if kind == "put":
        return [Request(cmd_type=CmdType.Put, put={"key": req.key, "value": req.value})]  # type: ignore[attr-defined]
    if kind == "delete":
        return [Request(cmd_type=CmdType.Delete, delete={"key": req.key})]  # type: ignore[attr-defined]
    if kind == "cas":
        cas = {"key": req.key, "expected": req.expected, "expect_missing": req.expect_missing, "value": req.value}  # type: ignore[attr-defined]
        return [Request(cmd_type=CmdType.CompareAndSwap, cas=cas)]
    if kind == "batch_put":
        return [Request(cmd_type=CmdType.Put, put={"key": p.key, "value": p.value}) for p in req.pairs]  # type: ignore[attr-defined]
    return [Request(cmd_type=CmdType.Snap)]  # scan


def _route_key(kind: str, req: Message) -> bytes:
    if kind == "batch_put":
        return bytes(req.pairs[0].key)  # type: ignore[attr-defined]
    if kind == "scan":
        return bytes(req.start_key)  # type: ignore[attr-defined]
    return bytes(req.key)  # type: ignore[attr-defined]


class KvService:
    """KvService: checks requests, hands them to the driver, and serves the gRPC methods (module docstring)."""

    def __init__(self, driver: StoreDriver, resolver: StoreResolver, metrics: StoreMetrics) -> None:
        self._driver = driver
        self._resolver = resolver
        # _commands: the raftstore_commands counter of each kind (labels() is a lookup of its own).
        self._commands = {kind: metrics.proposals.labels(kind) for kind, _ in UNARY_METHODS.values() if kind != "get_region"}
        # closing: set when the server stops; unary calls still waiting give up (outcome unknown).
        self.closing = threading.Event()
        # _outboxes: the open BatchCommands streams' outboxes (under _lock), for _wait_answers_taken.
        self._lock = threading.Lock()
        self._outboxes: set[_Outbox] = set()
        driver.after_round(self._wait_answers_taken)

    def submit(self, request: BatchCommandsRequest.Request, deliver: Deliver) -> None:
        """submit answers request through deliver (called once, maybe on the driver thread)."""
        self.submit_all([(request, deliver)])

    def submit_all(self, requests: list[tuple[BatchCommandsRequest.Request, Deliver]]) -> None:
        """submit_all submits requests (those of one BatchCommands message) to the driver at once, so that
        they reach the same round: a region's writes among them become one proposal."""
        tasks = [t for request, deliver in requests if (t := self._task(request, deliver)) is not None]
        if tasks:
            self._driver.submit_all(tasks)

    def _task(self, request: BatchCommandsRequest.Request, deliver: Deliver) -> Task | None:
        """_task is the driver task that routes and proposes request; None when it is refused at once."""
        kind = request.WhichOneof("cmd")
        if kind is None:
            deliver(_refused("get", "empty request: no command set"))
            return None
        req = getattr(request, kind)
        if kind == "get_region":
            return partial(self._get_region, bytes(req.key), deliver)
        why = _check(kind, req)
        if why is not None:
            deliver(_refused(kind, why))
            return None
        self._commands[kind].inc()
        if kind == "scan":
            convert: Callable[[CmdResult], Response] = partial(_scan, req)
        elif kind == "get":
            convert = _get
        else:
            convert = partial(_write, kind)
        cmd = RaftCmdRequest(requests=_requests(kind, req))
        return partial(_propose, kind, req.context, _route_key(kind, req), cmd, convert, deliver)

    def _wait_answers_taken(self) -> None:
        """_wait_answers_taken (driver thread, after a round) waits until each stream took its answers."""
        with self._lock:
            outboxes = list(self._outboxes)
        deadline = time.monotonic() + ANSWER_WAIT
        for outbox in outboxes:
            outbox.wait_taken(deadline)

    def _get_region(self, key: bytes, deliver: Deliver, core: StoreCore) -> None:
        resp, inner = _response("get_region")
        region = core.region_for_key(key)
        if region is None:
            inner.error = f"store {core.store_id} hosts no region for key {key!r}"  # type: ignore[attr-defined]
        else:
            inner.region.CopyFrom(region)  # type: ignore[attr-defined]
            leader = core.peers[region.id].leader()
            if leader is not None:
                inner.leader.CopyFrom(leader)  # type: ignore[attr-defined]
        inner.stores.extend(self._resolver.stores())  # type: ignore[attr-defined]
        deliver(lambda: resp)

    # -- gRPC handlers (raw bytes in and out: a malformed message is INVALID_ARGUMENT) ------------------

    def handlers(self) -> grpc.GenericRpcHandler:
        methods = {
            name: grpc.unary_unary_rpc_method_handler(partial(self._unary, kind, cls))
            for name, (kind, cls) in UNARY_METHODS.items()
        }
        methods["BatchCommands"] = grpc.stream_stream_rpc_method_handler(self._batch_commands)
        return grpc.method_handlers_generic_handler("raftstorepb.Kv", methods)

    def _unary(self, kind: str, cls: type[Message], raw: bytes, context: grpc.ServicerContext) -> bytes:
        try:
            msg = cls.FromString(raw)
        except DecodeError as err:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"malformed {cls.__name__}: {err}")
        request = BatchCommandsRequest.Request()
        getattr(request, kind).CopyFrom(msg)
        slot: list[Answer] = []
        done = threading.Event()

        def deliver(answer: Answer) -> None:
            slot.append(answer)
            done.set()

        self.submit(request, deliver)
        remaining = context.time_remaining()
        deadline = time.monotonic() + (UNARY_TIMEOUT if remaining is None else min(remaining, UNARY_TIMEOUT))
        while not done.wait(0.1):
            if self.closing.is_set() or time.monotonic() >= deadline:
                context.abort(grpc.StatusCode.DEADLINE_EXCEEDED, f"{kind}: no answer in time (outcome unknown)")
        return bytes(getattr(slot[0](), kind).SerializeToString())

    def _batch_commands(self, requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
        context.send_initial_metadata(())  # the client knows the stream is accepted before it sends
        outbox = _Outbox()
        context.add_callback(outbox.cancel)
        threading.Thread(target=self._read_batches, args=(requests, outbox), daemon=True).start()
        with self._lock:
            self._outboxes.add(outbox)
        try:
            yield from outbox.responses()
        finally:
            with self._lock:
                self._outboxes.discard(outbox)
        if outbox.error is not None:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, outbox.error)

    def _read_batches(self, requests: Iterator[bytes], outbox: _Outbox) -> None:
        """_read_batches submits every request of the stream; the outbox answers them as they come."""
        try:
            for raw in requests:
                try:
                    batch = BatchCommandsRequest.FromString(raw)
                except DecodeError as err:
                    outbox.fail(f"malformed BatchCommandsRequest: {err}")
                    return
                if len(batch.request_ids) != len(batch.requests):
                    outbox.fail(f"{len(batch.requests)} requests but {len(batch.request_ids)} request ids")
                    return
                outbox.expect(len(batch.requests))
                self.submit_all([(r, partial(outbox.put, rid)) for rid, r in zip(batch.request_ids, batch.requests)])
        except grpc.RpcError:
            pass  # the client went away; the outbox was cancelled
        finally:
            outbox.close_reading()


class _Outbox:
    """_Outbox: the answers of one BatchCommands stream, sent in batches as they come (out of order).

    Invariant: `_pending` counts the requests submitted and not yet taken from `_answers`; the stream
    ends when reading is over and nothing is pending, or at once when cancelled or failed. `_idle`: the
    stream's thread is waiting for answers (not sending the last ones)."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._answers: list[tuple[int, Answer]] = []
        self._idle = False
        self._pending = 0
        self._reading = True
        self._cancelled = False
        self.error: str | None = None

    def expect(self, n: int) -> None:
        with self._cond:
            self._pending += n

    def put(self, rid: int, answer: Answer) -> None:
        with self._cond:
            self._answers.append((rid, answer))
            self._cond.notify_all()

    def wait_taken(self, deadline: float) -> None:
        """wait_taken returns once the stream took every answer put (or ended), or at deadline; at once
        when its thread is busy sending (it takes them when it is done, without waiting to be woken)."""
        with self._cond:
            self._cond.wait_for(
                lambda: not (self._answers and self._idle) or self._cancelled or self.error, deadline - time.monotonic()
            )

    def fail(self, error: str) -> None:
        with self._cond:
            self.error = error
            self._cond.notify()

    def cancel(self) -> None:
        with self._cond:
            self._cancelled = True
            self._cond.notify()

    def close_reading(self) -> None:
        with self._cond:
            self._reading = False
            self._cond.notify()

    def _take(self) -> list[tuple[int, Answer]] | None:
        with self._cond:
            self._idle = True
            self._cond.wait_for(
                lambda: self._answers or self._cancelled or self.error or not (self._reading or self._pending)
            )
            self._idle = False
            if self._cancelled or self.error or not self._answers:
                return None
            answers, self._answers = self._answers, []
            self._pending -= len(answers)
            self._cond.notify_all()  # wait_taken
            return answers

    def responses(self) -> Iterator[bytes]:
        while (answers := self._take()) is not None:
            out = BatchCommandsResponse()
            size = 0
            for rid, answer in answers:
                resp = answer()
                if size and size + resp.ByteSize() > MAX_GRPC_MESSAGE // 2:
                    yield out.SerializeToString()
                    out, size = BatchCommandsResponse(), 0
                out.request_ids.append(rid)
                out.responses.append(resp)
                size += resp.ByteSize()
            yield out.SerializeToString()


def _propose(
    kind: str,
    ctx: Context,
    key: bytes,
    cmd: RaftCmdRequest,
    convert: Callable[[CmdResult], Response],
    deliver: Deliver,
    core: StoreCore,
) -> None:
    """_propose (driver thread) addresses cmd and proposes it; its answer is delivered as a thunk."""
    error = _address(core, ctx, key, cmd.header)
    if error is not None:
        deliver(lambda: _region_error(kind, error))
        return
    core.propose(cmd, lambda result: deliver(partial(convert, result)))


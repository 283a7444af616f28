"""raftstore.client: the Python client of a raftstore cluster (API.md's fixed names).

    with Client(["127.0.0.1:20161"], timeout=5.0) as client:   # any store of the cluster will do
        client.put(b"k", b"v")
        client.get(b"k")                                       # linearizable; None when missing
        client.compare_and_swap(b"k", b"v", b"w")              # -> (swapped, previous)

How it works:
- Region cache. The client asks any store it knows for the region of a key (GetRegion: the region with its
  epoch and peers, the leader that store believes in, and the addresses of every store), and caches it.
  Requests carry the region id and epoch (Context), so a stale cache is answered EpochNotMatch, never
  silently used.
- One BatchCommands stream per store, shared by every thread: a caller queues its request; the stream's
  sender takes everything queued into one message; the reader thread hands each response to its caller by
  request id (answers come back out of order).
- Retries, within the call's timeout: NotLeader (follow the hint, or try the next peer), EpochNotMatch
  (take the store's current regions), RegionNotFound / KeyNotInRegion / StoreNotMatch / MismatchPeerId
  (locate again), StaleCommand / ServerIsBusy (back off). All of these mean the command did not take
  effect, so a write is retried safely. A store that cannot be connected to has received nothing: safe
  too. A stream that breaks after a write was handed to it leaves the write's outcome unknown: the call
  raises RequestTimeoutError, never retrying it (a read is retried). So does errorpb UndeterminedResult: the
  store proposed the command and cannot know whether it took effect.
- Errors: ClientError is the root; RequestTimeoutError (the call's time ran out, a write's outcome is
  unknown, or a batch_put spanning regions failed part-way) is the only one after which a write may have
  taken effect.

Size limits (raftstore.server.limits): keys up to 8 KiB, values up to 4 MiB, a batch_put up to 6 MiB in all;
an empty key is refused. Requests over them are refused before anything is sent.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import grpc

from .proto.errorpb_pb2 import Error
from .proto.metapb_pb2 import Region
from .proto.raftstorepb_pb2 import BatchCommandsRequest, BatchCommandsResponse, Context
from .server.errors import ConfigError
from .server.limits import MAX_GRPC_MESSAGE, check_key, check_pairs, check_value
from .server.rpc import kv_method, open_channel
from .server.security import Security, load_security

__all__ = ["Client", "ClientError", "RequestTimeoutError"]

Request = BatchCommandsRequest.Request
Response = BatchCommandsResponse.Response

# _BACKOFF_MIN / _BACKOFF_MAX: sleep between retries (doubling), always within the call's deadline.
_BACKOFF_MIN = 0.01
_BACKOFF_MAX = 0.25
# _CONNECT_TIMEOUT: how long opening a stream may take before the store counts as unreachable.
_CONNECT_TIMEOUT = 1.0
# _MAX_BATCH_BYTES: a BatchCommands message is cut at this size.
_MAX_BATCH_BYTES = MAX_GRPC_MESSAGE // 4


class ClientError(Exception):
    """ClientError: the root of the errors the client raises on purpose. Unless it is a
    RequestTimeoutError, the request did not take effect; the client stays usable."""


class RequestTimeoutError(ClientError):
    """RequestTimeoutError: no answer within the timeout, or the connection broke after a write was sent:
    the outcome is unknown (the write may or may not have taken effect). Read the key to find out. Also
    raised by a batch_put spanning regions that failed after writing the pairs of some regions (the
    message says how many)."""


class _Broken(Exception):
    """_Broken: the stream to a store failed; `sent` tells whether the request may have reached it."""

    def __init__(self, reason: str, sent: bool) -> None:
        super().__init__(reason)
        self.sent = sent


class _Call:
    __slots__ = ("done", "error", "request", "response", "sent")

    def __init__(self, request: Request) -> None:
        self.request = request
        self.done = threading.Event()
        self.response: Response | None = None
        self.error: str | None = None
        self.sent = False


class _StoreStream:
    """_StoreStream: one BatchCommands stream to one store, shared by every caller (module docstring).

    Invariant: a _Call is in `_pending` from its queuing until answered or failed; `_queue` holds those
    not yet handed to gRPC (`sent` False). Once `broken` is set the stream takes no more calls."""

    def __init__(self, addr: str, security: Security | None) -> None:
        self.addr = addr
        self._channel = open_channel(addr, security)
        self._cond = threading.Condition()
        self._connect_lock = threading.Lock()
        self._opened = False
        self._connected = False
        self._queue: list[tuple[int, _Call]] = []
        self._pending: dict[int, _Call] = {}
        self._ids = itertools.count(1)
        self.broken: str | None = None
        self._responses: grpc.Future | None = None

    def _open(self, timeout: float) -> None:
        """_open starts the stream once and waits until the store has accepted it (its initial metadata):
        a store that cannot be reached within _CONNECT_TIMEOUT has received nothing (_Broken, not sent)."""
        with self._connect_lock:
            if not self._opened:
                method = self._channel.stream_stream(
                    kv_method("BatchCommands"),
                    request_serializer=BatchCommandsRequest.SerializeToString,
                    response_deserializer=BatchCommandsResponse.FromString,
                )
                self._responses = method(self._requests())
                threading.Thread(target=self._read, name=f"raftstore-client-{self.addr}", daemon=True).start()
                self._opened = True
            with self._cond:
                self._cond.wait_for(lambda: self._connected or self.broken is not None, min(timeout, _CONNECT_TIMEOUT))
                connected = self._connected
        if not connected:
            self._break(f"cannot connect to {self.addr}")
            raise _Broken(f"cannot connect to {self.addr}", sent=False)

    def call(self, request: Request, deadline: float) -> Response | None:
        """call sends request and waits for its response until deadline (None: timed out; then whether
        it was sent is unknown to the caller: a timeout is an unknown outcome anyway). Raises _Broken."""
        self._open(deadline - time.monotonic())
        c = _Call(request)
        with self._cond:
            if self.broken is not None:
                raise _Broken(self.broken, sent=False)
            rid = next(self._ids)
            self._pending[rid] = c
            self._queue.append((rid, c))
            self._cond.notify()
        if not c.done.wait(max(deadline - time.monotonic(), 0)):
            with self._cond:
                self._pending.pop(rid, None)
                self._queue = [(i, q) for i, q in self._queue if i != rid]
            return None
        if c.error is not None:
            raise _Broken(c.error, c.sent)
        return c.response

    def _requests(self) -> Iterator[BatchCommandsRequest]:
        """_requests (consumed by gRPC) yields everything queued as one message (cut at _MAX_BATCH_BYTES)."""
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._queue or self.broken is not None)
                if self.broken is not None:
                    return
                batch, size = BatchCommandsRequest(), 0
                while self._queue and (not size or size < _MAX_BATCH_BYTES):
                    rid, c = self._queue.pop(0)
                    c.sent = True
                    batch.request_ids.append(rid)
                    batch.requests.append(c.request)
                    size += c.request.ByteSize()
            yield batch

    def _read(self) -> None:
        assert self._responses is not None
        reason = f"the stream to {self.addr} ended"
        try:
            self._responses.initial_metadata()  # type: ignore[attr-defined]
            with self._cond:
                self._connected = not self._responses.done()
                self._cond.notify_all()
            for batch in self._responses:  # type: ignore[attr-defined]
                with self._cond:
                    for rid, resp in zip(batch.request_ids, batch.responses):
                        c = self._pending.pop(rid, None)
                        if c is not None:
                            c.response = resp
                            c.done.set()
        except grpc.RpcError as err:
            reason = f"the stream to {self.addr} broke: {err.code().name} {err.details()}"  # type: ignore[attr-defined]
        self._break(reason)

    def _break(self, reason: str) -> None:
        with self._cond:
            if self.broken is None:
                self.broken = reason
            failed, self._pending, self._queue = self._pending, {}, []
            self._cond.notify_all()
        for c in failed.values():
            c.error = reason
            c.done.set()

    def close(self) -> None:
        self._break("the client is closed")
        if self._responses is not None:
            self._responses.cancel()
        self._channel.close()


@dataclass(slots=True)
class _CachedRegion:
    """_CachedRegion: a region as the client last learned it, and the store it believes leads it."""

    region: Region
    leader_store: int | None
    tries: int = 0

    def contains(self, key: bytes) -> bool:
        r = self.region
        return bool(r.start_key <= key and (not r.end_key or key < r.end_key))


class Client:
    """Client: a thread-safe client of a raftstore cluster (module docstring; API.md).

    `addrs`: "host:port" strings, or one comma-separated string, of any stores of the cluster;
    `timeout` bounds each call, retries included. With `ca_path`, `cert_path` and `key_path` (PEM files:
    the cluster's CA, this client's certificate and key; all three or none) it talks mutual TLS.
    `store_addrs` (store id -> "host:port") are addresses that win over those the stores report, for a
    client that reaches the stores by another way than they reach each other (port forwards, proxies)."""

    def __init__(
        self,
        addrs: Sequence[str] | str,
        *,
        timeout: float = 5.0,
        ca_path: str | Path | None = None,
        cert_path: str | Path | None = None,
        key_path: str | Path | None = None,
        store_addrs: Mapping[int, str] | None = None,
    ) -> None:
        seeds = [a.strip() for a in (addrs.split(",") if isinstance(addrs, str) else addrs) if a.strip()]
        if not seeds:
            raise ClientError("no store address given")
        if timeout <= 0:
            raise ClientError(f"timeout must be positive, got {timeout}")
        self.timeout = timeout
        try:
            self._security = load_security(ca_path, cert_path, key_path)
        except ConfigError as err:
            raise ClientError(str(err)) from None
        self._seeds = seeds
        self._lock = threading.Lock()
        self._streams: dict[str, _StoreStream] = {}
        self._regions: list[_CachedRegion] = []
        self._pinned = dict(store_addrs or {})
        self._stores: dict[int, str] = dict(self._pinned)
        self._seed_turn = itertools.count()
        self._closed = False

    # -- the API ----------------------------------------------------------------------------------------

    def get(self, key: bytes) -> bytes | None:
        """get is key's value (None when missing), read linearizably through the region's leader."""
        _refuse(check_key(key))
        resp = self._execute(key, lambda ctx, _: Request(get={"context": ctx, "key": key}), write=False)[0].get
        return None if resp.not_found else bytes(resp.value)

    def put(self, key: bytes, value: bytes) -> None:
        """put sets key to value; it returns once the write is applied after a quorum made it durable."""
        _refuse(check_key(key) or check_value(value))
        self._execute(key, lambda ctx, _: Request(put={"context": ctx, "key": key, "value": value}), write=True)

    def delete(self, key: bytes) -> None:
        """delete removes key (a missing key is not an error)."""
        _refuse(check_key(key))
        self._execute(key, lambda ctx, _: Request(delete={"context": ctx, "key": key}), write=True)

    def compare_and_swap(self, key: bytes, expected: bytes | None, value: bytes) -> tuple[bool, bytes | None]:
        """compare_and_swap puts value if key's value is expected (None: if key is missing); returns
        (swapped, previous), previous being the value the compare saw."""
        _refuse(check_key(key) or check_value(value) or check_value(expected or b""))

        def build(ctx: Context, _: _CachedRegion) -> Request:
            cas = {"context": ctx, "key": key, "value": value, "expect_missing": expected is None}
            return Request(cas={**cas, "expected": expected or b""})

        resp = self._execute(key, build, write=True)[0].cas
        return bool(resp.swapped), (bytes(resp.previous) if resp.previous_exists else None)

    def batch_put(self, pairs: Sequence[tuple[bytes, bytes]]) -> None:
        """batch_put puts every pair (a key given twice: its last value). The pairs of one region are one
        raft command: all of them take effect or none. Pairs spanning regions are written region by
        region in key order, one command each (as TiKV's raw batch put): a refused batch_put (an empty or
        oversized key or value) writes none of them, but one that fails part-way raises
        RequestTimeoutError naming how many pairs were already written."""
        pairs = list(pairs)
        _refuse(check_pairs(pairs))
        deadline = time.monotonic() + self.timeout
        todo = sorted(dict(pairs).items())
        written = 0
        while todo:
            try:
                done = self._put_region_part(todo, deadline)
            except ClientError as err:
                if not written:
                    raise
                raise RequestTimeoutError(f"batch_put wrote {written} of {written + len(todo)} pairs, then: {err}") from None
            written += done
            todo = todo[done:]

    def scan(self, start: bytes, end: bytes | None = None, *, limit: int | None = None) -> list[tuple[bytes, bytes]]:
        """scan is the pairs with start <= key < end (None or b"": to the last key), in key order, at
        most limit of them; each region's part is a linearizable read."""
        _refuse(check_key(start) if start else None)
        _refuse(check_key(end) if end else None)
        if limit is not None and limit < 0:
            raise ClientError(f"scan limit must not be negative, got {limit}")
        deadline = time.monotonic() + self.timeout
        out: list[tuple[bytes, bytes]] = []
        cur = start
        while (limit is None or len(out) < limit) and (not end or cur < end):
            want = 0 if limit is None else limit - len(out)
            at = cur
            resp, cached = self._execute(
                at,
                lambda ctx, _: Request(scan={"context": ctx, "start_key": at, "end_key": end or b"", "limit": want}),
                write=False,
                deadline=deadline,
            )
            out.extend((bytes(p.key), bytes(p.value)) for p in resp.scan.pairs)
            if resp.scan.truncated and resp.scan.pairs:
                cur = bytes(resp.scan.pairs[-1].key) + b"\x00"
            elif cached.region.end_key:
                cur = bytes(cached.region.end_key)
            else:
                break
        return out if limit is None else out[:limit]

    def close(self) -> None:
        """close closes every stream; calls after it raise ClientError."""
        with self._lock:
            self._closed = True
            streams, self._streams = list(self._streams.values()), {}
        for s in streams:
            s.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- routing and retries --------------------------------------------------------------------------

    def _put_region_part(self, todo: list[tuple[bytes, bytes]], deadline: float) -> int:
        """_put_region_part puts, as one command, the leading pairs of todo (sorted by key) that lie in the
        region of the first one; returns how many it put (the region is the one the command reached)."""
        part: list[tuple[bytes, bytes]] = []

        def build(ctx: Context, region: _CachedRegion) -> Request:
            part[:] = itertools.takewhile(lambda kv: region.contains(kv[0]), todo)
            return Request(batch_put={"context": ctx, "pairs": [{"key": k, "value": v} for k, v in part]})

        self._execute(todo[0][0], build, write=True, deadline=deadline)
        return len(part)

    def _execute(
        self,
        key: bytes,
        build: Callable[[Context, _CachedRegion], Request],
        *,
        write: bool,
        deadline: float | None = None,
    ) -> tuple[Response, _CachedRegion]:
        """_execute sends build(context, region) to the leader of key's region until answered without a region
        error it can retry (module docstring); returns the response and the region it went to."""
        deadline = time.monotonic() + self.timeout if deadline is None else deadline
        backoff = _BACKOFF_MIN
        last = "no attempt"
        while True:
            if time.monotonic() >= deadline:
                raise RequestTimeoutError(f"no answer within {self.timeout} s (last: {last})")
            cached = self._locate(key, deadline)
            addr = self._target(cached)
            ctx = Context(region_id=cached.region.id, region_epoch=cached.region.region_epoch)
            try:
                resp = self._stream(addr).call(build(ctx, cached), deadline)
            except _Broken as err:
                if err.sent and write:
                    raise RequestTimeoutError(f"{err}: the write's outcome is unknown") from None
                last = str(err)
                self._forget_leader(cached)
            else:
                if resp is None:
                    raise RequestTimeoutError(f"no answer from {addr} within {self.timeout} s; outcome unknown")
                inner = getattr(resp, resp.WhichOneof("cmd") or "get")
                if inner.error:
                    raise ClientError(inner.error)
                if not inner.HasField("region_error"):
                    return resp, cached
                last = inner.region_error.message
                if inner.region_error.HasField("undetermined_result"):
                    # The store proposed the command but cannot know whether it took effect.
                    if write:
                        raise RequestTimeoutError(f"{last}: the write's outcome is unknown")
                    self._forget_leader(cached)
                elif not self._on_region_error(cached, inner.region_error):
                    raise ClientError(inner.region_error.message or str(inner.region_error))
            time.sleep(min(backoff, max(deadline - time.monotonic(), 0)))
            backoff = min(backoff * 2, _BACKOFF_MAX)

    def _on_region_error(self, cached: _CachedRegion, error: Error) -> bool:
        """_on_region_error updates the cache after a region error; False when retrying cannot help."""
        variant = _variant(error)
        if variant == "not_leader":
            hint = error.not_leader.leader
            with self._lock:
                if hint.store_id and hint.store_id != cached.leader_store:
                    cached.leader_store = hint.store_id
                else:
                    self._next_peer(cached)
            return True
        if variant == "epoch_not_match":
            with self._lock:
                self._drop(cached)
                for region in error.epoch_not_match.current_regions:
                    self._insert(region, None)
            return True
        if variant in ("region_not_found", "key_not_in_region", "store_not_match", "mismatch_peer_id"):
            with self._lock:
                self._drop(cached)
            return True
        return variant in ("stale_command", "server_is_busy", "read_index_not_ready", "region_not_initialized")

    def _locate(self, key: bytes, deadline: float) -> _CachedRegion:
        """_locate is key's region from the cache, or asked from the stores (GetRegion) until deadline."""
        with self._lock:
            for cached in self._regions:
                if cached.contains(key):
                    return cached
        last = "no store answered"
        while time.monotonic() < deadline:
            addr = self._next_seed()
            try:
                resp = self._stream(addr).call(Request(get_region={"key": key}), deadline)
            except _Broken as err:
                last = str(err)
                time.sleep(min(_BACKOFF_MIN * 5, max(deadline - time.monotonic(), 0)))
                continue
            if resp is None:
                break
            got = resp.get_region
            if got.error or got.HasField("region_error"):
                last = got.error or got.region_error.message
                continue
            with self._lock:
                self._stores.update((s.id, s.address) for s in got.stores if s.id not in self._pinned)
                return self._insert(got.region, got.leader.store_id or None)
        raise RequestTimeoutError(f"cannot locate the region of {key!r} within {self.timeout} s: {last}")

    def _next_seed(self) -> str:
        with self._lock:
            addrs = list(dict.fromkeys([*self._seeds, *self._stores.values()]))
        return addrs[next(self._seed_turn) % len(addrs)]

    def _target(self, cached: _CachedRegion) -> str:
        """_target is the address of the store believed to lead the region (else one of its peers)."""
        with self._lock:
            if cached.leader_store is None:
                self._next_peer(cached)
            addr = self._stores.get(cached.leader_store or 0)
        return addr if addr is not None else self._next_seed()

    def _next_peer(self, cached: _CachedRegion) -> None:
        peers = cached.region.peers
        cached.tries += 1
        cached.leader_store = peers[cached.tries % len(peers)].store_id if peers else None

    def _forget_leader(self, cached: _CachedRegion) -> None:
        with self._lock:
            self._next_peer(cached)

    def _insert(self, region: Region, leader_store: int | None) -> _CachedRegion:
        """_insert caches region (lock held), dropping the cached regions it overlaps."""
        cached = _CachedRegion(Region.FromString(region.SerializeToString()), leader_store)
        self._regions = [c for c in self._regions if not _overlaps(c.region, region)]
        self._regions.append(cached)
        return cached

    def _drop(self, cached: _CachedRegion) -> None:
        self._regions = [c for c in self._regions if c is not cached]

    def _stream(self, addr: str) -> _StoreStream:
        with self._lock:
            if self._closed:
                raise ClientError("the client is closed")
            old = self._streams.get(addr)
            if old is not None and old.broken is None:
                return old
            stream = self._streams[addr] = _StoreStream(addr, self._security)
        if old is not None:
            old.close()
        return stream


def _variant(error: Error) -> str | None:
    """_variant is the name of the error's set variant field (None: a message only)."""
    for field, _ in error.ListFields():
        if field.name != "message":
            return str(field.name)
    return None


def _overlaps(a: Region, b: Region) -> bool:
    return bool((not a.end_key or b.start_key < a.end_key) and (not b.end_key or a.start_key < b.end_key))


def _refuse(why: str | None) -> None:
    if why is not None:
        raise ClientError(why)

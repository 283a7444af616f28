"""raftstore.store.snap.gen: generating a region snapshot (TiKV's do_snapshot and snap_gen worker).

`generate_snapshot` builds the snapshot of a region from a consistent KV engine snapshot taken at the
applied index: the region's data range [enc_start_key, enc_end_key) of CFs default, lock and write goes
into SST files (a CF is split once a file holds max_file_raw_size bytes of keys and values; an empty CF
has no file), each file's size and CRC32 go into the SnapshotMeta, the meta file is written last and
atomically. An existing snapshot with the same key is reused when it verifies, rebuilt when it does not.

`SnapGenerator.handle(request)` runs one GenSnapTask synchronously (tests, or a caller's own thread) and
completes or fails it; `SnapWorker` runs requests on a thread of its own.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from google.protobuf.message import DecodeError
from google.protobuf.message import Message as PbMessage

from ...engine import keys
from ...engine.base import CF_RAFT, KvEngine, Readable, SstWriter
from ...engine.errors import EngineError
from ...proto.eraftpb_pb2 import Snapshot
from ...proto.metapb_pb2 import Region
from ...proto.raft_serverpb_pb2 import (
    PeerState,
    RaftApplyState,
    RaftSnapshotData,
    RegionLocalState,
    SnapshotCFFile,
    SnapshotMeta,
)
from ..errors import StoreError
from ..peer_storage import GenSnapTask, conf_state_from_region
from .errors import (
    SnapAbortedError,
    SnapCorruptionError,
    SnapError,
    SnapIOError,
    SnapNotFoundError,
)
from .files import (
    SNAPSHOT_CFS,
    TMP_SUFFIX,
    SnapFiles,
    SnapKey,
    cf_file_name,
    snapshot_data,
)
from .io import IoRateLimiter, file_crc32, publish, remove_quiet
from .manager import SnapEntry, SnapManager

__all__ = ["GenSnapRequest", "generate_snapshot", "build_snapshot", "SnapGenerator", "SnapWorker"]

logger = logging.getLogger("raftstore.snap")

# _LIMIT_STEP: bytes written between two limiter calls and abort checks while building.
_LIMIT_STEP = 256 << 10

Canceled = Callable[[], bool]
_M = TypeVar("_M", bound=PbMessage)


def _never() -> bool:
    return False


@dataclass
class GenSnapRequest:
    """GenSnapRequest: what the worker needs besides the GenSnapTask, captured by the peer at one moment.

    `applied_term` is the term of the applied index (PeerStorage.applied_term()); `apply_state` the apply
    state it belongs to (the snapshot's index is its applied_index). `kv_snapshot` is the KV engine snapshot
    taken at that moment; None lets the worker take one, which is right only if nothing was applied in
    between (generation then fails if the apply state it reads differs from `apply_state`).
    """

    task: GenSnapTask
    applied_term: int
    apply_state: RaftApplyState
    kv_snapshot: Readable | None = None
    for_balance: bool = False
    created: float = field(default_factory=time.time)


def _read_msg(snap: Readable, key: bytes, cls: type[_M], what: str, region_id: int) -> _M:
    try:
        raw = snap.get(CF_RAFT, key)
    except EngineError as err:
        raise SnapIOError(f"[region {region_id}] cannot read {what}: {err}") from err
    if raw is None:
        raise SnapError(f"[region {region_id}] has no {what}")
    try:
        return cls.FromString(raw)
    except DecodeError as err:
        raise SnapCorruptionError(f"[region {region_id}] {what} does not parse: {err}") from err


class _CfWriter:
    """_CfWriter writes one CF's pairs into SST files of at most max_raw key+value bytes each (a single
    larger pair gets a file of its own), recording each finished file as (SnapshotCFFile, tmp, final)."""

    def __init__(self, kv: KvEngine, files: SnapFiles, cf: str, max_raw: int) -> None:
        self.kv = kv
        self.files = files
        self.cf = cf
        self.max_raw = max_raw
        self.done: list[tuple[SnapshotCFFile, str, str]] = []
        self._writer: SstWriter | None = None
        self._tmp = ""
        self._raw = 0

    def put(self, key: bytes, value: bytes) -> None:
        n = len(key) + len(value)
        if self._writer is not None and self._raw + n > self.max_raw:
            self.finish()
        if self._writer is None:
            self._tmp = self.files.path(cf_file_name(self.files.prefix, self.cf, len(self.done)) + TMP_SUFFIX)
            self._writer = self.kv.sst_writer(self.cf, self._tmp)
        self._writer.put(key, value)
        self._raw += n

    def finish(self) -> None:
        writer, self._writer = self._writer, None
        if writer is None:
            return
        writer.finish()
        size, crc = file_crc32(self._tmp)
        self.done.append((SnapshotCFFile(cf=self.cf, size=size, checksum=crc), self._tmp, self._tmp[: -len(TMP_SUFFIX)]))
        self._raw = 0

    def temp_path(self) -> str | None:
        return self._tmp if self._writer is not None else None


def _write_cf_files(
    kv: KvEngine,
    kv_snap: Readable,
    files: SnapFiles,
    region: Region,
    limiter: IoRateLimiter,
    max_file_raw_size: int,
    canceled: Canceled,
) -> SnapshotMeta:
    """_write_cf_files scans the region's range of each snapshot CF into SST files and publishes them
    (fsync, rename, directory fsync); on any failure it removes every file it made."""
    start, end = keys.enc_start_key(region), keys.enc_end_key(region)
    meta = SnapshotMeta(start=int(time.time()))
    made: list[str] = []
    writers: list[_CfWriter] = []
    try:
        for cf in SNAPSHOT_CFS:
            w = _CfWriter(kv, files, cf, max_file_raw_size)
            writers.append(w)
            pending = 0
            for key, value in kv_snap.scan(cf, start, end):
                w.put(key, value)
                pending += len(key) + len(value)
                if pending >= _LIMIT_STEP:
                    limiter.consume(pending)
                    pending = 0
                    if canceled():
                        raise SnapAbortedError(f"snapshot {files.prefix}: generation cancelled")
            limiter.consume(pending)
            w.finish()
            if not w.done:
                meta.cf_files.append(SnapshotCFFile(cf=cf, size=0, checksum=0))
            meta.cf_files.extend(f for f, _, _ in w.done)
        renames = [(tmp, final) for w in writers for _, tmp, final in w.done]
        made = [final for _, final in renames]
        publish(renames, files.directory)
    except BaseException:
        for w in writers:
            made.extend(tmp for _, tmp, _ in w.done)
            if (tmp := w.temp_path()) is not None:
                made.append(tmp)
        for path in made:
            remove_quiet(path)
        raise
    return meta


def build_snapshot(
    mgr: SnapManager,
    kv: KvEngine,
    kv_snap: Readable,
    key: SnapKey,
    region: Region,
    *,
    canceled: Canceled = _never,
) -> RaftSnapshotData:
    """build_snapshot builds (or reuses) the snapshot `key` of region from kv_snap and returns its
    RaftSnapshotData. A snapshot already on disk is reused if it verifies, deleted and rebuilt if not.
    Raises SnapAbortedError (canceled() turned true), TooManySnapshotsError, SnapIOError."""
    with mgr.in_use(key, SnapEntry.GENERATING):
        files = mgr.gen_files(key)
        if files.exists():
            try:
                return snapshot_data(region, files.verify())
            except (SnapCorruptionError, SnapNotFoundError) as err:
                logger.warning("snapshot %s is corrupt, rebuilding it: %s", files.prefix, err)
                files.delete()
        files = mgr.prepare_build(key)
        began = time.monotonic()
        try:
            meta = _write_cf_files(kv, kv_snap, files, region, mgr.limiter, mgr.max_file_raw_size, canceled)
        except EngineError as err:
            raise SnapIOError(f"snapshot {files.prefix}: engine failed: {err}") from err
        meta.generate_duration_sec = int(time.monotonic() - began)
        files.save_meta(meta)
        return snapshot_data(region, meta)


def generate_snapshot(
    mgr: SnapManager,
    kv: KvEngine,
    kv_snap: Readable,
    region_id: int,
    applied_term: int,
    apply_state: RaftApplyState | None = None,
    *,
    canceled: Canceled = _never,
    for_balance: bool = False,
) -> Snapshot:
    """generate_snapshot is TiKV's do_snapshot: the raft Snapshot of region_id at the applied index of
    kv_snap's apply state, with term applied_term, the ConfState of its region and RaftSnapshotData.

    The apply state in kv_snap must equal apply_state when given (else SnapError: the apply moved on, the
    caller generates again); the region must be Normal (else SnapError: the job is stale).
    """
    stored = _read_msg(kv_snap, keys.apply_state_key(region_id), RaftApplyState, "apply state", region_id)
    if apply_state is not None and stored != apply_state:
        raise SnapError(
            f"[region {region_id}] apply state moved from applied index {apply_state.applied_index} to "
            f"{stored.applied_index} before the engine snapshot was taken"
        )
    region_state = _read_msg(
        kv_snap, keys.region_state_key(region_id), RegionLocalState, "region state", region_id
    )
    if region_state.state != PeerState.Normal:
        raise SnapError(f"[region {region_id}] snap job seems stale: peer state is {PeerState.Name(region_state.state)}")
    key = SnapKey(region_id, applied_term, stored.applied_index)
    data = build_snapshot(mgr, kv, kv_snap, key, region_state.region, canceled=canceled)
    data.meta.for_balance = for_balance
    snap = Snapshot(data=data.SerializeToString())
    snap.metadata.index = key.index
    snap.metadata.term = key.term
    snap.metadata.conf_state.CopyFrom(conf_state_from_region(region_state.region))
    return snap


class SnapGenerator:
    """SnapGenerator runs GenSnapRequests against one KV engine and snapshot manager, synchronously."""

    def __init__(self, mgr: SnapManager, kv: KvEngine) -> None:
        self.mgr = mgr
        self.kv = kv

    def handle(self, request: GenSnapRequest) -> None:
        """handle generates the snapshot of request.task and completes the task with it, or fails it with
        the reason (cancelled before or during the generation included). It never raises a SnapError or
        StoreError: PeerStorage.snapshot() reads the outcome from the task."""
        task = request.task
        if task.canceled:
            task.fail("canceled before generation started")
            return
        task.index = request.apply_state.applied_index
        try:
            kv_snap = request.kv_snapshot if request.kv_snapshot is not None else self.kv.snapshot()
            snap = generate_snapshot(
                self.mgr,
                self.kv,
                kv_snap,
                task.region_id,
                request.applied_term,
                request.apply_state,
                canceled=lambda: task.canceled,
                for_balance=request.for_balance,
            )
        except (StoreError, EngineError) as err:
            logger.warning("[region %d] failed to generate snapshot: %s", task.region_id, err)
            task.fail(str(err))
            return
        if task.canceled:
            task.fail("canceled during generation")
            return
        task.complete(snap)


class SnapWorker:
    """SnapWorker: a thread that runs SnapGenerator.handle on the requests scheduled to it, in order.

    stop() finishes the request at hand, fails the queued ones ("worker stopped") and joins the thread.
    """

    def __init__(self, generator: SnapGenerator, name: str = "snap-gen") -> None:
        self.generator = generator
        self._queue: queue.Queue[GenSnapRequest | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._stopped = False
        self._thread.start()

    def schedule(self, request: GenSnapRequest) -> None:
        if self._stopped:
            request.task.fail("snapshot worker stopped")
            return
        self._queue.put(request)

    def _run(self) -> None:
        while (request := self._queue.get()) is not None:
            if self._stopped:
                request.task.fail("snapshot worker stopped")
                self._queue.task_done()
                continue
            try:
                self.generator.handle(request)
            except Exception as err:  # a bug must not kill the worker and leave the peer waiting forever
                logger.exception("snapshot worker: unexpected error")
                request.task.fail(f"unexpected error: {err!r}")
            finally:
                self._queue.task_done()

    def wait_idle(self) -> None:
        """wait_idle returns once every request scheduled so far has been handled."""
        self._queue.join()

    def stop(self) -> None:
        self._stopped = True
        self._queue.put(None)
        self._thread.join()

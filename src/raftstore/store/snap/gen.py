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
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
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
from ..region import conf_state_from_region
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
    SnapFileInfo,
    SnapFiles,
    SnapKey,
    cf_file_name,
    snapshot_data,
)
from .io import IoRateLimiter, file_crc32, fsync_dir, fsync_file, os_call, remove_quiet
from .manager import SnapEntry, SnapManager
from .task import GenSnapTask
from .worker import SerialWorker

__all__ = ["GenSnapRequest", "BuildProgress", "generate_snapshot", "build_snapshot", "SnapGenerator", "SnapWorker"]

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
    between (generation then fails if the apply state it reads differs from `apply_state`). `progress`,
    when given, announces each file as it is complete and ends with the task (see BuildProgress): a
    streaming sender follows it.
    """

    task: GenSnapTask
    applied_term: int
    apply_state: RaftApplyState
    kv_snapshot: Readable | None = None
    for_balance: bool = False
    created: float = field(default_factory=time.time)
    progress: BuildProgress | None = None

    @property
    def key(self) -> SnapKey:
        """key is the SnapKey the snapshot will have (region, applied term, applied index)."""
        return SnapKey(self.task.region_id, self.applied_term, self.apply_state.applied_index)

    def complete(self, snap: Snapshot) -> None:
        """complete completes the task with snap and closes the progress."""
        if self.progress is not None:
            self.progress.close(snap)
        self.task.complete(snap)

    def fail(self, reason: str) -> None:
        """fail fails the task and the progress with reason."""
        if self.progress is not None:
            self.progress.fail(reason)
        self.task.fail(reason)


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


class BuildProgress:
    """BuildProgress: the files of one snapshot build, announced as each becomes complete (CRC32 known,
    fsynced, under its final name), then closed with the raft Snapshot or failed with a reason.

    The generator announces (add), closes and fails; a streaming sender (transfer.SnapStreamSender) follows
    it on another thread and sends each file while later ones are still being built. Invariants: files are
    announced in meta order (CF order, then part order), each once; close or fail happens once, after the
    last add. A failed build deletes its files, so a follower must stop at the failure.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._files: list[SnapFileInfo] = []
        self._snapshot: Snapshot | None = None
        self._error: str | None = None

    def add(self, info: SnapFileInfo) -> None:
        with self._cond:
            self._files.append(info)
            self._cond.notify_all()

    def close(self, snapshot: Snapshot) -> None:
        """close: the build is complete; snapshot is the raft Snapshot whose meta lists every added file."""
        with self._cond:
            if self._snapshot is None and self._error is None:
                self._snapshot = snapshot
            self._cond.notify_all()

    def fail(self, reason: str) -> None:
        """fail: the build failed (its files are gone or going); a second close or fail is ignored."""
        with self._cond:
            if self._snapshot is None and self._error is None:
                self._error = reason
            self._cond.notify_all()

    def follow(self) -> Iterator[SnapFileInfo]:
        """follow yields every file as it is announced, blocking in between; it returns once the build is
        closed and every file was yielded, and raises SnapAbortedError as soon as the build failed."""
        i = 0
        while True:
            with self._cond:
                while i == len(self._files) and self._snapshot is None and self._error is None:
                    self._cond.wait()
                if self._error is not None:
                    raise SnapAbortedError(f"snapshot build failed: {self._error}")
                if i == len(self._files):
                    return
                info = self._files[i]
            yield info
            i += 1

    def wait(self) -> str | None:
        """wait blocks until the build is closed or failed; the failure's reason, or None."""
        with self._cond:
            while self._snapshot is None and self._error is None:
                self._cond.wait()
            return self._error

    @property
    def snapshot(self) -> Snapshot:
        """snapshot is the Snapshot close() gave (SnapError before that)."""
        with self._cond:
            if self._snapshot is None:
                raise SnapError(f"snapshot build not complete: {self._error or 'still running'}")
            return self._snapshot


def _complete_file(files: SnapFiles, cf: str, part: int, progress: BuildProgress | None) -> SnapFileInfo:
    """_complete_file makes a finished SST part complete: CRC32 (one read), fsync, rename from .tmp to its
    final name; then announces it to progress. Runs on the build's finisher thread."""
    name = cf_file_name(files.prefix, cf, part)
    final = files.path(name)
    tmp = final + TMP_SUFFIX
    size, crc = file_crc32(tmp)
    fsync_file(tmp)
    os_call(f"rename {tmp}", os.replace, tmp, final)
    info = SnapFileInfo(cf, part, size, crc, name)
    if progress is not None:
        progress.add(info)
    return info


class _CfWriter:
    """_CfWriter writes one CF's pairs into SST files of at most max_raw key+value bytes each (a single
    larger pair gets a file of its own). Each finished file is handed to the finisher thread
    (_complete_file), so its read-back overlaps building the next one; `parts` are their results in order,
    `paths` every path a part may have (temporary and final), for the cleanup of a failed build."""

    def __init__(
        self, kv: KvEngine, files: SnapFiles, cf: str, finisher: ThreadPoolExecutor, progress: BuildProgress | None
    ) -> None:
        self.kv = kv
        self.files = files
        self.cf = cf
        self.finisher = finisher
        self.progress = progress
        self.parts: list[Future[SnapFileInfo]] = []
        self.paths: list[str] = []

    def write(self, pairs: Iterable[tuple[bytes, bytes]], max_raw: int, limiter: IoRateLimiter, canceled: Canceled) -> None:
        """write puts every pair into the CF's files, through limiter, checking canceled every _LIMIT_STEP
        bytes (SnapAbortedError). The per-pair loop is the hot path of generation: locals only."""
        writer: SstWriter | None = None
        raw = pending = 0
        for key, value in pairs:
            n = len(key) + len(value)
            if writer is not None and raw + n > max_raw:
                self._finish(writer)
                writer = None
            if writer is None:
                writer = self._open()
                raw = 0
            writer.put(key, value)
            raw += n
            pending += n
            if pending >= _LIMIT_STEP:
                limiter.consume(pending)
                pending = 0
                if canceled():
                    raise SnapAbortedError(f"snapshot {self.files.prefix}: generation cancelled")
        limiter.consume(pending)
        if writer is not None:
            self._finish(writer)

    def _open(self) -> SstWriter:
        final = self.files.path(cf_file_name(self.files.prefix, self.cf, len(self.parts)))
        self.paths += [final + TMP_SUFFIX, final]
        return self.kv.sst_writer(self.cf, final + TMP_SUFFIX)

    def _finish(self, writer: SstWriter) -> None:
        writer.finish()
        self.parts.append(self.finisher.submit(_complete_file, self.files, self.cf, len(self.parts), self.progress))

    def entries(self) -> list[SnapshotCFFile]:
        """entries are the CF's meta entries once every part is complete (one of size 0 for an empty CF);
        the first failure of a part is raised."""
        infos = [part.result() for part in self.parts]
        if not infos:
            return [SnapshotCFFile(cf=self.cf, size=0, checksum=0)]
        return [SnapshotCFFile(cf=i.cf, size=i.size, checksum=i.checksum) for i in infos]


def _write_cf_files(
    kv: KvEngine,
    kv_snap: Readable,
    files: SnapFiles,
    region: Region,
    limiter: IoRateLimiter,
    max_file_raw_size: int,
    canceled: Canceled,
    progress: BuildProgress | None,
) -> SnapshotMeta:
    """_write_cf_files scans the region's range of each snapshot CF into SST files, completes each on a
    finisher thread while the next is built (CRC32, fsync, rename), then fsyncs the directory; on any
    failure it removes every file it made."""
    start, end = keys.enc_start_key(region), keys.enc_end_key(region)
    meta = SnapshotMeta(start=int(time.time()))
    writers: list[_CfWriter] = []
    finisher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snap-gen-finish")
    try:
        for cf in SNAPSHOT_CFS:
            w = _CfWriter(kv, files, cf, finisher, progress)
            writers.append(w)
            w.write(kv_snap.scan(cf, start, end), max_file_raw_size, limiter, canceled)
        for w in writers:
            meta.cf_files.extend(w.entries())
        fsync_dir(files.directory)
    except BaseException:
        finisher.shutdown(wait=True, cancel_futures=True)
        for w in writers:
            for path in w.paths:
                remove_quiet(path)
        raise
    finally:
        finisher.shutdown(wait=True)
    return meta


def build_snapshot(
    mgr: SnapManager,
    kv: KvEngine,
    kv_snap: Readable,
    key: SnapKey,
    region: Region,
    *,
    canceled: Canceled = _never,
    progress: BuildProgress | None = None,
) -> RaftSnapshotData:
    """build_snapshot builds (or reuses) the snapshot `key` of region from kv_snap and returns its
    RaftSnapshotData. A snapshot already on disk is reused if it verifies, deleted and rebuilt if not.
    Each file is announced to progress (if any) once complete; the caller closes or fails progress.
    Raises SnapAbortedError (canceled() turned true), TooManySnapshotsError, SnapIOError."""
    with mgr.in_use(key, SnapEntry.GENERATING):
        files = mgr.gen_files(key)
        if files.exists():
            try:
                meta = files.verify()
            except (SnapCorruptionError, SnapNotFoundError) as err:
                logger.warning("snapshot %s is corrupt, rebuilding it: %s", files.prefix, err)
                files.delete()
            else:
                if progress is not None:
                    for info in files.files(meta):
                        progress.add(info)
                return snapshot_data(region, meta)
        files = mgr.prepare_build(key)
        began = time.monotonic()
        try:
            meta = _write_cf_files(
                kv, kv_snap, files, region, mgr.limiter, mgr.max_file_raw_size, canceled, progress
            )
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
    progress: BuildProgress | None = None,
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
    data = build_snapshot(mgr, kv, kv_snap, key, region_state.region, canceled=canceled, progress=progress)
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
            request.fail("canceled before generation started")
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
                progress=request.progress,
            )
        except (StoreError, EngineError) as err:
            logger.warning("[region %d] failed to generate snapshot: %s", task.region_id, err)
            request.fail(str(err))
            return
        if task.canceled:
            request.fail("canceled during generation")
            return
        request.complete(snap)


class SnapWorker(SerialWorker[GenSnapRequest]):
    """SnapWorker: a thread that runs SnapGenerator.handle on the requests scheduled to it, in order.

    stop() finishes the request at hand, fails the queued ones ("worker stopped") and joins the thread.
    """

    def __init__(self, generator: SnapGenerator, name: str = "snap-gen") -> None:
        self.generator = generator
        super().__init__(name)

    def run(self, item: GenSnapRequest) -> None:
        self.generator.handle(item)

    def drop(self, item: GenSnapRequest) -> None:
        item.fail("snapshot worker stopped")

    def failed(self, item: GenSnapRequest, err: Exception) -> None:
        item.fail(f"unexpected error: {err!r}")

"""raftstore.store.snap.transfer: moving a built snapshot to another store, chunk by chunk, resumably.

The protocol is transport-neutral: plain objects that a gRPC stream (or a test) carries.

1. The sender opens with a SnapHeader: the raft Snapshot (metadata + RaftSnapshotData with the meta,
   which lists every file with its size and CRC32).
2. The receiver answers with its resume point: for each file of the meta, how many bytes it already holds
   verified (all zeros for a new transfer).
3. The sender sends FileChunks from there on, file after file, each of at most CHUNK_SIZE bytes and
   carrying the CRC32 of its own bytes.
4. The receiver takes a chunk only if it is the next one (same file, offset = what it holds) and its CRC32
   matches, and writes it to a temporary file. A file whose last chunk arrived must match the meta's size
   and CRC32. finish() publishes: every file fsynced and renamed, the directory fsynced, the meta written
   last (atomically).

A dropped, duplicated or reordered chunk, or one that fails its CRC32, raises SnapTransferError and is not
written; a file that arrives whole but fails the meta's CRC32 raises SnapCorruptionError and the transfer
is discarded (the sender's files are bad). When a transfer breaks off (close() without finish()), the
manager keeps its verified prefix; a new SnapReceiver for the same snapshot resumes from it, so the sender
re-sends only what was not verified. Partial receives last until resumed, finished, discarded or the
process restarts (SnapManager.init() removes temporary files).

Streaming (generation and transfer pipelined): SnapStreamSender follows a snapshot while it is being built
(gen.BuildProgress) and a receiver opened with SnapReceiver.for_stream(mgr, key) takes, in order:

1. per file, as soon as the build completes it: a FileHeader (its meta entry: cf, part, size, CRC32), then
   its FileChunks from offset 0, checked as above (a file's bytes must match its FileHeader's CRC32);
2. last, the SnapHeader of the finished snapshot: finish(header) publishes only if its meta lists exactly
   the files that were streamed (SnapTransferError and the receive is discarded otherwise).

A build that fails ends the stream without a SnapHeader: nothing is published. A stream that breaks off
keeps its completely received files; a later transfer of the finished snapshot (SnapReceiver with the
SnapHeader) resumes after them if the meta lists the same files first, and re-sends the file that was
cut. A stream always starts from nothing (a partial receive of its key is discarded first).
"""

from __future__ import annotations

import logging
import os
import zlib
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO

from ...proto.eraftpb_pb2 import Snapshot
from .errors import (
    SnapAbortedError,
    SnapCorruptionError,
    SnapIOError,
    SnapNotFoundError,
    SnapTransferError,
)
from .files import (
    SNAPSHOT_CFS,
    TMP_SUFFIX,
    SnapFileInfo,
    SnapFiles,
    SnapKey,
    cf_file_name,
    parse_snapshot_data,
)
from .io import IoRateLimiter, fsync_file, os_call, publish, remove_quiet
from .manager import SnapEntry, SnapManager

if TYPE_CHECKING:
    from .gen import BuildProgress

__all__ = [
    "CHUNK_SIZE",
    "SnapHeader",
    "FileChunk",
    "FileHeader",
    "ReceiveState",
    "SnapSender",
    "SnapStreamSender",
    "SnapReceiver",
    "transfer",
    "stream_transfer",
]

logger = logging.getLogger("raftstore.snap")

CHUNK_SIZE = 1 << 20


@dataclass(frozen=True, slots=True)
class SnapHeader:
    """SnapHeader opens a transfer: the raft Snapshot whose files follow."""

    snapshot: Snapshot


@dataclass(frozen=True, slots=True)
class FileChunk:
    """FileChunk: bytes [offset, offset + len(data)) of the meta's file number `file`; checksum is the
    CRC32 of data."""

    file: int
    offset: int
    data: bytes
    checksum: int


@dataclass(frozen=True, slots=True)
class FileHeader:
    """FileHeader (streaming only): announces file number `file` of a snapshot being built with the meta
    entry it has (cf, part, size, CRC32); the file's chunks follow."""

    file: int
    cf: str
    part: int
    size: int
    checksum: int


@dataclass(slots=True)
class ReceiveState:
    """ReceiveState: the verified prefix of a receive: meta (serialized, to match a resumed transfer; b""
    for a stream, whose meta comes last), per file the bytes verified and the running CRC32 of them, and
    the files themselves (for a stream, those announced so far)."""

    meta: bytes
    offsets: list[int]
    crcs: list[int]
    files: list[SnapFileInfo] = field(default_factory=list)


def _parse_header(header: SnapHeader, mgr: SnapManager, built: bool) -> tuple[SnapFiles, list[SnapFileInfo]]:
    """_parse_header: the files (built or received, in mgr) of the snapshot header announces and their
    list from its meta; a header that does not describe a snapshot raises SnapTransferError."""
    snap = header.snapshot
    try:
        data = parse_snapshot_data(snap.data)
        key = SnapKey(data.region.id, snap.metadata.term, snap.metadata.index)
        files = mgr.gen_files(key) if built else mgr.rev_files(key)
        return files, files.files(data.meta)
    except SnapCorruptionError as err:
        raise SnapTransferError(f"snapshot header does not describe a snapshot: {err}") from err


class SnapSender:
    """SnapSender sends the built snapshot of `snapshot` (a raft Snapshot this store generated) from mgr.

    While open it is registered SENDING, so the manager does not delete it. `bytes_sent` counts the data
    bytes of every chunk it produced.
    """

    def __init__(self, mgr: SnapManager, snapshot: Snapshot, *, chunk_size: int = CHUNK_SIZE) -> None:
        self.mgr = mgr
        self.header = SnapHeader(snapshot)
        self.files, self._infos = _parse_header(self.header, mgr, built=True)
        self.key = self.files.key
        self.chunk_size = chunk_size
        if not self.files.exists():
            raise SnapNotFoundError(f"snapshot {self.files.prefix} is not on disk")
        self.bytes_sent = 0
        self._open = True
        mgr.register(self.key, SnapEntry.SENDING)

    def chunks(self, resume: Sequence[int]) -> Iterator[FileChunk]:
        """chunks yields the chunks after the receiver's resume point (one offset per file), through the
        manager's IO limiter."""
        if len(resume) != len(self._infos):
            raise SnapTransferError(f"resume point has {len(resume)} offsets, the snapshot has {len(self._infos)} files")
        limiter = self.mgr.limiter
        for i, info in enumerate(self._infos):
            offset = resume[i]
            if not 0 <= offset <= info.size:
                raise SnapTransferError(f"resume offset {offset} outside file {info.name} of {info.size} bytes")
            for chunk in _file_chunks(self.files, i, info, offset, self.chunk_size, limiter):
                self.bytes_sent += len(chunk.data)
                yield chunk

    def close(self) -> None:
        """close ends the sending (deregisters it); a second call is a no-op."""
        if self._open:
            self._open = False
            self.mgr.deregister(self.key, SnapEntry.SENDING)

    def __enter__(self) -> SnapSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _file_chunks(
    files: SnapFiles, i: int, info: SnapFileInfo, offset: int, chunk_size: int, limiter: IoRateLimiter
) -> Iterator[FileChunk]:
    """_file_chunks reads file number i from offset to its end in chunks of chunk_size, through limiter."""
    path = files.path(info.name)
    with os_call(f"open {path}", _open_read, path) as f:
        f.seek(offset)
        while offset < info.size:
            data = os_call(f"read {path}", f.read, min(chunk_size, info.size - offset))
            if not data:
                raise SnapCorruptionError(f"snapshot {files.prefix}: {info.name} ends at {offset}")
            limiter.consume(len(data))
            yield FileChunk(i, offset, data, zlib.crc32(data))
            offset += len(data)


class SnapStreamSender:
    """SnapStreamSender sends the snapshot `key` while it is being built: it follows the build's progress
    and yields, per file once complete, a FileHeader and the file's chunks, then the final SnapHeader (see
    the module docstring). While open it is registered SENDING. `bytes_sent` counts the data bytes sent."""

    def __init__(self, mgr: SnapManager, key: SnapKey, progress: BuildProgress, *, chunk_size: int = CHUNK_SIZE) -> None:
        self.mgr = mgr
        self.key = key
        self.progress = progress
        self.files = mgr.gen_files(key)
        self.chunk_size = chunk_size
        self.bytes_sent = 0
        self._open = True
        mgr.register(key, SnapEntry.SENDING)

    def messages(self) -> Iterator[FileHeader | FileChunk | SnapHeader]:
        """messages blocks between files until the build completes the next one; a failed build raises
        SnapAbortedError (no SnapHeader was sent: the receiver publishes nothing)."""
        for i, info in enumerate(self.progress.follow()):
            yield FileHeader(i, info.cf, info.part, info.size, info.checksum)
            try:
                for chunk in _file_chunks(self.files, i, info, 0, self.chunk_size, self.mgr.limiter):
                    self.bytes_sent += len(chunk.data)
                    yield chunk
            except (SnapIOError, SnapCorruptionError) as err:
                # A failing build removes its files, maybe under this read: report the build's failure.
                if (reason := self.progress.wait()) is not None:
                    raise SnapAbortedError(f"snapshot build failed: {reason}") from err
                raise
        snapshot = self.progress.snapshot
        if SnapKey.from_snapshot(snapshot) != self.key:
            raise SnapTransferError(f"snapshot {self.key}: the build produced {SnapKey.from_snapshot(snapshot)}")
        yield SnapHeader(snapshot)

    def close(self) -> None:
        """close ends the sending (deregisters it); a second call is a no-op."""
        if self._open:
            self._open = False
            self.mgr.deregister(self.key, SnapEntry.SENDING)

    def __enter__(self) -> SnapStreamSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SnapReceiver:
    """SnapReceiver receives the snapshot a SnapHeader announces into mgr (as a `rev_` snapshot).

    Opening takes a receive slot (TooManyReceivesError when none is free) and registers RECEIVING; it
    resumes the manager's partial receive of the same snapshot if there is one (a stream's partial receive:
    its complete files, when the meta lists them first). `done` is true once the snapshot is published (at
    once if it was already on disk: resume_point() then asks for nothing). for_stream() opens a receiver of
    the streaming protocol instead.
    """

    def __init__(self, mgr: SnapManager, header: SnapHeader) -> None:
        files, infos = _parse_header(header, mgr, built=False)
        self._start(mgr, files, infos, header.snapshot, parse_snapshot_data(header.snapshot.data).meta.SerializeToString())

    @classmethod
    def for_stream(cls, mgr: SnapManager, key: SnapKey) -> SnapReceiver:
        """for_stream opens a receiver of snapshot key for a SnapStreamSender: files come announced by
        FileHeaders (announce), the snapshot itself last (finish(header)). `done` at once if the snapshot
        was received already (then finish() needs no header)."""
        receiver = cls.__new__(cls)
        receiver._start(mgr, mgr.rev_files(key), [], Snapshot(), b"")
        return receiver

    def _start(self, mgr: SnapManager, files: SnapFiles, infos: list[SnapFileInfo], snapshot: Snapshot, meta: bytes) -> None:
        """_start opens the receive; meta is the serialized meta, b"" for a stream (self._streaming)."""
        self.mgr = mgr
        self.snapshot = snapshot
        self.files = files
        self.key = files.key
        self._streaming = meta == b""
        mgr.acquire_recv(self.key)
        mgr.register(self.key, SnapEntry.RECEIVING)
        self._open = True
        self._handle: BinaryIO | None = None
        self._handle_file = -1
        # _syncer fsyncs each file once complete, in the background (see feed); _syncs are its futures.
        self._syncer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="snap-recv-sync")
        self._syncs: list[Future[None]] = []
        self.bytes_received = 0
        self.done = self.files.exists() and (self._streaming or self.files.load_meta().SerializeToString() == meta)
        self.state = self._resume(mgr.partial.pop(self.key, None), meta, infos)
        # _infos is the list of the files being received: the meta's, or for a stream those announced so far.
        self._infos = self.state.files
        if self.done:
            self.state.offsets = [f.size for f in self._infos]

    def _resume(self, old: ReceiveState | None, meta: bytes, infos: list[SnapFileInfo]) -> ReceiveState:
        """_resume is the state to start from: old if it received the same meta; the complete files old
        streamed if infos list them first; else nothing. The temporaries not kept are removed."""
        keep = 0
        if old is not None and old.meta == meta and not self._streaming:
            return old
        if old is not None and old.meta == b"" and not self._streaming:
            for i, info in enumerate(infos[: len(old.files)]):
                if old.files[i] != info or old.offsets[i] != info.size:
                    break
                keep = i + 1
        if old is not None:
            for info in old.files[keep:]:
                remove_quiet(self.files.path(info.name + TMP_SUFFIX))
        state = ReceiveState(meta, [0] * len(infos), [0] * len(infos), list(infos))
        if old is not None:
            state.offsets[:keep] = old.offsets[:keep]
            state.crcs[:keep] = old.crcs[:keep]
        return state

    def announce(self, header: FileHeader) -> None:
        """announce (streaming) adds the file a FileHeader announces; it must be the next file, after the
        previous one is complete, with a known CF and the next part of it (else SnapTransferError)."""
        if not self._streaming or self.done:
            raise SnapTransferError(f"snapshot {self.key}: file announced to a receiver that is not streaming")
        n = len(self._infos)
        part = sum(1 for f in self._infos if f.cf == header.cf)
        if header.file != n or self._expected_file() != n:
            raise SnapTransferError(f"snapshot {self.key}: file {header.file} announced, expected file {n} after a complete file")
        if header.cf not in SNAPSHOT_CFS or header.part != part or header.size <= 0:
            raise SnapTransferError(f"snapshot {self.key}: bad file header {header}")
        self._infos.append(SnapFileInfo(header.cf, part, header.size, header.checksum, cf_file_name(self.files.prefix, header.cf, part)))
        self.state.offsets.append(0)
        self.state.crcs.append(0)

    def _tmp(self, i: int) -> str:
        return self.files.path(self._infos[i].name + TMP_SUFFIX)

    def resume_point(self) -> list[int]:
        """resume_point: per file, the bytes already verified (where the sender must continue)."""
        return list(self.state.offsets)

    def _expected_file(self) -> int:
        for i, info in enumerate(self._infos):
            if self.state.offsets[i] < info.size:
                return i
        return len(self._infos)

    def feed(self, chunk: FileChunk) -> None:
        """feed takes the next chunk (see the module docstring for what is refused, and how)."""
        state = self.state
        want = self._expected_file()
        if want == len(self._infos):
            raise SnapTransferError(
                f"snapshot {self.key}: chunk of file {chunk.file} at offset {chunk.offset}, but no file is expected"
                " (every file announced is complete)"
            )
        if chunk.file != want:
            raise SnapTransferError(
                f"snapshot {self.key}: chunk of file {chunk.file} at offset {chunk.offset}, expected file {want}"
                f" at offset {state.offsets[want]}"
            )
        info = self._infos[want]
        expect = state.offsets[want]
        if chunk.offset != expect:
            what = "duplicated" if chunk.offset < expect else "a chunk was dropped before it"
            raise SnapTransferError(
                f"snapshot {self.key}: chunk of {info.name} at offset {chunk.offset}, expected {expect} ({what})"
            )
        if expect + len(chunk.data) > info.size:
            raise SnapTransferError(f"snapshot {self.key}: chunk runs past the end of {info.name} ({info.size} bytes)")
        if zlib.crc32(chunk.data) != chunk.checksum:
            raise SnapTransferError(f"snapshot {self.key}: chunk of {info.name} at offset {expect} fails its CRC32")
        self.mgr.limiter.consume(len(chunk.data))
        os_call(f"write {self._tmp(want)}", self._file(want).write, chunk.data)
        state.offsets[want] = expect + len(chunk.data)
        state.crcs[want] = zlib.crc32(chunk.data, state.crcs[want])
        self.bytes_received += len(chunk.data)
        if state.offsets[want] == info.size:
            self._close_handle()
            if state.crcs[want] != info.checksum:
                self.discard()
                raise SnapCorruptionError(
                    f"snapshot {self.key}: received {info.name} has CRC32 {state.crcs[want]:#010x}, meta says "
                    f"{info.checksum:#010x}; the transfer is discarded"
                )
            # Write the complete file back while the next one arrives; finish() waits for it.
            self._syncs.append(self._syncer.submit(fsync_file, self._tmp(want)))

    def _file(self, i: int) -> BinaryIO:
        if self._handle_file != i:
            self._close_handle()
            path = self._tmp(i)
            handle = os_call(f"open {path}", _open_binary, path)
            os_call(f"truncate {path}", handle.truncate, self.state.offsets[i])
            handle.seek(self.state.offsets[i])
            self._handle, self._handle_file = handle, i
        assert self._handle is not None
        return self._handle

    def _close_handle(self) -> None:
        if self._handle is not None:
            handle, self._handle, self._handle_file = self._handle, None, -1
            os_call("close a received file", handle.close)

    def finish(self, header: SnapHeader | None = None) -> SnapFiles:
        """finish publishes the received snapshot once every file is complete and verified (else
        SnapTransferError, and the verified prefix is kept); returns its files. A stream's receiver takes the
        final SnapHeader here: its meta must list exactly the streamed files (else SnapTransferError, and the
        receive is discarded)."""
        if self._streaming and not self.done:
            self._check_final(header)
        if not self.done:
            missing = [f.name for i, f in enumerate(self._infos) if self.state.offsets[i] < f.size]
            if missing:
                raise SnapTransferError(f"snapshot {self.key}: transfer incomplete, missing data of {missing}")
            self._close_handle()
            for sync in self._syncs:
                sync.result()
            publish([(self._tmp(i), self.files.path(f.name)) for i, f in enumerate(self._infos)], self.files.directory)
            self.files.save_meta(parse_snapshot_data(self.snapshot.data).meta)
            self.done = True
        self._release(keep=False)
        return self.files

    def receive(self, message: FileHeader | FileChunk | SnapHeader) -> SnapFiles | None:
        """receive takes one message of a stream: announce, feed, or finish with the final SnapHeader
        (returning the published files); None until then."""
        if isinstance(message, FileChunk):
            self.feed(message)
        elif isinstance(message, FileHeader):
            self.announce(message)
        else:
            return self.finish(message)
        return None

    def _check_final(self, header: SnapHeader | None) -> None:
        if header is None:
            raise SnapTransferError(f"snapshot {self.key}: a stream is finished with its final SnapHeader")
        files, infos = _parse_header(header, self.mgr, built=False)
        if files.key != self.key or infos != self._infos:
            self.discard()
            raise SnapTransferError(
                f"snapshot {self.key}: the final meta of {files.key} lists {[f.name for f in infos]}, the stream"
                f" brought {[f.name for f in self._infos]}; the transfer is discarded"
            )
        self.snapshot = header.snapshot

    def close(self) -> None:
        """close ends the receive without publishing: the verified prefix stays in the manager, for a later
        SnapReceiver of the same snapshot to resume."""
        self._release(keep=not self.done)

    def discard(self) -> None:
        """discard ends the receive and removes what it received (temporary files, partial state)."""
        self._release(keep=False)
        self._remove_temps()

    def _remove_temps(self) -> None:
        for i in range(len(self._infos)):
            remove_quiet(self._tmp(i))

    def _release(self, *, keep: bool) -> None:
        if not self._open:
            return
        self._open = False
        self._close_handle()
        self._syncer.shutdown(wait=True)
        if keep:
            self.mgr.partial[self.key] = self.state
        self.mgr.deregister(self.key, SnapEntry.RECEIVING)
        self.mgr.release_recv(self.key)

    def __enter__(self) -> SnapReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open_read(path: str) -> BinaryIO:
    return open(path, "rb", buffering=0)


def _open_binary(path: str) -> BinaryIO:
    """_open_binary opens path for writing at any offset, creating it if missing."""
    return open(path, "r+b" if os.path.exists(path) else "wb", buffering=0)


def transfer(sender: SnapSender, receiver: SnapReceiver) -> SnapFiles:
    """transfer runs the protocol between a sender and a receiver in one process (no transport): the
    receiver's resume point, the chunks from there, finish. A failure leaves the receiver open."""
    for chunk in sender.chunks(receiver.resume_point()):
        receiver.feed(chunk)
    return receiver.finish()


def stream_transfer(sender: SnapStreamSender, receiver: SnapReceiver) -> SnapFiles:
    """stream_transfer runs the streaming protocol in one process: every message of the sender to the
    receiver (nothing when the receiver is done already), then finish with the final SnapHeader. A failure
    leaves the receiver open."""
    if receiver.done:
        return receiver.finish()
    for message in sender.messages():
        if (files := receiver.receive(message)) is not None:
            return files
    raise SnapTransferError(f"snapshot {sender.key}: the stream ended without the snapshot")

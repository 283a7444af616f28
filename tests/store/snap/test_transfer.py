"""Transfer: the chunked protocol between two managers — round trip, damaged/dropped/duplicated chunks
rejected with nothing published, resume from the verified prefix, receive slots."""

from __future__ import annotations

import dataclasses
import os
import threading
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeAlias

import pytest

from raftstore.engine.engines import Engines
from raftstore.proto.eraftpb_pb2 import Snapshot
from raftstore.store.peer_storage import GenSnapTask
from raftstore.store.snap import (
    FileChunk,
    GenSnapRequest,
    SnapAbortedError,
    SnapCorruptionError,
    SnapGenerator,
    SnapHeader,
    SnapKey,
    SnapManager,
    SnapReceiver,
    SnapSender,
    SnapTransferError,
    TooManyReceivesError,
    transfer,
)
from raftstore.store.snap.files import parse_snapshot_data
from raftstore.store.snap.gen import BuildProgress
from raftstore.store.snap.transfer import FileHeader, SnapStreamSender, stream_transfer

from .helpers import generate, new_manager, populate, set_states, snap_region
from .test_files import flip_byte

CHUNK = 4096
Message: TypeAlias = FileHeader | FileChunk | SnapHeader


@pytest.fixture
def built(mem_engines: Engines, tmp_path: Path) -> tuple[SnapManager, SnapManager, Snapshot]:
    """built: a sender manager holding a snapshot of ~40 KiB per CF file, and an empty receiver manager."""
    populate(mem_engines.kv, n=400, value_size=100)
    src = new_manager(tmp_path / "src")
    return src, new_manager(tmp_path / "dst"), generate(src, mem_engines, snap_region())


def published(mgr: SnapManager) -> list[str]:
    return sorted(n for n in os.listdir(mgr.path) if not n.endswith(".tmp"))


def test_round_trip(built: tuple[SnapManager, SnapManager, Snapshot]) -> None:
    src, dst, snap = built
    with SnapSender(src, snap, chunk_size=CHUNK) as sender, SnapReceiver(dst, SnapHeader(snap)) as receiver:
        files = transfer(sender, receiver)
    meta = files.verify()
    assert meta == src.gen_files(files.key).verify()
    assert published(dst) == [n.replace("gen_", "rev_") for n in published(src)]
    assert sender.bytes_sent == receiver.bytes_received == sum(f.size for f in meta.cf_files)
    assert dst.registered(files.key) == [] and src.registered(files.key) == []
    assert dst.receiving_count() == 0 and dst.partial == {}


def run_with(
    src: SnapManager, dst: SnapManager, snap: Snapshot, alter: Callable[[int, FileChunk], list[FileChunk]]
) -> SnapReceiver:
    """run_with sends every chunk through alter(n, chunk) (which returns what arrives) until the receiver
    raises; returns the closed receiver."""
    sender = SnapSender(src, snap, chunk_size=CHUNK)
    receiver = SnapReceiver(dst, SnapHeader(snap))
    try:
        for n, chunk in enumerate(sender.chunks(receiver.resume_point())):
            for arrived in alter(n, chunk):
                receiver.feed(arrived)
        receiver.finish()
    finally:
        receiver.close()
        sender.close()
    return receiver


def flip(chunk: FileChunk) -> FileChunk:
    data = bytearray(chunk.data)
    data[len(data) // 2] ^= 0x01
    return dataclasses.replace(chunk, data=bytes(data))


@pytest.mark.parametrize(
    "alter, message, verified_chunks",
    [
        (lambda n, c: [] if n == 3 else [c], "a chunk was dropped before it", 3),
        (lambda n, c: [c, c] if n == 3 else [c], "duplicated", 4),
        (lambda n, c: [flip(c)] if n == 3 else [c], "fails its CRC32", 3),
        (lambda n, c: [dataclasses.replace(c, file=c.file + 1)] if n == 3 else [c], "expected file", 3),
    ],
    ids=["dropped", "duplicated", "flipped_in_transit", "wrong_file"],
)
def test_bad_chunk_rejected_nothing_published(
    built: tuple[SnapManager, SnapManager, Snapshot],
    alter: Callable[[int, FileChunk], list[FileChunk]],
    message: str,
    verified_chunks: int,
) -> None:
    src, dst, snap = built
    with pytest.raises(SnapTransferError, match=message):
        run_with(src, dst, snap, alter)
    assert published(dst) == []
    # the good chunks before the bad one stay verified, for a resume
    (state,) = dst.partial.values()
    assert sum(state.offsets) == verified_chunks * CHUNK


def test_sender_file_corrupt_rejected_and_discarded(built: tuple[SnapManager, SnapManager, Snapshot]) -> None:
    """A byte flipped in the sender's file passes the chunk checks (the chunk CRC32 is of what was read)
    but not the file's CRC32 from the meta: the receive is discarded and nothing published."""
    src, dst, snap = built
    files = src.gen_files(SnapKey.from_snapshot(snap))
    flip_byte(files.path(files.prefix + "_lock.sst"), 5000)
    with pytest.raises(SnapCorruptionError, match="rev_1_6_10_lock.sst has CRC32"):
        run_with(src, dst, snap, lambda n, c: [c])
    assert os.listdir(dst.path) == []
    assert dst.partial == {}


def test_resume_after_break_sends_the_rest_only(built: tuple[SnapManager, SnapManager, Snapshot]) -> None:
    src, dst, snap = built
    total = sum(f.size for f in src.gen_files(SnapKey.from_snapshot(snap)).load_meta().cf_files)
    delivered = 0

    class Broken(Exception):
        pass

    def break_at_half(n: int, c: FileChunk) -> list[FileChunk]:
        nonlocal delivered
        if delivered >= total // 2:
            raise Broken()
        delivered += len(c.data)
        return [c]

    with pytest.raises(Broken):
        run_with(src, dst, snap, break_at_half)
    assert published(dst) == []
    with SnapSender(src, snap, chunk_size=CHUNK) as sender, SnapReceiver(dst, SnapHeader(snap)) as receiver:
        assert sum(receiver.resume_point()) == delivered
        files = transfer(sender, receiver)
    assert sender.bytes_sent == total - delivered
    assert 0.4 < sender.bytes_sent / total < 0.6
    assert files.verify() == src.gen_files(files.key).verify()


def test_resume_after_rejected_chunk(built: tuple[SnapManager, SnapManager, Snapshot]) -> None:
    src, dst, snap = built
    with pytest.raises(SnapTransferError):
        run_with(src, dst, snap, lambda n, c: [flip(c)] if n == 5 else [c])
    with SnapSender(src, snap, chunk_size=CHUNK) as sender, SnapReceiver(dst, SnapHeader(snap)) as receiver:
        files = transfer(sender, receiver)
    assert files.verify() == src.gen_files(files.key).verify()


def test_finish_before_complete_refused(built: tuple[SnapManager, SnapManager, Snapshot]) -> None:
    src, dst, snap = built
    with pytest.raises(SnapTransferError, match="transfer incomplete"):
        run_with(src, dst, snap, lambda n, c: [c] if n < 2 else [])
    assert published(dst) == []


def test_already_received_snapshot_needs_no_bytes(built: tuple[SnapManager, SnapManager, Snapshot]) -> None:
    src, dst, snap = built
    with SnapSender(src, snap) as sender, SnapReceiver(dst, SnapHeader(snap)) as receiver:
        transfer(sender, receiver)
    with SnapSender(src, snap) as sender, SnapReceiver(dst, SnapHeader(snap)) as receiver:
        assert receiver.done
        transfer(sender, receiver)
    assert sender.bytes_sent == 0


def test_concurrent_receives_limited(built: tuple[SnapManager, SnapManager, Snapshot]) -> None:
    src, dst, snap = built
    dst.max_concurrent_recv = 1
    other = Snapshot()
    other.CopyFrom(snap)
    other.metadata.index = 11
    first = SnapReceiver(dst, SnapHeader(snap))
    with pytest.raises(TooManyReceivesError):
        SnapReceiver(dst, SnapHeader(other))
    first.close()
    SnapReceiver(dst, SnapHeader(other)).close()


def test_header_that_is_not_a_snapshot_refused(built: tuple[SnapManager, SnapManager, Snapshot]) -> None:
    _, dst, snap = built
    bad = Snapshot()
    bad.CopyFrom(snap)
    bad.data = b"\xff\xff\xff"
    with pytest.raises(SnapTransferError, match="does not describe a snapshot"):
        SnapReceiver(dst, SnapHeader(bad))
    assert dst.receiving_count() == 0


# -- streaming: generation and transfer pipelined ------------------------------------------------------


@pytest.fixture
def building(mem_engines: Engines, tmp_path: Path) -> tuple[SnapManager, SnapManager, GenSnapRequest, threading.Thread]:
    """building: a generation of ~8 KiB files (several per CF) started on a thread with a BuildProgress,
    its manager, and an empty receiver manager; the test joins the thread."""
    populate(mem_engines.kv, n=400, value_size=100)
    src = new_manager(tmp_path / "src", max_file_raw_size=8 << 10)
    apply_state = set_states(mem_engines.kv, snap_region(), 10)
    request = GenSnapRequest(GenSnapTask(1, 2, 0), 6, apply_state, progress=BuildProgress())
    worker = threading.Thread(target=SnapGenerator(src, mem_engines.kv).handle, args=(request,))
    worker.start()
    return src, new_manager(tmp_path / "dst"), request, worker


def stream_with(
    src: SnapManager, dst: SnapManager, request: GenSnapRequest, alter: Callable[[Message], list[Message]]
) -> tuple[SnapStreamSender, SnapReceiver]:
    """stream_with streams the build through alter (which returns what arrives) until the receiver
    finishes or raises; both ends are closed on return."""
    assert request.progress is not None
    with (
        SnapStreamSender(src, request.key, request.progress, chunk_size=CHUNK) as sender,
        SnapReceiver.for_stream(dst, request.key) as receiver,
    ):
        for message in sender.messages():
            for arrived in alter(message):
                receiver.receive(arrived)
        return sender, receiver


def test_stream_round_trip_while_building(building: tuple[SnapManager, SnapManager, GenSnapRequest, threading.Thread]) -> None:
    """Files stream as the build completes them; the receiver publishes once the final header lists them."""
    src, dst, request, worker = building
    assert request.progress is not None
    with (
        SnapStreamSender(src, request.key, request.progress, chunk_size=CHUNK) as sender,
        SnapReceiver.for_stream(dst, request.key) as receiver,
    ):
        files = stream_transfer(sender, receiver)
    worker.join()
    assert request.task.result is not None and receiver.snapshot == request.task.result
    meta = files.verify()
    assert meta == src.gen_files(request.key).verify() and len(meta.cf_files) > 6
    assert published(dst) == [n.replace("gen_", "rev_") for n in published(src)]
    assert sender.bytes_sent == receiver.bytes_received == sum(f.size for f in meta.cf_files)
    assert dst.registered(request.key) == [] and src.registered(request.key) == []
    assert dst.receiving_count() == 0 and dst.partial == {}


def corrupt_final(message: Message) -> list[Message]:
    if not isinstance(message, SnapHeader):
        return [message]
    data = parse_snapshot_data(message.snapshot.data)
    data.meta.cf_files[-1].checksum ^= 1
    snap = Snapshot()
    snap.CopyFrom(message.snapshot)
    snap.data = data.SerializeToString()
    return [SnapHeader(snap)]


def flip_third_chunk() -> Callable[[Message], list[Message]]:
    n = 0

    def alter(message: Message) -> list[Message]:
        nonlocal n
        if isinstance(message, FileChunk):
            n += 1
            if n == 3:
                return [flip(message)]
        return [message]

    return alter


@pytest.mark.parametrize(
    "alter, error, message",
    [
        (lambda: flip_third_chunk(), SnapTransferError, "fails its CRC32"),
        (lambda: lambda m: [] if isinstance(m, FileHeader) and m.file == 2 else [m], SnapTransferError, "no file is expected"),
        (lambda: lambda m: [dataclasses.replace(m, part=5)] if isinstance(m, FileHeader) and m.file == 1 else [m], SnapTransferError, "bad file header"),
        (lambda: lambda m: [dataclasses.replace(m, cf="../x")] if isinstance(m, FileHeader) else [m], SnapTransferError, "bad file header"),
        (lambda: lambda m: [dataclasses.replace(m, checksum=m.checksum ^ 1)] if isinstance(m, FileHeader) and m.file == 1 else [m], SnapCorruptionError, "has CRC32"),
        (lambda: corrupt_final, SnapTransferError, "final meta"),
    ],
    ids=["flipped_chunk", "file_not_announced", "wrong_part", "unknown_cf", "file_crc32", "final_meta_differs"],
)
def test_stream_bad_message_publishes_nothing(
    building: tuple[SnapManager, SnapManager, GenSnapRequest, threading.Thread],
    alter: Callable[[], Callable[[Message], list[Message]]],
    error: type[Exception],
    message: str,
) -> None:
    src, dst, request, worker = building
    try:
        with pytest.raises(error, match=message):
            stream_with(src, dst, request, alter())
    finally:
        worker.join()
    assert published(dst) == []
    assert request.task.result is not None  # the build itself is unaffected
    assert dst.registered(request.key) == [] and dst.receiving_count() == 0


def test_stream_of_a_failed_build_publishes_nothing(mem_engines: Engines, tmp_path: Path) -> None:
    """A build that fails after its first file ends the stream with SnapAbortedError: no final header."""
    populate(mem_engines.kv, n=3000, value_size=100)
    src = new_manager(tmp_path / "src", max_file_raw_size=8 << 10)
    dst = new_manager(tmp_path / "dst")
    request = GenSnapRequest(GenSnapTask(1, 2, 0), 6, set_states(mem_engines.kv, snap_region(), 10), progress=BuildProgress())
    gate = threading.Event()
    worker = threading.Thread(target=SnapGenerator(src, mem_engines.kv).handle, args=(request,))
    # the build waits at its limiter until the test canceled it (the sender's reads pass)
    src.limiter.consume = lambda n: threading.current_thread() is worker and gate.wait(10)  # type: ignore[method-assign,assignment,return-value]
    worker.start()

    def cancel_after_first_file(message: Message) -> list[Message]:
        if isinstance(message, FileChunk):
            request.task.canceled = True
            gate.set()
        return [message]

    try:
        with pytest.raises(SnapAbortedError, match="generation cancelled"):
            stream_with(src, dst, request, cancel_after_first_file)
    finally:
        worker.join()
    assert published(dst) == [] and os.listdir(src.path) == []


def test_broken_stream_resumes_after_its_complete_files(
    building: tuple[SnapManager, SnapManager, GenSnapRequest, threading.Thread],
) -> None:
    """A stream cut in the middle of file 3 keeps files 0-2; the transfer of the finished snapshot sends
    the rest only (file 3 again from its start)."""
    src, dst, request, worker = building

    class Broken(Exception):
        pass

    def break_in_file_3(message: Message) -> list[Message]:
        if isinstance(message, FileChunk) and message.file == 3 and message.offset > 0:
            raise Broken()
        return [message]

    try:
        with pytest.raises(Broken):
            stream_with(src, dst, request, break_in_file_3)
    finally:
        worker.join()
    snap = request.task.result
    assert snap is not None and published(dst) == []
    sizes = [f.size for f in src.gen_files(request.key).files(src.gen_files(request.key).load_meta())]
    with SnapSender(src, snap, chunk_size=CHUNK) as sender, SnapReceiver(dst, SnapHeader(snap)) as receiver:
        assert receiver.resume_point() == sizes[:3] + [0] * (len(sizes) - 3)
        files = transfer(sender, receiver)
    assert sender.bytes_sent == sum(sizes[3:])
    assert files.verify() == src.gen_files(request.key).verify()


def test_chunk_after_the_last_file_refused(built: tuple[SnapManager, SnapManager, Snapshot]) -> None:
    """A chunk past the last file (file number = the number of files) is a SnapTransferError, not an
    IndexError; the complete files stay verified and publishable."""
    src, dst, snap = built
    with SnapSender(src, snap, chunk_size=CHUNK) as sender, SnapReceiver(dst, SnapHeader(snap)) as receiver:
        for chunk in sender.chunks(receiver.resume_point()):
            receiver.feed(chunk)
        with pytest.raises(SnapTransferError, match="no file is expected"):
            receiver.feed(FileChunk(len(receiver.resume_point()), 0, b"x", zlib.crc32(b"x")))
        files = receiver.finish()
    assert files.verify() == src.gen_files(files.key).verify()

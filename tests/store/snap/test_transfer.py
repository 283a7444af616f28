"""Transfer: the chunked protocol between two managers — round trip, damaged/dropped/duplicated chunks
rejected with nothing published, resume from the verified prefix, receive slots."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

import pytest

from raftstore.engine.engines import Engines
from raftstore.proto.eraftpb_pb2 import Snapshot
from raftstore.store.snap import (
    FileChunk,
    SnapCorruptionError,
    SnapHeader,
    SnapKey,
    SnapManager,
    SnapReceiver,
    SnapSender,
    SnapTransferError,
    TooManyReceivesError,
    transfer,
)

from .helpers import generate, new_manager, populate, snap_region
from .test_files import flip_byte

CHUNK = 4096


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

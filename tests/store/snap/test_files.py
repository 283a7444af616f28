"""Snapshot files: TiKV's snap.rs tests re-expressed (round trip, checksum and meta corruption, reuse) and
the generation rules (names, split, empty CF, meta, snapshot metadata), on RocksDB and in memory."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import pytest

from raftstore.engine import keys
from raftstore.engine.base import CF_DEFAULT, CF_LOCK, CF_WRITE, DATA_CFS
from raftstore.engine.engines import Engines
from raftstore.proto.raft_serverpb_pb2 import (
    RaftSnapshotData,
    SnapshotCFFile,
    SnapshotMeta,
)
from raftstore.store.peer_storage import conf_state_from_region
from raftstore.store.snap import SnapCorruptionError, SnapKey, SnapNotFoundError
from raftstore.store.snap.files import (
    SNAPSHOT_VERSION,
    cf_file_name,
    files_from_meta,
    parse_snapshot_data,
)

from .helpers import dump, generate, new_manager, populate, region_range, snap_region


def flip_byte(path: str, offset: int = 100) -> None:
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0xFF]))


@pytest.mark.parametrize(
    "prefix, cf, part, name",
    [
        ("gen_1_6_10", CF_DEFAULT, 0, "gen_1_6_10_default.sst"),
        ("gen_1_6_10", CF_WRITE, 1, "gen_1_6_10_write_0001.sst"),
        ("rev_2_7_300", CF_LOCK, 12, "rev_2_7_300_lock_0012.sst"),
    ],
)
def test_cf_file_names(prefix: str, cf: str, part: int, name: str) -> None:
    assert cf_file_name(prefix, cf, part) == name


def test_snap_key_names() -> None:
    key = SnapKey(1, 6, 10)
    assert str(key) == "1_6_10"
    assert SnapKey(1, 6, 10) < SnapKey(1, 6, 11) < SnapKey(1, 7, 1)


def test_generate_round_trip_rocks(engines: Engines, tmp_path: Path) -> None:
    """A generated snapshot: TiKV names, one file per CF, meta sizes and CRC32s that match the files,
    RaftSnapshotData (region, file_size, version, meta) and metadata (index, term, ConfState)."""
    region = snap_region()
    populate(engines.kv, n=300)
    mgr = new_manager(tmp_path / "snap")
    snap = generate(mgr, engines, region, applied_index=10, term=6)

    assert (snap.metadata.index, snap.metadata.term) == (10, 6)
    assert snap.metadata.conf_state == conf_state_from_region(region)
    data = RaftSnapshotData.FromString(snap.data)
    assert data.region == region
    assert data.version == SNAPSHOT_VERSION
    assert [f.cf for f in data.meta.cf_files] == [CF_DEFAULT, CF_LOCK, CF_WRITE]
    assert data.file_size == sum(f.size for f in data.meta.cf_files)
    assert sorted(os.listdir(tmp_path / "snap")) == [
        "gen_1_6_10.meta",
        "gen_1_6_10_default.sst",
        "gen_1_6_10_lock.sst",
        "gen_1_6_10_write.sst",
    ]
    for f in data.meta.cf_files:
        raw = (tmp_path / "snap" / f"gen_1_6_10_{f.cf}.sst").read_bytes()
        assert (len(raw), zlib.crc32(raw)) == (f.size, f.checksum)
    files = mgr.gen_files(SnapKey(1, 6, 10))
    assert files.load_meta() == data.meta
    assert files.verify() == data.meta


def test_files_hold_exactly_the_region_range(mem_engines: Engines, tmp_path: Path) -> None:
    """The files hold exactly the region's range of every data CF, nothing outside it."""
    region = snap_region()
    populate(mem_engines.kv, n=50)
    mgr = new_manager(tmp_path / "snap")
    snap = generate(mgr, mem_engines, region)
    files = mgr.gen_files(SnapKey.from_snapshot(snap))
    target = Engines(type(mem_engines.kv)(mem_engines.kv.cf_names), mem_engines.raft)
    for f in files.files(files.load_meta()):
        target.kv.ingest_sst(f.cf, [files.path(f.name)])
    start, end = region_range(region)
    assert dump(target.kv) == dump(mem_engines.kv, start, end)
    assert all(len(rows) == 50 for rows in dump(target.kv).values())


def test_split_and_empty_cf(mem_engines: Engines, tmp_path: Path) -> None:
    """A CF above max_file_raw_size is split into parts _0001, _0002...; an empty CF has one meta entry
    of size 0 and no file."""
    region = snap_region()
    wb = mem_engines.kv.write_batch()
    for i in range(100):
        wb.put(CF_DEFAULT, keys.data_key(b"k%03d" % i), b"v" * 90)  # 95 raw bytes each
    wb.put(CF_WRITE, keys.data_key(b"k000"), b"w")
    mem_engines.kv.write(wb)
    mgr = new_manager(tmp_path / "snap", max_file_raw_size=1000)
    snap = generate(mgr, mem_engines, region)
    meta = parse_snapshot_data(snap.data).meta
    assert [(f.cf, f.size > 0) for f in meta.cf_files] == [(CF_DEFAULT, True)] * 10 + [(CF_LOCK, False), (CF_WRITE, True)]
    names = sorted(os.listdir(tmp_path / "snap"))
    assert "gen_1_6_10_default_0009.sst" in names and "gen_1_6_10_default_0010.sst" not in names
    assert not any("_lock" in n for n in names)
    assert len(names) == 12  # 10 default parts, 1 write file, the meta


def test_corrupt_file_detected(engines: Engines, tmp_path: Path) -> None:
    populate(engines.kv)
    mgr = new_manager(tmp_path / "snap")
    snap = generate(mgr, engines, snap_region())
    files = mgr.gen_files(SnapKey.from_snapshot(snap))
    flip_byte(files.path("gen_1_6_10_write.sst"))
    with pytest.raises(SnapCorruptionError, match="gen_1_6_10_write.sst has CRC32"):
        files.verify()


def test_truncated_and_missing_files_detected(engines: Engines, tmp_path: Path) -> None:
    populate(engines.kv)
    mgr = new_manager(tmp_path / "snap")
    files = mgr.gen_files(SnapKey.from_snapshot(generate(mgr, engines, snap_region())))
    os.truncate(files.path("gen_1_6_10_lock.sst"), 10)
    with pytest.raises(SnapCorruptionError, match="has 10 bytes"):
        files.verify()
    os.remove(files.path("gen_1_6_10_lock.sst"))
    assert not files.exists()
    with pytest.raises(SnapNotFoundError, match="is missing"):
        files.verify()


@pytest.mark.parametrize(
    "entries, error",
    [
        ([("default", 1), ("lock", 1)], "expected"),  # write missing
        ([("default", 1), ("write", 1), ("lock", 1)], "out of order"),
        ([("default", 1), ("lock", 1), ("write", 1), ("raft", 1)], "unknown column family"),
        ([("default", 0), ("default", 5), ("lock", 1), ("write", 1)], "empty entry"),
        ([("default", 1), ("lock", 1), ("default", 1), ("write", 1)], "out of order"),
    ],
)
def test_meta_layout_checked(entries: list[tuple[str, int]], error: str) -> None:
    meta = SnapshotMeta(cf_files=[SnapshotCFFile(cf=cf, size=size) for cf, size in entries])
    with pytest.raises(SnapCorruptionError, match=error):
        files_from_meta("gen_1_1_1", meta)


def test_corrupt_meta_detected(engines: Engines, tmp_path: Path) -> None:
    populate(engines.kv)
    mgr = new_manager(tmp_path / "snap")
    files = mgr.gen_files(SnapKey.from_snapshot(generate(mgr, engines, snap_region())))
    Path(files.meta_path).write_bytes(b"\xff\xff\xff")
    assert not files.exists()
    with pytest.raises(SnapCorruptionError, match="meta does not parse"):
        files.load_meta()


def test_existing_snapshot_reused_corrupt_one_rebuilt(engines: Engines, tmp_path: Path) -> None:
    populate(engines.kv)
    mgr = new_manager(tmp_path / "snap")
    region = snap_region()
    first = generate(mgr, engines, region)
    files = mgr.gen_files(SnapKey.from_snapshot(first))
    stamp = os.stat(files.meta_path).st_mtime_ns
    # new data under the same key: the valid snapshot on disk is reused as it is
    populate(engines.kv, seed=9)
    again = generate(mgr, engines, region)
    assert again.data == first.data
    assert os.stat(files.meta_path).st_mtime_ns == stamp
    # a corrupt one is rebuilt from the engine (so it now holds the new data)
    flip_byte(files.path("gen_1_6_10_default.sst"))
    rebuilt = generate(mgr, engines, region)
    assert rebuilt.data != first.data
    assert files.verify() == parse_snapshot_data(rebuilt.data).meta


def test_engine_sst_ingest_leaves_file_intact(engines: Engines, mem_engines: Engines, tmp_path: Path) -> None:
    """KvEngine.ingest_sst on both engines: the pairs land in the CF, overwrite older values, and the
    file is unchanged (so it can be ingested again and still verifies)."""
    for n, e in enumerate((engines, mem_engines)):
        path = str(tmp_path / f"x{n}.sst")
        w = e.kv.sst_writer(CF_WRITE, path)
        for i in range(10):
            w.put(b"z%02d" % i, b"new%d" % i)
        size = w.finish()
        before = Path(path).read_bytes()
        e.kv.put(CF_WRITE, b"z05", b"old")
        e.kv.ingest_sst(CF_WRITE, [path])
        e.kv.ingest_sst(CF_WRITE, [path])
        assert Path(path).read_bytes() == before and len(before) == size
        assert list(e.kv.scan(CF_WRITE, b"z", b"{")) == [(b"z%02d" % i, b"new%d" % i) for i in range(10)]
        assert sorted(os.listdir(tmp_path)) == sorted({f"x{m}.sst" for m in range(n + 1)} | {"db"})
        assert all(not list(e.kv.scan(cf, b"", None)) for cf in DATA_CFS if cf != CF_WRITE)

"""RocksEngine and open_engines on real RocksDB in tmp_path: what only a durable engine has.

The contract both engines share is in test_engine_contract.py. Here: persistence across close and reopen,
the on-disk layout of open_engines, close() releasing the database even while snapshots, scans and batches
are still referenced, reads from SST files after a flush, error conversion, and the rocksdict 0.3.29
behaviours rocks.py is built around (so an upgrade that changes them shows up here).
"""

from __future__ import annotations

import gc
import os
import sys
import threading
import time
from pathlib import Path

import pytest
import rocksdict

from raftstore.engine import (
    ALL_CFS,
    CF_DEFAULT,
    CF_LOCK,
    CF_RAFT,
    CF_WRITE,
    DataDirError,
    EngineClosedError,
    Engines,
    RocksEngine,
    keys,
    open_engines,
)
from raftstore.proto import raft_serverpb_pb2


def test_reopen_keeps_synced_writes_in_every_cf(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with RocksEngine(path, ALL_CFS) as engine:
        batch = engine.write_batch()
        for cf in ALL_CFS:
            batch.put(cf, b"k", cf.encode())
        engine.write(batch, sync=True)
        engine.put(CF_DEFAULT, b"single", b"1")
        engine.delete_range(CF_LOCK, b"a", b"b")
    with RocksEngine(path, ALL_CFS) as engine:
        assert [engine.get(cf, b"k") for cf in ALL_CFS] == [cf.encode() for cf in ALL_CFS]
        assert engine.get(CF_DEFAULT, b"single") == b"1"


def test_reopen_after_deletes(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with RocksEngine(path, ALL_CFS) as engine:
        for i in range(100):
            engine.put(CF_RAFT, b"%03d" % i, b"v")
        engine.delete_range(CF_RAFT, b"010", b"090")
        engine.delete(CF_RAFT, b"000")
        engine.sync_wal()
    with RocksEngine(path, ALL_CFS) as engine:
        got = [k for k, _ in engine.scan(CF_RAFT, b"", None)]
        assert got == [b"%03d" % i for i in list(range(1, 10)) + list(range(90, 100))]


def test_close_releases_the_db_even_with_live_snapshot_scan_and_batch(tmp_path: Path) -> None:
    # rocksdict keeps a database open while any handle, snapshot or iterator of it lives; close() must
    # drop all of them so that the same process can reopen the path at once.
    path = tmp_path / "db"
    engine = RocksEngine(path, ALL_CFS)
    for i in range(10):
        engine.put(CF_WRITE, b"%d" % i, b"v")
    snap = engine.snapshot()
    scan = engine.scan(CF_WRITE, b"", None)
    snap_scan = snap.scan(CF_WRITE, b"", None)
    next(scan)
    next(snap_scan)
    batch = engine.write_batch()
    batch.put(CF_WRITE, b"x", b"y")
    engine.write(batch)
    engine.close()
    with RocksEngine(path, ALL_CFS) as again:
        assert again.get(CF_WRITE, b"x") == b"y"
    del snap, scan, snap_scan, batch


def test_open_on_a_file_is_a_data_dir_error(tmp_path: Path) -> None:
    path = tmp_path / "file"
    path.write_bytes(b"not a db")
    with pytest.raises(DataDirError, match=f"{path} is not a directory"):
        RocksEngine(path, ALL_CFS)
    assert path.read_bytes() == b"not a db"


def test_existing_cfs_are_opened_even_when_not_asked_for(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with RocksEngine(path, ALL_CFS) as engine:
        engine.put(CF_LOCK, b"k", b"v")
    with RocksEngine(path) as engine:
        assert set(engine.cf_names) == set(ALL_CFS)
        assert engine.get(CF_LOCK, b"k") == b"v"


def test_reads_from_sst_files_after_flush(tmp_path: Path) -> None:
    with RocksEngine(tmp_path / "db", ALL_CFS) as engine:
        items = {keys.raft_log_key(1, i): b"e%d" % i for i in range(1, 2001)}
        batch = engine.write_batch()
        for k, v in items.items():
            batch.put(CF_DEFAULT, k, v)
        engine.write(batch, sync=True)
        snap = engine.snapshot()
        engine.flush()
        engine.delete_range(CF_DEFAULT, *keys.raft_log_range(1, 1, 1001))
        engine.flush()
        assert engine.get(CF_DEFAULT, keys.raft_log_key(1, 1000)) is None
        assert engine.get(CF_DEFAULT, keys.raft_log_key(1, 1001)) == b"e1001"
        start, end = keys.raft_log_range(1)
        assert [keys.raft_log_index(k) for k, _ in engine.scan(CF_DEFAULT, start, end, limit=3)] == [1001, 1002, 1003]
        assert dict(snap.scan(CF_DEFAULT, start, end)) == items
        assert snap.get(CF_DEFAULT, keys.raft_log_key(1, 1)) == b"e1"


def test_compact_leaves_one_file_per_cf_and_the_data(tmp_path: Path) -> None:
    """compact merges the overlapping SST files of several flushes into one per CF; the newest values stay."""
    path = tmp_path / "db"
    with RocksEngine(path, ALL_CFS) as engine:
        for round_ in range(3):
            for key in (b"a", b"b"):
                engine.put(CF_DEFAULT, key, b"v%d" % round_)
            engine.flush()
        assert len(list(path.glob("*.sst"))) == 3
        engine.compact()
        assert len(list(path.glob("*.sst"))) == 1
        assert list(engine.scan(CF_DEFAULT, b"", None)) == [(b"a", b"v2"), (b"b", b"v2")]


def test_scan_bound_survives_garbage_collection(tmp_path: Path) -> None:
    with RocksEngine(tmp_path / "db", ALL_CFS) as engine:
        batch = engine.write_batch()
        for i in range(3000):
            batch.put(CF_DEFAULT, i.to_bytes(4, "big"), b"v" * 100)
        engine.write(batch)
        end = (2000).to_bytes(4, "big")
        it = engine.scan(CF_DEFAULT, (10).to_bytes(4, "big"), bytes(end))
        del end
        gc.collect()
        got = [int.from_bytes(k, "big") for k, _ in it]
        assert got == list(range(10, 2000))


def test_batch_holding_many_ops_round_trips(tmp_path: Path) -> None:
    with RocksEngine(tmp_path / "db", ALL_CFS) as engine:
        value = os.urandom(256)
        batch = engine.write_batch()
        for i in range(10_000):
            batch.put(CF_DEFAULT, keys.raft_log_key(7, i), value)
        assert batch.count() == 10_000
        assert batch.data_size() == 10_000 * (19 + 256)
        engine.write(batch, sync=True)
        assert engine.stats.synced_writes == 1
        assert engine.stats.bytes_written == 10_000 * (19 + 256)
        start, end = keys.raft_log_range(7)
        assert sum(1 for _ in engine.scan(CF_DEFAULT, start, end)) == 10_000


class _RecordingDb:
    """_RecordingDb stands in for a RocksEngine's rocksdict database: it records the arguments of every write()
    and flush_wal() and then performs it on the real database; everything else goes to the real one."""

    def __init__(self, db: rocksdict.Rdict) -> None:
        self.db = db
        self.writes: list[tuple[rocksdict.WriteBatch, rocksdict.WriteOptions | None]] = []
        self.wal_flushes: list[bool] = []

    def write(self, batch: rocksdict.WriteBatch, options: rocksdict.WriteOptions | None = None) -> None:
        self.writes.append((batch, options))
        self.db.write(batch, options)

    def flush_wal(self, sync: bool) -> None:
        self.wal_flushes.append(sync)
        self.db.flush_wal(sync)

    def __getattr__(self, name: str) -> object:
        return getattr(self.db, name)


@pytest.mark.parametrize("sync", [True, False])
def test_write_hands_rocksdb_the_sync_asked_for(tmp_path: Path, sync: bool) -> None:
    # EngineStats counts the argument; this checks what RocksDB actually gets: the write, then for a synced
    # one the WAL flushed and synced (flush_wal(True), which releases the GIL for the fsync).
    with RocksEngine(tmp_path / "db", ALL_CFS) as engine:
        real = engine._db
        recorder = _RecordingDb(real)
        engine._db = recorder  # type: ignore[assignment]
        try:
            batch = engine.write_batch()
            batch.put(CF_WRITE, b"k", b"v")
            engine.write(batch, sync=sync)
        finally:
            engine._db = real
        ((_, write_options),) = recorder.writes
        assert write_options is not None and write_options.sync is False
        assert recorder.wal_flushes == ([True] if sync else [])
        assert engine.get(CF_WRITE, b"k") == b"v"
        assert engine.stats.synced_writes == int(sync)


def test_values_are_protobuf_bytes(tmp_path: Path) -> None:
    state = raft_serverpb_pb2.RaftLocalState(last_index=5)
    state.hard_state.term = 5
    state.hard_state.commit = 5
    path = tmp_path / "db"
    with RocksEngine(path) as engine:
        engine.put(CF_DEFAULT, keys.raft_state_key(1), state.SerializeToString())
    with RocksEngine(path) as engine:
        raw = engine.get(CF_DEFAULT, keys.raft_state_key(1))
        assert raw is not None
        assert raft_serverpb_pb2.RaftLocalState.FromString(raw) == state


def test_raw_mode_stores_the_bytes_as_given(tmp_path: Path) -> None:
    # Raw mode with the default comparator: another rocksdict client in raw mode reads the same bytes.
    path = tmp_path / "db"
    with RocksEngine(path, ALL_CFS) as engine:
        engine.put(CF_WRITE, b"\x00key", b"\x01value")
    opts = rocksdict.Options(raw_mode=True)
    db = rocksdict.Rdict(str(path), opts, column_families={cf: rocksdict.Options(raw_mode=True) for cf in ALL_CFS[1:]})
    try:
        assert db.get_column_family(CF_WRITE).get(b"\x00key") == b"\x01value"
        assert db.get(b"\x00key") is None
    finally:
        db.close()


# open_engines.


def test_open_engines_layout(tmp_path: Path) -> None:
    root = tmp_path / "nested" / "store"
    with open_engines(root) as engines:
        assert isinstance(engines, Engines)
        assert engines.path == str(root)
        assert set(engines.kv.cf_names) == set(ALL_CFS)  # type: ignore[attr-defined]
        assert engines.raft.cf_names == (CF_DEFAULT,)  # type: ignore[attr-defined]
        engines.kv.put(CF_RAFT, keys.apply_state_key(1), b"apply")
        engines.raft.put(CF_DEFAULT, keys.raft_log_key(1, 6), b"entry")
    assert (root / "kv" / "CURRENT").is_file()
    assert (root / "raft" / "CURRENT").is_file()
    assert set(rocksdict.Rdict.list_cf(str(root / "kv"), rocksdict.Options(raw_mode=True))) == set(ALL_CFS)
    assert rocksdict.Rdict.list_cf(str(root / "raft"), rocksdict.Options(raw_mode=True)) == [CF_DEFAULT]
    with open_engines(root) as engines:
        assert engines.kv.get(CF_RAFT, keys.apply_state_key(1)) == b"apply"
        assert engines.raft.get(CF_DEFAULT, keys.raft_log_key(1, 6)) == b"entry"
        # The two databases are separate: nothing of one shows in the other.
        assert engines.kv.get(CF_DEFAULT, keys.raft_log_key(1, 6)) is None
        assert engines.raft.get(CF_DEFAULT, keys.apply_state_key(1)) is None


def test_engines_close_closes_both_and_is_idempotent(tmp_path: Path) -> None:
    engines = open_engines(str(tmp_path / "s"))
    engines.close()
    engines.close()
    for engine in (engines.kv, engines.raft):
        with pytest.raises(EngineClosedError):
            engine.get(CF_DEFAULT, b"k")
    with open_engines(tmp_path / "s"):
        pass


# rocksdict 0.3.29 behaviours rocks.py relies on or works around.


def _raw_db(path: Path) -> rocksdict.Rdict:
    opts = rocksdict.Options(raw_mode=True)
    opts.create_if_missing(True)
    return rocksdict.Rdict(str(path), opts)


def test_rocksdict_plain_iterator_is_a_point_in_time_view(tmp_path: Path) -> None:
    db = _raw_db(tmp_path / "db")
    try:
        db.put(b"a", b"1")
        it = db.iter()
        db.put(b"a", b"2")
        db.put(b"b", b"2")
        db.flush()
        it.seek_to_first()
        seen = []
        while it.valid():
            seen.append((it.key(), it.value()))
            it.next()
        assert seen == [(b"a", b"1")]
        del it
    finally:
        db.close()


def test_rocksdict_snapshot_iteration_ignores_the_snapshot(tmp_path: Path) -> None:
    # Why RocksSnapshot does not use rocksdict's Snapshot. If this starts failing, rocksdict was fixed.
    db = _raw_db(tmp_path / "db")
    try:
        db.put(b"a", b"1")
        snap = db.snapshot()
        db.put(b"a", b"2")
        assert snap[b"a"] == b"1"
        assert list(snap.items()) == [(b"a", b"2")]
        del snap
    finally:
        db.close()


def test_rocksdict_lower_bound_sets_the_upper_bound(tmp_path: Path) -> None:
    # Why scans use only upper bounds. If this starts failing, rocksdict was fixed.
    db = _raw_db(tmp_path / "db")
    try:
        for k in (b"a", b"b", b"c", b"d"):
            db.put(k, b"")
        ro = rocksdict.ReadOptions()
        ro.set_iterate_lower_bound(b"c")
        assert [k for k, _ in db.items(read_opt=ro)] == [b"a", b"b"]
        del ro
    finally:
        db.close()


def test_rocksdict_write_batch_is_consumed_by_write(tmp_path: Path) -> None:
    # Why RocksWriteBatch keeps its operations and rebuilds the rocksdict batch.
    db = _raw_db(tmp_path / "db")
    try:
        wb = rocksdict.WriteBatch(raw_mode=True)
        wb.put(b"a", b"1")
        db.write(wb)
        with pytest.raises(Exception, match="consumed"):
            wb.put(b"b", b"2")
    finally:
        db.close()


def test_rocksdict_writes_its_config_even_when_read_only(tmp_path: Path) -> None:
    # Why a read-only RocksEngine opens a shadow directory. If this starts failing, rocksdict was fixed.
    path = tmp_path / "db"
    RocksEngine(path).close()
    config = path / "rocksdict-config.json"
    config.unlink()
    db = rocksdict.Rdict(str(path), rocksdict.Options(raw_mode=True), access_type=rocksdict.AccessType.read_only())
    db.close()
    assert config.exists()


def test_synced_write_lets_other_threads_run(tmp_path: Path) -> None:
    """A synced write releases the GIL for its fsync (a store's gRPC threads keep receiving meanwhile):
    with a switch interval too long to force a switch, another thread still runs during 50 synced writes."""
    ticks = [0]
    done = threading.Event()

    def ticker() -> None:
        while not done.is_set():
            ticks[0] += 1
            time.sleep(0.0001)

    interval = sys.getswitchinterval()
    sys.setswitchinterval(100.0)  # before the ticker starts: a thread reads it when it starts waiting
    thread = threading.Thread(target=ticker)
    try:
        with RocksEngine(tmp_path / "db") as engine:
            thread.start()
            time.sleep(0.01)
            before = ticks[0]
            for i in range(50):
                batch = engine.write_batch()
                batch.put(CF_DEFAULT, b"k%d" % i, b"v")
                engine.write(batch, sync=True)
            during = ticks[0] - before
            assert engine.stats.synced_writes == 50
    finally:
        done.set()
        if thread.is_alive():
            thread.join()
        sys.setswitchinterval(interval)
    assert during >= 10

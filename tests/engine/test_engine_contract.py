"""The KvEngine contract, run over RocksEngine (real RocksDB in tmp_path) and MemEngine alike.

Engine-specific behaviour (persistence across reopen, rocksdict quirks, open_engines' layout) is in
test_rocks.py and test_memory.py; everything both engines must agree on is here.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from raftstore.engine import (
    ALL_CFS,
    CF_DEFAULT,
    CF_LOCK,
    CF_RAFT,
    CF_WRITE,
    EngineClosedError,
    EngineError,
    EngineFailedError,
    KvEngine,
    MemEngine,
    RocksEngine,
    WriteBatch,
    memory_engines,
    open_engines,
)
from raftstore.engine.errors import UnknownColumnFamilyError, WrongWriteBatchError

EngineFactory = Callable[[], Any]

KINDS = ["rocks", "memory"]


def make_engine(kind: str, path: Path) -> Any:
    if kind == "rocks":
        return RocksEngine(path, ALL_CFS)
    return MemEngine(ALL_CFS)


@pytest.fixture(params=KINDS)
def new_engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[EngineFactory]:
    """new_engine makes fresh engines of one kind (each in its own directory); all closed at teardown."""
    made: list[Any] = []

    def factory() -> Any:
        engine = make_engine(request.param, tmp_path / f"db{len(made)}")
        made.append(engine)
        return engine

    yield factory
    for engine in made:
        engine.close()


@pytest.fixture
def engine(new_engine: EngineFactory) -> Any:
    return new_engine()


def fill(engine: KvEngine, cf: str, items: dict[bytes, bytes]) -> None:
    batch = engine.write_batch()
    for k, v in items.items():
        batch.put(cf, k, v)
    engine.write(batch)


KEYS = [b"", b"\x00", b"a", b"a\x00", b"ab", b"b", b"ba", b"c", b"\xff", b"\xff\xff"]


def keyed(engine: KvEngine, cf: str = CF_DEFAULT) -> dict[bytes, bytes]:
    items = {k: b"v" + k for k in KEYS}
    fill(engine, cf, items)
    return items


def scan_keys(r: Any, cf: str, start: bytes, end: bytes | None, **kw: Any) -> list[bytes]:
    return [k for k, _ in r.scan(cf, start, end, **kw)]


# Point operations.


def test_put_get_overwrite(engine: Any) -> None:
    assert engine.get(CF_DEFAULT, b"k") is None
    engine.put(CF_DEFAULT, b"k", b"v1")
    assert engine.get(CF_DEFAULT, b"k") == b"v1"
    engine.put(CF_DEFAULT, b"k", b"v2")
    assert engine.get(CF_DEFAULT, b"k") == b"v2"
    assert type(engine.get(CF_DEFAULT, b"k")) is bytes


def test_empty_key_and_value(engine: Any) -> None:
    engine.put(CF_DEFAULT, b"", b"")
    assert engine.get(CF_DEFAULT, b"") == b""
    assert list(engine.scan(CF_DEFAULT, b"", None)) == [(b"", b"")]


def test_binary_keys_and_large_value(engine: Any) -> None:
    big = bytes(range(256)) * 4096  # 1 MiB
    engine.put(CF_DEFAULT, b"\x00\xff\x00", big)
    assert engine.get(CF_DEFAULT, b"\x00\xff\x00") == big
    assert engine.get(CF_DEFAULT, b"\x00\xff") is None


def test_delete(engine: Any) -> None:
    engine.put(CF_DEFAULT, b"k", b"v")
    engine.delete(CF_DEFAULT, b"k")
    assert engine.get(CF_DEFAULT, b"k") is None
    engine.delete(CF_DEFAULT, b"never")  # deleting a missing key is fine
    assert list(engine.scan(CF_DEFAULT, b"", None)) == []


def test_delete_range_is_half_open(engine: Any) -> None:
    keyed(engine)
    engine.delete_range(CF_DEFAULT, b"a", b"b")
    assert scan_keys(engine, CF_DEFAULT, b"", None) == [b"", b"\x00", b"b", b"ba", b"c", b"\xff", b"\xff\xff"]
    engine.delete_range(CF_DEFAULT, b"\xff", b"\xff\xff\xff")
    assert scan_keys(engine, CF_DEFAULT, b"", None) == [b"", b"\x00", b"b", b"ba", b"c"]


def test_delete_range_empty_or_reversed_is_a_no_op(engine: Any) -> None:
    items = keyed(engine)
    before = engine.stats.writes
    engine.delete_range(CF_DEFAULT, b"b", b"b")
    engine.delete_range(CF_DEFAULT, b"c", b"a")
    assert dict(engine.scan(CF_DEFAULT, b"", None)) == items
    assert engine.stats.writes == before
    batch = engine.write_batch()
    batch.delete_range(CF_DEFAULT, b"c", b"a")
    batch.delete_range(CF_DEFAULT, b"a", b"a")
    assert batch.is_empty() and batch.count() == 0 and batch.data_size() == 0


def test_column_families_are_isolated(engine: Any) -> None:
    for cf in ALL_CFS:
        engine.put(cf, b"k", cf.encode())
    for cf in ALL_CFS:
        assert engine.get(cf, b"k") == cf.encode()
        assert list(engine.scan(cf, b"", None)) == [(b"k", cf.encode())]
    engine.delete(CF_LOCK, b"k")
    engine.delete_range(CF_WRITE, b"", b"\xff")
    assert engine.get(CF_LOCK, b"k") is None
    assert engine.get(CF_WRITE, b"k") is None
    assert engine.get(CF_DEFAULT, b"k") == b"default"
    assert engine.get(CF_RAFT, b"k") == b"raft"


def test_unknown_column_family(engine: Any) -> None:
    with pytest.raises(UnknownColumnFamilyError, match="nope"):
        engine.get("nope", b"k")
    with pytest.raises(UnknownColumnFamilyError):
        engine.put("nope", b"k", b"v")
    with pytest.raises(UnknownColumnFamilyError):
        engine.delete("nope", b"k")
    with pytest.raises(UnknownColumnFamilyError):
        engine.delete_range("nope", b"a", b"b")
    with pytest.raises(UnknownColumnFamilyError):
        engine.scan("nope", b"", None)
    batch = engine.write_batch()
    for op in (lambda: batch.put("nope", b"k", b"v"), lambda: batch.delete("nope", b"k")):
        with pytest.raises(UnknownColumnFamilyError):
            op()
    assert batch.is_empty()
    with pytest.raises(UnknownColumnFamilyError):
        engine.snapshot().get("nope", b"k")
    with pytest.raises(UnknownColumnFamilyError):
        engine.snapshot().scan("nope", b"", None)
    assert issubclass(UnknownColumnFamilyError, ValueError) and issubclass(UnknownColumnFamilyError, EngineError)


@pytest.mark.parametrize("bad", ["str", bytearray(b"ba"), memoryview(b"mv"), 1])
def test_keys_and_values_must_be_bytes(engine: Any, bad: Any) -> None:
    with pytest.raises(TypeError):
        engine.put(CF_DEFAULT, bad, b"v")
    with pytest.raises(TypeError):
        engine.put(CF_DEFAULT, b"k", bad)
    with pytest.raises(TypeError):
        engine.get(CF_DEFAULT, bad)
    with pytest.raises(TypeError):
        engine.delete_range(CF_DEFAULT, bad, b"z")
    with pytest.raises(TypeError):
        engine.scan(CF_DEFAULT, bad, None)
    batch = engine.write_batch()
    with pytest.raises(TypeError):
        batch.put(CF_DEFAULT, bad, b"v")
    with pytest.raises(TypeError):
        batch.delete(CF_DEFAULT, bad)
    assert batch.is_empty()
    with pytest.raises(TypeError):
        engine.snapshot().get(CF_DEFAULT, bad)
    assert engine.get(CF_DEFAULT, b"k") is None


# Scans.


def test_scan_bounds(engine: Any) -> None:
    keyed(engine)
    assert scan_keys(engine, CF_DEFAULT, b"", None) == KEYS
    assert scan_keys(engine, CF_DEFAULT, b"a", b"b") == [b"a", b"a\x00", b"ab"]
    assert scan_keys(engine, CF_DEFAULT, b"a\x00", b"ab") == [b"a\x00"]
    assert scan_keys(engine, CF_DEFAULT, b"aa", b"ac") == [b"ab"]
    assert scan_keys(engine, CF_DEFAULT, b"c", None) == [b"c", b"\xff", b"\xff\xff"]
    assert scan_keys(engine, CF_DEFAULT, b"", b"\x00") == [b""]
    assert scan_keys(engine, CF_DEFAULT, b"\xff\xff\x00", None) == []
    assert scan_keys(engine, CF_DEFAULT, b"b", b"b") == []
    assert scan_keys(engine, CF_DEFAULT, b"c", b"a") == []
    assert dict(engine.scan(CF_DEFAULT, b"ab", b"ba")) == {b"ab": b"vab", b"b": b"vb"}


def test_scan_reverse(engine: Any) -> None:
    keyed(engine)
    assert scan_keys(engine, CF_DEFAULT, b"", None, reverse=True) == KEYS[::-1]
    assert scan_keys(engine, CF_DEFAULT, b"a", b"b", reverse=True) == [b"ab", b"a\x00", b"a"]
    assert scan_keys(engine, CF_DEFAULT, b"a\x00", b"b\x00", reverse=True) == [b"b", b"ab", b"a\x00"]
    assert scan_keys(engine, CF_DEFAULT, b"", b"\x00", reverse=True) == [b""]
    assert scan_keys(engine, CF_DEFAULT, b"c", b"c", reverse=True) == []
    assert scan_keys(engine, CF_DEFAULT, b"c", b"a", reverse=True) == []
    assert scan_keys(engine, CF_DEFAULT, b"\xff\xff\x00", None, reverse=True) == []


def test_scan_limit(engine: Any) -> None:
    keyed(engine)
    assert scan_keys(engine, CF_DEFAULT, b"a", None, limit=2) == [b"a", b"a\x00"]
    assert scan_keys(engine, CF_DEFAULT, b"a", None, limit=0) == []
    assert scan_keys(engine, CF_DEFAULT, b"a", b"b", limit=100) == [b"a", b"a\x00", b"ab"]
    assert scan_keys(engine, CF_DEFAULT, b"a", b"b", limit=1, reverse=True) == [b"ab"]
    assert scan_keys(engine, CF_DEFAULT, b"", None, limit=3, reverse=True) == [b"\xff\xff", b"\xff", b"c"]
    assert scan_keys(engine, CF_DEFAULT, b"", None, limit=None) == KEYS


def test_scan_only_sees_its_cf(engine: Any) -> None:
    fill(engine, CF_DEFAULT, {b"a": b"1", b"c": b"3"})
    fill(engine, CF_WRITE, {b"b": b"2"})
    fill(engine, CF_RAFT, {b"a0": b"x"})
    assert scan_keys(engine, CF_DEFAULT, b"", None) == [b"a", b"c"]
    assert scan_keys(engine, CF_WRITE, b"", None, reverse=True) == [b"b"]
    assert scan_keys(engine, CF_LOCK, b"", None) == []


def test_scan_sees_the_engine_as_of_the_call(engine: Any) -> None:
    fill(engine, CF_DEFAULT, {b"a": b"1", b"b": b"2", b"c": b"3"})
    for reverse in (False, True):
        it = engine.scan(CF_DEFAULT, b"", None, reverse=reverse)
        first = next(it)
        engine.put(CF_DEFAULT, b"bb", b"new")
        engine.delete(CF_DEFAULT, b"c" if not reverse else b"a")
        engine.put(CF_DEFAULT, b"b", b"changed")
        rest = list(it)
        if reverse:
            assert [first, *rest] == [(b"c", b"3"), (b"b", b"2"), (b"a", b"1")]
        else:
            assert [first, *rest] == [(b"a", b"1"), (b"b", b"2"), (b"c", b"3")]
        # restore
        engine.delete(CF_DEFAULT, b"bb")
        fill(engine, CF_DEFAULT, {b"a": b"1", b"b": b"2", b"c": b"3"})


def test_scan_many_keys_in_order(engine: Any) -> None:
    items = {i.to_bytes(4, "big"): b"%d" % i for i in range(0, 5000, 7)}
    fill(engine, CF_DEFAULT, items)
    want = sorted(items)
    assert scan_keys(engine, CF_DEFAULT, b"", None) == want
    assert scan_keys(engine, CF_DEFAULT, b"", None, reverse=True) == want[::-1]
    lo, hi = (1000).to_bytes(4, "big"), (2000).to_bytes(4, "big")
    assert scan_keys(engine, CF_DEFAULT, lo, hi) == [k for k in want if lo <= k < hi]
    assert scan_keys(engine, CF_DEFAULT, lo, hi, reverse=True, limit=5) == [k for k in want if lo <= k < hi][::-1][:5]


def test_two_scans_interleaved(engine: Any) -> None:
    keyed(engine)
    a = engine.scan(CF_DEFAULT, b"", None)
    b = engine.scan(CF_DEFAULT, b"", None, reverse=True)
    got_a, got_b = [], []
    for _ in range(len(KEYS)):
        got_a.append(next(a)[0])
        got_b.append(next(b)[0])
    assert got_a == KEYS and got_b == KEYS[::-1]
    assert next(a, None) is None and next(b, None) is None


# Write batches.


def test_write_batch_is_atomic_and_invisible_until_written(engine: Any) -> None:
    engine.put(CF_DEFAULT, b"gone", b"x")
    batch = engine.write_batch()
    batch.put(CF_DEFAULT, b"a", b"1")
    batch.put(CF_WRITE, b"b", b"2")
    batch.delete(CF_DEFAULT, b"gone")
    assert engine.get(CF_DEFAULT, b"a") is None
    assert engine.get(CF_DEFAULT, b"gone") == b"x"
    engine.write(batch)
    assert engine.get(CF_DEFAULT, b"a") == b"1"
    assert engine.get(CF_WRITE, b"b") == b"2"
    assert engine.get(CF_DEFAULT, b"gone") is None


def test_write_batch_applies_in_order(engine: Any) -> None:
    keyed(engine)
    batch = engine.write_batch()
    batch.put(CF_DEFAULT, b"x", b"1")
    batch.delete(CF_DEFAULT, b"x")  # put then delete: gone
    batch.delete(CF_DEFAULT, b"y")
    batch.put(CF_DEFAULT, b"y", b"2")  # delete then put: there
    batch.delete_range(CF_DEFAULT, b"a", b"b")
    batch.put(CF_DEFAULT, b"ab", b"again")  # put into a range deleted earlier in the batch: there
    batch.put(CF_DEFAULT, b"k", b"1")
    batch.put(CF_DEFAULT, b"k", b"2")  # last put wins
    engine.write(batch)
    assert engine.get(CF_DEFAULT, b"x") is None
    assert engine.get(CF_DEFAULT, b"y") == b"2"
    assert engine.get(CF_DEFAULT, b"k") == b"2"
    assert scan_keys(engine, CF_DEFAULT, b"a", b"b") == [b"ab"]
    assert engine.get(CF_DEFAULT, b"ab") == b"again"


def test_write_batch_count_size_clear(engine: Any) -> None:
    batch: WriteBatch = engine.write_batch()
    assert batch.is_empty() and batch.count() == 0 and batch.data_size() == 0
    batch.put(CF_DEFAULT, b"key", b"value")  # 3 + 5
    batch.delete(CF_LOCK, b"k2")  # 2
    batch.delete_range(CF_WRITE, b"a", b"bb")  # 1 + 2
    assert not batch.is_empty()
    assert batch.count() == 3
    assert batch.data_size() == 13
    batch.clear()
    assert batch.is_empty() and batch.count() == 0 and batch.data_size() == 0
    engine.write(batch)  # an empty batch is a valid write
    assert list(engine.scan(CF_DEFAULT, b"", None)) == []
    batch.put(CF_DEFAULT, b"reused", b"1")
    engine.write(batch)
    assert engine.get(CF_DEFAULT, b"reused") == b"1"


def test_cleared_batch_writes_nothing(engine: Any) -> None:
    batch = engine.write_batch()
    batch.put(CF_DEFAULT, b"a", b"1")
    batch.clear()
    batch.put(CF_DEFAULT, b"b", b"2")
    engine.write(batch)
    assert engine.get(CF_DEFAULT, b"a") is None
    assert engine.get(CF_DEFAULT, b"b") == b"2"


def test_batch_written_twice_applies_twice(engine: Any) -> None:
    batch = engine.write_batch()
    batch.put(CF_DEFAULT, b"a", b"1")
    engine.write(batch)
    engine.delete(CF_DEFAULT, b"a")
    engine.write(batch)
    assert engine.get(CF_DEFAULT, b"a") == b"1"
    assert batch.count() == 1


def test_batch_of_another_engine_is_refused(new_engine: EngineFactory) -> None:
    e1, e2 = new_engine(), new_engine()
    batch = e1.write_batch()
    batch.put(CF_DEFAULT, b"a", b"1")
    with pytest.raises(WrongWriteBatchError):
        e2.write(batch)
    with pytest.raises(TypeError):
        e2.write(object())
    assert e2.get(CF_DEFAULT, b"a") is None
    e1.write(batch)
    assert e1.get(CF_DEFAULT, b"a") == b"1"


def test_write_batch_is_a_write_batch_protocol(engine: Any) -> None:
    batch = engine.write_batch()
    for name in ("put", "delete", "delete_range", "count", "data_size", "is_empty", "clear"):
        assert callable(getattr(batch, name))


# Stats.


def test_stats_count_writes(engine: Any) -> None:
    stats = engine.stats
    assert (stats.writes, stats.synced_writes, stats.bytes_written) == (0, 0, 0)
    batch = engine.write_batch()
    batch.put(CF_DEFAULT, b"ab", b"cde")
    batch.put(CF_RAFT, b"x", b"")
    engine.write(batch)
    assert (stats.writes, stats.synced_writes, stats.bytes_written) == (1, 0, 6)
    engine.write(batch, sync=True)
    assert (stats.writes, stats.synced_writes, stats.bytes_written) == (2, 1, 12)
    engine.write(engine.write_batch(), sync=True)
    assert (stats.writes, stats.synced_writes, stats.bytes_written) == (3, 2, 12)
    engine.put(CF_DEFAULT, b"k", b"vv")
    engine.delete(CF_DEFAULT, b"k")
    engine.delete_range(CF_DEFAULT, b"a", b"b")
    assert (stats.writes, stats.synced_writes, stats.bytes_written) == (6, 2, 12 + 3 + 1 + 2)
    engine.get(CF_DEFAULT, b"k")
    list(engine.scan(CF_DEFAULT, b"", None))
    engine.snapshot()
    engine.sync_wal()
    assert (stats.writes, stats.synced_writes, stats.bytes_written) == (6, 2, 18)


def test_sync_wal(engine: Any) -> None:
    engine.put(CF_DEFAULT, b"a", b"1")
    engine.sync_wal()
    assert engine.get(CF_DEFAULT, b"a") == b"1"


# Snapshots.


def test_snapshot_isolation(engine: Any) -> None:
    keyed(engine)
    fill(engine, CF_WRITE, {b"w": b"1"})
    snap = engine.snapshot()
    engine.put(CF_DEFAULT, b"an", b"x")
    engine.put(CF_DEFAULT, b"a", b"changed")
    engine.delete(CF_DEFAULT, b"b")
    engine.delete_range(CF_DEFAULT, b"c", b"\xff\xff\xff")
    engine.delete(CF_WRITE, b"w")
    engine.put(CF_LOCK, b"l", b"1")
    assert snap.get(CF_DEFAULT, b"an") is None
    assert snap.get(CF_DEFAULT, b"a") == b"va"
    assert snap.get(CF_DEFAULT, b"b") == b"vb"
    assert snap.get(CF_WRITE, b"w") == b"1"
    assert snap.get(CF_LOCK, b"l") is None
    assert scan_keys(snap, CF_DEFAULT, b"", None) == KEYS
    assert scan_keys(snap, CF_DEFAULT, b"", None, reverse=True) == KEYS[::-1]
    assert scan_keys(snap, CF_LOCK, b"", None) == []
    assert engine.get(CF_DEFAULT, b"a") == b"changed"
    assert scan_keys(engine, CF_DEFAULT, b"", None) == [b"", b"\x00", b"a", b"a\x00", b"ab", b"an", b"ba"]


def test_snapshot_scan_bounds_reverse_limit(engine: Any) -> None:
    keyed(engine)
    snap = engine.snapshot()
    engine.delete_range(CF_DEFAULT, b"", b"\xff\xff\xff")
    assert scan_keys(snap, CF_DEFAULT, b"a", b"b") == [b"a", b"a\x00", b"ab"]
    assert scan_keys(snap, CF_DEFAULT, b"a", b"b", reverse=True) == [b"ab", b"a\x00", b"a"]
    assert scan_keys(snap, CF_DEFAULT, b"a", b"b\x00", reverse=True) == [b"b", b"ab", b"a\x00", b"a"]
    assert scan_keys(snap, CF_DEFAULT, b"a", None, limit=2) == [b"a", b"a\x00"]
    assert scan_keys(snap, CF_DEFAULT, b"a", None, limit=0) == []
    assert scan_keys(snap, CF_DEFAULT, b"", None, limit=2, reverse=True) == [b"\xff\xff", b"\xff"]
    assert scan_keys(snap, CF_DEFAULT, b"c", b"a") == []
    assert scan_keys(snap, CF_DEFAULT, b"c", b"a", reverse=True) == []
    assert scan_keys(snap, CF_DEFAULT, b"aa", b"ac", reverse=True) == [b"ab"]
    assert scan_keys(snap, CF_DEFAULT, b"\xff\xff\x00", None) == []
    assert scan_keys(snap, CF_DEFAULT, b"", b"") == []
    assert dict(snap.scan(CF_DEFAULT, b"b", b"c")) == {b"b": b"vb", b"ba": b"vba"}


def test_snapshot_scans_and_gets_interleaved(engine: Any) -> None:
    keyed(engine)
    snap = engine.snapshot()
    engine.delete_range(CF_DEFAULT, b"", b"\xff\xff\xff")
    fwd = snap.scan(CF_DEFAULT, b"", None)
    rev = snap.scan(CF_DEFAULT, b"a", b"c", reverse=True)
    part = snap.scan(CF_DEFAULT, b"ab", b"ba")
    got_f: list[bytes] = []
    got_r: list[bytes] = []
    got_p: list[bytes] = []
    for _ in range(len(KEYS) + 2):
        for it, out in ((fwd, got_f), (rev, got_r), (part, got_p)):
            kv = next(it, None)
            if kv is not None:
                out.append(kv[0])
        assert snap.get(CF_DEFAULT, b"c") == b"vc"
        assert snap.get(CF_DEFAULT, b"missing") is None
    assert got_f == KEYS
    assert got_r == [b"ba", b"b", b"ab", b"a\x00", b"a"]
    assert got_p == [b"ab", b"b"]


def test_snapshots_are_independent(engine: Any) -> None:
    engine.put(CF_DEFAULT, b"k", b"1")
    s1 = engine.snapshot()
    engine.put(CF_DEFAULT, b"k", b"2")
    s2 = engine.snapshot()
    engine.delete(CF_DEFAULT, b"k")
    assert s1.get(CF_DEFAULT, b"k") == b"1"
    assert s2.get(CF_DEFAULT, b"k") == b"2"
    assert engine.get(CF_DEFAULT, b"k") is None
    assert list(s1.scan(CF_DEFAULT, b"", None)) == [(b"k", b"1")]
    assert list(s2.scan(CF_DEFAULT, b"", None)) == [(b"k", b"2")]


def test_snapshot_is_consistent_across_cfs_with_a_batch(engine: Any) -> None:
    batch = engine.write_batch()
    for cf in ALL_CFS:
        batch.put(cf, b"k", b"1")
    engine.write(batch)
    snap = engine.snapshot()
    batch = engine.write_batch()
    for cf in ALL_CFS:
        batch.put(cf, b"k", b"2")
    engine.write(batch)
    assert [snap.get(cf, b"k") for cf in ALL_CFS] == [b"1"] * 4
    assert [engine.get(cf, b"k") for cf in ALL_CFS] == [b"2"] * 4


# Closed engines.


def test_close_is_idempotent_and_everything_after_raises(engine: Any) -> None:
    engine.put(CF_DEFAULT, b"a", b"1")
    batch = engine.write_batch()
    batch.put(CF_DEFAULT, b"b", b"2")
    engine.close()
    engine.close()
    assert engine.closed
    ops: list[Callable[[], object]] = [
        lambda: engine.get(CF_DEFAULT, b"a"),
        lambda: engine.put(CF_DEFAULT, b"a", b"1"),
        lambda: engine.delete(CF_DEFAULT, b"a"),
        lambda: engine.delete_range(CF_DEFAULT, b"a", b"b"),
        lambda: engine.scan(CF_DEFAULT, b"", None),
        lambda: engine.write_batch(),
        lambda: engine.write(batch),
        lambda: engine.write(batch, sync=True),
        lambda: engine.snapshot(),
        lambda: engine.sync_wal(),
        lambda: batch.put(CF_DEFAULT, b"c", b"3"),
    ]
    for op in ops:
        with pytest.raises(EngineClosedError):
            op()
    assert issubclass(EngineClosedError, EngineError)


def test_snapshot_and_unfinished_scan_of_a_closed_engine_raise(engine: Any) -> None:
    keyed(engine)
    snap = engine.snapshot()
    scan = engine.scan(CF_DEFAULT, b"", None)
    snap_scan = snap.scan(CF_DEFAULT, b"", None)
    next(scan)
    next(snap_scan)
    engine.close()
    with pytest.raises(EngineClosedError):
        snap.get(CF_DEFAULT, b"a")
    with pytest.raises(EngineClosedError):
        snap.scan(CF_DEFAULT, b"", None)
    with pytest.raises(EngineClosedError):
        next(scan)
    with pytest.raises(EngineClosedError):
        next(snap_scan)


def test_finished_scan_of_a_closed_engine_stays_finished(engine: Any) -> None:
    engine.put(CF_DEFAULT, b"a", b"1")
    scan = engine.scan(CF_DEFAULT, b"", None)
    assert list(scan) == [(b"a", b"1")]
    engine.close()
    assert next(scan, None) is None


def test_context_manager_closes(engine: Any) -> None:
    with engine as e:
        e.put(CF_DEFAULT, b"a", b"1")
    assert engine.closed
    with pytest.raises(EngineClosedError):
        engine.get(CF_DEFAULT, b"a")


# A model check: random operations on the engine and on a dict per CF agree, snapshots included.

CFS2 = [CF_DEFAULT, CF_WRITE]
small_keys = st.binary(max_size=3)
ops = st.lists(
    st.one_of(
        st.tuples(st.just("put"), st.sampled_from(CFS2), small_keys, st.binary(max_size=4)),
        st.tuples(st.just("delete"), st.sampled_from(CFS2), small_keys, st.just(b"")),
        st.tuples(st.just("delete_range"), st.sampled_from(CFS2), small_keys, small_keys),
        st.tuples(st.just("batch"), st.sampled_from(CFS2), small_keys, small_keys),
        st.tuples(st.just("snapshot"), st.just(CF_DEFAULT), st.just(b""), st.just(b"")),
    ),
    max_size=40,
)


def model_scan(model: dict[bytes, bytes], start: bytes, end: bytes | None, reverse: bool, limit: int | None) -> list:
    got = sorted((k, v) for k, v in model.items() if start <= k and (end is None or k < end))
    if reverse:
        got.reverse()
    return got if limit is None else got[:limit]


def check_against_model(r: Any, models: dict[str, dict[bytes, bytes]], bounds: list[tuple[bytes, bytes | None]]) -> None:
    for cf, model in models.items():
        for start, end in bounds:
            for reverse in (False, True):
                for limit in (None, 2):
                    want = model_scan(model, start, end, reverse, limit)
                    assert list(r.scan(cf, start, end, reverse=reverse, limit=limit)) == want
        for k in list(model)[:5] + [b"\x00\x01\x02\x03"]:
            assert r.get(cf, k) == model.get(k)


@pytest.mark.parametrize("kind", KINDS)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ops=ops, bounds=st.lists(st.tuples(small_keys, st.one_of(st.none(), small_keys)), min_size=1, max_size=3))
def test_engine_matches_model(kind: str, ops: list[tuple[str, str, bytes, bytes]], bounds: list) -> None:
    with tempfile.TemporaryDirectory() as d:
        engine = make_engine(kind, Path(d) / "db")
        try:
            models: dict[str, dict[bytes, bytes]] = {cf: {} for cf in CFS2}
            snaps: list[tuple[Any, dict[str, dict[bytes, bytes]]]] = []
            for op, cf, a, b in ops:
                m = models[cf]
                if op == "put":
                    engine.put(cf, a, b)
                    m[a] = b
                elif op == "delete":
                    engine.delete(cf, a)
                    m.pop(a, None)
                elif op == "delete_range":
                    engine.delete_range(cf, a, b)
                    for k in [k for k in m if a <= k < b]:
                        del m[k]
                elif op == "batch":
                    batch = engine.write_batch()
                    batch.put(cf, a, b"1")
                    batch.delete_range(cf, a, b)
                    batch.put(cf, b, a)
                    engine.write(batch, sync=len(a) == 1)
                    m[a] = b"1"
                    for k in [k for k in m if a <= k < b]:
                        del m[k]
                    m[b] = a
                else:
                    snaps.append((engine.snapshot(), {c: dict(mm) for c, mm in models.items()}))
            check_against_model(engine, models, bounds)
            for snap, frozen in snaps:
                check_against_model(snap, frozen, bounds)
        finally:
            engine.close()


def test_write_batch_put_many_is_put_in_order(engine: Any) -> None:
    """put_many stages every pair in order, counted like single puts; a later pair overrides an earlier one."""
    wb = engine.write_batch()
    wb.put_many(CF_DEFAULT, [(b"a", b"1"), (b"b", b"2"), (b"a", b"3")])
    assert (wb.count(), wb.data_size()) == (3, 6)
    engine.write(wb, sync=True)
    assert (engine.get(CF_DEFAULT, b"a"), engine.get(CF_DEFAULT, b"b")) == (b"3", b"2")


# A failed batch operation leaves the batch as it was.

# BAD_OPS: batch operations that raise TypeError, some after staging part of their input.
BAD_OPS: dict[str, Callable[[Any], None]] = {
    "put_many, second item bad": lambda wb: wb.put_many(CF_DEFAULT, [(b"p1", b"1"), ("p2", b"2")]),
    "put_many, last value bad": lambda wb: wb.put_many(CF_DEFAULT, [(b"p1", b"1"), (b"p2", b"2"), (b"p3", 3)]),
    "put_many, malformed pair": lambda wb: wb.put_many(CF_DEFAULT, [(b"p1", b"1"), (b"p2",)]),
    "put, bad value": lambda wb: wb.put(CF_DEFAULT, b"p1", "1"),
    "delete, bad key": lambda wb: wb.delete(CF_DEFAULT, "p1"),
    "delete_range, bad end": lambda wb: wb.delete_range(CF_DEFAULT, b"a", "z"),
}


@pytest.mark.parametrize("consumed", [False, True], ids=["fresh", "written-before"])
@pytest.mark.parametrize("op", list(BAD_OPS))
def test_failed_batch_operation_leaves_the_batch_as_it_was(engine: Any, op: str, consumed: bool) -> None:
    wb = engine.write_batch()
    wb.put(CF_DEFAULT, b"a", b"1")
    if consumed:
        engine.write(wb)  # the batch is kept after a write; RocksWriteBatch rebuilds its rocksdict batch
    with pytest.raises((TypeError, ValueError)):
        BAD_OPS[op](wb)
    assert (wb.count(), wb.data_size(), wb.is_empty()) == (1, 2, False)
    wb.put_many(CF_DEFAULT, [(b"z", b"26")])
    assert (wb.count(), wb.data_size()) == (2, 5)
    engine.write(wb)
    assert list(engine.scan(CF_DEFAULT, b"", None)) == [(b"a", b"1"), (b"z", b"26")]


# A failed engine refuses every write until it is reopened.


def test_failed_engine_refuses_every_write_and_still_reads(engine: Any, tmp_path: Path) -> None:
    engine.put(CF_DEFAULT, b"k", b"v")
    batch = engine.write_batch()
    batch.put(CF_DEFAULT, b"k2", b"v2")
    sst = str(tmp_path / "k3.sst")
    writer = engine.sst_writer(CF_DEFAULT, sst)
    writer.put(b"k3", b"v3")
    writer.finish()
    assert engine.failed is None
    engine.fail("write: IO error: No space left on device")
    engine.fail("a later failure")  # the first one is kept
    assert engine.failed == "write: IO error: No space left on device"
    writes: list[Callable[[], None]] = [
        lambda: engine.write(batch, sync=True),
        lambda: engine.write(engine.write_batch()),
        lambda: engine.put(CF_DEFAULT, b"k", b"x"),
        lambda: engine.delete(CF_DEFAULT, b"k"),
        lambda: engine.delete_range(CF_DEFAULT, b"a", b"z"),
        engine.sync_wal,
        lambda: engine.ingest_sst(CF_DEFAULT, [sst]),
    ]
    for write in writes:
        with pytest.raises(EngineFailedError, match="failed earlier \\(write: IO error: No space left on device\\)"):
            write()
    assert engine.stats.writes == 1
    assert engine.get(CF_DEFAULT, b"k") == b"v"
    assert list(engine.scan(CF_DEFAULT, b"", None)) == [(b"k", b"v")]
    assert engine.snapshot().get(CF_DEFAULT, b"k2") is None
    engine.close()
    with pytest.raises(EngineClosedError):  # closed wins over failed
        engine.put(CF_DEFAULT, b"k", b"v")


@pytest.mark.parametrize("kind", KINDS)
def test_engines_fail_stops_both_engines(kind: str, tmp_path: Path) -> None:
    engines = open_engines(tmp_path / "db") if kind == "rocks" else memory_engines()
    with engines:
        engines.raft.put(CF_DEFAULT, b"r", b"1")
        assert engines.failed is None
        engines.fail("write round of 3 tasks failed: disk full")
        assert engines.failed == engines.kv.failed == engines.raft.failed
        for engine in (engines.kv, engines.raft):
            with pytest.raises(EngineFailedError, match="disk full"):
                engine.put(CF_DEFAULT, b"k", b"v")
        assert engines.raft.get(CF_DEFAULT, b"r") == b"1"
    if kind == "rocks":
        with open_engines(tmp_path / "db") as engines:  # reopened: writable again
            assert engines.failed is None
            engines.kv.put(CF_DEFAULT, b"k", b"v")
            assert engines.raft.get(CF_DEFAULT, b"r") == b"1"

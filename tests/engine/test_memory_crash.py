"""MemEngine(track_sync=True): a crash keeps what was synced (and everything written before it), and drops
exactly the writes made without sync after the last synced one."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from raftstore.engine import ALL_CFS, CF_DEFAULT, CF_RAFT, EngineClosedError, MemEngine

Op = Callable[[MemEngine], None]


def batch(*ops: tuple[str, bytes, bytes | None], sync: bool) -> Op:
    """batch: a write of puts (value) and deletes (None), with or without sync."""

    def run(engine: MemEngine) -> None:
        wb = engine.write_batch()
        for cf, key, value in ops:
            if value is None:
                wb.delete(cf, key)
            else:
                wb.put(cf, key, value)
        engine.write(wb, sync=sync)

    return run


def delete_range_batch(start: bytes, end: bytes, sync: bool) -> Op:
    def run(engine: MemEngine) -> None:
        wb = engine.write_batch()
        wb.delete_range(CF_DEFAULT, start, end)
        engine.write(wb, sync=sync)

    return run


def contents(engine: MemEngine) -> dict[tuple[str, bytes], bytes]:
    return {(cf, k): v for cf in ALL_CFS for k, v in engine.scan(cf, b"", None)}


D = CF_DEFAULT
# CASES: (name, writes, what the engine holds after crash()).
CASES: list[tuple[str, list[Op], dict[tuple[str, bytes], bytes]]] = [
    ("nothing written", [], {}),
    ("synced write kept", [batch((D, b"a", b"1"), sync=True)], {(D, b"a"): b"1"}),
    ("unsynced write dropped", [batch((D, b"a", b"1"), sync=False)], {}),
    (
        "a sync makes earlier unsynced writes durable (one WAL)",
        [batch((D, b"a", b"1"), sync=False), batch((CF_RAFT, b"b", b"2"), sync=True)],
        {(D, b"a"): b"1", (CF_RAFT, b"b"): b"2"},
    ),
    (
        "an overwrite after the sync is undone to the synced value",
        [batch((D, b"a", b"1"), sync=True), batch((D, b"a", b"2"), sync=False), batch((D, b"a", b"3"), sync=False)],
        {(D, b"a"): b"1"},
    ),
    (
        "an unsynced delete is undone",
        [batch((D, b"a", b"1"), (D, b"b", b"2"), sync=True), batch((D, b"a", None), sync=False)],
        {(D, b"a"): b"1", (D, b"b"): b"2"},
    ),
    (
        "an unsynced delete_range is undone",
        [batch((D, b"a", b"1"), (D, b"b", b"2"), (D, b"c", b"3"), sync=True), delete_range_batch(b"a", b"c", sync=False)],
        {(D, b"a"): b"1", (D, b"b"): b"2", (D, b"c"): b"3"},
    ),
    (
        "put, delete, delete_range without a batch are volatile",
        [
            batch((D, b"a", b"1"), (D, b"b", b"2"), sync=True),
            lambda e: e.put(D, b"c", b"3"),
            lambda e: e.delete(D, b"a"),
            lambda e: e.delete_range(D, b"b", b"z"),
        ],
        {(D, b"a"): b"1", (D, b"b"): b"2"},
    ),
    (
        "sync_wal makes everything before it durable",
        [batch((D, b"a", b"1"), sync=False), lambda e: e.sync_wal(), batch((D, b"b", b"2"), sync=False)],
        {(D, b"a"): b"1"},
    ),
    (
        "a key written in the same batch twice is undone to its value before the batch",
        [batch((D, b"a", b"0"), sync=True), batch((D, b"a", b"1"), (D, b"a", b"2"), (D, b"a", None), sync=False)],
        {(D, b"a"): b"0"},
    ),
]


@pytest.mark.parametrize(("writes", "expect"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_crash_keeps_exactly_the_synced_writes(writes: list[Op], expect: dict[tuple[str, bytes], bytes]) -> None:
    engine = MemEngine(ALL_CFS, track_sync=True)
    for write in writes:
        write(engine)
    engine.crash()
    assert contents(engine) == expect
    assert engine.volatile_writes == 0
    engine.crash()  # a second crash has nothing left to drop
    assert contents(engine) == expect


def test_volatile_writes_counts_undo_records() -> None:
    engine = MemEngine(ALL_CFS, track_sync=True)
    batch((D, b"a", b"1"), (D, b"b", b"2"), sync=False)(engine)
    assert engine.volatile_writes == 2
    batch((D, b"c", b"3"), sync=True)(engine)
    assert engine.volatile_writes == 0


def test_snapshot_taken_before_a_crash_keeps_what_it_saw() -> None:
    engine = MemEngine(ALL_CFS, track_sync=True)
    batch((D, b"a", b"1"), sync=False)(engine)
    snap = engine.snapshot()
    engine.crash()
    assert snap.get(D, b"a") == b"1"
    assert engine.get(D, b"a") is None


def test_crash_clears_a_failure_and_the_engine_writes_again() -> None:
    engine = MemEngine(ALL_CFS, track_sync=True)
    batch((D, b"a", b"1"), sync=True)(engine)
    engine.fail("disk gone")
    engine.crash()
    assert engine.failed is None
    batch((D, b"b", b"2"), sync=True)(engine)
    assert contents(engine) == {(D, b"a"): b"1", (D, b"b"): b"2"}


def test_ingested_keys_are_durable_other_volatile_writes_are_not(tmp_path: object) -> None:
    engine = MemEngine(ALL_CFS, track_sync=True)
    batch((D, b"a", b"0"), sync=True)(engine)
    batch((D, b"a", b"1"), (D, b"b", b"1"), sync=False)(engine)
    path = f"{tmp_path}/one.sst"
    writer = engine.sst_writer(D, path)
    writer.put(b"a", b"ingested")
    writer.finish()
    engine.ingest_sst(D, [path])
    engine.crash()
    assert contents(engine) == {(D, b"a"): b"ingested"}


def test_crash_refused_without_tracking_or_once_closed() -> None:
    with pytest.raises(ValueError, match="track_sync"):
        MemEngine(ALL_CFS).crash()
    engine = MemEngine(ALL_CFS, track_sync=True)
    engine.close()
    with pytest.raises(EngineClosedError):
        engine.crash()


def test_untracked_engine_keeps_unsynced_writes() -> None:
    engine = MemEngine(ALL_CFS)
    batch((D, b"a", b"1"), sync=False)(engine)
    assert engine.volatile_writes == 0
    assert engine.get(D, b"a") == b"1"

"""Damaged region data is reported as corruption of that region, never as a compacted or empty log.

Engine read failures are injected with FaultyMemEngine (a MemEngine whose reads raise the engine's own
CorruptionError / EngineIOError): what is checked is PeerStorage's conversion of them. Holes, missing tails
and misplaced entries are made in a real RocksDB raft engine by deleting or overwriting log keys.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from raftstore.engine import keys
from raftstore.engine.base import ALL_CFS, CF_DEFAULT
from raftstore.engine.engines import Engines
from raftstore.engine.errors import CorruptionError, EngineError, EngineIOError
from raftstore.engine.memory import MemEngine
from raftstore.raft.errors import CompactedError, InvariantError, StorageError
from raftstore.store import (
    PeerStorage,
    RegionCorruptionError,
    StoreError,
    load_region_states,
    write_initial_states,
)

from .helpers import GARBAGE, new_entry, new_region, new_storage_from_ents, plain

RID = 4321  # a region id no index or term in these tests spells


class FaultyMemEngine(MemEngine):
    """FaultyMemEngine: a MemEngine whose reads raise `error` once it is set: every get, and every scan
    after it has yielded `after` rows (a scan that RocksDB stops early)."""

    def __init__(self, cfs: tuple[str, ...], name: str) -> None:
        super().__init__(cfs, name=name)
        self.error: EngineError | None = None
        self.after = 0

    def get(self, cf: str, key: bytes) -> bytes | None:
        if self.error is not None:
            raise self.error
        return super().get(cf, key)

    def scan(
        self, cf: str, start: bytes, end: bytes | None, *, reverse: bool = False, limit: int | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        rows = super().scan(cf, start, end, reverse=reverse, limit=limit)
        return rows if self.error is None else self._failing(rows, self.error)

    def _failing(self, rows: Iterator[tuple[bytes, bytes]], error: EngineError) -> Iterator[tuple[bytes, bytes]]:
        for n, row in enumerate(rows):
            if n == self.after:
                break
            yield row
        raise error


def faulty_engines() -> tuple[Engines, FaultyMemEngine, FaultyMemEngine]:
    kv = FaultyMemEngine(ALL_CFS, "kv")
    raft = FaultyMemEngine((CF_DEFAULT,), "raft")
    return Engines(kv, raft), kv, raft


# A log truncated at 3 with entries 4..20 (term 4), none cached: every read goes to the raft engine.
LOG = [new_entry(3, 3)] + [new_entry(i, 4, b"d%d" % i) for i in range(4, 21)]

ENGINE_FAULTS = [CorruptionError("Corruption: block checksum mismatch"), EngineIOError("IO error: read failed")]


def uncached_storage(engines: Engines) -> PeerStorage:
    store = new_storage_from_ents(engines, LOG, new_region(RID))
    store.compact_entry_cache(21)
    assert store.cache.is_empty()
    return store


def assert_names_region(err: RegionCorruptionError) -> None:
    assert err.region_id == RID and f"[region {RID}]" in str(err), str(err)


@pytest.mark.parametrize("fault", ENGINE_FAULTS, ids=["corruption", "io"])
@pytest.mark.parametrize(
    "read",
    [
        pytest.param(lambda s: s.entries(5, 8), id="entries by gets"),
        pytest.param(lambda s: s.entries(4, 21), id="entries by scan"),
        pytest.param(lambda s: s.entries(4, 21, 10), id="entries by scan, size-limited"),
        pytest.param(lambda s: s.term(9), id="term"),
    ],
)
def test_log_read_failure_is_region_corruption(fault: EngineError, read) -> None:  # type: ignore[no-untyped-def]
    """An engine CorruptionError / EngineIOError while reading the log is RegionCorruptionError naming the
    region: not StorageError, UnavailableError or CompactedError (the scan fails after 3 good rows)."""
    engines, _, raft = faulty_engines()
    store = uncached_storage(engines)
    raft.error, raft.after = fault, 3
    with pytest.raises(RegionCorruptionError) as info:
        read(store)
    assert_names_region(info.value)
    assert info.value.__cause__ is fault


@pytest.mark.parametrize("engine", ["kv", "raft"])
def test_state_read_failure_is_region_corruption(engine: str) -> None:
    """Building a PeerStorage whose states cannot be read raises RegionCorruptionError naming the region."""
    engines, kv, raft = faulty_engines()
    uncached_storage(engines)
    (kv if engine == "kv" else raft).error = ENGINE_FAULTS[0]
    with pytest.raises(RegionCorruptionError) as info:
        PeerStorage(engines, new_region(RID), RID)
    assert_names_region(info.value)


def test_closed_engine_is_not_corruption(mem_engines: Engines) -> None:
    """A closed engine is not damage: entries() raises plain StorageError, term() StoreError."""
    store = uncached_storage(mem_engines)
    mem_engines.raft.close()
    for read, err in ((lambda: store.entries(5, 8), StorageError), (lambda: store.term(9), StoreError)):
        with pytest.raises(err) as info:
            read()
        assert not isinstance(info.value, (RegionCorruptionError, CompactedError))


@pytest.mark.parametrize("after, named", [(0, 0), (1, 2), (2, 5)])
def test_load_region_states_scan_failure_is_corruption(after: int, named: int) -> None:
    """A KV scan that RocksDB stops early is corruption (naming the last region read), never fewer regions."""
    engines, kv, _ = faulty_engines()
    for rid in (2, 5, 9):
        write_initial_states(engines, new_region(rid))
    assert [s.region.id for s in load_region_states(engines)] == [2, 5, 9]
    kv.error, kv.after = ENGINE_FAULTS[0], after
    with pytest.raises(RegionCorruptionError) as info:
        load_region_states(engines)
    assert info.value.region_id == named


# -- holes in the raft log (TiKV's fetch_entries_to) -------------------------------------------------


def put_raw(engines: Engines, index: int, raw: bytes | None) -> None:
    """put_raw overwrites (or, with None, deletes) the raft log key of `index` in region RID."""
    key = keys.raft_log_key(RID, index)
    if raw is None:
        engines.raft.delete(CF_DEFAULT, key)
    else:
        engines.raft.put(CF_DEFAULT, key, raw)


@pytest.mark.parametrize("lo, hi", [(5, 9), (5, 21)], ids=["gets", "scan"])
@pytest.mark.parametrize(
    "index, raw, want",
    [
        (5, None, CompactedError),  # the first entry missing: log GC ran under the reader
        (6, None, RegionCorruptionError),  # a hole after the first entry
        (8, None, RegionCorruptionError),  # a hole (the gets' last entry: a missing tail)
        (5, new_entry(6, 4).SerializeToString(), RegionCorruptionError),  # first key holds another entry
        (7, new_entry(9, 4).SerializeToString(), RegionCorruptionError),
        (7, GARBAGE, RegionCorruptionError),
    ],
    ids=["first missing", "hole", "hole at 8", "misplaced first", "misplaced", "garbage"],
)
def test_fetch_from_engine_gaps(engines: Engines, lo: int, hi: int, index: int, raw: bytes | None, want: type) -> None:
    """entries() from the engine: a missing first entry is CompactedError; a hole, a missing tail, an entry
    under another index's key or one that does not decode is RegionCorruptionError (never Unavailable)."""
    store = uncached_storage(engines)
    put_raw(engines, index, raw)
    with pytest.raises(want) as info:
        store.entries(lo, hi)
    if want is RegionCorruptionError:
        assert_names_region(info.value)


@pytest.mark.parametrize("hi", [9, 21])
def test_fetch_from_engine_missing_tail(engines: Engines, hi: int) -> None:
    """The entries at the end of the range missing (the last index says they exist) is corruption."""
    store = uncached_storage(engines)
    for i in range(hi - 2, hi):
        put_raw(engines, i, None)
    with pytest.raises(RegionCorruptionError) as info:
        store.entries(5, hi)
    assert f"entry {hi - 2} is missing" in str(info.value)


@pytest.mark.parametrize("hi", [9, 21])
def test_fetch_from_engine_size_cut_before_hole(engines: Engines, hi: int) -> None:
    """A size limit that stops before the hole returns the entries read, as TiKV does."""
    store = uncached_storage(engines)
    put_raw(engines, 6, None)
    assert plain(store.entries(5, hi, 0)) == plain([LOG[2]])


def test_term_of_missing_entry_is_invariant_error(engines: Engines) -> None:
    """term(i) for i in [first, last] whose entry is gone (and not cached) is a broken invariant, not a
    StorageError that raft could take for a term mismatch."""
    store = uncached_storage(engines)
    put_raw(engines, 9, None)
    assert store.term(8) == 4
    with pytest.raises(InvariantError) as info:
        store.term(9)
    assert "entry 9" in str(info.value)

"""Tests of PeerStorage on real RocksDB: TiKV's peer_storage.rs and entry_storage.rs unit tests, re-expressed.

Every test builds its storage with the helpers of tests/store/helpers.py (TiKV's new_storage / new_storage_from_ents):
region 1 bootstrapped at index/term 5, then the log truncated at ents[0] and holding ents[1:].
"""

from __future__ import annotations

import re
import time
from types import SimpleNamespace

import pytest
from .helpers import (
    GARBAGE,
    ReopenableEngines,
    append_ents,
    engine_entry,
    new_entry,
    new_peer,
    new_region,
    new_storage,
    new_storage_from_ents,
    plain,
    raft_log_indexes,
    scan_all,
    uninitialized_region,
)

from raftstore.engine import keys
from raftstore.engine.base import CF_DEFAULT, CF_RAFT
from raftstore.engine.engines import Engines
from raftstore.proto.eraftpb_pb2 import ConfState, Entry, HardState, Snapshot
from raftstore.proto.metapb_pb2 import PeerRole, Region
from raftstore.proto.raft_serverpb_pb2 import (
    PeerState,
    RaftApplyState,
    RaftLocalState,
    RaftSnapshotData,
    RegionLocalState,
)
from raftstore.raft import NO_LIMIT
from raftstore.raft.errors import CompactedError, InvariantError, SnapshotTemporarilyUnavailableError, StorageError
from raftstore.store import (
    MAX_SNAP_TRY_CNT,
    RAFT_INIT_LOG_INDEX,
    CompactLogError,
    GenSnapTask,
    InvalidStateError,
    PeerStorage,
    StoreError,
    TermCache,
    WriteTask,
    clear_meta,
    compact_raft_log,
    conf_state_from_region,
    load_region_states,
    write_initial_states,
    write_initial_states_many,
    write_tasks,
)

ENTS_345 = [new_entry(3, 3), new_entry(4, 4), new_entry(5, 5)]
ENTS_3456 = [new_entry(3, 3), new_entry(4, 4), new_entry(5, 5), new_entry(6, 6)]


def size_of(e: Entry) -> int:
    return e.ByteSize()


def limited(ents: list[Entry], max_size: int) -> list[Entry]:
    """limited is the oracle of a size limit: the first entry, then while the running size fits."""
    out: list[Entry] = []
    total = 0
    for e in ents:
        total += e.ByteSize()
        if out and total > max_size:
            break
        out.append(e)
    return out


def cached(store: PeerStorage) -> list[Entry]:
    """cached lists the entries in the storage's entry cache, oldest first."""
    first, last = store.cache.first_index(), store.cache.last_index()
    if first is None or last is None:
        return []
    out = []
    for i in range(first, last + 1):
        e = store.cache.entry(i)
        assert e is not None, f"entry cache has a hole at {i}"
        out.append(e)
    return out


def validate_cache(store: PeerStorage, exp: list[Entry]) -> None:
    """validate_cache: the entry cache holds exactly exp and each of them is durable in the raft engine."""
    assert plain(cached(store)) == plain(exp)
    for e in exp:
        assert engine_entry(store.engines, store.region.id, e.index) == e


def region_msg(msg: str, region_id: int) -> bool:
    return re.search(rf"(?<!\d){region_id}(?!\d)", msg) is not None


# -- term, entries --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "idx, wterm, werr",
    [(2, None, CompactedError), (3, 3, None), (4, 4, None), (5, 5, None), (6, None, StorageError)],
)
def test_storage_term(engines: Engines, idx: int, wterm: int | None, werr: type[Exception] | None) -> None:
    """term(): the truncated term at the truncated index, CompactedError below, StorageError above last."""
    store = new_storage_from_ents(engines, ENTS_345)
    if werr is None:
        assert store.term(idx) == wterm
    else:
        with pytest.raises(werr) as info:
            store.term(idx)
        if werr is StorageError:
            assert not isinstance(info.value, CompactedError)


_S = [size_of(e) for e in ENTS_3456]
ENTRIES_CASES = [
    (2, 6, NO_LIMIT, CompactedError),
    (3, 4, NO_LIMIT, CompactedError),
    (4, 5, NO_LIMIT, [(4, 4)]),
    (4, 6, NO_LIMIT, [(4, 4), (5, 5)]),
    (4, 7, NO_LIMIT, [(4, 4), (5, 5), (6, 6)]),
    (4, 7, None, [(4, 4), (5, 5), (6, 6)]),
    # even if max_size is zero, the first entry is returned
    (4, 7, 0, [(4, 4)]),
    (4, 7, _S[1] + _S[2], [(4, 4), (5, 5)]),
    (4, 7, _S[1] + _S[2] + _S[3] // 2, [(4, 4), (5, 5)]),
    (4, 7, _S[1] + _S[2] + _S[3] - 1, [(4, 4), (5, 5)]),
    (4, 7, _S[1] + _S[2] + _S[3], [(4, 4), (5, 5), (6, 6)]),
    (5, 7, 1, [(5, 5)]),
    (4, 4, NO_LIMIT, []),
    (7, 7, NO_LIMIT, []),
    (4, 8, NO_LIMIT, StorageError),
    (6, 5, NO_LIMIT, StorageError),
]


@pytest.mark.parametrize("cache_mode", ["engine", "split", "cache"])
@pytest.mark.parametrize("lo, hi, max_size, want", ENTRIES_CASES)
def test_storage_entries(engines: Engines, cache_mode: str, lo: int, hi: int, max_size, want) -> None:  # type: ignore[no-untyped-def]
    """entries(): range checks and size limits, read from the engine, engine + cache, or the cache alone."""
    store = new_storage_from_ents(engines, ENTS_3456)
    if cache_mode == "engine":
        store.compact_entry_cache(7)
        assert store.cache.is_empty()
    elif cache_mode == "split":
        store.compact_entry_cache(5)
        assert store.cache.first_index() == 5
    else:
        assert store.cache.first_index() == 4
    if isinstance(want, type):
        with pytest.raises(want) as info:
            store.entries(lo, hi, max_size)
        if want is StorageError:
            assert not isinstance(info.value, CompactedError)
        return
    got = store.entries(lo, hi, max_size)
    assert [(e.index, e.term) for e in got] == want


@pytest.mark.parametrize("cache_mode", ["engine", "cache"])
def test_storage_entries_hit_miss(engines: Engines, cache_mode: str) -> None:
    """entries() counts a cache hit when served from the cache and a miss when it reads the engine."""
    store = new_storage_from_ents(engines, ENTS_3456)
    if cache_mode == "engine":
        store.compact_entry_cache(7)
    hit0, miss0 = store.cache.hit, store.cache.miss
    assert plain(store.entries(4, 7)) == plain(ENTS_3456[1:])
    if cache_mode == "engine":
        assert (store.cache.hit - hit0, store.cache.miss - miss0) == (0, 1)
    else:
        assert (store.cache.hit - hit0, store.cache.miss - miss0) == (1, 0)


@pytest.mark.parametrize("split", [None, 4, 11, 20, 31])
@pytest.mark.parametrize("max_size", [0, 1, 100, 555, 1000, 2500, NO_LIMIT])
def test_storage_entries_long_range(engines: Engines, split: int | None, max_size: int) -> None:
    """entries() over a long range (the engine's scan path) honours max_size as the cache does."""
    ents = [new_entry(3, 3)] + [new_entry(i, 4 + i // 10, b"x" * (i * 7 % 53)) for i in range(4, 31)]
    store = new_storage_from_ents(engines, ents)
    if split is not None:
        store.compact_entry_cache(split)
        assert store.cache.first_index() == (split if split <= 30 else None)
    for lo, hi in [(4, 31), (4, 20), (13, 31), (5, 14)]:
        got = store.entries(lo, hi, max_size)
        assert plain(got) == plain(limited(ents[lo - 3 : hi - 3], max_size)), (lo, hi)


# -- append ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base, entries, wentries",
    [
        (ENTS_345, [(4, 6), (5, 6)], [(4, 6), (5, 6)]),
        (ENTS_345, [(4, 4), (5, 5), (6, 5)], [(4, 4), (5, 5), (6, 5)]),
        # truncate the existing entries and append
        (ENTS_345, [(4, 5)], [(4, 5)]),
        # direct append
        (ENTS_345, [(6, 5)], [(4, 4), (5, 5), (6, 5)]),
        # overwrite in the middle of a longer log: the whole stale tail goes
        ([new_entry(i, 3) for i in range(3, 11)], [(6, 7)], [(4, 3), (5, 3), (6, 7)]),
        ([new_entry(i, 3) for i in range(3, 11)], [(4, 8), (5, 8)], [(4, 8), (5, 8)]),
    ],
)
def test_storage_append(
    db: ReopenableEngines, base: list[Entry], entries: list[tuple[int, int]], wentries: list[tuple[int, int]]
) -> None:
    """append() overwrites a conflicting tail: the stale tail is gone after write_tasks and after a reopen."""
    store = new_storage_from_ents(db.engines, base, commit=3, applied=3)
    append_ents(store, [new_entry(i, t) for i, t in entries])
    li = store.last_index()
    assert li == wentries[-1][0]
    assert store.last_term() == wentries[-1][1]
    assert [(e.index, e.term) for e in store.entries(4, li + 1)] == wentries
    assert raft_log_indexes(db.engines, 1) == [i for i, _ in wentries]

    engines = db.reopen()
    again = PeerStorage(engines, store.region, 1)
    assert again.last_index() == li
    if li != RAFT_INIT_LOG_INDEX:
        # As TiKV's init_last_term, a reopened storage whose last index is RAFT_INIT_LOG_INDEX takes
        # RAFT_INIT_LOG_TERM without reading the log (only this test's truncation below 5 can tell).
        assert again.last_term() == wentries[-1][1]
    assert [(e.index, e.term) for e in again.entries(4, li + 1)] == wentries
    assert raft_log_indexes(engines, 1) == [i for i, _ in wentries]
    with pytest.raises(StorageError):
        again.entries(4, li + 2)


def test_storage_append_readable_before_write(db: ReopenableEngines) -> None:
    """append() makes entries readable at once (entry cache, last_index) but durable only after write_tasks."""
    store = new_storage_from_ents(db.engines, ENTS_345)
    task = WriteTask(1, 1, 2)
    store.append([new_entry(6, 6), new_entry(7, 6)], task)
    assert store.last_index() == 7 and store.last_term() == 6
    assert task.raft_state is not None and task.raft_state.last_index == 7
    assert plain(store.entries(4, 8)) == plain([*ENTS_345[1:], new_entry(6, 6), new_entry(7, 6)])
    assert store.term(6) == 6
    # Not durable yet: a storage built on the engines now sees the old log.
    assert PeerStorage(db.engines, store.region, 1).last_index() == 5
    assert raft_log_indexes(db.engines, 1) == [4, 5]
    write_tasks(db.engines, [task])
    store.on_persisted(task)
    assert PeerStorage(db.engines, store.region, 1).last_index() == 7
    assert raft_log_indexes(db.engines, 1) == [4, 5, 6, 7]


def test_storage_append_twice_in_one_task(db: ReopenableEngines) -> None:
    """Two appends staged in one task, the second overwriting the first, persist the second's log."""
    store = new_storage_from_ents(db.engines, [new_entry(i, 3) for i in range(3, 9)], commit=6, applied=6)
    task = WriteTask(1, 1, 2)
    store.append([new_entry(9, 4), new_entry(10, 4), new_entry(11, 4)], task)
    store.append([new_entry(7, 5)], task)
    write_tasks(db.engines, [task])
    store.on_persisted(task)
    assert raft_log_indexes(db.engines, 1) == [4, 5, 6, 7]
    again = PeerStorage(db.reopen(), store.region, 1)
    assert [(e.index, e.term) for e in again.entries(4, 8)] == [(4, 3), (5, 3), (6, 3), (7, 5)]
    assert again.last_term() == 5


def test_storage_state_visible_after_write(db: ReopenableEngines) -> None:
    """After write_tasks a new PeerStorage sees the entries, the hard state and the apply state."""
    store = new_storage_from_ents(db.engines, ENTS_345)
    task = WriteTask(1, 1, 2)
    store.append([new_entry(6, 7), new_entry(7, 7), new_entry(8, 7)], task)
    store.set_hard_state(HardState(term=7, vote=1, commit=7), task)
    store.apply_state.applied_index = 6
    store.save_apply_state_to(task)
    write_tasks(db.engines, [task])
    for reopen in (False, True):
        engines = db.reopen() if reopen else db.engines
        again = PeerStorage(engines, store.region, 1)
        assert again.raft_state == store.raft_state
        assert again.apply_state == store.apply_state
        assert again.hard_state() == HardState(term=7, vote=1, commit=7)
        assert again.initial_state().hard_state == HardState(term=7, vote=1, commit=7)
        assert again.applied_index() == 6 and again.applied_term() == 7
        assert (again.first_index(), again.last_index(), again.last_term()) == (4, 8, 7)
        assert plain(again.entries(4, 9)) == plain(store.entries(4, 9))


def test_handle_raft_ready(db: ReopenableEngines) -> None:
    """handle_raft_ready stages a Ready's entries and hard state into the task."""
    store = new_storage_from_ents(db.engines, ENTS_345)
    task = WriteTask(1, 1, 2)
    ready = SimpleNamespace(entries=[new_entry(6, 6)], hs=HardState(term=6, vote=1, commit=5), snapshot=None)
    store.handle_raft_ready(ready, task)  # type: ignore[arg-type]
    write_tasks(db.engines, [task])
    again = PeerStorage(db.engines, store.region, 1)
    assert again.last_index() == 6 and again.hard_state() == HardState(term=6, vote=1, commit=5)


# -- entry cache through the storage -----------------------------------------------------------------


def test_storage_cache_fetch(engines: Engines) -> None:
    """entries() reads the engine for an empty cache, the cache for cached entries, and both combined."""
    store = new_storage_from_ents(engines, ENTS_345)
    store.cache.clear()
    # empty cache: fetched from RocksDB directly
    assert plain(store.entries(4, 6)) == plain(ENTS_345[1:])

    entries = [new_entry(6, 5), new_entry(7, 5)]
    append_ents(store, entries)
    validate_cache(store, entries)
    # direct cache access
    assert plain(store.entries(6, 8)) == plain(entries)

    # size limits across engine and cache
    assert plain(store.entries(4, 8, 0)) == [(4, 4, b"")]
    size = sum(size_of(e) for e in ENTS_345[1:])
    exp = list(ENTS_345[1:])
    assert plain(store.entries(4, 8, size)) == plain(exp)
    for e in entries:
        size += size_of(e)
        exp.append(e)
        assert plain(store.entries(4, 8, size)) == plain(exp)
        assert plain(store.entries(4, 8, size + 1)) == plain(exp)

    # every range
    for low in range(4, 9):
        for high in range(low, 9):
            assert plain(store.entries(low, high)) == plain(exp[low - 4 : high - 4]), (low, high)


def test_storage_cache_update(engines: Engines) -> None:
    """append() keeps the cache equal to the log's tail through rewrites; compaction stops at persisted + 1."""
    store = new_storage_from_ents(engines, ENTS_345)
    store.cache.clear()

    # initial cache
    entries = [new_entry(6, 5), new_entry(7, 5)]
    append_ents(store, entries)
    validate_cache(store, entries)

    # rewrite
    entries = [new_entry(6, 6), new_entry(7, 6)]
    append_ents(store, entries)
    validate_cache(store, entries)

    # rewrite old entry
    entries = [new_entry(5, 6), new_entry(6, 6)]
    append_ents(store, entries)
    validate_cache(store, entries)

    # partial rewrite
    append_ents(store, [new_entry(6, 7), new_entry(7, 7)])
    exp = [new_entry(5, 6), new_entry(6, 7), new_entry(7, 7)]
    validate_cache(store, exp)

    # direct append
    entries = [new_entry(8, 7), new_entry(9, 7)]
    append_ents(store, entries)
    exp.extend(entries)
    validate_cache(store, exp)

    # rewrite middle
    append_ents(store, [new_entry(7, 8)])
    exp = exp[:2] + [new_entry(7, 8)]
    validate_cache(store, exp)
    assert raft_log_indexes(engines, 1) == [4, 5, 6, 7]

    # compact to min(5 + 1, 7)
    store.cache.update_persisted(5)
    store.compact_entry_cache(7)
    validate_cache(store, [new_entry(6, 7), new_entry(7, 8)])

    # compact to min(7 + 1, 7)
    store.cache.update_persisted(7)
    store.compact_entry_cache(7)
    validate_cache(store, [new_entry(7, 8)])
    # compact all
    store.compact_entry_cache(8)
    validate_cache(store, [])
    # an invalid compaction is ignored
    store.compact_entry_cache(6)
    validate_cache(store, [])
    assert plain(store.entries(4, 8)) == [(4, 4, b""), (5, 6, b""), (6, 7, b""), (7, 8, b"")]


def test_storage_cache_keeps_unpersisted(engines: Engines) -> None:
    """Compaction and eviction never drop entries that are appended but not yet persisted."""
    store = new_storage_from_ents(engines, ENTS_345)
    task = WriteTask(1, 1, 2)
    store.append([new_entry(6, 5), new_entry(7, 5)], task)
    store.compact_entry_cache(100)
    assert store.cache.first_index() == 6
    store.cache.evict(False)
    assert store.cache.first_index() == 6
    assert plain(store.entries(6, 8)) == plain([new_entry(6, 5), new_entry(7, 5)])
    write_tasks(engines, [task])
    store.on_persisted(task)
    store.compact_entry_cache(100)
    assert store.cache.is_empty()
    assert plain(store.entries(4, 8)) == plain([*ENTS_345[1:], new_entry(6, 5), new_entry(7, 5)])


def test_storage_overwrite_pending_then_persist_older(engines: Engines) -> None:
    """on_persisted of an older task does not mark entries persisted that a newer staged task overwrote."""
    store = new_storage_from_ents(engines, ENTS_345)
    t1 = WriteTask(1, 1, 2)
    store.append([new_entry(i, 5) for i in range(6, 11)], t1)
    t2 = WriteTask(1, 1, 3)
    store.append([new_entry(8, 6)], t2)
    write_tasks(engines, [t1])
    store.on_persisted(t1)
    # 8 (term 6) is not durable: compaction must keep it cached.
    store.compact_entry_cache(100)
    assert store.cache.first_index() == 8
    assert store.term(8) == 6 and store.last_index() == 8
    assert plain(store.entries(6, 9)) == [(6, 5, b""), (7, 5, b""), (8, 6, b"")]
    write_tasks(engines, [t2])
    store.on_persisted(t2)
    store.compact_entry_cache(100)
    assert store.cache.is_empty()
    assert plain(store.entries(6, 9)) == [(6, 5, b""), (7, 5, b""), (8, 6, b"")]
    assert raft_log_indexes(engines, 1) == [4, 5, 6, 7, 8]


def test_storage_overwrite_below_oldest_pending(engines: Engines) -> None:
    """A later unwritten task overwriting below an earlier unwritten one keeps its entries pinned in the cache."""
    store = new_storage_from_ents(engines, ENTS_345)
    t1 = WriteTask(1, 1, 2)
    store.append([new_entry(i, 5) for i in range(6, 11)], t1)
    t2 = WriteTask(1, 1, 3)
    store.append([new_entry(11, 5), new_entry(12, 5)], t2)
    t3 = WriteTask(1, 1, 4)
    store.append([new_entry(8, 7)], t3)
    write_tasks(engines, [t1])
    store.on_persisted(t1)
    store.compact_entry_cache(100)
    store.cache.evict(False)
    assert store.cache.first_index() == 8
    assert store.last_index() == 8 and store.term(8) == 7
    assert plain(store.entries(6, 9)) == [(6, 5, b""), (7, 5, b""), (8, 7, b"")]
    write_tasks(engines, [t2, t3])
    store.on_persisted(t2)
    store.on_persisted(t3)
    store.compact_entry_cache(100)
    assert store.cache.is_empty()
    assert plain(store.entries(6, 9)) == [(6, 5, b""), (7, 5, b""), (8, 7, b"")]
    assert raft_log_indexes(engines, 1) == [4, 5, 6, 7, 8]


def test_evict_cached_entries(engines: Engines) -> None:
    """evict(False) empties the cache up to the persisted index; each step frees one more entry."""
    store = new_storage_from_ents(engines, [new_entry(3, 3)])
    for i in range(4, 10):
        append_ents(store, [new_entry(i, 4)])
    store.cache.update_persisted(3)
    assert store.cache.first_index() == 4
    store.cache.evict(False)
    assert store.cache.first_index() == 4
    for persisted in range(4, 9):
        store.cache.update_persisted(persisted)
        store.cache.evict(False)
        assert store.cache.first_index() == persisted + 1
    store.cache.update_persisted(9)
    store.cache.evict(False)
    assert store.cache.first_index() is None
    assert store.cache.is_empty() and store.cache.mem_size == 0
    assert plain(store.entries(4, 10)) == plain([new_entry(i, 4) for i in range(4, 10)])


def test_evict_half(engines: Engines) -> None:
    """evict(True) drops the older half of a persisted cache (TiKV: up to and including entry len/2)."""
    store = new_storage_from_ents(engines, [new_entry(3, 3), *[new_entry(i, 4) for i in range(4, 10)]])
    assert store.cache.first_index() == 4 and len(store.cache) == 6
    freed = store.cache.evict(True)
    assert store.cache.first_index() == 8 and freed > 0
    assert plain(store.entries(4, 10)) == plain([new_entry(i, 4) for i in range(4, 10)])


def test_term_cache_does_not_cover_uncached_tail(engines: Engines) -> None:
    """A term cache that has only seen older terms must not answer for the tail once it leaves the cache."""
    ents = [new_entry(3, 3), new_entry(4, 4), new_entry(5, 4), new_entry(6, 5), new_entry(7, 5)]
    store = new_storage_from_ents(engines, ents)
    # a partial committed batch: only term 4 reached the term cache, the engine already has term 5 at 6
    store.term_cache = TermCache()
    store.term_cache.append(4, 4)
    assert store.term(6) == 5
    store.cache.evict(False)
    assert store.cache.is_empty()
    assert store.term(6) == 5
    assert store.term(4) == 4 and store.term(5) == 4


def test_storage_term_cache(engines: Engines) -> None:
    """term() answers from the term cache for committed entries that left the entry cache."""
    ents = [new_entry(3, 3)] + [new_entry(i, 4 if i < 8 else 5) for i in range(4, 12)]
    store = new_storage_from_ents(engines, ents)
    store.update_term_cache(ents[1:])
    store.cache.compact_to(12)
    assert store.cache.is_empty()
    for e in ents:
        assert store.term(e.index) == e.term
    # the term cache really answers: the engine is not read for these
    engines.raft.delete_range(CF_DEFAULT, *keys.raft_log_range(1, 4, 11))
    for e in ents[1:]:
        assert store.term(e.index) == e.term


# -- compaction -----------------------------------------------------------------------------------


@pytest.mark.parametrize("idx, ok", [(2, False), (3, False), (4, True), (5, True)])
def test_storage_compact(db: ReopenableEngines, idx: int, ok: bool) -> None:
    """compact: term() of a compacted index fails; compacting to the truncated index fails; above works."""
    store = new_storage_from_ents(db.engines, ENTS_345)
    before = RaftApplyState()
    before.CopyFrom(store.apply_state)
    try:
        term = store.term(idx)
        compact_raft_log(store.apply_state, idx, term)
    except (CompactedError, StoreError):
        assert not ok
        assert store.apply_state == before
        return
    assert ok
    assert (store.truncated_index(), store.truncated_term()) == (idx, idx)
    task = WriteTask(1, 1, 2)
    store.save_apply_state_to(task)
    write_tasks(db.engines, [task])
    again = PeerStorage(db.reopen(), store.region, 1)
    assert again.first_index() == idx + 1
    assert again.term(idx) == idx


@pytest.mark.parametrize(
    "index, term, reason",
    [
        (3, 3, "index <= truncated"),
        (2, 2, "index < truncated"),
        (6, 5, "index > applied"),
        (4, 0, "term 0"),
    ],
)
def test_compact_raft_log_errors(index: int, term: int, reason: str) -> None:
    """compact_raft_log raises a StoreError (CompactLogError) and leaves the apply state alone."""
    state = RaftApplyState(applied_index=5)
    state.truncated_state.index = 3
    state.truncated_state.term = 3
    before = RaftApplyState()
    before.CopyFrom(state)
    with pytest.raises(StoreError) as info:
        compact_raft_log(state, index, term)
    assert isinstance(info.value, CompactLogError)
    assert state == before, reason


def test_compact_raft_log_ok() -> None:
    """compact_raft_log moves only the truncated state, up to the applied index inclusive."""
    state = RaftApplyState(applied_index=9, commit_index=9, commit_term=4)
    state.truncated_state.index = 3
    state.truncated_state.term = 3
    compact_raft_log(state, 9, 4)
    assert (state.truncated_state.index, state.truncated_state.term) == (9, 4)
    assert (state.applied_index, state.commit_index, state.commit_term) == (9, 9, 4)


def test_storage_log_gc(db: ReopenableEngines) -> None:
    """compact_to + write_tasks deletes the log below the truncated index; the rest stays readable."""
    ents = [new_entry(i, 3 + i // 4) for i in range(3, 11)]
    store = new_storage_from_ents(db.engines, ents)
    assert raft_log_indexes(db.engines, 1) == list(range(4, 11))
    task = WriteTask(1, 1, 2)
    store.compact_to(7, store.term(7), task)
    # nothing deleted before the write
    assert raft_log_indexes(db.engines, 1) == list(range(4, 11))
    write_tasks(db.engines, [task])
    store.on_persisted(task)
    assert raft_log_indexes(db.engines, 1) == [8, 9, 10]
    for s in (store, PeerStorage(db.reopen(), store.region, 1)):
        assert (s.first_index(), s.last_index()) == (8, 10)
        assert (s.truncated_index(), s.truncated_term()) == (7, ents[4].term)
        assert s.term(7) == ents[4].term
        with pytest.raises(CompactedError):
            s.term(6)
        with pytest.raises(CompactedError):
            s.entries(7, 9)
        with pytest.raises(CompactedError):
            s.entries(4, 11)
        assert plain(s.entries(8, 11)) == plain(ents[5:])
    store = PeerStorage(db.engines, store.region, 1)

    # compact everything: the log is empty, the truncated state answers for the last index
    task = WriteTask(1, 1, 3)
    store.compact_to(10, store.term(10), task)
    write_tasks(db.engines, [task])
    assert raft_log_indexes(db.engines, 1) == []
    again = PeerStorage(db.reopen(), store.region, 1)
    for s in (store, again):
        assert (s.first_index(), s.last_index(), s.last_term()) == (11, 10, ents[-1].term)
        assert s.term(10) == ents[-1].term
        assert s.entries(11, 11) == []
    append_ents(again, [new_entry(11, 9)])
    assert plain(PeerStorage(db.reopen(), store.region, 1).entries(11, 12)) == [(11, 9, b"")]


def test_storage_log_gc_keeps_other_regions(engines: Engines) -> None:
    """Log GC of one region leaves another region's log untouched."""
    s1 = new_storage_from_ents(engines, [new_entry(i, 5) for i in range(5, 12)], new_region(1))
    s2 = new_storage_from_ents(engines, [new_entry(i, 5) for i in range(5, 12)], new_region(2))
    task = WriteTask(1, 1, 2)
    s1.compact_to(11, 5, task)
    write_tasks(engines, [task])
    assert raft_log_indexes(engines, 1) == []
    assert raft_log_indexes(engines, 2) == list(range(6, 12))
    assert plain(PeerStorage(engines, s2.region, 2).entries(6, 12)) == plain(s2.entries(6, 12))


# -- clear_meta, tombstone ------------------------------------------------------------------------


def meta_key_count(engines: Engines, region_id: int) -> int:
    """meta_key_count: TiKV's get_meta_key_count: meta and raft keys in CF_RAFT, log entries, raft state."""
    count = len(list(engines.kv.scan(CF_RAFT, *keys.region_meta_range(region_id))))
    count += len(list(engines.kv.scan(CF_RAFT, *keys.region_raft_range(region_id))))
    count += len(raft_log_indexes(engines, region_id))
    if engines.raft.get(CF_DEFAULT, keys.raft_state_key(region_id)) is not None:
        count += 1
    return count


@pytest.mark.parametrize("first_index", [0, 3, None])
def test_storage_clear_meta(engines: Engines, first_index: int | None) -> None:
    """clear_meta removes the region and apply states, the log and the raft state; other regions stay."""
    store = new_storage_from_ents(engines, [new_entry(3, 3), new_entry(4, 4)])
    append_ents(store, [new_entry(5, 5), new_entry(6, 6)])
    other = new_storage_from_ents(engines, [new_entry(3, 3), new_entry(4, 4)], new_region(2))
    assert meta_key_count(engines, 1) == 6
    assert meta_key_count(engines, 2) == 4
    task = WriteTask(1, 1, 2)
    if first_index is None:
        store.clear_meta(task)
    else:
        clear_meta(task, 1, first_index, store.raft_state)
    write_tasks(engines, [task])
    assert meta_key_count(engines, 1) == 0
    assert meta_key_count(engines, 2) == 4
    assert plain(PeerStorage(engines, other.region, 2).entries(4, 5)) == [(4, 4, b"")]


def test_storage_tombstone(db: ReopenableEngines) -> None:
    """tombstone clears the peer's meta and log and leaves a Tombstone region state."""
    store = new_storage_from_ents(db.engines, ENTS_3456)
    other = new_storage_from_ents(db.engines, ENTS_3456, new_region(2))
    before_other = meta_key_count(db.engines, 2)
    task = WriteTask(1, 1, 2)
    store.tombstone(task)
    assert store.cache.is_empty()
    write_tasks(db.engines, [task])
    engines = db.reopen()
    raw = engines.kv.get(CF_RAFT, keys.region_state_key(1))
    assert raw is not None
    state = RegionLocalState.FromString(raw)
    assert state.state == PeerState.Tombstone
    assert state.region == store.region
    assert engines.kv.get(CF_RAFT, keys.apply_state_key(1)) is None
    assert engines.raft.get(CF_DEFAULT, keys.raft_state_key(1)) is None
    assert raft_log_indexes(engines, 1) == []
    assert meta_key_count(engines, 1) == 1
    assert meta_key_count(engines, 2) == before_other
    assert PeerStorage(engines, other.region, 2).last_index() == 6
    assert PeerStorage(engines, store.region, 1).region_state().state == PeerState.Tombstone  # type: ignore[union-attr]


@pytest.mark.parametrize("same_task", [True, False])
def test_storage_tombstone_after_append_in_round(engines: Engines, same_task: bool) -> None:
    """A tombstone staged after an append of the same round leaves no raft state and no log behind."""
    store = new_storage_from_ents(engines, ENTS_345)
    t1 = WriteTask(1, 1, 2)
    store.append([new_entry(6, 6)], t1)
    t2 = t1 if same_task else WriteTask(1, 1, 3)
    store.tombstone(t2)
    write_tasks(engines, [t1] if same_task else [t1, t2])
    assert raft_log_indexes(engines, 1) == []
    assert engines.raft.get(CF_DEFAULT, keys.raft_state_key(1)) is None


# -- validate_states ------------------------------------------------------------------------------

RID = 1234  # a region id that cannot be confused with an index or a term in messages


def _raft_state(last: int, term: int, commit: int, vote: int = 0) -> RaftLocalState:
    s = RaftLocalState(last_index=last)
    s.hard_state.term = term
    s.hard_state.commit = commit
    s.hard_state.vote = vote
    return s


def _apply_state(applied: int, trunc: int, trunc_term: int, commit: int = 0, commit_term: int = 0) -> RaftApplyState:
    s = RaftApplyState(applied_index=applied, commit_index=commit, commit_term=commit_term)
    s.truncated_state.index = trunc
    s.truncated_state.term = trunc_term
    return s


def _log(lo: int, hi: int, term: int = 5, **overrides: int) -> dict[int, bytes]:
    """_log: serialized entries lo..=hi of `term`; overrides map 'iN' to another term for entry N."""
    out = {i: new_entry(i, term).SerializeToString() for i in range(lo, hi + 1)}
    for name, t in overrides.items():
        i = int(name[1:])
        out[i] = new_entry(i, t).SerializeToString()
    return out


def _without(log: dict[int, bytes], *indexes: int) -> dict[int, bytes]:
    return {i: v for i, v in log.items() if i not in indexes}


def _with(log: dict[int, bytes], index: int, raw: bytes) -> dict[int, bytes]:
    out = dict(log)
    out[index] = raw
    return out


# (name, raft state (RaftLocalState or raw bytes, None: the bootstrap one), log {index: raw},
#  apply state (RaftApplyState or raw bytes, None: the bootstrap one), expected commit or None if invalid)
VALIDATE_CASES = [
    ("bootstrap", None, {}, None, 5),
    ("commit beyond last index", _raft_state(11, 5, 12), _log(11, 11), None, None),
    ("long log", _raft_state(20, 5, 12), _log(12, 20), None, 12),
    ("missing last entry", _raft_state(21, 5, 12), _log(12, 20), None, None),
    (
        "missing entry at recorded commit",
        _raft_state(20, 5, 12),
        _without(_log(12, 20), 14),
        _apply_state(13, 13, 5, 14, 5),
        None,
    ),
    ("recorded commit forwards commit", _raft_state(20, 5, 12), _log(12, 20), _apply_state(13, 13, 5, 14, 5), 14),
    (
        "term mismatch at recorded commit",
        _raft_state(20, 5, 12),
        _log(12, 20, i14=4),
        _apply_state(13, 13, 5, 14, 5),
        None,
    ),
    ("raft term < commit term", _raft_state(20, 4, 12), _log(12, 20), _apply_state(13, 13, 5, 14, 5), None),
    ("last index < recorded commit", _raft_state(13, 5, 12), _log(13, 13), _apply_state(13, 13, 5, 14, 5), None),
    ("malformed raft state", GARBAGE, {}, None, None),
    ("malformed apply state", None, {}, GARBAGE, None),
    ("malformed last entry", _raft_state(20, 5, 12), _with(_log(12, 19), 20, GARBAGE), None, None),
    (
        "malformed entry at recorded commit",
        _raft_state(20, 5, 12),
        _with(_log(12, 20), 14, GARBAGE),
        _apply_state(13, 13, 5, 14, 5),
        None,
    ),
    (
        "last entry under a wrong key",
        _raft_state(20, 5, 12),
        _with(_log(12, 19), 20, new_entry(19, 5).SerializeToString()),
        None,
        None,
    ),
]


@pytest.mark.parametrize(
    "name, raft_state, log, apply_state, commit", VALIDATE_CASES, ids=[c[0] for c in VALIDATE_CASES]
)
def test_validate_states(engines: Engines, name: str, raft_state, log, apply_state, commit) -> None:  # type: ignore[no-untyped-def]
    """PeerStorage validates persisted states: InvalidStateError naming the region, nothing written."""
    region = new_region(RID, [new_peer(5, 1)])
    write_initial_states(engines, region)
    if raft_state is not None:
        raw = raft_state if isinstance(raft_state, bytes) else raft_state.SerializeToString()
        engines.raft.put(CF_DEFAULT, keys.raft_state_key(RID), raw)
    for index, raw in log.items():
        engines.raft.put(CF_DEFAULT, keys.raft_log_key(RID, index), raw)
    if apply_state is not None:
        raw = apply_state if isinstance(apply_state, bytes) else apply_state.SerializeToString()
        engines.kv.put(CF_RAFT, keys.apply_state_key(RID), raw)
    before = scan_all(engines)
    if commit is None:
        with pytest.raises(InvalidStateError) as info:
            PeerStorage(engines, region, 5)
        assert isinstance(info.value, StoreError)
        assert region_msg(str(info.value), RID), str(info.value)
    else:
        s = PeerStorage(engines, region, 5)
        hs = s.initial_state().hard_state
        assert hs.commit == commit
        assert s.hard_state().commit == commit
        stored = RaftLocalState.FromString(engines.raft.get(CF_DEFAULT, keys.raft_state_key(RID)) or b"")
        assert hs.term == stored.hard_state.term
    assert scan_all(engines) == before


def test_split_region_defaults(engines: Engines) -> None:
    """A region never bootstrapped but initialized (a split) starts from the defaults at index/term 5."""
    region = new_region(RID, [new_peer(5, 1)])
    s = PeerStorage(engines, region, 5)
    assert s.raft_state == _raft_state(5, 5, 5)
    assert s.apply_state == _apply_state(5, 5, 5)
    assert scan_all(engines) == {k: [] for k in scan_all(engines)}


# -- initial state, bootstrap, uninitialized peers --------------------------------------------------


V, L, IV, DV = PeerRole.Voter, PeerRole.Learner, PeerRole.IncomingVoter, PeerRole.DemotingVoter


@pytest.mark.parametrize(
    "roles, voters, learners, outgoing, learners_next",
    [
        ({1: V}, [1], [], [], []),
        ({1: V, 2: V, 3: V}, [1, 2, 3], [], [], []),
        ({1: V, 2: V, 3: L}, [1, 2], [3], [], []),
        ({1: V, 2: L, 3: L}, [1], [2, 3], [], []),
        ({1: V, 2: IV}, [1, 2], [], [1], []),
        ({1: V, 2: V, 3: DV}, [1, 2], [], [1, 2, 3], [3]),
        ({1: V, 2: IV, 3: DV}, [1, 2], [], [1, 3], [3]),
        ({1: V, 2: V, 4: IV, 3: DV, 5: L}, [1, 2, 4], [5], [1, 2, 3], [3]),
    ],
)
def test_initial_state_conf_state(
    engines: Engines,
    roles: dict[int, int],
    voters: list[int],
    learners: list[int],
    outgoing: list[int],
    learners_next: list[int],
) -> None:
    """initial_state's ConfState comes from the region's peers: learners and joint roles included."""
    region = new_region(1, [new_peer(pid, pid, role) for pid, role in roles.items()])
    store = new_storage(engines, region, 1)
    rs = store.initial_state()
    assert rs.hard_state == HardState(term=5, commit=5)
    for cs in (rs.conf_state, conf_state_from_region(region)):
        assert sorted(cs.voters) == voters
        assert sorted(cs.learners) == learners
        assert sorted(cs.voters_outgoing) == outgoing
        assert sorted(cs.learners_next) == learners_next
        assert cs.auto_leave is False


def test_write_initial_states(db: ReopenableEngines) -> None:
    """write_initial_states bootstraps at index/term 5 durably, and refuses to do it twice."""
    region = new_region(1, [new_peer(1, 1), new_peer(2, 2)])
    write_initial_states(db.engines, region)
    engines = db.reopen()
    assert RaftLocalState.FromString(engines.raft.get(CF_DEFAULT, keys.raft_state_key(1)) or b"") == _raft_state(5, 5, 5)
    assert RaftApplyState.FromString(engines.kv.get(CF_RAFT, keys.apply_state_key(1)) or b"") == _apply_state(5, 5, 5)
    region_state = RegionLocalState.FromString(engines.kv.get(CF_RAFT, keys.region_state_key(1)) or b"")
    assert region_state.state == PeerState.Normal and region_state.region == region
    s = PeerStorage(engines, region, 1)
    assert s.is_initialized()
    assert (s.first_index(), s.last_index(), s.last_term(), s.term(5)) == (6, 5, 5, 5)
    assert (s.applied_index(), s.truncated_index(), s.truncated_term(), s.applied_term()) == (5, 5, 5, 5)
    assert s.entries(6, 6) == []
    with pytest.raises(CompactedError):
        s.entries(5, 6)
    with pytest.raises(StorageError):
        s.term(6)
    assert s.region_state() == region_state
    assert s.initial_state().hard_state == HardState(term=5, commit=5)
    before = scan_all(engines)
    with pytest.raises(StoreError):
        write_initial_states(engines, region)
    assert scan_all(engines) == before


@pytest.mark.parametrize("which", ["raft state", "apply state", "empty raft state", "empty apply state"])
def test_write_initial_states_refuses_existing(engines: Engines, which: str) -> None:
    """write_initial_states refuses a region with any persisted state (even one of the two, even empty)."""
    if which == "raft state":
        engines.raft.put(CF_DEFAULT, keys.raft_state_key(1), _raft_state(9, 6, 9).SerializeToString())
    elif which == "apply state":
        engines.kv.put(CF_RAFT, keys.apply_state_key(1), _apply_state(9, 9, 6).SerializeToString())
    elif which == "empty raft state":
        engines.raft.put(CF_DEFAULT, keys.raft_state_key(1), RaftLocalState().SerializeToString())
    else:
        engines.kv.put(CF_RAFT, keys.apply_state_key(1), RaftApplyState().SerializeToString())
    before = scan_all(engines)
    with pytest.raises(StoreError):
        write_initial_states(engines, new_region(1))
    assert scan_all(engines) == before


def test_uninitialized_peer(db: ReopenableEngines) -> None:
    """A peer of an unknown region: all states zero, first index 1, and set_hard_state never persists."""
    region = uninitialized_region(7)
    s = PeerStorage(db.engines, region, 3)
    assert not s.is_initialized()
    assert s.raft_state.last_index == 0 and s.hard_state() == HardState()
    assert s.apply_state == RaftApplyState()
    assert (s.first_index(), s.last_index(), s.last_term(), s.term(0)) == (1, 0, 0, 0)
    assert (s.applied_index(), s.truncated_index(), s.truncated_term()) == (0, 0, 0)
    rs = s.initial_state()
    assert rs.hard_state == HardState() and rs.conf_state == ConfState()
    assert s.entries(1, 1) == []
    with pytest.raises(StorageError):
        s.term(1)
    with pytest.raises(StorageError):
        s.entries(1, 2)
    task = WriteTask(7, 3, 1)
    s.set_hard_state(HardState(term=6, vote=2, commit=0), task)
    assert task.raft_state is None
    assert s.hard_state() == HardState()
    write_tasks(db.engines, [task])
    assert list(db.engines.raft.scan(CF_DEFAULT, *keys.region_raft_range(7))) == []
    assert list(db.engines.kv.scan(CF_RAFT, *keys.region_raft_range(7))) == []
    again = PeerStorage(db.reopen(), region, 3)
    assert again.raft_state.last_index == 0 and again.initial_state().hard_state == HardState()


# -- snapshot -------------------------------------------------------------------------------------


def make_snapshot(region: Region, index: int, term: int, conf_ver: int | None = None) -> Snapshot:
    """make_snapshot: what a snapshot worker returns, with the region (epoch conf_ver overridable) in its data."""
    snap = Snapshot()
    snap.metadata.index = index
    snap.metadata.term = term
    snap.metadata.conf_state.CopyFrom(conf_state_from_region(region))
    data = RaftSnapshotData()
    data.region.CopyFrom(region)
    if conf_ver is not None:
        data.region.region_epoch.conf_ver = conf_ver
    snap.data = data.SerializeToString()
    return snap


def request(store: PeerStorage, request_index: int = 0, to: int = 1) -> GenSnapTask:
    """request calls snapshot(), expects SnapshotTemporarilyUnavailable and returns the scheduled task."""
    with pytest.raises(SnapshotTemporarilyUnavailableError):
        store.snapshot(request_index, to)
    task = store.gen_snap_task
    assert isinstance(task, GenSnapTask)
    return task


def test_storage_create_snapshot(engines: Engines) -> None:
    """snapshot(): schedule, wait, return a valid one; stale ones (index or epoch) are generated again."""
    region = new_region(1, [new_peer(1, 1), new_peer(2, 2)])
    s = new_storage_from_ents(engines, ENTS_345, region)

    # an unknown peer asking for a snapshot is ignored
    with pytest.raises(SnapshotTemporarilyUnavailableError):
        s.snapshot(0, 99)
    assert s.gen_snap_task is None

    task = request(s, 0, 2)
    assert (task.region_id, task.to, task.request_index) == (1, 2, 0)
    # a pending generation: still unavailable, the same task
    with pytest.raises(SnapshotTemporarilyUnavailableError):
        s.snapshot(0, 2)
    assert s.gen_snap_task is task
    # a cancellation that keeps the snapshot valid is a no-op
    s.cancel_generating_snap(0)
    assert not task.canceled
    assert s.take_gen_snap_task() is task
    assert s.take_gen_snap_task() is None

    snap = make_snapshot(s.region, 5, 5)
    task.complete(snap)
    assert s.snapshot(0, 2) == snap
    assert s.gen_snap_task is None

    # stale: snapshot index < request index
    task = request(s, 6, 2)
    task.complete(snap)
    new_task = request(s, 6, 2)
    assert new_task is not task and new_task.request_index == 6
    s.gen_snap_task = None

    # stale: snapshot index < truncated index
    t = WriteTask(1, 1, 2)
    s.append([new_entry(6, 5), new_entry(7, 5)], t)
    s.set_hard_state(HardState(term=5, commit=7), t)
    s.apply_state.applied_index = 7
    s.save_apply_state_to(t)
    write_tasks(engines, [t])
    s.on_persisted(t)
    task = request(s)
    task.complete(snap)
    t = WriteTask(1, 1, 3)
    s.compact_to(7, s.term(7), t)
    write_tasks(engines, [t])
    new_task = request(s)
    assert new_task is not task
    good = make_snapshot(s.region, 7, 5)
    new_task.complete(good)
    assert s.snapshot(0, 1) == good

    # stale epoch: the region's conf_ver moved on
    r = Region()
    r.CopyFrom(s.region)
    r.region_epoch.conf_ver = 3
    s.set_region(r)
    task = request(s)
    task.complete(make_snapshot(s.region, 7, 5, conf_ver=2))
    task = request(s)
    task.complete(make_snapshot(s.region, 7, 5, conf_ver=3))
    assert s.snapshot(0, 1).metadata.index == 7

    # corrupt data: generated again
    task = request(s)
    bad = Snapshot()
    bad.metadata.index = 7
    bad.metadata.term = 5
    bad.data = GARBAGE
    task.complete(bad)
    assert request(s) is not task


def test_compaction_keeps_valid_snapshot_generation(engines: Engines) -> None:
    """Compacting while a snapshot is generated does not cancel it when the snapshot stays valid (TiKV)."""
    ents = [new_entry(i, 5) for i in range(3, 11)]
    s = new_storage_from_ents(engines, ents)
    task = request(s, 0, 1)
    t = WriteTask(1, 1, 2)
    s.compact_to(7, s.term(7), t)
    write_tasks(engines, [t])
    assert not task.canceled
    # the worker generates at the applied index 10 >= truncated index 7: the snapshot is valid
    snap = make_snapshot(s.region, 10, 5)
    task.complete(snap)
    assert s.snapshot(0, 1) == snap


def test_storage_snapshot_gives_up(engines: Engines) -> None:
    """After MAX_SNAP_TRY_CNT failed generations snapshot() raises a plain StorageError, then starts over."""
    assert MAX_SNAP_TRY_CNT == 5
    s = new_storage_from_ents(engines, ENTS_345)
    for _ in range(MAX_SNAP_TRY_CNT):
        request(s).fail("generation failed")
    with pytest.raises(StorageError) as info:
        s.snapshot(0, 1)
    assert not isinstance(info.value, SnapshotTemporarilyUnavailableError)
    # the count starts over
    task = request(s)
    snap = make_snapshot(s.region, 5, 5)
    task.complete(snap)
    assert s.snapshot(0, 1) == snap


def test_storage_snapshot_canceled_not_counted(engines: Engines) -> None:
    """A try that follows a canceled generation does not count towards MAX_SNAP_TRY_CNT (TiKV's tried_cnt)."""
    s = new_storage_from_ents(engines, ENTS_345)
    calls = 1
    request(s).fail("generation failed")
    canceled = 10
    for _ in range(canceled):
        task = request(s)
        calls += 1
        s.cancel_generating_snap(None)
        assert task.canceled
        task.fail("canceled")
    while True:
        try:
            s.snapshot(0, 1)
        except SnapshotTemporarilyUnavailableError:
            calls += 1
            assert s.gen_snap_task is not None and calls <= 30
            s.gen_snap_task.fail("generation failed")
            continue
        except StorageError:
            break
    assert calls == MAX_SNAP_TRY_CNT + canceled


def test_storage_snapshot_unknown_peer_not_counted(engines: Engines) -> None:
    """A snapshot request for a peer not in the region neither schedules nor counts a try."""
    s = new_storage_from_ents(engines, ENTS_345)
    for _ in range(2 * MAX_SNAP_TRY_CNT):
        with pytest.raises(SnapshotTemporarilyUnavailableError):
            s.snapshot(0, 42)
    assert s.gen_snap_task is None
    task = request(s)
    snap = make_snapshot(s.region, 5, 5)
    task.complete(snap)
    assert s.snapshot(0, 1) == snap


# -- group commit ---------------------------------------------------------------------------------


def test_write_tasks_group_commit(db: ReopenableEngines) -> None:
    """write_tasks over 1000 regions costs exactly 2 synced writes; a reopen sees every region's log."""
    n = 1000
    engines = db.engines
    stores = [PeerStorage(engines, new_region(rid, [new_peer(rid + 10_000, 1)]), rid + 10_000) for rid in range(1, n + 1)]
    tasks = []
    for s in stores:
        task = WriteTask(s.region.id, s.peer_id, 1)
        rid = s.region.id
        s.append([new_entry(6, 6, b"r%d" % rid), new_entry(7, 6), new_entry(8, 6 + rid % 3)], task)
        s.set_hard_state(HardState(term=6 + rid % 3, vote=s.peer_id, commit=7), task)
        s.apply_state.applied_index = 6
        s.save_apply_state_to(task)
        tasks.append(task)
    kv0, raft0 = engines.kv.stats.synced_writes, engines.raft.stats.synced_writes
    started = time.monotonic()
    stats = write_tasks(engines, tasks)
    elapsed = time.monotonic() - started
    assert engines.kv.stats.synced_writes - kv0 == 1
    assert engines.raft.stats.synced_writes - raft0 == 1
    assert (stats.tasks, stats.entries, stats.syncs) == (n, 3 * n, 2)
    assert elapsed < 10
    engines = db.reopen()
    for s in stores:
        rid = s.region.id
        again = PeerStorage(engines, s.region, s.peer_id)
        assert again.raft_state == s.raft_state
        assert again.apply_state == s.apply_state
        assert again.last_term() == 6 + rid % 3
        got = again.entries(6, 9)
        assert [(e.index, e.term) for e in got] == [(6, 6), (7, 6), (8, 6 + rid % 3)]
        assert got[0].data == b"r%d" % rid


def test_write_tasks_empty_round(engines: Engines) -> None:
    """A round with nothing to persist syncs nothing."""
    kv0, raft0 = engines.kv.stats.synced_writes, engines.raft.stats.synced_writes
    stats = write_tasks(engines, [WriteTask(1, 1, 1), WriteTask(2, 2, 1)])
    assert stats.syncs == 0
    assert (engines.kv.stats.synced_writes, engines.raft.stats.synced_writes) == (kv0, raft0)


# -- raft on PeerStorage --------------------------------------------------------------------------


def _drive(node, store: PeerStorage, applied: list[Entry]) -> None:  # type: ignore[no-untyped-def]
    """_drive runs the Ready loop of a single-voter RawNode: persist through write_tasks, then advance."""
    while node.has_ready():
        rd = node.ready()
        task = WriteTask(store.region.id, store.peer_id, rd.number)
        store.handle_raft_ready(rd, task)
        applied.extend(rd.committed_entries)
        write_tasks(store.engines, [task])
        store.on_persisted(task)
        light = node.advance(rd)
        if light.commit_index is not None:
            # TiKV keeps a LightReady's commit in memory until the next raft state write; persist it now
            hs = HardState()
            hs.CopyFrom(store.hard_state())
            hs.commit = light.commit_index
            task = WriteTask(store.region.id, store.peer_id, rd.number)
            store.set_hard_state(hs, task)
            write_tasks(store.engines, [task])
        applied.extend(light.committed_entries)
        node.advance_apply()


def test_raw_node_on_peer_storage(db: ReopenableEngines) -> None:
    """A single-voter RawNode elects itself, commits proposals on PeerStorage, and restarts from it."""
    from raftstore.raft import Config, EntryType, RawNode

    region = new_region(1, [new_peer(1, 1)])
    store = new_storage(db.engines, region, 1)
    node = RawNode(Config(id=1, election_tick=10, heartbeat_tick=1, applied=5), store)
    node.campaign()
    applied: list[Entry] = []
    _drive(node, store, applied)
    for i in range(30):
        node.propose(b"", b"v%d" % i)
        _drive(node, store, applied)
    datas = [e.data for e in applied if e.entry_type == EntryType.EntryNormal and e.data]
    assert datas == [b"v%d" % i for i in range(30)]
    last = store.last_index()
    assert last == applied[-1].index == 5 + 1 + 30
    assert store.hard_state().commit == last and store.hard_state().term == store.last_term() == 6
    # apply and compact, as the apply path would
    task = WriteTask(1, 1, 1000)
    store.apply_state.applied_index = last
    store.compact_to(last - 3, store.term(last - 3), task)
    write_tasks(db.engines, [task])

    again = PeerStorage(db.reopen(), region, 1)
    assert (again.first_index(), again.last_index(), again.applied_index()) == (last - 2, last, last)
    node2 = RawNode(Config(id=1, election_tick=10, heartbeat_tick=1, applied=last), again)
    assert node2.raft.raft_log.last_index() == last
    assert node2.raft.term == 6
    node2.campaign()
    applied2: list[Entry] = []
    _drive(node2, again, applied2)
    node2.propose(b"", b"after restart")
    _drive(node2, again, applied2)
    assert applied2[-1].data == b"after restart"
    assert again.hard_state().term == 7
    want = plain(again.entries(last - 2, again.last_index() + 1))
    assert plain(PeerStorage(db.reopen(), region, 1).entries(last - 2, again.last_index() + 1)) == want


def test_set_commit_index_moves_forward_only(engines: Engines) -> None:
    """set_commit_index (a LightReady's commit) is kept in memory, staged with the next raft state, never lowered."""
    store = new_storage_from_ents(engines, ENTS_345)
    t = WriteTask(1, 1, 2)
    store.append([new_entry(6, 5), new_entry(7, 5)], t)
    write_tasks(engines, [t])
    store.set_commit_index(7)
    assert store.commit_index() == 7
    with pytest.raises(InvariantError):
        store.set_commit_index(6)
    t2 = WriteTask(1, 1, 3)
    store.append([new_entry(8, 5)], t2)
    write_tasks(engines, [t2])
    assert PeerStorage(engines, store.region, 1).commit_index() == 7


# -- load_region_states ---------------------------------------------------------------------------


def test_load_region_states_lists_every_region_in_id_order(engines: Engines) -> None:
    """load_region_states returns the RegionLocalStates of all bootstrapped regions, tombstones included."""
    for rid in (7, 3, 300):
        write_initial_states(engines, new_region(rid))
    store = PeerStorage(engines, new_region(7), 7)
    t = WriteTask(7, 7, 1)
    store.tombstone(t)
    write_tasks(engines, [t])
    states = load_region_states(engines)
    assert [(st.region.id, st.state) for st in states] == [
        (3, PeerState.Normal),
        (7, PeerState.Tombstone),
        (300, PeerState.Normal),
    ]


@pytest.mark.parametrize(
    "key, value, named",
    [
        (keys.region_state_key(9)[:-1] + b"\x01\x00", b"", "region 9"),  # a key one byte too long
        (keys.region_state_key(9), b"\xff\xff", "region 9"),  # a value that does not decode
        (keys.region_state_key(9), RegionLocalState(region=new_region(8)).SerializeToString(), "region 9"),
    ],
)
def test_load_region_states_rejects_malformed_meta(engines: Engines, key: bytes, value: bytes, named: str) -> None:
    """A malformed region meta key, an undecodable state or a state of another region raises InvalidStateError
    naming the region, and changes nothing."""
    write_initial_states(engines, new_region(2))
    engines.kv.put(CF_RAFT, key, value)
    before = scan_all(engines)
    with pytest.raises(InvalidStateError) as info:
        load_region_states(engines)
    assert f"[{named}]" in str(info.value)
    assert scan_all(engines) == before


def test_log_gc_waits_for_a_durable_truncated_state(engines: Engines) -> None:
    """Log GC never deletes below a truncated index that is only in memory: it collects up to the truncated
    state written (or staged in the same task), and catches up once a later apply state is durable."""
    store = new_storage_from_ents(engines, [new_entry(i, 5) for i in range(5, 11)], applied=10)
    compact_raft_log(store.apply_state, 8, 5)  # in memory only
    t = WriteTask(1, 1, 2)
    store.schedule_log_gc(t)
    write_tasks(engines, [t])
    store.on_persisted(t)
    assert raft_log_indexes(engines, 1) == [6, 7, 8, 9, 10]
    t2 = WriteTask(1, 1, 3)
    store.save_apply_state_to(t2)
    write_tasks(engines, [t2])
    store.on_persisted(t2)
    t3 = WriteTask(1, 1, 4)
    store.schedule_log_gc(t3)
    write_tasks(engines, [t3])
    assert raft_log_indexes(engines, 1) == [9, 10]


# -- append: a run of entries -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "entries",
    [
        [(6, 5), (9, 5)],  # a hole (issue: accepted, and term(7) answered 5 after a reopen)
        [(6, 5), (8, 5), (8, 5)],  # first/last/len agree, the run does not
        [(6, 5), (6, 5)],
        [(7, 5), (6, 5)],
        [(6, 6), (7, 5)],  # a term goes down
        [(6, 5), (7, 7), (8, 6)],
        [(3, 5)],  # exactly at the truncated index
        [(7, 5)],  # a hole after the last index
    ],
)
def test_append_refuses_a_broken_run(db: ReopenableEngines, entries: list[tuple[int, int]]) -> None:
    """append raises InvariantError before staging anything: entries start in (truncated, last + 1], are
    contiguous, and their terms never decrease."""
    store = new_storage_from_ents(db.engines, ENTS_345, commit=3, applied=3)
    before = (RaftLocalState(), cached(store))
    before[0].CopyFrom(store.raft_state)
    task = WriteTask(1, 1, 2)
    with pytest.raises(InvariantError):
        store.append([new_entry(i, t) for i, t in entries], task)
    assert (store.raft_state, cached(store)) == before
    assert (task.entries, task.raft_state, task.kv_ops, task.raft_deletes) == ([], None, [], [])


def test_append_accepts_rising_terms(engines: Engines) -> None:
    """A contiguous run whose terms rise (or stay) is appended."""
    store = new_storage_from_ents(engines, ENTS_345)
    append_ents(store, [new_entry(6, 5), new_entry(7, 6), new_entry(8, 6), new_entry(9, 8)])
    assert [(e.index, e.term) for e in store.entries(4, 10)] == [(4, 4), (5, 5), (6, 5), (7, 6), (8, 6), (9, 8)]


def test_append_at_truncated_index_refused(engines: Engines) -> None:
    """Append exactly at the truncated index is refused; one above it (an overwrite) is taken."""
    store = new_storage_from_ents(engines, ENTS_3456, commit=3, applied=3)
    with pytest.raises(InvariantError):
        store.append([new_entry(3, 7)], WriteTask(1, 1, 2))
    append_ents(store, [new_entry(4, 7)])
    assert (store.first_index(), store.last_index(), store.term(4)) == (4, 4, 7)


# -- clear_meta, tombstone: caches and the uninitialized peer --------------------------------------------


def test_clear_meta_clears_entry_and_term_caches(engines: Engines) -> None:
    """clear_meta empties the entry cache and the term cache (TiKV's EntryStorage::clear)."""
    store = new_storage_from_ents(engines, ENTS_3456)
    store.update_term_cache(ENTS_3456[1:])
    assert not store.cache.is_empty() and len(store.term_cache) > 0
    store.clear_meta(WriteTask(1, 1, 2))
    assert store.cache.is_empty() and store.cache.mem_size == 0
    assert len(store.term_cache) == 0 and store.term_cache.entry(5) is None


@pytest.mark.parametrize("given", [True, False])
def test_tombstone_of_uninitialized_peer_lists_the_peer(db: ReopenableEngines, given: bool) -> None:
    """The Tombstone state of an uninitialized peer lists the peer itself (TiKV's clear_meta_in_kv_and_raft),
    so that a later message to it can be checked against the tombstone."""
    region = uninitialized_region(7)
    s = PeerStorage(db.engines, region, 3)
    task = WriteTask(7, 3, 1)
    if given:
        s.tombstone(task, new_peer(3, 2))
    else:
        s.tombstone(task)
    write_tasks(db.engines, [task])
    state = PeerStorage(db.reopen(), region, 3).region_state()
    assert state is not None and state.state == PeerState.Tombstone
    assert [(p.id, p.store_id) for p in state.region.peers] == [(3, 2 if given else 0)]
    assert state.region.id == 7
    assert not s.region.peers  # the peer's own region is not changed


# -- snapshot generation: cancel, in-flight tasks -----------------------------------------------------------


def test_cancel_drops_untaken_generation(engines: Engines) -> None:
    """cancel_generating_snap drops a task the worker has not taken; the next snapshot() schedules a new one
    at once without counting a try (4 tries are counted here: two counted retries would give up)."""
    s = new_storage_from_ents(engines, ENTS_345)
    for _ in range(MAX_SNAP_TRY_CNT - 2):
        request(s).fail("generation failed")
    task = request(s)
    s.cancel_generating_snap()
    assert task.canceled and s.gen_snap_task is None and s.take_gen_snap_task() is None
    for _ in range(3):
        again = request(s)
        assert again is not task and not again.canceled
        s.cancel_generating_snap()
        assert s.gen_snap_task is None
    again = request(s)
    assert s.take_gen_snap_task() is again
    snap = make_snapshot(s.region, 5, 5)
    again.complete(snap)
    assert s.snapshot(0, 1) == snap


def test_taken_generation_is_waited_for_and_never_rescheduled(engines: Engines) -> None:
    """A canceled task the worker has taken stays until it is done: snapshot() waits instead of scheduling,
    and scheduling while a task is in flight is an InvariantError."""
    s = new_storage_from_ents(engines, ENTS_345)
    task = request(s)
    assert s.take_gen_snap_task() is task
    s.cancel_generating_snap()
    assert task.canceled and s.gen_snap_task is task
    with pytest.raises(SnapshotTemporarilyUnavailableError):
        s.snapshot(0, 1)
    assert s.gen_snap_task is task
    with pytest.raises(InvariantError):
        s._schedule_gen_snap(0, 1)
    assert s.gen_snap_task is task


def test_canceled_generation_result_not_returned(engines: Engines) -> None:
    """A canceled task whose worker completes it anyway: its snapshot is not returned, a new one is scheduled."""
    s = new_storage_from_ents(engines, ENTS_345)
    task = request(s)
    assert s.take_gen_snap_task() is task
    s.cancel_generating_snap()
    stale = make_snapshot(s.region, 5, 5)
    task.complete(stale)
    again = request(s)
    assert again is not task
    fresh = make_snapshot(s.region, 5, 5)
    fresh.metadata.term = 5
    again.complete(fresh)
    assert s.snapshot(0, 1) is fresh


@pytest.mark.parametrize("compact_index, canceled", [(9, False), (10, True)])
def test_compaction_cancel_boundary(engines: Engines, compact_index: int, canceled: bool) -> None:
    """A compaction to the generating snapshot's index keeps the generation; one to index + 1 cancels it."""
    s = new_storage_from_ents(engines, [new_entry(i, 5) for i in range(3, 13)])
    task = request(s)
    assert s.take_gen_snap_task() is task
    task.index = 9
    t = WriteTask(1, 1, 2)
    s.compact_to(compact_index, 5, t)
    assert task.canceled is canceled
    assert s.gen_snap_task is task


# -- bootstrap of many regions ----------------------------------------------------------------------------


def test_write_initial_states_many_bootstraps_in_one_group_commit(db: ReopenableEngines) -> None:
    """write_initial_states_many bootstraps 10,000 regions with one synced write per engine; every region
    validates after a reopen."""
    n = 10_000
    regions = [new_region(rid, [new_peer(rid + 100_000, 1)]) for rid in range(1, n + 1)]
    engines = db.engines
    kv0, raft0 = engines.kv.stats.synced_writes, engines.raft.stats.synced_writes
    started = time.monotonic()
    write_initial_states_many(engines, regions)
    elapsed = time.monotonic() - started
    print(f"write_initial_states_many: {n} regions in {elapsed:.3f} s")
    assert (engines.kv.stats.synced_writes - kv0, engines.raft.stats.synced_writes - raft0) == (1, 1)
    engines = db.reopen()
    assert [st.region.id for st in load_region_states(engines)] == list(range(1, n + 1))
    for region in regions:
        s = PeerStorage(engines, region, region.peers[0].id)
        assert (s.first_index(), s.last_index(), s.applied_index(), s.hard_state()) == (6, 5, 5, HardState(term=5, commit=5))


@pytest.mark.parametrize("existing", ["raft state", "apply state", "given twice"])
def test_write_initial_states_many_refuses_all_or_nothing(engines: Engines, existing: str) -> None:
    """If one region has state already (or is given twice), nothing is written for any region."""
    regions = [new_region(rid) for rid in (1, 2, 3)]
    if existing == "raft state":
        engines.raft.put(CF_DEFAULT, keys.raft_state_key(3), _raft_state(9, 6, 9).SerializeToString())
    elif existing == "apply state":
        engines.kv.put(CF_RAFT, keys.apply_state_key(2), _apply_state(9, 9, 6).SerializeToString())
    else:
        regions.append(new_region(1))
    before = scan_all(engines)
    with pytest.raises(StoreError):
        write_initial_states_many(engines, regions)
    assert scan_all(engines) == before


# -- planted bugs (mutation testing) ----------------------------------------------------------------------


def test_entries_stop_at_an_engine_cut_before_the_cache(engines: Engines) -> None:
    """entries() across engine and cache: a large engine entry cuts the result by max_size, and a smaller
    cached entry after it must not be added (that would skip an index)."""
    ents = [new_entry(3, 3), new_entry(4, 4, b"s"), new_entry(5, 4, b"L" * 1000), new_entry(6, 4, b"s")]
    store = new_storage_from_ents(engines, ents)
    store.compact_entry_cache(6)
    assert store.cache.first_index() == 6
    max_size = size_of(ents[1]) + size_of(ents[3]) + 1
    assert plain(store.entries(4, 7, max_size)) == plain(ents[1:2])


@pytest.mark.parametrize(
    "raft_state, log, apply_state, message",
    [
        # hard-state term 6: above the truncated term 5, below the commit term 7
        (_raft_state(20, 6, 14), _log(14, 20), _apply_state(14, 13, 5, 14, 7), "term of raft state < commit term"),
        # last index 10 below the truncated index 12
        (_raft_state(10, 5, 10), _log(10, 10), _apply_state(12, 12, 5), "last index < truncated index"),
        # recorded commit 13, exactly one above the raft commit 12, whose entry is gone
        (_raft_state(20, 5, 12), _without(_log(12, 20), 13), _apply_state(13, 13, 5, 13, 5), "log at recorded commit"),
        (_raft_state(20, 5, 12), _log(12, 20, i13=4), _apply_state(13, 13, 5, 13, 5), "log at recorded commit"),
    ],
    ids=["term between truncated and commit term", "last below truncated", "commit+1 missing", "commit+1 wrong term"],
)
def test_validate_states_names_the_check(engines: Engines, raft_state, log, apply_state, message: str) -> None:  # type: ignore[no-untyped-def]
    """validate_states: each inconsistency is caught by its own check (asserted by the message)."""
    region = new_region(RID, [new_peer(5, 1)])
    write_initial_states(engines, region)
    engines.raft.put(CF_DEFAULT, keys.raft_state_key(RID), raft_state.SerializeToString())
    for index, raw in log.items():
        engines.raft.put(CF_DEFAULT, keys.raft_log_key(RID, index), raw)
    engines.kv.put(CF_RAFT, keys.apply_state_key(RID), apply_state.SerializeToString())
    with pytest.raises(InvalidStateError) as info:
        PeerStorage(engines, region, 5)
    assert message in str(info.value)


def test_validate_states_forwards_commit_by_one(engines: Engines) -> None:
    """A recorded commit exactly one above the raft commit, with its entry present, forwards the commit."""
    region = new_region(RID, [new_peer(5, 1)])
    write_initial_states(engines, region)
    engines.raft.put(CF_DEFAULT, keys.raft_state_key(RID), _raft_state(20, 5, 12).SerializeToString())
    for index, raw in _log(12, 20).items():
        engines.raft.put(CF_DEFAULT, keys.raft_log_key(RID, index), raw)
    engines.kv.put(CF_RAFT, keys.apply_state_key(RID), _apply_state(13, 13, 5, 13, 5).SerializeToString())
    assert PeerStorage(engines, region, 5).commit_index() == 13


def test_overwrite_lowers_cache_persisted(engines: Engines) -> None:
    """An overwrite of persisted entries lowers the cache's persisted index: the new, unwritten entries are
    not compacted away (reads would then return the stale engine entries)."""
    store = new_storage_from_ents(engines, [new_entry(i, 5) for i in range(3, 11)], commit=6, applied=6)
    assert store.cache.persisted == 10
    task = WriteTask(1, 1, 2)
    store.append([new_entry(8, 6), new_entry(9, 6)], task)
    assert store.cache.persisted == 7
    store.compact_entry_cache(100)
    store.cache.evict(False)
    assert store.cache.first_index() == 8
    assert [(e.index, e.term) for e in store.entries(7, 10)] == [(7, 5), (8, 6), (9, 6)]
    assert (store.term(8), store.last_index()) == (6, 9)

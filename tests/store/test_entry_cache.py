"""Unit tests of EntryCache and TermCache (pure logic, no engine): TiKV's entry_storage.rs cache cases."""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from .helpers import new_entry, plain

from raftstore.proto.eraftpb_pb2 import Entry
from raftstore.raft import NO_LIMIT
from raftstore.raft.errors import InvariantError
from raftstore.store import ENTRY_CACHE_MEMORY, EntryCache, MemoryTrace, TermCache
from raftstore.store.entry_cache import ENTRY_MEM_OVERHEAD


def padded(index: int, term: int, pad: int, ctx: int = 0) -> Entry:
    """padded is an entry carrying `pad` bytes of data and `ctx` bytes of context."""
    return Entry(index=index, term=term, data=b"x" * pad, context=b"c" * ctx)


def mem(*pads: int) -> int:
    """mem is what the cache accounts for entries with these payload sizes."""
    return sum(pads) + ENTRY_MEM_OVERHEAD * len(pads)


def contents(cache: EntryCache) -> list[Entry]:
    first, last = cache.first_index(), cache.last_index()
    if first is None or last is None:
        return []
    out = []
    for i in range(first, last + 1):
        e = cache.entry(i)
        assert e is not None
        out.append(e)
    return out


def filled(ents: Sequence[Entry], persisted: int | None = None) -> EntryCache:
    cache = EntryCache(MemoryTrace())
    cache.append(1, 1, list(ents))
    cache.update_persisted(ents[-1].index if persisted is None else persisted)
    return cache


# -- EntryCache -------------------------------------------------------------------------------------


def test_cache_entry() -> None:
    """entry(i) is the cached entry at i; None below, above, or in an empty cache."""
    cache = EntryCache(MemoryTrace())
    assert cache.entry(3) is None and cache.first_index() is None and cache.last_index() is None
    assert cache.is_empty() and len(cache) == 0
    ents = [new_entry(3, 3), new_entry(4, 4), new_entry(5, 4), new_entry(6, 6)]
    cache.append(1, 1, ents)
    assert cache.entry(1) is None and cache.entry(2) is None
    for e in ents:
        assert cache.entry(e.index) == e
    assert cache.entry(7) is None
    assert (cache.first_index(), cache.last_index(), len(cache), cache.is_empty()) == (3, 6, 4, False)


@pytest.mark.parametrize(
    "base, new, want",
    [
        # direct append
        ([(3, 3), (4, 3)], [(5, 3)], [(3, 3), (4, 3), (5, 3)]),
        # overwrite the last entry
        ([(3, 3), (4, 3)], [(4, 5)], [(3, 3), (4, 5)]),
        # overwrite the middle: the tail after it is gone
        ([(3, 3), (4, 3), (5, 3), (6, 3)], [(5, 4)], [(3, 3), (4, 3), (5, 4)]),
        # overwrite everything from the first entry
        ([(3, 3), (4, 3)], [(3, 4), (4, 4), (5, 4)], [(3, 4), (4, 4), (5, 4)]),
        # new entries start below the cache: they replace it
        ([(6, 3), (7, 3)], [(4, 5), (5, 5)], [(4, 5), (5, 5)]),
        # nothing to append
        ([(3, 3)], [], [(3, 3)]),
    ],
)
def test_cache_append(base: list[tuple[int, int]], new: list[tuple[int, int]], want: list[tuple[int, int]]) -> None:
    """append adds at the tail and replaces a conflicting tail; the cache stays contiguous."""
    cache = filled([new_entry(i, t) for i, t in base])
    cache.append(1, 1, [new_entry(i, t) for i, t in new])
    assert [(e.index, e.term) for e in contents(cache)] == want
    assert cache.mem_size == mem(*([0] * len(want)))


def test_cache_append_hole() -> None:
    """append leaving a hole after the cached tail is a broken invariant."""
    cache = filled([new_entry(3, 3), new_entry(4, 3)])
    with pytest.raises(InvariantError):
        cache.append(1, 1, [new_entry(6, 3)])
    assert plain(contents(cache)) == plain([new_entry(3, 3), new_entry(4, 3)])


def test_cache_append_to_empty() -> None:
    """An empty cache (e.g. after full compaction) starts again at whatever index comes."""
    cache = filled([new_entry(3, 3), new_entry(4, 3)])
    cache.compact_to(5)
    assert cache.is_empty()
    cache.append(1, 1, [new_entry(9, 4)])
    assert (cache.first_index(), cache.last_index()) == (9, 9)


FETCH = [padded(10, 1, 10), padded(11, 1, 20), padded(12, 2, 30), padded(13, 2, 40)]
_F = [e.ByteSize() for e in FETCH]


@pytest.mark.parametrize(
    "begin, end, fetched, max_size, want",
    [
        (10, 14, 0, NO_LIMIT, [10, 11, 12, 13]),
        (11, 13, 0, NO_LIMIT, [11, 12]),
        (12, 12, 0, NO_LIMIT, []),
        (10, 14, 0, 0, [10]),
        (10, 14, 0, _F[0], [10]),
        (10, 14, 0, _F[0] + _F[1] - 1, [10]),
        (10, 14, 0, _F[0] + _F[1], [10, 11]),
        (10, 14, 0, sum(_F), [10, 11, 12, 13]),
        (12, 14, 0, 1, [12]),
        # what the caller already holds counts: the first cached entry may then be refused
        (12, 14, 5, 5, []),
        (12, 14, 5, 5 + _F[2], [12]),
        (12, 14, 5, 5 + _F[2] + _F[3], [12, 13]),
        (12, 14, 5, NO_LIMIT, [12, 13]),
    ],
)
def test_cache_fetch(begin: int, end: int, fetched: int, max_size: int, want: list[int]) -> None:
    """fetch returns cached entries within max_size, counting fetched_size, the first entry overall always."""
    cache = filled(FETCH)
    assert [e.index for e in cache.fetch(begin, end, fetched, max_size)] == want


@pytest.mark.parametrize("begin, end", [(9, 12), (12, 15), (8, 16)])
def test_cache_fetch_outside(begin: int, end: int) -> None:
    """fetch of a range the cache does not hold is a broken invariant (the caller checks the range)."""
    cache = filled(FETCH)
    with pytest.raises(InvariantError):
        cache.fetch(begin, end, 0, NO_LIMIT)


@pytest.mark.parametrize(
    "persisted, idx, first, freed",
    [
        (13, 9, 10, 0),  # below the cache: nothing
        (13, 10, 10, 0),
        (13, 12, 12, mem(10, 20)),
        (13, 14, None, mem(10, 20, 30, 40)),
        (13, 100, None, mem(10, 20, 30, 40)),
        # only persisted entries go: compaction stops at persisted + 1
        (11, 14, 12, mem(10, 20)),
        (9, 14, 10, 0),
        (12, 13, 13, mem(10, 20, 30)),
    ],
)
def test_cache_compact_to(persisted: int, idx: int, first: int | None, freed: int) -> None:
    """compact_to drops entries below idx but never above persisted + 1, and returns the bytes freed."""
    trace = MemoryTrace()
    cache = EntryCache(trace)
    cache.append(1, 1, FETCH)
    cache.update_persisted(persisted)
    before = cache.mem_size
    assert cache.compact_to(idx) == freed
    assert cache.first_index() == first
    assert cache.mem_size == before - freed == trace.bytes
    if first is not None:
        assert cache.last_index() == 13


def test_cache_evict() -> None:
    """evict(False) frees everything persisted, evict(True) the older half (TiKV's drain_to = len / 2)."""
    cache = filled([new_entry(i, 4) for i in range(4, 10)], persisted=3)
    assert cache.evict(False) == 0 and cache.first_index() == 4
    for persisted in range(4, 9):
        cache.update_persisted(persisted)
        assert cache.evict(False) == mem(0)
        assert cache.first_index() == persisted + 1
    cache.update_persisted(9)
    cache.evict(False)
    assert cache.is_empty()
    assert cache.evict(False) == 0 and cache.evict(True) == 0

    cache = filled([new_entry(i, 4) for i in range(4, 10)])
    assert cache.evict(True) == mem(0, 0, 0, 0)
    assert cache.first_index() == 8
    assert cache.evict(True) == mem(0, 0)
    assert cache.is_empty()
    cache = filled([new_entry(4, 4)])
    cache.evict(True)
    assert cache.is_empty()


def test_cache_size_change() -> None:
    """The cache's memory (data + context + per-entry overhead) follows appends, overwrites and compaction."""
    trace = MemoryTrace()
    cache = EntryCache(trace)
    assert trace.bytes == 0 and cache.mem_size == 0

    cache.append(1, 1, [padded(101, 1, 1), padded(102, 1, 2)])
    assert trace.bytes == mem(1, 2)
    cache.update_persisted(100)
    cache.compact_to(101)
    assert trace.bytes == mem(1, 2)

    # one overlapped entry
    cache.append(1, 1, [padded(102, 2, 3)])
    assert trace.bytes == mem(1, 3)
    # all overlapped entries
    cache.append(1, 1, [padded(101, 3, 4), padded(102, 3, 5)])
    assert trace.bytes == mem(4, 5)
    cache.append(1, 1, [padded(103, 3, 6, ctx=2)])
    assert trace.bytes == mem(4, 5, 8)
    cache.append(1, 1, [padded(103, 4, 7)])
    assert trace.bytes == mem(4, 5, 7)

    cache.update_persisted(101)
    cache.compact_to(102)
    assert trace.bytes == mem(5, 7)
    cache.update_persisted(103)
    cache.compact_to(104)
    assert trace.bytes == 0 and cache.mem_size == 0

    cache.append(1, 1, [padded(104, 4, 9), padded(105, 4, 1)])
    cache.clear()
    assert trace.bytes == 0 and cache.mem_size == 0 and cache.is_empty()


def test_cache_shared_trace() -> None:
    """Caches sharing one MemoryTrace add up; a cache without a trace reports to ENTRY_CACHE_MEMORY."""
    trace = MemoryTrace()
    a, b = EntryCache(trace), EntryCache(trace)
    a.append(1, 1, [padded(6, 1, 10)])
    b.append(2, 2, [padded(6, 1, 20), padded(7, 1, 30)])
    assert trace.bytes == a.mem_size + b.mem_size == mem(10, 20, 30)
    b.update_persisted(7)
    b.compact_to(8)
    assert trace.bytes == mem(10)

    before = ENTRY_CACHE_MEMORY.bytes
    c = EntryCache()
    c.append(3, 3, [padded(6, 1, 100)])
    assert ENTRY_CACHE_MEMORY.bytes - before == mem(100)
    c.clear()
    assert ENTRY_CACHE_MEMORY.bytes == before


# -- TermCache --------------------------------------------------------------------------------------


def prepend(cache: TermCache, ents: Sequence[Entry]) -> None:
    """prepend: TiKV's test-only TermCache::prepend, newest entry first, stopping once the cache is full."""
    for e in reversed(ents):
        cache.append(e.index, e.term)
        if len(cache) == cache.capacity:
            break


def test_term_cache_normal() -> None:
    """Terms recorded newest first answer term(i) for every index of their runs, nothing past the tail."""
    cache = TermCache()
    assert cache.entry(0) is None and cache.entry(123) is None
    for index, term in [(1, 1), (2, 1), (3, 2), (4, 2), (5, 2), (4, 2), (3, 2)]:
        cache.append(index, term)
    for i in range(10, 0, -1):
        cache.append(i + 5, 3)
    for i in range(1, 6):
        cache.append(i + 15, 3 + i)
    assert cache.entry(0) is None
    assert cache.entry(20) == 8
    assert cache.entry(21) is None
    assert cache.entry(1) == 1 and cache.entry(2) == 1
    assert [cache.entry(i) for i in (3, 4, 5)] == [2, 2, 2]
    assert cache.entry(6) == 3 and cache.entry(15) == 3
    for i in range(16, 21):
        assert cache.entry(i) == i - 12


def test_term_cache_prepend_and_compact() -> None:
    """Older terms are prepended while there is room; compact_to drops runs starting below the index."""
    cache = TermCache()
    cache.append(20, 6)
    for i in range(1, 6):
        cache.append(20 + i * 5, i + 6)
    prepend(cache, [new_entry(2, 2), new_entry(3, 3), new_entry(4, 4), new_entry(5, 5), new_entry(6, 6)])
    assert cache.entry(46) is None
    assert cache.entry(3) is None
    assert cache.entry(4) == 4
    assert cache.entry(5) == 5
    assert cache.entry(15) == 6
    assert cache.entry(39) == 9
    assert cache.entry(44) == 10
    cache.compact_to(40)
    assert len(cache) == 2
    assert cache.entry(39) is None
    assert cache.entry(40) == 10
    cache.compact_to(45)
    assert len(cache) == 1
    cache.append(48, 12)
    assert len(cache) == 2
    assert cache.entry(45) == 11
    cache.compact_to(46)
    assert cache.entry(45) is None
    # appended newest first after a jump of terms: the old term is cleared
    for i in range(19, 11, -1):
        cache.append(48 + i - 11, i)
    assert cache.entry(48) is None
    assert cache.entry(49) == 12
    assert cache.entry(56) == 19
    assert cache.entry(57) is None


def test_term_cache_index_hopping() -> None:
    """A jump of terms (a healed partition) clears what the cache knew."""
    cache = TermCache()
    for index, term in [(5, 5), (6, 6), (7, 6), (8, 6)]:
        cache.append(index, term)
    assert len(cache) == 2
    assert cache.entry(8) == 6
    cache.append(6, 8)
    assert len(cache) == 1
    assert cache.entry(8) is None

    cache = TermCache()
    cache.append(6, 3)
    cache.append(7, 5)  # index hopping: the cache is cleared
    assert len(cache) == 1
    assert cache.entry(6) is None
    assert cache.entry(7) == 5
    cache.append(5, 4)
    cache.append(10, 6)
    assert len(cache) == 3


def test_term_cache_prepend_hopping() -> None:
    """Prepending across a gap of terms keeps only the consecutive newest terms."""
    cache = TermCache()
    prepend(cache, [new_entry(10, 5), new_entry(15, 6), new_entry(18, 7), new_entry(20, 10), new_entry(25, 11)])
    assert len(cache) == 2
    assert cache.entry(18) is None
    assert cache.entry(20) == 10
    cache.append(30, 12)
    assert len(cache) == 3
    cache.append(19, 9)
    assert len(cache) == 4
    assert cache.entry(18) is None
    assert cache.entry(19) == 9


def test_term_cache_capacity() -> None:
    """The cache keeps the newest `capacity` terms: a new term evicts the oldest."""
    cache = TermCache(capacity=3)
    for term in range(1, 6):
        cache.append(term * 10, term)
    assert len(cache) == 3
    assert cache.entry(29) is None and cache.entry(30) == 3 and cache.entry(50) == 5
    # a full cache takes no older term at the front
    cache = TermCache(capacity=2)
    cache.append(20, 2)
    cache.append(30, 3)
    cache.append(10, 1)
    assert len(cache) == 2 and cache.entry(10) is None


def test_term_cache_tail_index() -> None:
    """Lookups past the greatest index seen for the newest term are unknown; later entries extend it."""
    cache = TermCache()
    cache.append(10, 4)
    assert cache.tail_index == 10 and cache.entry(11) is None
    cache.append(15, 4)
    assert cache.tail_index == 15 and cache.entry(11) == 4 and cache.entry(15) == 4
    cache.append(12, 4)
    assert cache.tail_index == 15
    cache.compact_to(100)
    assert len(cache) == 0 and cache.tail_index == 0 and cache.entry(15) is None


@pytest.mark.parametrize(
    "batches",
    [
        [[(6, 5), (7, 5), (8, 6)]],
        [[(6, 5), (7, 5)], [(8, 5), (9, 6), (10, 6)], [(11, 7)]],
        [[(i, 3 + i // 3) for i in range(6, 30)]],
        [[(i, 3 + i // 3) for i in range(6, 15)], [(i, 3 + i // 3) for i in range(15, 40)]],
    ],
)
def test_term_cache_append_entries(batches: list[list[tuple[int, int]]]) -> None:
    """append_entries of committed batches gives the terms that appending every entry newest first gives."""
    fast, slow = TermCache(), TermCache()
    for batch in batches:
        ents = [new_entry(i, t) for i, t in batch]
        fast.append_entries(ents)
        for e in reversed(ents):
            slow.append(e.index, e.term)
        assert fast.tail_index == slow.tail_index == ents[-1].index
    first = batches[0][0][0]
    last = batches[-1][-1][0]
    terms = {i: t for batch in batches for i, t in batch}
    for i in range(first - 2, last + 3):
        assert fast.entry(i) == slow.entry(i), i
        if fast.entry(i) is not None:
            assert fast.entry(i) == terms[i], i
    assert fast.entry(last) == terms[last]
    fast.append_entries([])
    assert fast.tail_index == last

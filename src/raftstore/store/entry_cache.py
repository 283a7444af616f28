"""raftstore.store.entry_cache: a peer's cache of recent log entries, and a small cache of terms.

EntryCache keeps the newest entries of one peer's log in memory so that raft reads what it just appended
(and what followers ask for soon after) without touching the raft engine. Invariants, as in TiKV:

- the cached entries are contiguous: entry i sits at position i - first_index;
- every entry above `persisted` (appended but not yet durable) is cached, so raft can always read it;
- compact_to never drops an entry above persisted: compaction stops at persisted + 1.

TermCache remembers, for the last few terms, the first index of each, so term(i) of a committed entry that
has left the entry cache is answered without reading the raft engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

from ..proto.eraftpb_pb2 import Entry
from ..raft.errors import InvariantError
from ..raft.util import NO_LIMIT

__all__ = ["EntryCache", "TermCache", "MemoryTrace", "ENTRY_CACHE_MEMORY", "ENTRY_MEM_OVERHEAD"]

# ENTRY_MEM_OVERHEAD is what one cached Entry holds resident besides its encoded bytes, measured for entries
# as raft hands them over (parts of one proposal or one received message, which share a upb arena): the
# Python wrapper, the entry's share of the arena, its list slots and its size's int (docs/benchmarks.md,
# "Memory per region"). An Entry built on its own carries an arena of its own, 300-800 B more.
ENTRY_MEM_OVERHEAD = 300


class MemoryTrace:
    """MemoryTrace sums the memory of many caches (a gauge an operator reads): `bytes` never goes below 0.

    `limit` (bytes, None: unbounded) bounds the caches that report to it: while `bytes` is above it, a
    PeerStorage evicts its persisted entries whenever it appends, persists or applies, the applied ones
    first (PeerStorage.evict_entry_cache). Entries not yet persisted are never evicted, so `bytes` may
    exceed the limit by what is in flight."""

    __slots__ = ("bytes", "limit")

    def __init__(self, limit: int | None = None) -> None:
        self.bytes = 0
        self.limit = limit

    def add(self, delta: int) -> None:
        self.bytes += delta

    def over_limit(self) -> bool:
        return self.limit is not None and self.bytes > self.limit


# ENTRY_CACHE_MEMORY is the process-wide trace that caches report to unless given their own.
ENTRY_CACHE_MEMORY = MemoryTrace()


def _payload_sizes(entries: Sequence[Entry]) -> list[int]:
    return [len(e.data) + len(e.context) for e in entries]


# _NO_ENTRIES / _NO_SIZES / _NO_TERMS: the shared empty lists of every empty cache, never mutated (a cache
# replaces them with lists of its own before adding anything), so that an idle region holds no list.
_NO_ENTRIES: Final[list[Entry]] = []
_NO_SIZES: Final[list[int]] = []
_NO_TERMS: Final[list[tuple[int, int]]] = []


class EntryCache:
    """EntryCache: the contiguous newest entries of one peer (see the module docstring for invariants).

    `hit` and `miss` count reads served from the cache and reads that had to go to the engine;
    `mem_size` is the cache's own memory in bytes, also reported to its MemoryTrace: per entry
    ENTRY_MEM_OVERHEAD plus its payload, which is its encoded size when the appender passes it (PeerStorage
    does, having encoded the entries for the write anyway), else its data and context bytes.
    """

    __slots__ = ("_entries", "_sizes", "_first", "persisted", "hit", "miss", "mem_size", "_trace")

    def __init__(self, trace: MemoryTrace | None = None) -> None:
        self._entries = _NO_ENTRIES
        self._sizes = _NO_SIZES  # the accounted payload of each cached entry, index for index
        self._first = 0
        self.persisted = 0
        self.hit = 0
        self.miss = 0
        self.mem_size = 0
        self._trace = trace if trace is not None else ENTRY_CACHE_MEMORY

    def __len__(self) -> int:
        return len(self._entries)

    def is_empty(self) -> bool:
        return not self._entries

    def first_index(self) -> int | None:
        """first_index is the index of the oldest cached entry, None when the cache is empty."""
        return self._first if self._entries else None

    def last_index(self) -> int | None:
        return self._first + len(self._entries) - 1 if self._entries else None

    def entry(self, index: int) -> Entry | None:
        """entry is the cached entry at index, or None when it is not cached."""
        pos = index - self._first
        if self._entries and 0 <= pos < len(self._entries):
            return self._entries[pos]
        return None

    def append(
        self, region_id: int, peer_id: int, entries: Sequence[Entry], sizes: Sequence[int] | None = None
    ) -> None:
        """append adds entries at the tail (with their payload sizes for accounting, if known); entries that
        conflict with the cached tail replace it. The first new entry must follow the cached tail or
        overlap it; a hole is a broken invariant."""
        if not entries:
            return
        first_new = entries[0].index
        cached = self._entries
        delta = 0
        if cached:
            last = self._first + len(cached) - 1
            if first_new <= last:
                keep = max(first_new - self._first, 0)
                delta -= sum(self._sizes[keep:]) + ENTRY_MEM_OVERHEAD * (len(cached) - keep)
                del cached[keep:]
                del self._sizes[keep:]
            elif first_new > last + 1:
                raise InvariantError(
                    f"[region {region_id}] {peer_id} unexpected hole in entry cache: {last} < {first_new}"
                )
        new_sizes = _payload_sizes(entries) if sizes is None else sizes
        if cached:
            cached.extend(entries)
            self._sizes.extend(new_sizes)
        else:
            self._first = first_new
            self._entries = list(entries)
            self._sizes = list(new_sizes)
        delta += sum(new_sizes) + ENTRY_MEM_OVERHEAD * len(entries)
        self.mem_size += delta
        self._trace.bytes += delta

    def fetch(self, begin: int, end: int, fetched_size: int, max_size: int) -> list[Entry]:
        """fetch returns cached entries from begin (cached) up to end, while the running size, which
        starts at fetched_size (what the caller already holds), stays within max_size; the first entry
        overall is always included."""
        if begin >= end:
            return []
        start = begin - self._first
        stop = end - self._first
        if start < 0 or stop > len(self._entries):
            raise InvariantError(f"entry cache fetch [{begin}, {end}) outside cached [{self._first}, ...)")
        if max_size == NO_LIMIT:
            return self._entries[start:stop]
        out: list[Entry] = []
        size = fetched_size
        for e in self._entries[start:stop]:
            m = e.ByteSize()
            size += m
            if size != m and size > max_size:
                break
            out.append(e)
            if size == m and size > max_size:
                break
        return out

    def compact_to(self, index: int) -> int:
        """compact_to drops cached entries below index (never above persisted + 1); returns bytes freed."""
        index = min(index, self.persisted + 1)
        if not self._entries or index <= self._first:
            return 0
        count = min(index - self._first, len(self._entries))
        freed = sum(self._sizes[:count]) + ENTRY_MEM_OVERHEAD * count
        del self._entries[:count]
        del self._sizes[:count]
        self._first += count
        self._account(-freed)
        return freed

    def over_limit(self) -> bool:
        """over_limit: the MemoryTrace this cache reports to is above its limit (MemoryTrace.over_limit)."""
        trace = self._trace
        return trace.limit is not None and trace.bytes > trace.limit

    def update_persisted(self, persisted: int) -> None:
        self.persisted = persisted

    def evict(self, half: bool) -> int:
        """evict frees memory under pressure: half of the cache, or all but the newest entry (only what
        is persisted can go); returns bytes freed."""
        if not self._entries:
            return 0
        drain_to = len(self._entries) // 2 if half else len(self._entries) - 1
        return self.compact_to(self._first + drain_to + 1)

    def clear(self) -> None:
        self._account(-self.mem_size)
        self._entries = _NO_ENTRIES
        self._sizes = _NO_SIZES
        self._first = 0

    def _account(self, delta: int) -> None:
        self.mem_size += delta
        self._trace.bytes += delta


class TermCache:
    """TermCache maps the last few terms to the first index of each (terms kept consecutive, oldest first).

    `tail_index` is the greatest index known to belong to the newest cached term: lookups above it are
    unknown, because the newest term's run has no recorded end.
    """

    __slots__ = ("_cache", "tail_index", "capacity")

    def __init__(self, capacity: int = 8) -> None:
        self._cache = _NO_TERMS  # (term, start_index), oldest first
        self.tail_index = 0
        self.capacity = capacity

    def __len__(self) -> int:
        return len(self._cache)

    def append(self, index: int, term: int) -> None:
        """append records that the entry at index has term (entries are reported newest first)."""
        cache = self._cache
        if cache is _NO_TERMS:
            cache = self._cache = []
        if cache:
            first_term = cache[0][0]
            if first_term > term + 1:
                return  # a gap below the oldest cached term: stale information
            if first_term == term + 1:
                if len(cache) < self.capacity:
                    cache.insert(0, (term, index))
                return
            pos = term - first_term
            if pos < len(cache):
                cached_term, start = cache[pos]
                if cached_term != term:
                    raise InvariantError(f"term cache out of order: {cached_term} != {term}")
                if start > index:
                    cache[pos] = (term, index)
                if pos + 1 == len(cache):
                    self.tail_index = max(self.tail_index, index)
                return
            if cache[-1][0] + 1 < term:
                # A jump of terms (a partition healed): what is cached may be stale.
                cache.clear()
                self.tail_index = 0
        cache.append((term, index))
        self.tail_index = index
        if len(cache) > self.capacity:
            del cache[0]

    def append_entries(self, entries: Sequence[Entry]) -> None:
        """append_entries records committed entries (oldest first) as calling append on each, newest first,
        would, but touches only the first entry of each term and the last entry."""
        if not entries:
            return
        self.append(entries[-1].index, entries[-1].term)
        for i in range(len(entries) - 1, -1, -1):
            e = entries[i]
            if i == 0 or entries[i - 1].term != e.term:
                self.append(e.index, e.term)

    def compact_to(self, index: int) -> None:
        """compact_to forgets terms whose runs start below index."""
        kept = [t for t in self._cache if t[1] >= index]
        self._cache = kept if kept else _NO_TERMS
        if not kept:
            self.tail_index = 0

    def entry(self, index: int) -> int | None:
        """entry is the term of index, or None when the cache cannot tell."""
        cache = self._cache
        if not cache or index < cache[0][1] or index > self.tail_index:
            return None
        end_term, end_start = cache[-1]
        if index >= end_start:
            return end_term
        candidate = None
        for term, start in reversed(cache):
            candidate = term
            if index >= start:
                break
        return candidate

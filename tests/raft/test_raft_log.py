"""Tests of raftstore.raft.raft_log: raft-rs's raft_log.rs unit tests, plus the panics and edges."""

from __future__ import annotations

import pytest

from raftstore.raft import (
    NO_LIMIT,
    CompactedError,
    Entry,
    GetEntriesContext,
    InvariantError,
    LogTemporarilyUnavailableError,
    MemStorage,
    Message,
    RaftLog,
    Snapshot,
)


def new_entry(index: int, term: int) -> Entry:
    return Entry(index=index, term=term)


def new_snapshot(meta_index: int, meta_term: int) -> Snapshot:
    s = Snapshot()
    s.metadata.index = meta_index
    s.metadata.term = meta_term
    return s


def ents(*pairs: tuple[int, int]) -> list[Entry]:
    return [new_entry(i, t) for i, t in pairs]


def persist_all(raft_log: RaftLog) -> None:
    """persist_all writes the unstable entries to the MemStorage and marks them stable."""
    unstable = list(raft_log.unstable_entries())
    if unstable:
        raft_log.stable_entries(unstable[-1].index, unstable[-1].term)
        raft_log.store.append(unstable)  # type: ignore[attr-defined]


PREV_123 = ents((1, 1), (2, 2), (3, 3))


@pytest.mark.parametrize(
    "entries, wconflict",
    [
        # no conflict, empty ent
        ([], 0),
        ([], 0),
        # no conflict
        (ents((1, 1), (2, 2), (3, 3)), 0),
        (ents((2, 2), (3, 3)), 0),
        (ents((3, 3)), 0),
        # no conflict, but has new entries
        (ents((1, 1), (2, 2), (3, 3), (4, 4), (5, 4)), 4),
        (ents((2, 2), (3, 3), (4, 4), (5, 4)), 4),
        (ents((3, 3), (4, 4), (5, 4)), 4),
        (ents((4, 4), (5, 4)), 4),
        # conflicts with existing entries
        (ents((1, 4), (2, 4)), 1),
        (ents((2, 1), (3, 4), (4, 4)), 2),
        (ents((3, 1), (4, 2), (5, 4), (6, 4)), 3),
    ],
)
def test_find_conflict(entries: list[Entry], wconflict: int) -> None:
    """test_find_conflict: the first index whose term differs, the first new index, or 0."""
    raft_log = RaftLog(MemStorage())
    raft_log.append(PREV_123)
    assert raft_log.find_conflict(entries) == wconflict


@pytest.mark.parametrize(
    "delta, term, up_to_date",
    [
        # greater term, ignore lastIndex
        (-1, 4, True),
        (0, 4, True),
        (1, 4, True),
        # smaller term, ignore lastIndex
        (-1, 2, False),
        (0, 2, False),
        (1, 2, False),
        # equal term, larger lastIndex wins
        (-1, 3, False),
        (0, 3, True),
        (1, 3, True),
    ],
)
def test_is_up_to_date(delta: int, term: int, up_to_date: bool) -> None:
    """test_is_up_to_date: a later last term wins, then a larger last index (§5.4.1)."""
    raft_log = RaftLog(MemStorage())
    raft_log.append(PREV_123)
    assert raft_log.is_up_to_date(raft_log.last_index() + delta, term) == up_to_date


@pytest.mark.parametrize(
    "entries, windex, wents, wunstable",
    [
        ([], 2, ents((1, 1), (2, 2)), 3),
        (ents((3, 2)), 3, ents((1, 1), (2, 2), (3, 2)), 3),
        # conflicts with index 1
        (ents((1, 2)), 1, ents((1, 2)), 1),
        # conflicts with index 2
        (ents((2, 3), (3, 3)), 3, ents((1, 1), (2, 3), (3, 3)), 2),
    ],
)
def test_append(entries: list[Entry], windex: int, wents: list[Entry], wunstable: int) -> None:
    """test_append: appending returns the last index and truncates the unstable offset on conflicts."""
    store = MemStorage()
    store.wl().append(ents((1, 1), (2, 2)))
    raft_log = RaftLog(store)
    assert raft_log.append(entries) == windex
    assert raft_log.entries(1, None, GetEntriesContext.empty(False)) == wents
    assert raft_log.unstable.offset == wunstable


def test_append_before_committed_panics() -> None:
    """test_append_before_committed_panics: entries that would overwrite committed ones are fatal."""
    raft_log = RaftLog(MemStorage())
    raft_log.append(PREV_123)
    raft_log.commit_to(2)
    with pytest.raises(InvariantError):
        raft_log.append(ents((2, 4)))
    assert raft_log.append(ents((3, 4))) == 3


def test_compaction_side_effects() -> None:
    """test_compaction_side_effects: compacting the storage keeps terms, unstable entries and appends right."""
    last_index = 1000
    unstable_index = 750
    last_term = last_index
    storage = MemStorage()
    for i in range(1, unstable_index + 1):
        storage.wl().append([new_entry(i, i)])
    raft_log = RaftLog(storage)
    for i in range(unstable_index, last_index):
        raft_log.append([new_entry(i + 1, i + 1)])
    assert raft_log.maybe_commit(last_index, last_term)

    offset = 500
    raft_log.store.compact(offset)  # type: ignore[attr-defined]
    assert raft_log.last_index() == last_index

    for j in range(offset, raft_log.last_index() + 1):
        assert raft_log.term(j) == j
        assert raft_log.match_term(j, j)

    unstable_ents = raft_log.unstable_entries()
    assert len(unstable_ents) == last_index - unstable_index
    assert unstable_ents[0].index == unstable_index + 1

    prev = raft_log.last_index()
    raft_log.append([new_entry(prev + 1, prev + 1)])
    assert raft_log.last_index() == prev + 1

    prev = raft_log.last_index()
    assert len(raft_log.entries(prev, None, GetEntriesContext.empty(False))) == 1


def test_term_with_unstable_snapshot() -> None:
    """test_term_with_unstable_snapshot: below an unstable snapshot terms are 0, at it the snapshot's."""
    storagesnapi = 10064
    unstablesnapi = storagesnapi + 5
    store = MemStorage()
    store.wl().apply_snapshot(new_snapshot(storagesnapi, 1))
    raft_log = RaftLog(store)
    raft_log.restore(new_snapshot(unstablesnapi, 1))
    assert raft_log.committed == unstablesnapi
    assert raft_log.persisted == storagesnapi

    for index, w in [
        # cannot get term from storage
        (storagesnapi, 0),
        # cannot get term from the gap between storage ents and unstable snapshot
        (storagesnapi + 1, 0),
        (unstablesnapi - 1, 0),
        # get term from unstable snapshot index
        (unstablesnapi, 1),
    ]:
        assert raft_log.term(index) == w, index


def test_term() -> None:
    """test_term: terms come from the snapshot and the entries; out of range is 0."""
    offset = 100
    num = 100
    store = MemStorage()
    store.wl().apply_snapshot(new_snapshot(offset, 1))
    raft_log = RaftLog(store)
    for i in range(1, num):
        raft_log.append([new_entry(offset + i, i)])
    for index, w in [
        (offset - 1, 0),
        (offset, 1),
        (offset + num // 2, num // 2),
        (offset + num - 1, num - 1),
        (offset + num, 0),
    ]:
        assert raft_log.term(index) == w, index


def test_log_restore() -> None:
    """test_log_restore: a log over a snapshotted storage starts committed at the snapshot."""
    index, term = 1000, 1000
    store = MemStorage()
    store.wl().apply_snapshot(new_snapshot(index, term))
    entries = [new_entry(index + 1, term), new_entry(index + 2, term + 1)]
    store.wl().append(entries)
    raft_log = RaftLog(store)

    assert raft_log.all_entries() == entries
    assert raft_log.first_index() == index + 1
    assert raft_log.committed == index
    assert raft_log.persisted == index + 2
    assert raft_log.unstable.offset == index + 3

    assert raft_log.term(index) == term
    assert raft_log.term(index + 1) == term
    assert raft_log.term(index + 2) == term + 1


_SI, _ST = 5, 2


@pytest.mark.parametrize(
    "stablei, stablet, new_ents, wpersist",
    [
        (_SI + 1, _ST, [], _SI),
        (_SI, _ST, [], _SI),
        (_SI - 1, _ST, [], _SI),
        (_SI + 1, _ST + 1, [], _SI),
        (_SI, _ST + 1, [], _SI),
        (_SI - 1, _ST + 1, [], _SI),
        (_SI + 1, _ST, [new_entry(_SI + 1, _ST)], _SI + 1),
        (_SI, _ST, [new_entry(_SI + 1, _ST)], _SI),
        (_SI - 1, _ST, [new_entry(_SI + 1, _ST)], _SI),
        (_SI + 1, _ST + 1, [new_entry(_SI + 1, _ST)], _SI),
        (_SI, _ST + 1, [new_entry(_SI + 1, _ST)], _SI),
        (_SI - 1, _ST + 1, [new_entry(_SI + 1, _ST)], _SI),
    ],
)
def test_maybe_persist_with_snap(
    stablei: int, stablet: int, new_ents: list[Entry], wpersist: int
) -> None:
    """test_maybe_persist_with_snap: persisted moves only to a stored entry of the right term."""
    store = MemStorage()
    store.wl().apply_snapshot(new_snapshot(_SI, _ST))
    raft_log = RaftLog(store)
    assert raft_log.persisted == _SI
    raft_log.append(new_ents)
    persist_all(raft_log)
    is_changed = raft_log.persisted != wpersist
    assert raft_log.maybe_persist(stablei, stablet) == is_changed
    assert raft_log.persisted == wpersist


def test_maybe_persist_with_unstable_snap() -> None:
    """test_maybe_persist_with_unstable_snap: persisted never passes the unstable offset."""
    raft_log = RaftLog(MemStorage())
    raft_log.restore(new_snapshot(100, 1))
    assert raft_log.unstable.offset == 101
    raft_log.append([new_entry(101, 1)])
    assert raft_log.term(101) == 1
    # 101 == offset, should not forward persisted
    assert not raft_log.maybe_persist(101, 1)
    raft_log.append([new_entry(102, 1)])
    assert raft_log.term(102) == 1
    # 102 > offset, should not forward persisted
    assert not raft_log.maybe_persist(102, 1)


@pytest.mark.parametrize(
    "index, term, wpersist",
    [
        # The written entries beyond the overwritten offset are no longer the log's.
        (3, 1, False),
        # At the overwritten offset itself: storage holds 2@1 for now, but the log's entry 2 is 2@2.
        (2, 1, False),
        (2, 2, False),
        # Below the offset, an entry already persisted.
        (1, 1, False),
    ],
)
def test_maybe_persist_at_overwritten_offset(index: int, term: int, wpersist: bool) -> None:
    """§5.3: a conflicting append truncates the unstable log to its first conflict; a write of the
    replaced entries that completes afterwards must not move persisted to or past that offset, since
    the entries there are not the log's any more (raft-rs maybe_persist's `index < first_update_index`)."""
    store = MemStorage()
    store.wl().append(ents((1, 1)))
    raft_log = RaftLog(store)
    raft_log.append(ents((2, 1), (3, 1)))
    # 2@1 and 3@1 are handed out for writing; the write lands but is not acknowledged yet...
    store.wl().append(list(raft_log.unstable_entries()))
    # ...when a new leader overwrites from index 2.
    raft_log.append(ents((2, 2)))
    assert (raft_log.unstable.offset, raft_log.persisted) == (2, 1)

    assert raft_log.maybe_persist(index, term) == wpersist
    assert raft_log.persisted == 1

    # Once 2@2 itself is written and stable, it persists.
    persist_all(raft_log)
    assert raft_log.maybe_persist(2, 2)
    assert raft_log.persisted == 2


@pytest.mark.parametrize("unstable, wents", [(3, []), (1, ents((1, 1), (2, 2)))])
def test_unstable_ents(unstable: int, wents: list[Entry]) -> None:
    """test_unstable_ents: unstable_entries() is exactly the part not yet in storage."""
    previous_ents = ents((1, 1), (2, 2))
    store = MemStorage()
    store.wl().append(previous_ents[: unstable - 1])
    raft_log = RaftLog(store)
    raft_log.append(previous_ents[unstable - 1 :])
    got = list(raft_log.unstable_entries())
    if got:
        raft_log.stable_entries(got[-1].index, got[-1].term)
    assert got == wents
    assert raft_log.unstable.offset == previous_ents[-1].index + 1


_ENTS4 = ents((4, 1), (5, 1), (6, 1), (7, 1))


def check_next_entries(
    raft_log: RaftLog, applied: int, persisted: int, committed: int, expect: list[Entry] | None
) -> None:
    """check_next_entries persists up to persisted, commits committed, applies applied; then exactly expect
    is ready to apply (None: nothing)."""
    persist_all(raft_log)
    raft_log.maybe_persist(persisted, 1)
    assert raft_log.persisted == persisted
    raft_log.maybe_commit(committed, 1)
    assert raft_log.committed == committed
    raft_log.applied_to(applied)
    assert raft_log.has_next_entries() == (expect is not None)
    assert raft_log.next_entries(None) == expect


@pytest.mark.parametrize(
    "applied, persisted, committed, expect",
    [
        (0, 3, 3, None),
        (0, 3, 4, None),
        (0, 4, 6, _ENTS4[:1]),
        (0, 6, 4, _ENTS4[:1]),
        (0, 5, 5, _ENTS4[:2]),
        (0, 5, 7, _ENTS4[:2]),
        (0, 7, 5, _ENTS4[:2]),
        (3, 4, 3, None),
        (3, 5, 5, _ENTS4[:2]),
        (3, 6, 7, _ENTS4[:3]),
        (3, 7, 6, _ENTS4[:3]),
        (4, 5, 5, _ENTS4[1:2]),
        (4, 5, 7, _ENTS4[1:2]),
        (4, 7, 5, _ENTS4[1:2]),
        (4, 7, 7, _ENTS4[1:4]),
        (5, 5, 5, None),
        (5, 7, 7, _ENTS4[2:4]),
        (7, 7, 7, None),
    ],
)
def test_has_next_ents_and_next_ents(
    applied: int, persisted: int, committed: int, expect: list[Entry] | None
) -> None:
    """test_has_next_ents_and_next_ents: entries to apply are committed, persisted and after applied."""
    store = MemStorage()
    store.wl().apply_snapshot(new_snapshot(3, 1))
    raft_log = RaftLog(store)
    raft_log.append(_ENTS4)
    check_next_entries(raft_log, applied, persisted, committed, expect)


_ENTS7 = ents((4, 1), (5, 1), (6, 1), (7, 1), (8, 1), (9, 1), (10, 1))
_UNLIMITED = 2**32 - 1


@pytest.mark.parametrize(
    "applied, persisted, committed, limit, expect",
    [
        (0, 3, 3, 0, None),
        (0, 3, 4, 0, None),
        (0, 3, 4, _UNLIMITED, _ENTS7[:1]),
        (0, 4, 6, 0, _ENTS7[:1]),
        (0, 4, 6, 2, _ENTS7[:3]),
        (0, 4, 6, 6, _ENTS7[:3]),
        (0, 4, 10, 0, _ENTS7[:1]),
        (0, 4, 10, 2, _ENTS7[:3]),
        (0, 4, 10, 6, _ENTS7),
        (0, 4, 10, 7, _ENTS7),
        (0, 6, 4, 0, _ENTS7[:1]),
        (0, 6, 4, _UNLIMITED, _ENTS7[:1]),
        (0, 5, 5, 0, _ENTS7[:2]),
        (3, 4, 3, _UNLIMITED, None),
        (3, 5, 5, _UNLIMITED, _ENTS7[:2]),
        (3, 6, 7, _UNLIMITED, _ENTS7[:4]),
        (3, 7, 6, _UNLIMITED, _ENTS7[:3]),
        (4, 5, 5, _UNLIMITED, _ENTS7[1:2]),
        (4, 5, 5, _UNLIMITED, _ENTS7[1:2]),
        (4, 5, 7, _UNLIMITED, _ENTS7[1:4]),
        (4, 5, 9, _UNLIMITED, _ENTS7[1:6]),
        (4, 5, 10, _UNLIMITED, _ENTS7[1:]),
        (4, 7, 5, _UNLIMITED, _ENTS7[1:2]),
        (4, 7, 7, 0, _ENTS7[1:4]),
        (5, 5, 5, 0, None),
        (5, 7, 7, _UNLIMITED, _ENTS7[2:4]),
        (7, 7, 7, _UNLIMITED, None),
        # applied may exceed persisted + limit (when the limit was changed)
        (8, 6, 8, 0, None),
    ],
)
def test_has_next_ents_and_next_ents_with_unpersisted_limit(
    applied: int, persisted: int, committed: int, limit: int, expect: list[Entry] | None
) -> None:
    """test_has_next_ents_and_next_ents (second table): max_apply_unpersisted_log_limit lets applying run ahead."""
    store = MemStorage()
    store.wl().apply_snapshot(new_snapshot(3, 1))
    raft_log = RaftLog(store)
    raft_log.max_apply_unpersisted_log_limit = limit
    raft_log.append(_ENTS7)
    check_next_entries(raft_log, applied, persisted, committed, expect)


def _slice_log() -> RaftLog:
    offset, num = 100, 100
    store = MemStorage()
    store.wl().apply_snapshot(new_snapshot(offset, 0))
    for i in range(1, num // 2):
        store.wl().append([new_entry(offset + i, offset + i)])
    raft_log = RaftLog(store)
    for i in range(num // 2, num):
        raft_log.append([new_entry(offset + i, offset + i)])
    return raft_log


_OFF, _LAST, _HALF = 100, 200, 150
_HALFE_SIZE = new_entry(_HALF, _HALF).ByteSize()


def _e(i: int) -> Entry:
    return new_entry(i, i)


@pytest.mark.parametrize(
    "lo, hi, limit, w, wpanic",
    [
        # test no limit
        (_OFF - 1, _OFF + 1, NO_LIMIT, [], False),
        (_OFF, _OFF + 1, NO_LIMIT, [], False),
        (_HALF - 1, _HALF + 1, NO_LIMIT, [_e(_HALF - 1), _e(_HALF)], False),
        (_HALF, _HALF + 1, NO_LIMIT, [_e(_HALF)], False),
        (_LAST - 1, _LAST, NO_LIMIT, [_e(_LAST - 1)], False),
        (_LAST, _LAST + 1, NO_LIMIT, [], True),
        # test limit
        (_HALF - 1, _HALF + 1, 0, [_e(_HALF - 1)], False),
        (_HALF - 1, _HALF + 1, _HALFE_SIZE + 1, [_e(_HALF - 1)], False),
        (_HALF - 2, _HALF + 1, _HALFE_SIZE + 1, [_e(_HALF - 2)], False),
        (_HALF - 1, _HALF + 1, _HALFE_SIZE * 2, [_e(_HALF - 1), _e(_HALF)], False),
        (
            _HALF - 1,
            _HALF + 2,
            _HALFE_SIZE * 3,
            [_e(_HALF - 1), _e(_HALF), _e(_HALF + 1)],
            False,
        ),
        (_HALF, _HALF + 2, _HALFE_SIZE, [_e(_HALF)], False),
        (_HALF, _HALF + 2, _HALFE_SIZE * 2, [_e(_HALF), _e(_HALF + 1)], False),
    ],
)
def test_slice(lo: int, hi: int, limit: int, w: list[Entry], wpanic: bool) -> None:
    """test_slice: slice() spans storage and unstable, is compacted below first and fatal past last."""
    raft_log = _slice_log()
    if wpanic:
        with pytest.raises(InvariantError):
            raft_log.slice(lo, hi, limit, GetEntriesContext.empty(False))
        return
    if lo <= _OFF:
        with pytest.raises(CompactedError):
            raft_log.slice(lo, hi, limit, GetEntriesContext.empty(False))
        return
    assert raft_log.slice(lo, hi, limit, GetEntriesContext.empty(False)) == w


def _ents_size(es: list[Entry]) -> int:
    return sum(e.ByteSize() for e in es)


def test_scan() -> None:
    """test_scan: scan() pages match slice(), stop early on False and fill pages up to the limit."""
    offset = 47
    num = 20
    last = offset + num
    half = offset + num // 2

    def entries(lo: int, hi: int) -> list[Entry]:
        return [new_entry(i, i) for i in range(lo, hi)]

    entry_size = _ents_size(entries(half, half + 1))
    store = MemStorage()
    store.wl().apply_snapshot(new_snapshot(offset, 0))
    store.wl().append(entries(offset + 1, half))
    raft_log = RaftLog(store)
    raft_log.append(entries(half, last))

    for page_size in [0, 1, 10, 100, entry_size, entry_size + 1]:
        for lo in range(offset + 1, last):
            for hi in range(lo, last + 1):
                got: list[Entry] = []

                def visit(e: list[Entry]) -> bool:
                    assert len(e) == 1 or _ents_size(e) < page_size, (len(e), page_size)
                    got.extend(e)
                    return True

                raft_log.scan(lo, hi, page_size, GetEntriesContext.empty(False), visit)
                want = raft_log.slice(lo, hi, NO_LIMIT, GetEntriesContext.empty(False))
                assert got == want, (lo, hi, page_size)

    iters = 0

    def stop_at_two(_: list[Entry]) -> bool:
        nonlocal iters
        iters += 1
        return iters != 2

    raft_log.scan(offset + 1, half, 0, GetEntriesContext.empty(False), stop_at_two)
    assert iters == 2

    def two_per_page(e: list[Entry]) -> bool:
        assert len(e) == 2
        assert _ents_size(e) == entry_size * 2
        return True

    raft_log.scan(offset + 1, offset + 11, entry_size * 2, GetEntriesContext.empty(False), two_per_page)


_LI, _LT, _COMMIT, _PERSIST = 3, 3, 1, 3


@pytest.mark.parametrize(
    "log_term, index, committed, entries, wlasti, wcommit, wpersist, wpanic",
    [
        # not match: term is different
        (_LT - 1, _LI, _LI, ents((_LI + 1, 4)), None, _COMMIT, _PERSIST, False),
        # not match: index out of bound
        (_LT, _LI + 1, _LI, ents((_LI + 2, 4)), None, _COMMIT, _PERSIST, False),
        # match with the last existing entry
        (_LT, _LI, _LI, [], _LI, _LI, _PERSIST, False),
        # do not increase commit higher than lastnewi
        (_LT, _LI, _LI + 1, [], _LI, _LI, _PERSIST, False),
        # commit up to the commit in the message
        (_LT, _LI, _LI - 1, [], _LI, _LI - 1, _PERSIST, False),
        # commit do not decrease
        (_LT, _LI, 0, [], _LI, _COMMIT, _PERSIST, False),
        # commit do not decrease
        (0, 0, _LI, [], 0, _COMMIT, _PERSIST, False),
        (_LT, _LI, _LI, ents((_LI + 1, 4)), _LI + 1, _LI, _PERSIST, False),
        (_LT, _LI, _LI + 1, ents((_LI + 1, 4)), _LI + 1, _LI + 1, _PERSIST, False),
        # do not increase commit higher than lastnewi
        (_LT, _LI, _LI + 2, ents((_LI + 1, 4)), _LI + 1, _LI + 1, _PERSIST, False),
        (_LT, _LI, _LI + 2, ents((_LI + 1, 4), (_LI + 2, 4)), _LI + 2, _LI + 2, _PERSIST, False),
        # match with the entry in the middle
        (_LT - 1, _LI - 1, _LI, ents((_LI, 4)), _LI, _LI, min(_LI - 1, _PERSIST), False),
        (_LT - 2, _LI - 2, _LI, ents((_LI - 1, 4)), _LI - 1, _LI - 1, min(_LI - 2, _PERSIST), False),
        # conflict with existing committed entry
        (_LT - 3, _LI - 3, _LI, ents((_LI - 2, 4)), _LI - 2, _LI - 2, min(_LI - 3, _PERSIST), True),
        (
            _LT - 2,
            _LI - 2,
            _LI,
            ents((_LI - 1, 4), (_LI, 4)),
            _LI,
            _LI,
            min(_LI - 2, _PERSIST),
            False,
        ),
        (
            _LT - 2,
            _LI - 2,
            _LI + 2,
            ents((_LI - 1, _LT - 1), (_LI, 4), (_LI + 1, 4)),
            _LI + 1,
            _LI + 1,
            min(_LI - 1, _PERSIST),
            False,
        ),
    ],
)
def test_log_maybe_append(
    log_term: int,
    index: int,
    committed: int,
    entries: list[Entry],
    wlasti: int | None,
    wcommit: int,
    wpersist: int,
    wpanic: bool,
) -> None:
    """test_log_maybe_append: a matching (index, term) appends, truncating conflicts and lowering persisted (§5.3)."""
    raft_log = RaftLog(MemStorage())
    raft_log.append(PREV_123)
    raft_log.committed = _COMMIT
    raft_log.persisted = _PERSIST
    if wpanic:
        with pytest.raises(InvariantError):
            raft_log.maybe_append(index, log_term, committed, entries)
        return
    res = raft_log.maybe_append(index, log_term, committed, entries)
    glasti = res[1] if res is not None else None
    assert glasti == wlasti
    assert raft_log.committed == wcommit
    assert raft_log.persisted == wpersist
    if glasti is not None and entries:
        lo = raft_log.last_index() - len(entries) + 1
        hi = raft_log.last_index() + 1
        assert raft_log.slice(lo, hi, None, GetEntriesContext.empty(False)) == entries


def test_maybe_append_keeps_entries() -> None:
    """test_maybe_append_keeps_entries: the appended entries are the given (message's) objects
    themselves, from the first conflicting one on (documented ownership rule: step takes the
    message over, so its entries are not copied)."""
    raft_log = RaftLog(MemStorage())
    raft_log.append(PREV_123)
    incoming = ents((3, 3), (4, 4), (5, 4))
    assert raft_log.maybe_append(2, 2, 0, incoming) == (4, 5)
    assert raft_log.unstable_entries()[-2] is incoming[1]
    assert raft_log.unstable_entries()[-1] is incoming[2]
    assert raft_log.term(4) == 4


def test_maybe_append_keeps_message_entries() -> None:
    """test_maybe_append_keeps_message_entries: entries of a protobuf repeated field (a received
    MsgAppend's) are kept as they are and stay valid once the message is gone."""
    raft_log = RaftLog(MemStorage())
    raft_log.append(PREV_123)
    m = Message(entries=ents((4, 4), (5, 4)))
    assert raft_log.maybe_append(3, 3, 0, m.entries) == (4, 5)
    del m
    assert raft_log.slice(4, 6, None, GetEntriesContext.empty(False)) == ents((4, 4), (5, 4))


@pytest.mark.parametrize(
    "commit, wcommit, wpanic",
    [
        (3, 3, False),
        (1, 2, False),  # never decrease
        (4, 0, True),  # commit out of range -> panic
    ],
)
def test_commit_to(commit: int, wcommit: int, wpanic: bool) -> None:
    """test_commit_to: commit never decreases and never passes the last index."""
    raft_log = RaftLog(MemStorage())
    raft_log.append(PREV_123)
    raft_log.committed = 2
    if wpanic:
        with pytest.raises(InvariantError):
            raft_log.commit_to(commit)
        return
    raft_log.commit_to(commit)
    assert raft_log.committed == wcommit


@pytest.mark.parametrize(
    "index, compact, wleft, should_panic",
    [
        # out of upper bound
        (1000, [1001], [0], True),
        (1000, [300, 500, 800, 900], [700, 500, 200, 100], False),
        # out of lower bound
        (1000, [300, 299], [700, 700], False),
    ],
)
def test_compaction(index: int, compact: list[int], wleft: list[int], should_panic: bool) -> None:
    """test_compaction: the number of entries left after storage compactions is right."""
    store = MemStorage()
    for i in range(1, index):
        store.wl().append([new_entry(i, 0)])
    raft_log = RaftLog(store)
    raft_log.maybe_commit(index - 1, 0)
    raft_log.applied_to(raft_log.committed)
    for j, idx in enumerate(compact):
        if should_panic:
            with pytest.raises(InvariantError):
                store.wl().compact(idx)
            continue
        store.wl().compact(idx)
        assert len(raft_log.all_entries()) == wleft[j]


_FIRST, _NUM = 101, 100


@pytest.mark.parametrize(
    "lo, hi, wpanic, w_err_compacted",
    [
        (_FIRST - 2, _FIRST + 1, False, True),
        (_FIRST - 1, _FIRST + 1, False, True),
        (_FIRST, _FIRST, False, False),
        (_FIRST + _NUM // 2, _FIRST + _NUM // 2, False, False),
        (_FIRST + _NUM - 1, _FIRST + _NUM - 1, False, False),
        (_FIRST + _NUM, _FIRST + _NUM, False, False),
        (_FIRST + _NUM, _FIRST + _NUM + 1, True, False),
        (_FIRST + _NUM + 1, _FIRST + _NUM + 1, True, False),
    ],
)
def test_is_outofbounds(lo: int, hi: int, wpanic: bool, w_err_compacted: bool) -> None:
    """test_is_outofbounds: below first is a Compacted result, past last + 1 is fatal."""
    offset = 100
    store = MemStorage()
    store.wl().apply_snapshot(new_snapshot(offset, 0))
    raft_log = RaftLog(store)
    for i in range(1, _NUM + 1):
        raft_log.append([new_entry(i + offset, 0)])
    if wpanic:
        with pytest.raises(InvariantError):
            raft_log.must_check_outofbounds(lo, hi)
        return
    res = raft_log.must_check_outofbounds(lo, hi)
    if w_err_compacted:
        assert res == CompactedError()
    else:
        assert res is None


def test_is_outofbounds_low_above_high_panics() -> None:
    """test_is_outofbounds_low_above_high_panics: lo > hi is fatal."""
    raft_log = RaftLog(MemStorage())
    raft_log.append(PREV_123)
    with pytest.raises(InvariantError):
        raft_log.must_check_outofbounds(3, 2)


def test_restore_snap() -> None:
    """test_restore_snap: restore moves committed, resets persisted to the old commit, refuses an older snapshot."""
    store = MemStorage()
    store.wl().apply_snapshot(new_snapshot(100, 1))
    raft_log = RaftLog(store)
    assert raft_log.committed == 100
    assert raft_log.persisted == 100
    raft_log.restore(new_snapshot(200, 1))
    assert raft_log.committed == 200
    assert raft_log.persisted == 100

    for i in range(201, 210):
        raft_log.append([new_entry(i, 1)])
    store.wl().apply_snapshot(new_snapshot(200, 1))
    raft_log.stable_snap(200)
    unstable = list(raft_log.unstable_entries())
    raft_log.stable_entries(209, 1)
    store.wl().append(unstable)
    raft_log.maybe_persist(209, 1)
    assert raft_log.persisted == 209

    raft_log.restore(new_snapshot(205, 1))
    assert raft_log.committed == 205
    # persisted should reset to previous commit index(200)
    assert raft_log.persisted == 200

    # use smaller commit index, should panic
    with pytest.raises(InvariantError):
        raft_log.restore(new_snapshot(204, 1))


# Beyond raft-rs's own tests: behaviours other modules rely on.


def test_new_from_storage() -> None:
    """test_new_from_storage: RaftLog.new starts committed/applied at first - 1, persisted at last."""
    store = MemStorage()
    store.apply_snapshot(new_snapshot(5, 2))
    store.append(ents((6, 2), (7, 3)))
    raft_log = RaftLog.new(store)
    assert (raft_log.committed, raft_log.applied, raft_log.persisted) == (5, 5, 7)
    assert raft_log.unstable.offset == 8
    assert raft_log.last_term() == 3
    assert raft_log.commit_info() == (5, 2)


@pytest.mark.parametrize(
    "index, term, windex, wterm",
    [
        # beyond the last index: returned as is
        (10, 3, 10, None),
        (7, 3, 7, 3),
        (7, 2, 5, 2),
        (7, 5, 7, 3),
        (6, 1, 3, 1),
        (4, 0, 0, 0),
        (0, 0, 0, 0),
    ],
)
def test_find_conflict_by_term(index: int, term: int, windex: int, wterm: int | None) -> None:
    """test_find_conflict_by_term: the largest index <= index whose term <= term."""
    raft_log = RaftLog(MemStorage())
    raft_log.append(ents((1, 1), (2, 1), (3, 1), (4, 2), (5, 2), (6, 3), (7, 3)))
    assert raft_log.find_conflict_by_term(index, term) == (windex, wterm)


def test_find_conflict_by_term_compacted() -> None:
    """test_find_conflict_by_term_compacted: a compacted index stops the search with no term."""
    store = MemStorage()
    store.apply_snapshot(new_snapshot(5, 2))
    store.append(ents((6, 3), (7, 3), (8, 4)))
    raft_log = RaftLog(store)
    assert raft_log.find_conflict_by_term(8, 3) == (7, 3)
    # term(5) is the snapshot's 2; term(4) is out of range and reads as 0.
    assert raft_log.find_conflict_by_term(8, 2) == (5, 2)
    assert raft_log.find_conflict_by_term(8, 1) == (4, 0)
    store.compact(8)
    # term(6) is now compacted in storage (snapshot metadata is still at 5).
    assert raft_log.find_conflict_by_term(7, 2) == (7, None)


def test_maybe_commit_requires_term() -> None:
    """test_maybe_commit_requires_term: only an entry of the given term commits (§5.4.2)."""
    raft_log = RaftLog(MemStorage())
    raft_log.append(PREV_123)
    assert not raft_log.maybe_commit(3, 2)
    assert not raft_log.maybe_commit(4, 3)
    assert raft_log.maybe_commit(2, 2)
    assert raft_log.committed == 2
    assert not raft_log.maybe_commit(2, 2)


def test_maybe_persist_snap() -> None:
    """test_maybe_persist_snap: persisted moves to a persisted snapshot; above committed or offset is fatal."""
    raft_log = RaftLog(MemStorage())
    raft_log.restore(new_snapshot(10, 2))
    assert not raft_log.maybe_persist_snap(0)
    with pytest.raises(InvariantError):
        raft_log.maybe_persist_snap(11)
    assert raft_log.maybe_persist_snap(10)
    assert raft_log.persisted == 10
    raft_log2 = RaftLog(MemStorage())
    raft_log2.append(PREV_123)
    raft_log2.commit_to(3)
    with pytest.raises(InvariantError):
        raft_log2.maybe_persist_snap(1)


def test_snapshot_prefers_unstable() -> None:
    """test_snapshot_prefers_unstable: the unstable snapshot is returned (a copy) when it reaches the request."""
    store = MemStorage()
    raft_log = RaftLog(store)
    raft_log.restore(new_snapshot(10, 2))
    assert raft_log.has_pending_snapshot()
    got = raft_log.snapshot(10, 2)
    assert got == new_snapshot(10, 2)
    assert got is not raft_log.unstable.snapshot
    # A request past the unstable snapshot falls through to the storage (which raises it to 11).
    assert raft_log.snapshot(11, 2).metadata.index == 11
    store.trigger_snap_unavailable()
    assert raft_log.snapshot(10, 2).metadata.index == 10


def test_applied_to_range() -> None:
    """test_applied_to_range: applied moves within [applied, committed]; 0 is ignored."""
    raft_log = RaftLog(MemStorage())
    raft_log.append(PREV_123)
    raft_log.commit_to(2)
    raft_log.applied_to(0)
    raft_log.applied_to(2)
    assert raft_log.applied == 2
    with pytest.raises(InvariantError):
        raft_log.applied_to(3)
    with pytest.raises(InvariantError):
        raft_log.applied_to(1)
    raft_log.applied_to_unchecked(1)
    assert raft_log.applied == 1


def test_slice_log_temporarily_unavailable() -> None:
    """test_slice_log_temporarily_unavailable: an async fetch refusal passes through slice()."""
    store = MemStorage()
    store.append(PREV_123)
    raft_log = RaftLog(store)
    raft_log.append(ents((4, 3)))
    store.trigger_log_unavailable(True)
    ctx = GetEntriesContext.send_append(2, 3, False)
    with pytest.raises(LogTemporarilyUnavailableError):
        raft_log.entries(1, None, ctx)
    assert store.take_get_entries_context() == ctx
    # Unstable-only ranges never reach the storage.
    assert raft_log.entries(4, None, ctx) == ents((4, 3))
    assert raft_log.entries(5, None, ctx) == []


def test_next_entries_since() -> None:
    """test_next_entries_since: entries after since_idx up to min(committed, persisted + limit)."""
    store = MemStorage()
    store.append(PREV_123)
    raft_log = RaftLog(store)
    raft_log.commit_to(3)
    assert raft_log.has_next_entries_since(1)
    assert raft_log.next_entries_since(1) == ents((2, 2), (3, 3))
    assert raft_log.next_entries_since(1, 0) == ents((2, 2))
    assert not raft_log.has_next_entries_since(3)
    assert raft_log.next_entries_since(3) is None

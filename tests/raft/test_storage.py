"""Tests of raftstore.raft.storage: raft-rs's storage.rs unit tests, plus the contexts and flags."""

from __future__ import annotations

import pytest

from raftstore.raft import (
    CompactedError,
    ConfState,
    Entry,
    GetEntriesContext,
    HardState,
    InvariantError,
    LogTemporarilyUnavailableError,
    MemStorage,
    NO_LIMIT,
    RaftState,
    Snapshot,
    SnapshotOutOfDateError,
    SnapshotTemporarilyUnavailableError,
    Storage,
    UnavailableError,
)


def new_entry(index: int, term: int) -> Entry:
    return Entry(index=index, term=term)


def new_snapshot(index: int, term: int, voters: list[int]) -> Snapshot:
    s = Snapshot()
    s.metadata.index = index
    s.metadata.term = term
    s.metadata.conf_state.voters.extend(voters)
    return s


def size_of(e: Entry) -> int:
    return e.ByteSize()


def storage_with(ents: list[Entry]) -> MemStorage:
    storage = MemStorage()
    storage.wl().entries = [Entry(index=e.index, term=e.term) for e in ents]
    return storage


ENTS_345 = [new_entry(3, 3), new_entry(4, 4), new_entry(5, 5)]


@pytest.mark.parametrize(
    "idx, wterm, werr",
    [
        (2, None, CompactedError),
        (3, 3, None),
        (4, 4, None),
        (5, 5, None),
        (6, None, UnavailableError),
    ],
)
def test_storage_term(idx: int, wterm: int | None, werr: type[Exception] | None) -> None:
    """test_storage_term: term() below the first index is compacted, above the last unavailable."""
    storage = storage_with(ENTS_345)
    if werr is not None:
        with pytest.raises(werr):
            storage.term(idx)
    else:
        assert storage.term(idx) == wterm


_E = [new_entry(3, 3), new_entry(4, 4), new_entry(5, 5), new_entry(6, 6)]


@pytest.mark.parametrize(
    "lo, hi, max_size, wentries",
    [
        (2, 6, NO_LIMIT, CompactedError),
        (3, 4, NO_LIMIT, [new_entry(3, 3)]),
        (4, 5, NO_LIMIT, [new_entry(4, 4)]),
        (4, 6, NO_LIMIT, [new_entry(4, 4), new_entry(5, 5)]),
        (4, 7, NO_LIMIT, [new_entry(4, 4), new_entry(5, 5), new_entry(6, 6)]),
        # Even with max_size 0 the first entry is returned.
        (4, 7, 0, [new_entry(4, 4)]),
        (4, 7, size_of(_E[1]) + size_of(_E[2]), [new_entry(4, 4), new_entry(5, 5)]),
        (
            4,
            7,
            size_of(_E[1]) + size_of(_E[2]) + size_of(_E[3]) // 2,
            [new_entry(4, 4), new_entry(5, 5)],
        ),
        (
            4,
            7,
            size_of(_E[1]) + size_of(_E[2]) + size_of(_E[3]) - 1,
            [new_entry(4, 4), new_entry(5, 5)],
        ),
        (
            4,
            7,
            size_of(_E[1]) + size_of(_E[2]) + size_of(_E[3]),
            [new_entry(4, 4), new_entry(5, 5), new_entry(6, 6)],
        ),
    ],
)
def test_storage_entries(lo: int, hi: int, max_size: int, wentries: object) -> None:
    """test_storage_entries: entries() honours the range, compaction and the size limit."""
    storage = storage_with(_E)
    if isinstance(wentries, type):
        with pytest.raises(wentries):
            storage.entries(lo, hi, max_size, GetEntriesContext.empty(False))
    else:
        assert storage.entries(lo, hi, max_size, GetEntriesContext.empty(False)) == wentries


def test_storage_entries_high_out_of_bound() -> None:
    """test_storage_entries_high_out_of_bound: high above last_index + 1 is a panic in raft-rs."""
    storage = storage_with(_E)
    with pytest.raises(InvariantError):
        storage.entries(4, 8)


def test_storage_last_index() -> None:
    """test_storage_last_index: last_index() follows appends."""
    storage = storage_with(ENTS_345)
    assert storage.last_index() == 5
    storage.wl().append([new_entry(6, 5)])
    assert storage.last_index() == 6


def test_storage_first_index() -> None:
    """test_storage_first_index: first_index() follows compaction."""
    storage = storage_with(ENTS_345)
    assert storage.first_index() == 3
    storage.wl().compact(4)
    assert storage.first_index() == 4


@pytest.mark.parametrize(
    "idx, windex, wterm, wlen",
    [(2, 3, 3, 3), (3, 3, 3, 3), (4, 4, 4, 2), (5, 5, 5, 1)],
)
def test_storage_compact(idx: int, windex: int, wterm: int, wlen: int) -> None:
    """test_storage_compact: compact() drops entries below the index, no-op at or below first index."""
    storage = storage_with(ENTS_345)
    storage.wl().compact(idx)
    index = storage.first_index()
    assert index == windex
    ents = storage.entries(index, index + 1, 1, GetEntriesContext.empty(False))
    assert (ents[0].term if ents else 0) == wterm
    last = storage.last_index()
    assert len(storage.entries(index, last + 1, 100, GetEntriesContext.empty(False))) == wlen


def test_storage_compact_beyond_last_panics() -> None:
    """test_storage_compact_beyond_last_panics: compacting past last_index + 1 is a panic in raft-rs."""
    storage = storage_with(ENTS_345)
    storage.compact(6)  # last_index + 1 is allowed and empties the log
    assert storage.wl().entries == []
    # As in raft-rs, an empty log falls back to the snapshot metadata (none here) for its bounds.
    assert storage.first_index() == 1
    storage = storage_with(ENTS_345)
    with pytest.raises(InvariantError):
        storage.compact(7)


@pytest.mark.parametrize(
    "idx, wresult, windex",
    [
        (4, new_snapshot(4, 4, [1, 2, 3]), 0),
        (5, new_snapshot(5, 5, [1, 2, 3]), 5),
        (5, new_snapshot(6, 5, [1, 2, 3]), 6),
        (5, SnapshotTemporarilyUnavailableError, 6),
    ],
)
def test_storage_create_snapshot(idx: int, wresult: object, windex: int) -> None:
    """test_storage_create_snapshot: snapshot() builds at commit, raised to the request index, or unavailable."""
    storage = storage_with(ENTS_345)
    core = storage.wl()
    core.raft_state.hard_state.commit = idx
    core.raft_state.hard_state.term = idx
    core.raft_state.conf_state = ConfState(voters=[1, 2, 3])
    if isinstance(wresult, type):
        storage.wl().trigger_snap_unavailable()
        with pytest.raises(wresult):
            storage.snapshot(windex, 0)
        # The trigger fires once.
        assert storage.snapshot(windex, 0) == new_snapshot(6, 5, [1, 2, 3])
    else:
        assert storage.snapshot(windex, 0) == wresult


@pytest.mark.parametrize(
    "entries, wentries",
    [
        (
            [new_entry(3, 3), new_entry(4, 4), new_entry(5, 5)],
            [new_entry(3, 3), new_entry(4, 4), new_entry(5, 5)],
        ),
        (
            [new_entry(3, 3), new_entry(4, 6), new_entry(5, 6)],
            [new_entry(3, 3), new_entry(4, 6), new_entry(5, 6)],
        ),
        (
            [new_entry(3, 3), new_entry(4, 4), new_entry(5, 5), new_entry(6, 5)],
            [new_entry(3, 3), new_entry(4, 4), new_entry(5, 5), new_entry(6, 5)],
        ),
        # Overwriting compacted raft logs is not allowed.
        ([new_entry(2, 3), new_entry(3, 3), new_entry(4, 5)], None),
        # Truncate the existing entries and append.
        ([new_entry(4, 5)], [new_entry(3, 3), new_entry(4, 5)]),
        # Direct append.
        (
            [new_entry(6, 6)],
            [new_entry(3, 3), new_entry(4, 4), new_entry(5, 5), new_entry(6, 6)],
        ),
        # A gap is not allowed.
        ([new_entry(7, 6)], None),
    ],
)
def test_storage_append(entries: list[Entry], wentries: list[Entry] | None) -> None:
    """test_storage_append: append() truncates a conflicting tail and refuses compacted or gapped entries."""
    storage = storage_with(ENTS_345)
    if wentries is None:
        with pytest.raises(InvariantError):
            storage.wl().append(entries)
    else:
        storage.wl().append(entries)
        assert storage.wl().entries == wentries


def test_storage_append_keeps_entries() -> None:
    """test_storage_append_keeps_entries: append() keeps the given Entry objects themselves (the
    documented ownership rule: the caller hands them over and must not mutate them afterwards)."""
    storage = MemStorage()
    e = new_entry(1, 1)
    ents = [e]
    storage.append(ents)
    assert storage.wl().entries[0] is e
    assert storage.wl().entries is not ents
    assert storage.entries(1, 2) == [new_entry(1, 1)]


def test_storage_apply_snapshot() -> None:
    """test_storage_apply_snapshot: apply_snapshot() succeeds, then an older snapshot is out of date."""
    storage = MemStorage()
    storage.wl().apply_snapshot(new_snapshot(4, 4, [1, 2, 3]))
    assert storage.first_index() == 5
    assert storage.last_index() == 4
    assert storage.term(4) == 4
    state = storage.initial_state()
    assert state.hard_state == HardState(term=4, commit=4)
    assert state.conf_state == ConfState(voters=[1, 2, 3])
    with pytest.raises(SnapshotOutOfDateError):
        storage.wl().apply_snapshot(new_snapshot(3, 3, [1, 2, 3]))


def test_raft_state_initialized() -> None:
    """test_raft_state_initialized: a RaftState is initialized exactly when its ConfState is not default."""
    assert not RaftState().initialized()
    assert not MemStorage().initial_state().initialized()
    assert RaftState(HardState(), ConfState(voters=[1])).initialized()
    assert RaftState(HardState(), ConfState(learners=[2])).initialized()
    assert MemStorage.new_with_conf_state(ConfState(voters=[1, 2])).initial_state().initialized()


def test_initialize_with_conf_state_twice_panics() -> None:
    """test_initialize_with_conf_state_twice_panics: raft-rs asserts the storage is not yet initialized."""
    s = MemStorage.new_with_conf_state(ConfState(voters=[1]))
    with pytest.raises(InvariantError):
        s.initialize_with_conf_state(ConfState(voters=[2]))


def test_initial_state_is_a_copy() -> None:
    """test_initial_state_is_a_copy: initial_state() returns a clone, as raft-rs does."""
    s = MemStorage.new_with_conf_state(ConfState(voters=[1]))
    st = s.initial_state()
    st.hard_state.term = 7
    st.conf_state.voters.append(2)
    assert s.initial_state() == RaftState(HardState(), ConfState(voters=[1]))


def test_commit_to_and_hard_state() -> None:
    """test_commit_to_and_hard_state: commit_to sets commit and the term of that entry; missing entry panics."""
    s = storage_with(ENTS_345)
    s.commit_to(4)
    assert s.hard_state() == HardState(term=4, commit=4)
    with pytest.raises(InvariantError):
        s.commit_to(6)
    s.set_hardstate(HardState(term=9, vote=2, commit=5))
    assert s.hard_state() == HardState(term=9, vote=2, commit=5)
    s.commit_to_and_set_conf_states(5, ConfState(voters=[3]))
    assert s.initial_state().conf_state == ConfState(voters=[3])
    assert s.hard_state().commit == 5


def test_log_unavailable_with_async_context() -> None:
    """test_log_unavailable_with_async_context: trigger_log_unavailable refuses only async-capable contexts."""
    s = storage_with(ENTS_345)
    s.trigger_log_unavailable(True)
    assert s.entries(3, 5, None, GetEntriesContext.empty(False)) == [new_entry(3, 3), new_entry(4, 4)]
    assert s.entries(3, 5, None, GetEntriesContext.gen_ready()) == [new_entry(3, 3), new_entry(4, 4)]
    with pytest.raises(LogTemporarilyUnavailableError):
        s.entries(3, 5, None, GetEntriesContext.empty(True))
    assert s.take_get_entries_context() == GetEntriesContext.empty(True)
    assert s.take_get_entries_context() is None
    ctx = GetEntriesContext.send_append(2, 3, True)
    with pytest.raises(LogTemporarilyUnavailableError):
        s.entries(3, 5, None, ctx)
    assert s.wl().take_get_entries_context() == ctx
    s.trigger_log_unavailable(False)
    assert len(s.entries(3, 6, None, ctx)) == 3


def test_get_entries_context_can_async() -> None:
    """test_get_entries_context_can_async: only SendAppend and Empty(true) may go async."""
    assert GetEntriesContext.empty(True).can_async()
    assert not GetEntriesContext.empty(False).can_async()
    assert GetEntriesContext.send_append(1, 1, False).can_async()
    assert not GetEntriesContext.gen_ready().can_async()
    assert not GetEntriesContext.transfer_leader().can_async()
    assert not GetEntriesContext.commit_by_vote().can_async()
    ctx = GetEntriesContext.send_append(5, 7, True)
    assert (ctx.to, ctx.term, ctx.aggressively) == (5, 7, True)


def test_mem_storage_is_storage_and_clone_shares() -> None:
    """test_mem_storage_is_storage_and_clone_shares: MemStorage is a Storage; clones share one core."""
    s = MemStorage()
    assert isinstance(s, Storage)
    c = s.clone()
    c.append([new_entry(1, 1)])
    assert s.last_index() == 1
    assert s.first_index() == 1
    assert MemStorage().first_index() == 1
    assert MemStorage().last_index() == 0
    assert MemStorage().term(0) == 0

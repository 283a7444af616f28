"""Tests of raftstore.raft.log_unstable: raft-rs's log_unstable.rs unit tests, plus the panics."""

from __future__ import annotations

import pytest

from raftstore.raft import Entry, InvariantError, Snapshot, Unstable
from raftstore.raft.log_unstable import entry_approximate_size


def new_entry(index: int, term: int) -> Entry:
    return Entry(index=index, term=term)


def new_snapshot(index: int, term: int) -> Snapshot:
    s = Snapshot()
    s.metadata.index = index
    s.metadata.term = term
    return s


def make(entry: Entry | None, offset: int, snapshot: Snapshot | None) -> Unstable:
    entries = [entry] if entry is not None else []
    u = Unstable(offset)
    u.entries = entries
    u.entries_size = sum(entry_approximate_size(e) for e in entries)
    u.snapshot = snapshot
    return u


@pytest.mark.parametrize(
    "entry, offset, snap, wok, windex",
    [
        # no snapshot
        (new_entry(5, 1), 5, None, False, 0),
        (None, 0, None, False, 0),
        # has snapshot
        (new_entry(5, 1), 5, new_snapshot(4, 1), True, 5),
        (None, 5, new_snapshot(4, 1), True, 5),
    ],
)
def test_maybe_first_index(
    entry: Entry | None, offset: int, snap: Snapshot | None, wok: bool, windex: int
) -> None:
    """test_maybe_first_index: the first index is known only from a snapshot."""
    index = make(entry, offset, snap).maybe_first_index()
    if index is None:
        assert not wok
    else:
        assert wok and index == windex


@pytest.mark.parametrize(
    "entry, offset, snap, wok, windex",
    [
        (new_entry(5, 1), 5, None, True, 5),
        (new_entry(5, 1), 5, new_snapshot(4, 1), True, 5),
        # last in snapshot
        (None, 5, new_snapshot(4, 1), True, 4),
        # empty unstable
        (None, 0, None, False, 0),
    ],
)
def test_maybe_last_index(
    entry: Entry | None, offset: int, snap: Snapshot | None, wok: bool, windex: int
) -> None:
    """test_maybe_last_index: the last index comes from the entries, else the snapshot."""
    index = make(entry, offset, snap).maybe_last_index()
    if index is None:
        assert not wok
    else:
        assert wok and index == windex


@pytest.mark.parametrize(
    "entry, offset, snap, index, wok, wterm",
    [
        # term from entries
        (new_entry(5, 1), 5, None, 5, True, 1),
        (new_entry(5, 1), 5, None, 6, False, 0),
        (new_entry(5, 1), 5, None, 4, False, 0),
        (new_entry(5, 1), 5, new_snapshot(4, 1), 5, True, 1),
        (new_entry(5, 1), 5, new_snapshot(4, 1), 6, False, 0),
        # term from snapshot
        (new_entry(5, 1), 5, new_snapshot(4, 1), 4, True, 1),
        (new_entry(5, 1), 5, new_snapshot(4, 1), 3, False, 0),
        (None, 5, new_snapshot(4, 1), 5, False, 0),
        (None, 5, new_snapshot(4, 1), 4, True, 1),
        (None, 0, None, 5, False, 0),
    ],
)
def test_maybe_term(
    entry: Entry | None, offset: int, snap: Snapshot | None, index: int, wok: bool, wterm: int
) -> None:
    """test_maybe_term: terms come from the entries or from the snapshot's own index."""
    term = make(entry, offset, snap).maybe_term(index)
    if term is None:
        assert not wok
    else:
        assert wok and term == wterm


def test_restore() -> None:
    """test_restore: restoring a snapshot drops the entries and moves the offset past it."""
    u = make(new_entry(5, 1), 5, new_snapshot(4, 1))
    s = new_snapshot(6, 2)
    u.restore(s)
    assert u.offset == s.metadata.index + 1
    assert u.entries == []
    assert u.entries_size == 0
    assert u.snapshot == s


def test_stable_snapshot_and_entries() -> None:
    """test_stable_snapshot_and_entries: the snapshot is made stable, then the entries up to their last."""
    ents = [new_entry(5, 1), new_entry(5, 2), new_entry(6, 3)]
    u = Unstable(5)
    u.entries = list(ents)
    u.entries_size = sum(entry_approximate_size(e) for e in ents)
    u.snapshot = new_snapshot(4, 1)
    assert u.entries == ents
    u.stable_snap(4)
    u.stable_entries(6, 3)
    assert u.entries == []
    assert u.entries_size == 0
    assert u.offset == 7


def test_stable_panics() -> None:
    """test_stable_panics: stabling entries before the snapshot, or with a wrong (index, term), is fatal."""
    u = make(new_entry(5, 1), 5, new_snapshot(4, 1))
    with pytest.raises(InvariantError):
        u.stable_entries(5, 1)
    with pytest.raises(InvariantError):
        u.stable_snap(3)
    u.stable_snap(4)
    with pytest.raises(InvariantError):
        u.stable_snap(4)
    with pytest.raises(InvariantError):
        u.stable_entries(5, 2)
    with pytest.raises(InvariantError):
        u.stable_entries(6, 1)
    u.stable_entries(5, 1)
    with pytest.raises(InvariantError):
        u.stable_entries(5, 1)


@pytest.mark.parametrize(
    "entries, offset, to_append, woffset, wentries",
    [
        # replace to the end
        (
            [new_entry(5, 1)],
            5,
            [new_entry(6, 1), new_entry(7, 1)],
            5,
            [new_entry(5, 1), new_entry(6, 1), new_entry(7, 1)],
        ),
        # replace to unstable entries
        (
            [new_entry(5, 1)],
            5,
            [new_entry(5, 2), new_entry(6, 2)],
            5,
            [new_entry(5, 2), new_entry(6, 2)],
        ),
        (
            [new_entry(5, 1)],
            5,
            [new_entry(4, 2), new_entry(5, 2), new_entry(6, 2)],
            4,
            [new_entry(4, 2), new_entry(5, 2), new_entry(6, 2)],
        ),
        # truncate existing entries and append
        (
            [new_entry(5, 1), new_entry(6, 1), new_entry(7, 1)],
            5,
            [new_entry(6, 2)],
            5,
            [new_entry(5, 1), new_entry(6, 2)],
        ),
        (
            [new_entry(5, 1), new_entry(6, 1), new_entry(7, 1)],
            5,
            [new_entry(7, 2), new_entry(8, 2)],
            5,
            [new_entry(5, 1), new_entry(6, 1), new_entry(7, 2), new_entry(8, 2)],
        ),
    ],
)
def test_truncate_and_append(
    entries: list[Entry], offset: int, to_append: list[Entry], woffset: int, wentries: list[Entry]
) -> None:
    """test_truncate_and_append: appending truncates an overlapped tail and keeps entries_size exact."""
    u = Unstable(offset)
    u.entries = list(entries)
    u.entries_size = sum(entry_approximate_size(e) for e in entries)
    u.truncate_and_append(to_append)
    assert u.offset == woffset
    assert u.entries == wentries
    assert u.entries_size == sum(entry_approximate_size(e) for e in wentries)


def test_truncate_and_append_gap_panics() -> None:
    """test_truncate_and_append_gap_panics: appending past the end leaves a gap, which is fatal."""
    u = make(new_entry(5, 1), 5, None)
    with pytest.raises(InvariantError):
        u.truncate_and_append([new_entry(7, 1)])


def test_entries_size_counts_data_and_context() -> None:
    """test_entries_size_counts_data_and_context: entries_size is data + context + 12 per entry."""
    u = Unstable(1)
    u.truncate_and_append([Entry(index=1, term=1, data=b"abc", context=b"xy")])
    assert u.entries_size == 3 + 2 + 12
    u.truncate_and_append([Entry(index=1, term=2, data=b"a")])
    assert u.entries_size == 1 + 12


def test_entries_size_follows_every_change() -> None:
    """test_entries_size_follows_every_change: entries_size (kept lazily) is exact after each append,
    truncation, stable_entries and restore, whether or not it was read in between."""
    u = Unstable(1, [Entry(index=1, term=1, data=b"ab")])
    assert u.entries_size == 2 + 12
    u.truncate_and_append([Entry(index=2, term=1, data=b"abcd")])
    u.truncate_and_append([Entry(index=3, term=1, context=b"c")])
    assert u.entries_size == (2 + 12) + (4 + 12) + (1 + 12)
    u.truncate_and_append([Entry(index=2, term=2)])
    assert u.entries_size == (2 + 12) + 12
    u.stable_entries(2, 2)
    assert u.entries_size == 0
    u.truncate_and_append([Entry(index=3, term=2, data=b"x")])
    assert u.entries_size == 1 + 12
    u.restore(new_snapshot(9, 3))
    assert u.entries_size == 0


@pytest.mark.parametrize(
    "lo, hi, wpanic, wlen",
    [
        (5, 5, False, 0),
        (5, 8, False, 3),
        (6, 7, False, 1),
        (8, 8, False, 0),
        (4, 6, True, 0),
        (5, 9, True, 0),
        (7, 6, True, 0),
    ],
)
def test_slice(lo: int, hi: int, wpanic: bool, wlen: int) -> None:
    """test_slice: slice() returns [lo, hi) and is fatal out of bounds or for lo > hi."""
    u = Unstable(5)
    u.truncate_and_append([new_entry(5, 1), new_entry(6, 1), new_entry(7, 1)])
    if wpanic:
        with pytest.raises(InvariantError):
            u.slice(lo, hi)
    else:
        got = u.slice(lo, hi)
        assert [e.index for e in got] == list(range(lo, lo + wlen))

"""raftstore.raft.log_unstable: the entries and snapshot not yet written to Storage (raft-rs's Unstable).

Entry ownership: truncate_and_append keeps the Entry objects it is given (raft-rs clones them); the
caller hands them over and must not mutate them afterwards. slice() returns a new list of the kept
objects, which callers must treat as read-only.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..proto.eraftpb_pb2 import Entry, Snapshot
from .errors import InvariantError

__all__ = ["Unstable", "entry_approximate_size"]


def entry_approximate_size(e: Entry) -> int:
    """entry_approximate_size estimates an entry's encoded size as raft-rs does: data + context + 12."""
    return len(e.data) + len(e.context) + 12


class Unstable:
    """Unstable holds the log entries and the snapshot that are not yet in Storage.

    Invariants: entries[i] has index offset + i; when snapshot is set, offset is its index + 1 or
    more; entries_size is the sum of entry_approximate_size over entries. offset may be below the
    last index in storage: the next write then truncates the stored log first.

    entries_size is computed lazily: appends only mark it stale (summing every appended entry in
    Python was a large share of the write path), and reading it sums the held entries once. Setting
    it stores the given value, which appends then invalidate.
    """

    __slots__ = ("snapshot", "entries", "_entries_size", "offset")

    def __init__(
        self,
        offset: int,
        entries: list[Entry] | None = None,
        snapshot: Snapshot | None = None,
        entries_size: int | None = None,
    ) -> None:
        # snapshot: the incoming snapshot, or None.
        self.snapshot: Snapshot | None = snapshot
        # entries: the entries not yet stable, from index offset on.
        self.entries: list[Entry] = entries if entries is not None else []
        # _entries_size: approximate size of entries (see entry_approximate_size), None when stale.
        self._entries_size: int | None = entries_size
        # offset: the index of entries[0] (of the next entry when entries is empty).
        self.offset: int = offset

    @property
    def entries_size(self) -> int:
        """entries_size is the sum of entry_approximate_size over entries (computed on demand)."""
        size = self._entries_size
        if size is None:
            size = sum(len(e.data) + len(e.context) for e in self.entries) + 12 * len(self.entries)
            self._entries_size = size
        return size

    @entries_size.setter
    def entries_size(self, size: int) -> None:
        self._entries_size = size

    def maybe_first_index(self) -> int | None:
        """maybe_first_index is the snapshot's index + 1 when there is a snapshot, else None."""
        snap = self.snapshot
        if snap is None:
            return None
        return snap.metadata.index + 1

    def maybe_last_index(self) -> int | None:
        """maybe_last_index is the index of the last entry, else the snapshot's index, else None."""
        n = len(self.entries)
        if n:
            return self.offset + n - 1
        snap = self.snapshot
        if snap is None:
            return None
        return snap.metadata.index

    def maybe_term(self, idx: int) -> int | None:
        """maybe_term is the term of entry idx if this holds it (or the snapshot is at idx), else None."""
        offset = self.offset
        if idx < offset:
            snap = self.snapshot
            if snap is None:
                return None
            meta = snap.metadata
            return meta.term if idx == meta.index else None
        pos = idx - offset
        ents = self.entries
        if pos < len(ents):
            return ents[pos].term
        return None

    def stable_entries(self, index: int, term: int) -> None:
        """stable_entries drops all entries once written; the last must be (index, term).

        The snapshot must have been made stable first; otherwise, or on a mismatch, InvariantError.
        """
        if self.snapshot is not None:
            raise InvariantError("the snapshot must be stabled before entries")
        ents = self.entries
        if not ents:
            raise InvariantError(
                f"unstable.slice is empty, expect its last one's index and term are {index} and {term}"
            )
        last = ents[-1]
        if last.index != index or last.term != term:
            raise InvariantError(
                f"the last one of unstable.slice has different index {last.index} and term "
                f"{last.term}, expect {index} {term}"
            )
        self.offset = last.index + 1
        self.entries = []
        self._entries_size = 0

    def stable_snap(self, index: int) -> None:
        """stable_snap drops the snapshot once written; it must be at index, else InvariantError."""
        snap = self.snapshot
        if snap is None:
            raise InvariantError(f"unstable.snap is none, expect a snapshot with index {index}")
        if snap.metadata.index != index:
            raise InvariantError(
                f"unstable.snap has different index {snap.metadata.index}, expect {index}"
            )
        self.snapshot = None

    def restore(self, snap: Snapshot) -> None:
        """restore replaces everything by snap (kept as is, not copied, not unpacked)."""
        self.entries = []
        self._entries_size = 0
        self.offset = snap.metadata.index + 1
        self.snapshot = snap

    def truncate_and_append(self, ents: Sequence[Entry]) -> None:
        """truncate_and_append appends ents (non-empty), first dropping held entries from ents[0].index on.

        When ents start at or before offset, everything held is replaced and offset moves to
        ents[0].index. The Entry objects are kept, not copied.
        """
        after = ents[0].index
        offset = self.offset
        n = len(self.entries)
        if after == offset + n:
            pass
        elif after <= offset:
            self.offset = after
            self.entries = []
        else:
            self.must_check_outofbounds(offset, after)
            del self.entries[after - offset :]
        self.entries.extend(ents)
        # entries_size is recomputed on demand.
        self._entries_size = None

    def slice(self, lo: int, hi: int) -> list[Entry]:
        """slice returns the held entries in [lo, hi); out of bounds or lo > hi is InvariantError."""
        self.must_check_outofbounds(lo, hi)
        off = self.offset
        return self.entries[lo - off : hi - off]

    def must_check_outofbounds(self, lo: int, hi: int) -> None:
        """must_check_outofbounds raises InvariantError unless offset <= lo <= hi <= offset + len(entries)."""
        if lo > hi:
            raise InvariantError(f"invalid unstable.slice {lo} > {hi}")
        upper = self.offset + len(self.entries)
        if lo < self.offset or hi > upper:
            raise InvariantError(
                f"unstable.slice[{lo}, {hi}] out of bound[{self.offset}, {upper}]"
            )

    def __repr__(self) -> str:
        return (
            f"Unstable(offset={self.offset}, entries={len(self.entries)}, "
            f"entries_size={self.entries_size}, snapshot={self.snapshot is not None})"
        )

"""raftstore.raft.raft_log: the Raft log, unstable entries over a Storage (raft-rs's RaftLog).

Method names and argument order are raft-rs's. Where raft-rs returns Result, methods raise
(CompactedError etc.); where it returns Option, they return None; where it panics (fatal!), they
raise InvariantError.

Entry ownership: append() and maybe_append() keep the Entry objects they are given (the caller hands
them over; for maybe_append they are a received Message's entries, which Raft.step takes over as
raft-rs's step(m: Message) takes ownership of m): they must not be mutated afterwards. Lists
returned by entries()/slice()/next_entries() are new lists, but the Entry objects in them are
shared with the log and the Storage: treat them as read-only. unstable_entries() returns the
live list of the unstable log: copy it (list(...)) before keeping it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from itertools import islice

from ..proto.eraftpb_pb2 import Entry, Snapshot
from .errors import (
    CompactedError,
    InvariantError,
    LogTemporarilyUnavailableError,
    StorageError,
    UnavailableError,
)
from .log_unstable import Unstable
from .storage import GetEntriesContext, Storage
from .util import NO_LIMIT, limit_size

__all__ = ["RaftLog", "NO_LIMIT"]

_EMPTY_SYNC = GetEntriesContext.empty(False)
_GEN_READY = GetEntriesContext.gen_ready()


class RaftLog:
    """RaftLog is the log of one Raft node: `store` holds stable entries, `unstable` the rest.

    Invariants: applied <= committed (may break after a restart with
    max_apply_unpersisted_log_limit > 0, until committed catches up); persisted < unstable.offset;
    with max_apply_unpersisted_log_limit == 0, applied <= persisted once persisted caught up.
    """

    __slots__ = ("store", "unstable", "committed", "persisted", "applied", "max_apply_unpersisted_log_limit")

    def __init__(self, store: Storage, max_apply_unpersisted_log_limit: int = 0) -> None:
        """RaftLog(store) starts committed and applied at first_index - 1, persisted at last_index."""
        first_index = store.first_index()
        last_index = store.last_index()
        # store: the stable entries since the last snapshot.
        self.store: Storage = store
        # unstable: entries and snapshot not yet written to store.
        self.unstable: Unstable = Unstable(last_index + 1)
        # committed: highest index known stable on a quorum.
        self.committed: int = first_index - 1
        # persisted: highest index known persisted in store.
        self.persisted: int = last_index
        # applied: highest index the application was told to apply.
        self.applied: int = first_index - 1
        # max_apply_unpersisted_log_limit: how far applied may run ahead of persisted.
        self.max_apply_unpersisted_log_limit: int = max_apply_unpersisted_log_limit

    @classmethod
    def new(cls, store: Storage, max_apply_unpersisted_log_limit: int = 0) -> RaftLog:
        """new is RaftLog(store) (raft-rs's RaftLog::new)."""
        return cls(store, max_apply_unpersisted_log_limit)

    def __str__(self) -> str:
        return (
            f"committed={self.committed}, persisted={self.persisted}, applied={self.applied}, "
            f"unstable.offset={self.unstable.offset}, unstable.entries.len()={len(self.unstable.entries)}"
        )

    def __repr__(self) -> str:
        return f"RaftLog({self})"

    def mut_store(self) -> Storage:
        """mut_store returns the storage (raft-rs's mutable accessor)."""
        return self.store

    def last_term(self) -> int:
        """last_term is the term of the last entry; InvariantError if it was discarded."""
        try:
            return self.term(self.last_index())
        except StorageError as e:
            raise InvariantError(f"unexpected error when getting the last term: {e!r}") from e

    def term(self, idx: int) -> int:
        """term is the term of entry idx; 0 outside [first_index() - 1, last_index()].

        Raises CompactedError / UnavailableError from the storage; other storage errors are
        broken invariants (InvariantError).
        """
        u = self.unstable
        ents = u.entries
        snap = u.snapshot
        if ents:
            last = u.offset + len(ents) - 1
        elif snap is not None:
            last = snap.metadata.index
        else:
            last = self.store.last_index()
        if idx > last:
            return 0
        if snap is not None:
            first = snap.metadata.index + 1
        else:
            first = self.store.first_index()
        if idx < first - 1:
            return 0
        # Unstable.maybe_term, inlined.
        offset = u.offset
        if idx >= offset:
            pos = idx - offset
            if pos < len(ents):
                return ents[pos].term
        elif snap is not None and idx == snap.metadata.index:
            return snap.metadata.term
        try:
            return self.store.term(idx)
        except (CompactedError, UnavailableError):
            raise
        except StorageError as e:
            raise InvariantError(f"unexpected error: {e!r}") from e

    def first_index(self) -> int:
        """first_index is the first index available via entries: the unstable snapshot's + 1, or the store's."""
        snap = self.unstable.snapshot
        if snap is not None:
            return snap.metadata.index + 1
        return self.store.first_index()

    def last_index(self) -> int:
        """last_index is the last index: of the unstable entries, the unstable snapshot, or the store."""
        u = self.unstable
        n = len(u.entries)
        if n:
            return u.offset + n - 1
        snap = u.snapshot
        if snap is not None:
            return snap.metadata.index
        return self.store.last_index()

    def find_conflict(self, entries: Sequence[Entry]) -> int:
        """find_conflict is the index of the first entry of entries whose term differs from the log's.

        0 when the log holds all of entries; the first new index when entries extend the log. entries must
        be contiguous.
        """
        for e in entries:
            if not self.match_term(e.index, e.term):
                return e.index
        return 0

    def find_conflict_by_term(self, index: int, term: int) -> tuple[int, int | None]:
        """find_conflict_by_term is the largest (i, term(i)) with i <= index and term(i) <= term.

        An index above last_index() is returned as (index, None); a storage error stops the search
        with (i, None).
        """
        if index > self.last_index():
            return index, None
        conflict_index = index
        while True:
            try:
                t = self.term(conflict_index)
            except StorageError:
                return conflict_index, None
            if t > term:
                conflict_index -= 1
            else:
                return conflict_index, t

    def match_term(self, idx: int, term: int) -> bool:
        """match_term tells whether entry idx has term `term` (false on a storage error)."""
        try:
            return self.term(idx) == term
        except StorageError:
            return False

    def maybe_append(
        self, idx: int, term: int, committed: int, entries: Sequence[Entry]
    ) -> tuple[int, int] | None:
        """maybe_append appends entries after (idx, term) if the log matches there.

        Returns (conflict_index, last_new_index), or None when (idx, term) does not match. A
        conflict at or below committed is a broken invariant (InvariantError). Commit moves to
        min(committed, last_new_index); persisted drops below a conflict. The appended Entry
        objects are entries' own (not copies: the caller hands them over, see the module docstring).
        """
        if not self.match_term(idx, term):
            return None
        conflict_idx = self.find_conflict(entries)
        if conflict_idx == 0:
            pass
        elif conflict_idx <= self.committed:
            raise InvariantError(
                f"entry {conflict_idx} conflict with committed entry {self.committed}"
            )
        else:
            # A new list of the same objects. A protobuf repeated field is read with list() / islice:
            # slicing one builds each element's wrapper about 3x slower.
            start = conflict_idx - (idx + 1)
            self.append(entries[start:] if isinstance(entries, list) else list(islice(entries, start, None)))
            if self.persisted > conflict_idx - 1:
                self.persisted = conflict_idx - 1
        last_new_index = idx + len(entries)
        self.commit_to(min(committed, last_new_index))
        return conflict_idx, last_new_index

    def commit_to(self, to_commit: int) -> None:
        """commit_to raises committed to to_commit (never lowers it); beyond last_index() is InvariantError."""
        if self.committed >= to_commit:
            return
        last = self.last_index()
        if last < to_commit:
            raise InvariantError(f"to_commit {to_commit} is out of range [last_index {last}]")
        self.committed = to_commit

    def applied_to(self, idx: int) -> None:
        """applied_to advances applied to idx (0 is ignored); outside [applied, committed] is InvariantError."""
        if idx == 0:
            return
        if idx > self.committed or idx < self.applied:
            raise InvariantError(
                f"applied({idx}) is out of range [prev_applied({self.applied}), "
                f"committed({self.committed})]"
            )
        self.applied = idx

    def applied_to_unchecked(self, idx: int) -> None:
        """applied_to_unchecked sets applied to idx without checks."""
        self.applied = idx

    def stable_entries(self, index: int, term: int) -> None:
        """stable_entries: see Unstable.stable_entries."""
        self.unstable.stable_entries(index, term)

    def stable_snap(self, index: int) -> None:
        """stable_snap: see Unstable.stable_snap."""
        self.unstable.stable_snap(index)

    def unstable_entries(self) -> list[Entry]:
        """unstable_entries is the live list of entries not yet persisted (copy it before keeping it)."""
        return self.unstable.entries

    def unstable_snapshot(self) -> Snapshot | None:
        """unstable_snapshot is the snapshot not yet persisted, or None."""
        return self.unstable.snapshot

    def append(self, entries: Sequence[Entry]) -> int:
        """append adds entries to the unstable log (truncating what they overlap) and returns last_index().

        entries must start after committed, else InvariantError. The Entry objects are kept, not copied.
        """
        if not entries:
            return self.last_index()
        after = entries[0].index - 1
        if after < self.committed:
            raise InvariantError(f"after {after} is out of range [committed {self.committed}]")
        self.unstable.truncate_and_append(entries)
        return self.last_index()

    def entries(
        self, idx: int, max_size: int | None = None, context: GetEntriesContext | None = None
    ) -> list[Entry]:
        """entries returns the entries from idx to the end, limited to max_size bytes (first always kept)."""
        last = self.last_index()
        if idx > last:
            return []
        return self.slice(idx, last + 1, max_size, context)

    def all_entries(self) -> list[Entry]:
        """all_entries returns every entry in the log (tests only); retries on a racing compaction."""
        while True:
            try:
                return self.entries(self.first_index(), None, _EMPTY_SYNC)
            except CompactedError:
                continue
            except StorageError as e:
                raise InvariantError(f"unexpected error: {e!r}") from e

    def is_up_to_date(self, last_index: int, term: int) -> bool:
        """is_up_to_date tells whether a log ending at (last_index, term) is at least as up to date as this one."""
        last_term = self.last_term()
        return term > last_term or (term == last_term and last_index >= self.last_index())

    def applied_index_upper_bound(self) -> int:
        """applied_index_upper_bound is the highest index that may be handed out for applying."""
        return min(self.committed, self.persisted + self.max_apply_unpersisted_log_limit)

    def next_entries_since(self, since_idx: int, max_size: int | None = None) -> list[Entry] | None:
        """next_entries_since returns the appliable entries after max(since_idx + 1, first_index()), or None."""
        offset = max(since_idx + 1, self.first_index())
        high = min(self.committed, self.persisted + self.max_apply_unpersisted_log_limit) + 1
        if high > offset:
            try:
                return self.slice(offset, high, max_size, _GEN_READY)
            except StorageError as e:
                raise InvariantError(str(e)) from e
        return None

    def next_entries(self, max_size: int | None = None) -> list[Entry] | None:
        """next_entries returns the committed, appliable entries after applied, or None when there are none."""
        return self.next_entries_since(self.applied, max_size)

    def has_next_entries_since(self, since_idx: int) -> bool:
        """has_next_entries_since tells whether next_entries_since(since_idx) would return entries."""
        offset = max(since_idx + 1, self.first_index())
        high = min(self.committed, self.persisted + self.max_apply_unpersisted_log_limit) + 1
        return high > offset

    def has_next_entries(self) -> bool:
        """has_next_entries tells whether there are committed entries to apply."""
        return self.has_next_entries_since(self.applied)

    def snapshot(self, request_index: int, to: int) -> Snapshot:
        """snapshot returns the unstable snapshot if it reaches request_index, else the storage's.

        The unstable snapshot is returned as a copy (raft-rs clones it).
        """
        snap = self.unstable.snapshot
        if snap is not None and snap.metadata.index >= request_index:
            c = Snapshot()
            c.CopyFrom(snap)
            return c
        return self.store.snapshot(request_index, to)

    def pending_snapshot(self) -> Snapshot | None:
        """pending_snapshot is the unstable snapshot (not copied), or None."""
        return self.unstable.snapshot

    def has_pending_snapshot(self) -> bool:
        """has_pending_snapshot tells whether an unstable snapshot waits to be persisted."""
        return self.unstable.snapshot is not None

    def maybe_commit(self, max_index: int, term: int) -> bool:
        """maybe_commit commits to max_index if it is above committed and its entry has `term`."""
        if max_index > self.committed:
            try:
                t = self.term(max_index)
            except StorageError:
                return False
            if t == term:
                self.commit_to(max_index)
                return True
        return False

    def maybe_persist(self, index: int, term: int) -> bool:
        """maybe_persist moves persisted to index if it is above persisted, below the first unstable
        index (the unstable snapshot's index, else unstable.offset) and the stored entry has `term`.

        Stopping below the first unstable index keeps persisted from running ahead of entries that
        were replaced after being handed out for writing.
        """
        snap = self.unstable.snapshot
        first_update_index = snap.metadata.index if snap is not None else self.unstable.offset
        if index > self.persisted and index < first_update_index:
            try:
                t = self.store.term(index)
            except StorageError:
                return False
            if t == term:
                self.persisted = index
                return True
        return False

    def maybe_persist_snap(self, index: int) -> bool:
        """maybe_persist_snap moves persisted to a persisted snapshot's index if above persisted.

        index above committed, or at or above unstable.offset, is a broken invariant (InvariantError).
        """
        if index > self.persisted:
            if index > self.committed:
                raise InvariantError(f"snapshot's index {index} > committed {self.committed}")
            if index >= self.unstable.offset:
                raise InvariantError(f"snapshot's index {index} >= offset {self.unstable.offset}")
            self.persisted = index
            return True
        return False

    def must_check_outofbounds(self, low: int, high: int) -> StorageError | None:
        """must_check_outofbounds returns CompactedError() when low < first_index(), else None.

        low > high or high > last_index() + 1 are broken invariants (InvariantError).
        """
        if low > high:
            raise InvariantError(f"invalid slice {low} > {high}")
        first_index = self.first_index()
        if low < first_index:
            return CompactedError()
        last_index = self.last_index()
        if high > last_index + 1:
            raise InvariantError(
                f"slice[{low},{high}] out of bound[{first_index},{last_index}]"
            )
        return None

    def scan(
        self,
        lo: int,
        hi: int,
        page_size: int,
        context: GetEntriesContext,
        v: Callable[[list[Entry]], bool],
    ) -> None:
        """scan hands the entries in [lo, hi) to v in consecutive pages of up to page_size bytes.

        A page holds at least one entry. It stops early when v returns False; an empty page raises
        a plain StorageError.
        """
        while lo < hi:
            ents = self.slice(lo, hi, page_size, context)
            if not ents:
                raise StorageError(f"got 0 entries in [{lo}, {hi})")
            lo += len(ents)
            if not v(ents):
                return

    def slice(
        self,
        low: int,
        high: int,
        max_size: int | None = None,
        context: GetEntriesContext | None = None,
    ) -> list[Entry]:
        """slice returns the entries in [low, high), limited to max_size bytes (first always kept).

        Raises CompactedError below first_index() and LogTemporarilyUnavailableError from the
        storage; UnavailableError or other storage errors are broken invariants (InvariantError).
        """
        err = self.must_check_outofbounds(low, high)
        if err is not None:
            raise err
        if low == high:
            return []
        u = self.unstable
        offset = u.offset
        ents: list[Entry]
        if low < offset:
            unstable_high = min(high, offset)
            try:
                ents = self.store.entries(
                    low, unstable_high, max_size, context if context is not None else _EMPTY_SYNC
                )
            except (CompactedError, LogTemporarilyUnavailableError):
                raise
            except UnavailableError as e:
                raise InvariantError(
                    f"entries[{low}:{unstable_high}] is unavailable from storage"
                ) from e
            except StorageError as e:
                raise InvariantError(f"unexpected error: {e!r}") from e
            if len(ents) < unstable_high - low:
                return ents
            if high > offset:
                # The storage may hand back its own list: never extend it in place.
                ents = list(ents)
                ents.extend(u.slice(offset, high))
                return limit_size(ents, max_size)
            return limit_size(ents, max_size)
        ents = u.slice(low, high)
        return limit_size(ents, max_size)

    def restore(self, snapshot: Snapshot) -> None:
        """restore resets the log to snapshot (kept, not copied); its index below committed is InvariantError.

        persisted drops to committed when above it: only entries up to committed are known to match
        the snapshot.
        """
        index = snapshot.metadata.index
        if index < self.committed:
            raise InvariantError(f"{index} < {self.committed}")
        if self.persisted > self.committed:
            self.persisted = self.committed
        self.committed = index
        self.unstable.restore(snapshot)

    def commit_info(self) -> tuple[int, int]:
        """commit_info is (committed, term of committed); InvariantError if that entry is missing."""
        try:
            return self.committed, self.term(self.committed)
        except StorageError as e:
            raise InvariantError(
                f"last committed entry at {self.committed} is missing: {e!r}"
            ) from e

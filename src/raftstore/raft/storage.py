"""raftstore.raft.storage: the Storage protocol the core reads its log from, and MemStorage.

Storage mirrors raft-rs's `Storage` trait: where raft-rs returns `Result`, methods raise the
StorageError subclasses of raftstore.raft.errors; where raft-rs panics, they raise InvariantError.

MemStorage mirrors raft-rs's `MemStorage` (a handle) around `MemStorageCore` (the state). raft-rs
reaches the core through `rl()` / `wl()` lock guards; here `rl()` and `wl()` return the same core
object (there is no lock: the core is single-threaded) and every core mutator is also offered
directly on MemStorage, so `store.wl().append(ents)` and `store.append(ents)` are the same call.

Entry ownership: MemStorage keeps the Entry objects given to `append` themselves (raft-rs clones
them; copying every entry in Python was the main cost of the write path): the caller hands them
over and must not mutate them afterwards. Raft never mutates an entry once it is in the log, so
`store.append(rd.entries)` is safe; an application that wants to reuse its objects appends copies.
`entries()` returns a new list holding the stored Entry objects themselves (raft-rs returns
clones): callers must treat those entries as read-only.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ..proto.eraftpb_pb2 import ConfState, Entry, HardState, Snapshot, SnapshotMetadata
from .errors import (
    CompactedError,
    InvariantError,
    LogTemporarilyUnavailableError,
    SnapshotOutOfDateError,
    SnapshotTemporarilyUnavailableError,
    UnavailableError,
)
from .util import limit_size

__all__ = [
    "RaftState",
    "GetEntriesFor",
    "GetEntriesContext",
    "Storage",
    "MemStorageCore",
    "MemStorage",
]


class RaftState:
    """RaftState is what a Storage reports at start: the HardState and the ConfState.

    Invariant: initialized() is true exactly when conf_state differs from the default ConfState.
    """

    __slots__ = ("hard_state", "conf_state")

    def __init__(self, hard_state: HardState | None = None, conf_state: ConfState | None = None) -> None:
        self.hard_state: HardState = hard_state if hard_state is not None else HardState()
        self.conf_state: ConfState = conf_state if conf_state is not None else ConfState()

    def initialized(self) -> bool:
        """initialized tells whether the storage was created with a configuration."""
        return self.conf_state != ConfState()

    def clone(self) -> RaftState:
        """clone returns a deep copy (raft-rs's Clone)."""
        hs = HardState()
        hs.CopyFrom(self.hard_state)
        cs = ConfState()
        cs.CopyFrom(self.conf_state)
        return RaftState(hs, cs)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, RaftState):
            return NotImplemented
        return self.hard_state == other.hard_state and self.conf_state == other.conf_state

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RaftState(hard_state={self.hard_state!r}, conf_state={self.conf_state!r})"


class GetEntriesFor(enum.Enum):
    """GetEntriesFor names why the core fetches entries (raft-rs's crate-private enum).

    SEND_APPEND: entries for a MsgAppend to a peer; GEN_READY: committed entries for a Ready;
    TRANSFER_LEADER / COMMIT_BY_VOTE: checking for pending conf changes; EMPTY: a caller outside raft.
    """

    SEND_APPEND = "SendAppend"
    GEN_READY = "GenReady"
    TRANSFER_LEADER = "TransferLeader"
    COMMIT_BY_VOTE = "CommitByVote"
    EMPTY = "Empty"


class GetEntriesContext:
    """GetEntriesContext records who asks a Storage for entries (raft-rs's GetEntriesContext).

    `what` is the GetEntriesFor kind. For SEND_APPEND, `to`, `term` and `aggressively` are the peer,
    the leader's term when asked and whether to exhaust all entries; for EMPTY, `async_ok` is the
    caller's choice. Invariant: can_async() is true for SEND_APPEND, `async_ok` for EMPTY, false
    otherwise. Instances are immutable values; equal when all fields are equal.
    """

    __slots__ = ("what", "to", "term", "aggressively", "async_ok")

    what: GetEntriesFor
    to: int
    term: int
    aggressively: bool
    async_ok: bool

    def __init__(
        self,
        what: GetEntriesFor,
        to: int = 0,
        term: int = 0,
        aggressively: bool = False,
        async_ok: bool = False,
    ) -> None:
        object.__setattr__(self, "what", what)
        object.__setattr__(self, "to", to)
        object.__setattr__(self, "term", term)
        object.__setattr__(self, "aggressively", aggressively)
        object.__setattr__(self, "async_ok", async_ok)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError("GetEntriesContext is immutable")

    @classmethod
    def empty(cls, can_async: bool) -> GetEntriesContext:
        """empty is the context for callers outside raft; can_async says whether they allow async fetches."""
        return _EMPTY_ASYNC if can_async else _EMPTY_SYNC

    @classmethod
    def send_append(cls, to: int, term: int, aggressively: bool) -> GetEntriesContext:
        """send_append is the context for fetching entries to send to peer `to` at leader term `term`."""
        return cls(GetEntriesFor.SEND_APPEND, to=to, term=term, aggressively=aggressively)

    @classmethod
    def gen_ready(cls) -> GetEntriesContext:
        """gen_ready is the context for fetching committed entries for a Ready."""
        return _GEN_READY

    @classmethod
    def transfer_leader(cls) -> GetEntriesContext:
        """transfer_leader is the context for checking pending conf changes before a leader transfer."""
        return _TRANSFER_LEADER

    @classmethod
    def commit_by_vote(cls) -> GetEntriesContext:
        """commit_by_vote is the context for checking pending conf changes when a vote advances commit."""
        return _COMMIT_BY_VOTE

    def can_async(self) -> bool:
        """can_async tells whether the Storage may fetch the entries asynchronously."""
        what = self.what
        if what is GetEntriesFor.SEND_APPEND:
            return True
        if what is GetEntriesFor.EMPTY:
            return self.async_ok
        return False

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, GetEntriesContext):
            return NotImplemented
        return (
            self.what is other.what
            and self.to == other.to
            and self.term == other.term
            and self.aggressively == other.aggressively
            and self.async_ok == other.async_ok
        )

    def __hash__(self) -> int:
        return hash((self.what, self.to, self.term, self.aggressively, self.async_ok))

    def __repr__(self) -> str:
        if self.what is GetEntriesFor.SEND_APPEND:
            return (
                f"GetEntriesContext(SendAppend {{ to: {self.to}, term: {self.term}, "
                f"aggressively: {self.aggressively} }})"
            )
        if self.what is GetEntriesFor.EMPTY:
            return f"GetEntriesContext(Empty({self.async_ok}))"
        return f"GetEntriesContext({self.what.value})"


_EMPTY_SYNC = GetEntriesContext(GetEntriesFor.EMPTY, async_ok=False)
_EMPTY_ASYNC = GetEntriesContext(GetEntriesFor.EMPTY, async_ok=True)
_GEN_READY = GetEntriesContext(GetEntriesFor.GEN_READY)
_TRANSFER_LEADER = GetEntriesContext(GetEntriesFor.TRANSFER_LEADER)
_COMMIT_BY_VOTE = GetEntriesContext(GetEntriesFor.COMMIT_BY_VOTE)


@runtime_checkable
class Storage(Protocol):
    """Storage is what the core reads its stable log and state from (raft-rs's Storage trait).

    Errors are raised: CompactedError below first_index, UnavailableError above last_index,
    LogTemporarilyUnavailableError when entries are being fetched asynchronously,
    SnapshotTemporarilyUnavailableError when a snapshot is not ready yet.
    """

    def initial_state(self) -> RaftState:
        """initial_state is the HardState and ConfState at start; initialized storages have last index > 0."""
        ...

    def entries(
        self,
        low: int,
        high: int,
        max_size: int | None = None,
        context: GetEntriesContext | None = None,
    ) -> list[Entry]:
        """entries returns the entries in [low, high), at least one if any, limited to max_size bytes.

        high above last_index() + 1 is a broken invariant (InvariantError). context None is
        GetEntriesContext.empty(False).
        """
        ...

    def term(self, idx: int) -> int:
        """term returns the term of entry idx, valid in [first_index() - 1, last_index()]."""
        ...

    def first_index(self) -> int:
        """first_index is the index of the first entry available (truncated index + 1; 1 when new)."""
        ...

    def last_index(self) -> int:
        """last_index is the index of the last entry in the storage."""
        ...

    def snapshot(self, request_index: int, to: int) -> Snapshot:
        """snapshot returns the most recent snapshot, whose index is at least request_index."""
        ...


class MemStorageCore:
    """MemStorageCore is the state of a MemStorage (raft-rs's MemStorageCore).

    Invariants: entries[i] has index snapshot_metadata.index + 1 + i once anything was appended after
    a snapshot (entries are contiguous); first_index() is entries[0].index or snapshot index + 1;
    last_index() is entries[-1].index or the snapshot index.
    """

    __slots__ = (
        "raft_state",
        "entries",
        "snapshot_metadata",
        "_snap_unavailable",
        "_log_unavailable",
        "get_entries_context",
    )

    def __init__(self) -> None:
        self.raft_state: RaftState = RaftState()
        # entries: the stored log, contiguous by index.
        self.entries: list[Entry] = []
        # snapshot_metadata: metadata of the last snapshot applied.
        self.snapshot_metadata: SnapshotMetadata = SnapshotMetadata()
        # _snap_unavailable: the next snapshot() raises SnapshotTemporarilyUnavailableError.
        self._snap_unavailable: bool = False
        # _log_unavailable: entries() with an async-capable context raises LogTemporarilyUnavailableError.
        self._log_unavailable: bool = False
        # get_entries_context: the context of the last entries() call refused as temporarily unavailable.
        self.get_entries_context: GetEntriesContext | None = None

    def set_hardstate(self, hs: HardState) -> None:
        """set_hardstate saves a copy of hs as the current HardState."""
        copy = HardState()
        copy.CopyFrom(hs)
        self.raft_state.hard_state = copy

    def hard_state(self) -> HardState:
        """hard_state returns the stored HardState itself (mutating it mutates the storage)."""
        return self.raft_state.hard_state

    def mut_hard_state(self) -> HardState:
        """mut_hard_state returns the stored HardState for in-place changes."""
        return self.raft_state.hard_state

    def commit_to(self, index: int) -> None:
        """commit_to sets the HardState's commit to index and its term to that entry's term.

        The entry must be stored, else InvariantError.
        """
        if not self._has_entry_at(index):
            raise InvariantError(f"commit_to {index} but the entry does not exist")
        diff = index - self.entries[0].index
        hs = self.raft_state.hard_state
        hs.commit = index
        hs.term = self.entries[diff].term

    def set_conf_state(self, cs: ConfState) -> None:
        """set_conf_state saves a copy of cs as the current ConfState."""
        copy = ConfState()
        copy.CopyFrom(cs)
        self.raft_state.conf_state = copy

    def _has_entry_at(self, index: int) -> bool:
        """_has_entry_at tells whether the entry at index is stored."""
        return bool(self.entries) and self.first_index() <= index <= self.last_index()

    def first_index(self) -> int:
        """first_index is the index of the first stored entry, or snapshot index + 1."""
        if self.entries:
            return self.entries[0].index
        return self.snapshot_metadata.index + 1

    def last_index(self) -> int:
        """last_index is the index of the last stored entry, or the snapshot index."""
        if self.entries:
            return self.entries[-1].index
        return self.snapshot_metadata.index

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        """apply_snapshot replaces the log by the snapshot's metadata (the snapshot is not kept).

        Raises SnapshotOutOfDateError when the snapshot index is below first_index().
        """
        meta = snapshot.metadata
        index = meta.index
        if self.first_index() > index:
            raise SnapshotOutOfDateError()
        stored = SnapshotMetadata()
        stored.CopyFrom(meta)
        self.snapshot_metadata = stored
        hs = self.raft_state.hard_state
        hs.term = max(hs.term, meta.term)
        hs.commit = index
        self.entries.clear()
        cs = ConfState()
        cs.CopyFrom(meta.conf_state)
        self.raft_state.conf_state = cs

    def snapshot(self) -> Snapshot:
        """snapshot builds a data-less Snapshot at the HardState's commit index.

        The commit index must not be below the last applied snapshot's index, else InvariantError.
        """
        snap = Snapshot()
        meta = snap.metadata
        index = self.raft_state.hard_state.commit
        meta.index = index
        sindex = self.snapshot_metadata.index
        if index == sindex:
            meta.term = self.snapshot_metadata.term
        elif index > sindex:
            offset = self.entries[0].index if self.entries else sindex + 1
            pos = index - offset
            if pos >= len(self.entries):
                raise InvariantError(f"commit {index} is beyond the last stored entry {self.last_index()}")
            meta.term = self.entries[pos].term
        else:
            raise InvariantError(f"commit {index} < snapshot_metadata.index {sindex}")
        meta.conf_state.CopyFrom(self.raft_state.conf_state)
        return snap

    def compact(self, compact_index: int) -> None:
        """compact discards the entries before compact_index; a no-op at or below first_index().

        compact_index above last_index() + 1 is a broken invariant (InvariantError). It is the
        application's job not to compact beyond RaftLog.applied.
        """
        if compact_index <= self.first_index():
            return
        if compact_index > self.last_index() + 1:
            raise InvariantError(
                f"compact not received raft logs: {compact_index}, last index: {self.last_index()}"
            )
        if self.entries:
            del self.entries[: compact_index - self.entries[0].index]

    def append(self, ents: Sequence[Entry]) -> None:
        """append stores ents, first dropping every stored entry from ents[0].index on.

        The Entry objects are kept, not copied (see the module docstring): the caller must not
        mutate them afterwards. Raises InvariantError when ents would overwrite compacted entries
        or leave a gap.
        """
        if not ents:
            return
        first = self.first_index()
        start = ents[0].index
        if first > start:
            raise InvariantError(
                f"overwrite compacted raft logs, compacted: {first - 1}, append: {start}"
            )
        last = self.last_index()
        if last + 1 < start:
            raise InvariantError(
                f"raft logs should be continuous, last index: {last}, new appended: {start}"
            )
        del self.entries[start - first :]
        self.entries.extend(ents)

    def commit_to_and_set_conf_states(self, idx: int, cs: ConfState | None) -> None:
        """commit_to_and_set_conf_states commits to idx and, when cs is given, sets the ConfState."""
        self.commit_to(idx)
        if cs is not None:
            self.set_conf_state(cs)

    def trigger_snap_unavailable(self) -> None:
        """trigger_snap_unavailable makes the next snapshot() raise SnapshotTemporarilyUnavailableError."""
        self._snap_unavailable = True

    def trigger_log_unavailable(self, v: bool) -> None:
        """trigger_log_unavailable makes entries() with an async-capable context raise
        LogTemporarilyUnavailableError while v is true."""
        self._log_unavailable = v

    def take_get_entries_context(self) -> GetEntriesContext | None:
        """take_get_entries_context returns and clears the context of the last refused entries() call."""
        ctx = self.get_entries_context
        self.get_entries_context = None
        return ctx


class MemStorage:
    """MemStorage is an in-memory Storage for tests and examples (raft-rs's MemStorage).

    It keeps only the raft log and state, no applied data, so its snapshots carry no data.
    Handles made by clone() share one MemStorageCore, as raft-rs's Arc does.
    """

    __slots__ = ("_core",)

    def __init__(self) -> None:
        self._core = MemStorageCore()

    @classmethod
    def new_with_conf_state(cls, cs: ConfState | tuple[Sequence[int], Sequence[int]]) -> MemStorage:
        """new_with_conf_state returns a new MemStorage initialized with cs (a ConfState or a
        (voters, learners) pair)."""
        store = cls()
        store.initialize_with_conf_state(cs)
        return store

    def initialize_with_conf_state(self, cs: ConfState | tuple[Sequence[int], Sequence[int]]) -> None:
        """initialize_with_conf_state sets the ConfState (cs) of a storage not yet initialized; cs may
        also be a (voters, learners) pair, as raft-rs's `ConfState: From<(Vec<u64>, Vec<u64>)>` allows.

        Raises InvariantError when the storage is already initialized.
        """
        if self._core.raft_state.initialized():
            raise InvariantError("MemStorage is already initialized")
        if isinstance(cs, tuple):
            voters, learners = cs
            cs = ConfState(voters=voters, learners=learners)
        self._core.set_conf_state(cs)

    def clone(self) -> MemStorage:
        """clone returns another handle on the same core."""
        other = MemStorage.__new__(MemStorage)
        other._core = self._core
        return other

    def rl(self) -> MemStorageCore:
        """rl returns the core for reading (raft-rs's read guard)."""
        return self._core

    def wl(self) -> MemStorageCore:
        """wl returns the core for writing (raft-rs's write guard)."""
        return self._core

    # Core mutators, offered directly on the handle.

    def append(self, entries: Sequence[Entry]) -> None:
        """append: see MemStorageCore.append."""
        self._core.append(entries)

    def compact(self, index: int) -> None:
        """compact: see MemStorageCore.compact."""
        self._core.compact(index)

    def apply_snapshot(self, snapshot: Snapshot) -> None:
        """apply_snapshot: see MemStorageCore.apply_snapshot."""
        self._core.apply_snapshot(snapshot)

    def commit_to(self, index: int) -> None:
        """commit_to: see MemStorageCore.commit_to."""
        self._core.commit_to(index)

    def commit_to_and_set_conf_states(self, idx: int, cs: ConfState | None) -> None:
        """commit_to_and_set_conf_states: see MemStorageCore.commit_to_and_set_conf_states."""
        self._core.commit_to_and_set_conf_states(idx, cs)

    def set_hardstate(self, hs: HardState) -> None:
        """set_hardstate: see MemStorageCore.set_hardstate."""
        self._core.set_hardstate(hs)

    def set_conf_state(self, cs: ConfState) -> None:
        """set_conf_state: see MemStorageCore.set_conf_state."""
        self._core.set_conf_state(cs)

    def hard_state(self) -> HardState:
        """hard_state: see MemStorageCore.hard_state."""
        return self._core.raft_state.hard_state

    def trigger_snap_unavailable(self) -> None:
        """trigger_snap_unavailable: see MemStorageCore.trigger_snap_unavailable."""
        self._core._snap_unavailable = True

    def trigger_log_unavailable(self, flag: bool) -> None:
        """trigger_log_unavailable: see MemStorageCore.trigger_log_unavailable."""
        self._core._log_unavailable = flag

    def take_get_entries_context(self) -> GetEntriesContext | None:
        """take_get_entries_context: see MemStorageCore.take_get_entries_context."""
        return self._core.take_get_entries_context()

    # Storage.

    def initial_state(self) -> RaftState:
        """initial_state returns a copy of the stored HardState and ConfState."""
        return self._core.raft_state.clone()

    def entries(
        self,
        low: int,
        high: int,
        max_size: int | None = None,
        context: GetEntriesContext | None = None,
    ) -> list[Entry]:
        """entries returns the stored entries in [low, high), limited by max_size (first always kept).

        Raises CompactedError when low < first_index(), InvariantError when high > last_index() + 1,
        LogTemporarilyUnavailableError when trigger_log_unavailable(True) is on and the context can
        go async (the context is then kept for take_get_entries_context()).
        """
        core = self._core
        ents = core.entries
        if ents:
            first = ents[0].index
            last = ents[-1].index
        else:
            first = core.snapshot_metadata.index + 1
            last = first - 1
        if low < first:
            raise CompactedError()
        if high > last + 1:
            raise InvariantError(f"index out of bound (last: {last + 1}, high: {high})")
        if core._log_unavailable:
            ctx = context if context is not None else _EMPTY_SYNC
            if ctx.can_async():
                core.get_entries_context = ctx
                raise LogTemporarilyUnavailableError()
        # Deviation: raft-rs indexes entries[0] even when low == high on an empty log (a panic);
        # here that empty range is simply empty.
        if low >= high:
            return []
        return limit_size(ents[low - first : high - first], max_size)

    def term(self, idx: int) -> int:
        """term returns the term of entry idx, or of the last snapshot when idx is its index.

        Raises CompactedError below first_index(), UnavailableError above last_index().
        """
        core = self._core
        meta = core.snapshot_metadata
        if idx == meta.index:
            return meta.term
        ents = core.entries
        offset = ents[0].index if ents else meta.index + 1
        if idx < offset:
            raise CompactedError()
        pos = idx - offset
        if pos >= len(ents):
            raise UnavailableError()
        return ents[pos].term

    def first_index(self) -> int:
        """first_index: see MemStorageCore.first_index."""
        core = self._core
        if core.entries:
            return core.entries[0].index
        return core.snapshot_metadata.index + 1

    def last_index(self) -> int:
        """last_index: see MemStorageCore.last_index."""
        core = self._core
        if core.entries:
            return core.entries[-1].index
        return core.snapshot_metadata.index

    def snapshot(self, request_index: int, to: int) -> Snapshot:
        """snapshot builds a snapshot at the commit index, raised to request_index when below it.

        Raises SnapshotTemporarilyUnavailableError once after trigger_snap_unavailable().
        """
        core = self._core
        if core._snap_unavailable:
            core._snap_unavailable = False
            raise SnapshotTemporarilyUnavailableError()
        snap = core.snapshot()
        if snap.metadata.index < request_index:
            snap.metadata.index = request_index
        return snap

"""raftstore.store.peer_storage: PeerStorage, the durable storage of one Raft peer of one region.

PeerStorage implements raft's Storage on the two engines with TiKV's semantics:

- the raft engine holds the log (`raft_log_key`) and the RaftLocalState {hard_state, last_index};
- the KV engine's CF_RAFT holds the RaftApplyState {applied_index, truncated_state, commit_index,
  commit_term} and the RegionLocalState {state, region}.

Invariants kept in memory and on disk (checked by validate_states when a PeerStorage is built):
truncated_index <= applied_index <= commit_index <= last_index; first_index = truncated_index + 1; the
entry at last_index exists unless last_index == truncated_index (or the region was just bootstrapped at
RAFT_INIT_LOG_INDEX); the hard state's term is at least the apply state's commit term.

Reads come from the entry cache when they can (hit/miss counted), otherwise from the raft engine.
Writes are staged into a WriteTask (see write.py) and become durable with `write_tasks`; afterwards the
owner calls `on_persisted(task)` so that the cache may let go of what is durable.

Snapshots (docs/snapshots.md has the owner's whole sequence): `take_gen_snap_request()` hands a
generation to the snapshot worker; `apply_snapshot(snap, task)` (called by handle_raft_ready) stages a
received one; `on_persisted(task)` then returns the ApplySnapTask the owner runs on a worker, and
`check_applying_snap()` / `cancel_applying_snap()` follow the job (TiKV's tables, snap/status.py).

Nothing below this module imports it: GenSnapTask lives in snap/task.py and the region helpers in
region.py, so the snap package and this module import each other's parts without a cycle.
"""

from __future__ import annotations

import logging
import operator
from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, TypeVar

from google.protobuf.message import DecodeError
from google.protobuf.message import Message as PbMessage

from .. import failpoints
from ..engine import keys
from ..engine.base import CF_DEFAULT, CF_RAFT
from ..engine.engines import Engines
from ..engine.errors import EngineError, EngineIOError
from ..proto.eraftpb_pb2 import ConfState, Entry, HardState, Snapshot
from ..proto.metapb_pb2 import Peer, Region
from ..proto.raft_serverpb_pb2 import (
    PeerState,
    RaftApplyState,
    RaftLocalState,
    RaftSnapshotData,
    RegionLocalState,
)
from ..raft.errors import (
    CompactedError,
    InvariantError,
    SnapshotTemporarilyUnavailableError,
    StorageError,
)
from ..raft.storage import GetEntriesContext, RaftState
from ..raft.util import NO_LIMIT
from .entry_cache import EntryCache, MemoryTrace, TermCache
from .errors import (
    CompactLogError,
    InvalidStateError,
    RegionCorruptionError,
    StoreError,
)
from .region import conf_state_from_region, is_region_initialized
from .snap.apply import ApplySnapTask
from .snap.errors import SnapError
from .snap.files import parse_snapshot_data
from .snap.gen import GenSnapRequest
from .snap.status import ApplySnapState, ApplyStatus, CheckApplyingSnapStatus, JobStatus
from .snap.task import GenSnapTask
from .write import RaftStateValues, WriteTask, raft_local_state, write_tasks

if TYPE_CHECKING:
    from ..raft.raw_node import Ready
    from .snap.gen import BuildProgress
    from .snap.manager import SnapManager

__all__ = [
    "RAFT_INIT_LOG_INDEX",
    "RAFT_INIT_LOG_TERM",
    "MAX_SNAP_TRY_CNT",
    "PeerStorage",
    "GenSnapTask",
    "write_initial_states",
    "write_initial_states_many",
    "write_peer_state",
    "save_snapshot_raft_state",
    "compact_raft_log",
    "clear_meta",
    "conf_state_from_region",
    "is_region_initialized",
    "load_region_states",
    "load_apply_states",
]

logger = logging.getLogger("raftstore.store")

# RAFT_INIT_LOG_INDEX / RAFT_INIT_LOG_TERM: where a bootstrapped region's log starts (TiKV's values).
RAFT_INIT_LOG_INDEX = 5
RAFT_INIT_LOG_TERM = 5
# MAX_SNAP_TRY_CNT: snapshot() gives up after this many failed generations in a row.
MAX_SNAP_TRY_CNT = 5
_ENCODE_ENTRY = Entry.SerializeToString
_INDEX = operator.attrgetter("index")
_TERM = operator.attrgetter("term")

# RAFT_LOG_MULTI_GET_CNT: ranges up to this long are read with point gets, longer ones with a scan.
RAFT_LOG_MULTI_GET_CNT = 8


def _initial_raft_state() -> RaftLocalState:
    state = RaftLocalState(last_index=RAFT_INIT_LOG_INDEX)
    state.hard_state.term = RAFT_INIT_LOG_TERM
    state.hard_state.commit = RAFT_INIT_LOG_INDEX
    return state


def _initial_apply_state() -> RaftApplyState:
    state = RaftApplyState(applied_index=RAFT_INIT_LOG_INDEX)
    state.truncated_state.index = RAFT_INIT_LOG_INDEX
    state.truncated_state.term = RAFT_INIT_LOG_TERM
    return state


def write_peer_state(task: WriteTask, region: Region, state: PeerState) -> None:
    """write_peer_state stages the RegionLocalState {state, region} of region into task's KV writes."""
    region_state = RegionLocalState(state=state)
    region_state.region.CopyFrom(region)
    task.put_kv(CF_RAFT, keys.region_state_key(region.id), region_state.SerializeToString())


def write_initial_states(engines: Engines, region: Region) -> None:
    """write_initial_states bootstraps region at index/term 5: its RaftLocalState in the raft engine, its
    RaftApplyState and a Normal RegionLocalState in the KV engine, durably. A region that already has
    state is refused with StoreError (bootstrapping twice would reset it)."""
    write_initial_states_many(engines, [region])


def write_initial_states_many(engines: Engines, regions: Sequence[Region]) -> None:
    """write_initial_states_many bootstraps every region as write_initial_states does, in one group commit
    (one synced write per engine, whatever the number of regions). If any region already has persisted
    state, or a region id is given twice, it raises StoreError and writes nothing."""
    ids = [region.id for region in regions]
    if len(set(ids)) != len(ids):
        twice = sorted(rid for rid, n in Counter(ids).items() if n > 1)
        raise StoreError(f"regions {twice} are given more than once; refusing to bootstrap")
    raft_get, kv_get = engines.raft.get, engines.kv.get
    for rid in ids:
        try:
            existing = (raft_get(CF_DEFAULT, keys.raft_state_key(rid)), kv_get(CF_RAFT, keys.apply_state_key(rid)))
        except EngineError as err:
            raise _read_error(rid, f"[region {rid}]", err, "its state", StoreError) from err
        if existing != (None, None):
            raise StoreError(f"[region {rid}] already has persisted state; refusing to bootstrap it again")
    apply_state = _initial_apply_state().SerializeToString()
    raft_state = _initial_raft_state()
    tasks = []
    for region in regions:
        task = WriteTask(region.id, 0, 0)
        task.put_kv(CF_RAFT, keys.apply_state_key(region.id), apply_state)
        write_peer_state(task, region, PeerState.Normal)
        task.raft_state = raft_state
        tasks.append(task)
    write_tasks(engines, tasks)


def compact_raft_log(apply_state: RaftApplyState, index: int, term: int) -> None:
    """compact_raft_log moves apply_state.truncated_state to (index, term), as TiKV's apply does.

    The log itself is deleted later, by log GC, once the new truncated state is durable. Raises
    CompactLogError (a StoreError) for index <= truncated index, index > applied index, or term 0.
    """
    truncated = apply_state.truncated_state.index
    if term == 0:
        raise CompactLogError(f"compact log to {index} with term 0: the command format is outdated")
    if index <= truncated:
        raise CompactLogError(f"try to truncate compacted entries: index {index} <= truncated index {truncated}")
    if index > apply_state.applied_index:
        raise CompactLogError(f"compact index {index} > applied index {apply_state.applied_index}")
    apply_state.truncated_state.index = index
    apply_state.truncated_state.term = term


def clear_meta(task: WriteTask, region_id: int, first_index: int, raft_state: RaftLocalState) -> None:
    """clear_meta stages the removal of a peer's metadata: region and apply states and the snapshot raft
    state (KV), and the log up to raft_state's last index plus the RaftLocalState (raft engine), as TiKV's
    clear_meta does; the log is deleted from index 0, so entries that a crash left below first_index go
    too. No RaftLocalState staged earlier in the same round survives it (see write_tasks)."""
    task.delete_kv(CF_RAFT, keys.region_state_key(region_id))
    task.delete_kv(CF_RAFT, keys.apply_state_key(region_id))
    task.delete_kv(CF_RAFT, keys.snapshot_raft_state_key(region_id))
    end = max(raft_state.last_index + 1, first_index)
    task.delete_raft_range(keys.raft_log_key(region_id, 0), keys.raft_log_key(region_id, end))
    task.delete_raft_range(keys.raft_state_key(region_id), keys.raft_state_key(region_id) + b"\x00")
    task.raft_state = None
    task.clears_raft_state = True


def save_snapshot_raft_state(task: WriteTask, region_id: int, raft_state: RaftLocalState, index: int) -> None:
    """save_snapshot_raft_state stages, into task's KV writes, the snapshot raft state of a snapshot at
    index (TiKV's save_snapshot_raft_state_to): raft_state with last_index and commit set to index.

    It is the raft state the raft engine will hold once the same round's raft batch is written; should
    the process die between the KV and the raft fsync, recovery (recovery.py) restores it from here."""
    state = RaftLocalState()
    state.CopyFrom(raft_state)
    state.last_index = index
    state.hard_state.commit = index
    task.put_kv(CF_RAFT, keys.snapshot_raft_state_key(region_id), state.SerializeToString())


# _NO_PENDING: the shared empty pending list of every PeerStorage with nothing staged; never mutated.
_NO_PENDING: Final[list[tuple[int, int]]] = []

_M = TypeVar("_M", bound=PbMessage)


def _decode(cls: type[_M], raw: bytes, region_id: int, what: str) -> _M:
    """_decode parses a persisted value; a malformed one is damaged data: RegionCorruptionError naming the region."""
    try:
        return cls.FromString(raw)
    except DecodeError as err:
        raise RegionCorruptionError(region_id, f"{what} is not a valid {cls.__name__}: {err}") from err


def _read_error(region_id: int, tag: str, err: EngineError, what: str, other: type[Exception]) -> Exception:
    """_read_error is what a failed engine read of `what` raises: an I/O or corruption error that RocksDB
    reported is damage to the region's data (RegionCorruptionError naming region_id), never a compacted or
    empty log; any other engine error (e.g. a closed engine) is `other`."""
    if isinstance(err, EngineIOError):
        return RegionCorruptionError(region_id, f"cannot read {what}: {err}")
    return other(f"{tag} cannot read {what}: {err}")


class PeerStorage:
    """PeerStorage: raft's Storage for one peer of one region on the engines (see the module docstring).

    Options: `cache_trace` (a MemoryTrace the entry cache reports its memory to), `tag` (log prefix),
    `snap_mgr` (the store's SnapManager: once a truncated index is durable, the region's snapshots below
    it are collected; None: nothing is collected). Building one reads the persisted states (defaults for
    a region never seen: initialized regions start at index/term 5, uninitialized ones at 0), validates
    them and raises InvalidStateError on inconsistency without writing anything.

    The load path of a store opens every region at once, and has two more options: `apply_states` (what
    load_apply_states read by one scan for all regions: the region's apply state is taken out of it, so
    that the memory of each is freed as the load goes, instead of read by a get; it must be current, i.e.
    read after the last write of apply states, as after recover_store) and `adopt_region` (the caller
    hands `region` over, e.g. a RegionLocalState's region it drops: kept, not copied; it then keeps the
    RegionLocalState's arena, about 60 B more than a copy).

    `snap_state` is the peer's side of a snapshot apply (TiKV's SnapState); `pending_remove` turns true
    when an apply job failed: the owner must destroy the peer (tombstone) and let a new snapshot in.

    Memory: a store hosts many idle regions, so the states are plain ints, not protobuf messages (each upb
    message holds an arena of about 0.5–1 KB). `raft_state` builds its RaftLocalState on first access and
    keeps it current from then on (PeerStorage writes every change into it and takes up the owner's
    changes to it at its next call); `apply_state` builds the RaftApplyState on first access and from then
    on that message is the apply state, which the owner's apply changes in place, as in TiKV. A region
    whose states are never read keeps neither message.
    """

    # __dict__ keeps instances open to attributes of their owner's (as before __slots__); CPython creates
    # it only on the first such assignment, so an idle region pays one pointer for it.
    __slots__ = (
        "__dict__",
        "engines",
        "region",
        "peer_id",
        "_tag",
        "_last_index",
        "_term",
        "_vote",
        "_commit",
        "_raft_msg",
        "_apply",
        "_applied",
        "_truncated_index",
        "_truncated_term",
        "_commit_index",
        "_commit_term",
        "_has_truncated_state",
        "_last_term",
        "_applied_term",
        "_cache",
        "_cache_trace",
        "_term_cache",
        "_pending",
        "_gc_from",
        "_durable_truncated",
        "gen_snap_task",
        "_snap_tried",
        "_snap_dropped",
        "snap_mgr",
        "_snap_state",
        "pending_remove",
    )

    def __init__(
        self,
        engines: Engines,
        region: Region,
        peer_id: int,
        *,
        cache_trace: MemoryTrace | None = None,
        tag: str | None = None,
        snap_mgr: SnapManager | None = None,
        apply_states: dict[int, bytes] | None = None,
        adopt_region: bool = False,
    ) -> None:
        self.engines = engines
        if adopt_region:
            self.region = region
        else:
            self.region = Region()
            self.region.CopyFrom(region)
        self.peer_id = peer_id
        self._tag = tag
        # The raft state: hard state (_term, _vote, _commit) and _last_index; _raft_msg: the raft_state
        # message once read (see raft_state).
        self._raft_msg: RaftLocalState | None = None
        rid = region.id
        self._load_raft_state(rid)
        # The apply state: these ints while _apply is None; once apply_state is read, _apply is the state.
        self._apply: RaftApplyState | None = None
        self._load_apply_state(rid, apply_states)
        self._validate_states()
        self._last_term = self._init_last_term()
        self._applied_term = self._init_applied_term()
        # The entry and term caches are built when first used (an idle region holds neither); until the
        # entry cache exists, everything up to the last index is persisted (only append adds entries).
        self._cache: EntryCache | None = None
        self._cache_trace = cache_trace
        self._term_cache: TermCache | None = None
        # _pending: (ready_number, first staged index) of staged tasks not yet persisted, oldest first.
        # An idle region shares the empty _NO_PENDING (never mutated) instead of holding a list.
        self._pending = _NO_PENDING
        self._gc_from = 0  # log GC deletes from here: nothing below it is left in the raft engine.
        # _durable_truncated: the truncated index of the apply state known to be on disk.
        self._durable_truncated = self._truncated_index
        self.gen_snap_task: GenSnapTask | None = None
        self._snap_tried = 0
        # _snap_dropped: the last generation task was canceled before the worker took it, and dropped.
        self._snap_dropped = False
        self.snap_mgr = snap_mgr
        self._snap_state: ApplySnapState | None = None  # built when first needed (RELAX until then)
        self.pending_remove = False

    # -- loading and validation ------------------------------------------------------------------

    @property
    def region_id(self) -> int:
        return self.region.id

    @property
    def tag(self) -> str:
        """tag: the log prefix, "[region <id>] <peer id>" unless given (built when a message needs it)."""
        return self._tag if self._tag is not None else f"[region {self.region.id}] {self.peer_id}"

    @tag.setter
    def tag(self, tag: str) -> None:
        self._tag = tag

    @property
    def cache(self) -> EntryCache:
        """cache: the entry cache (built on first use, persisted up to the last index)."""
        cache = self._cache
        if cache is None:
            cache = self._cache = EntryCache(self._cache_trace)
            cache.update_persisted(self._last_index)
        return cache

    @cache.setter
    def cache(self, cache: EntryCache) -> None:
        self._cache = cache

    @property
    def term_cache(self) -> TermCache:
        """term_cache: the term cache (built on first use; assignable)."""
        cache = self._term_cache
        if cache is None:
            cache = self._term_cache = TermCache()
        return cache

    @term_cache.setter
    def term_cache(self, cache: TermCache) -> None:
        self._term_cache = cache

    @property
    def snap_state(self) -> ApplySnapState:
        """snap_state: the peer's side of a snapshot apply (assignable)."""
        state = self._snap_state
        if state is None:
            state = self._snap_state = ApplySnapState()
        return state

    @snap_state.setter
    def snap_state(self, state: ApplySnapState) -> None:
        self._snap_state = state

    @property
    def raft_state(self) -> RaftLocalState:
        """raft_state: the RaftLocalState {hard_state, last_index}, built on first access and then kept
        current: every change of the raft state is written into it, and a change the owner makes to it is
        taken up by the next PeerStorage call (as when it was the state itself)."""
        msg = self._raft_msg
        if msg is None:
            msg = self._raft_msg = raft_local_state(self._raft_state_values())
        return msg

    def _raft_state_values(self) -> RaftStateValues:
        return (self._term, self._vote, self._commit, self._last_index)

    def _pull_raft_state(self) -> None:
        """_pull_raft_state takes up what the owner wrote into the raft_state message, if it was read."""
        msg = self._raft_msg
        if msg is not None:
            hs = msg.hard_state
            self._term, self._vote, self._commit, self._last_index = hs.term, hs.vote, hs.commit, msg.last_index

    def _push_raft_state(self) -> None:
        """_push_raft_state writes the raft state into the raft_state message, if it was read."""
        msg = self._raft_msg
        if msg is not None:
            hs = msg.hard_state
            hs.term, hs.vote, hs.commit, msg.last_index = self._raft_state_values()

    @property
    def apply_state(self) -> RaftApplyState:
        """apply_state: the RaftApplyState, built on first access; the owner may change it in place."""
        state = self._apply
        if state is None:
            state = self._apply = RaftApplyState(
                applied_index=self._applied, commit_index=self._commit_index, commit_term=self._commit_term
            )
            if self._has_truncated_state:
                truncated = state.truncated_state
                truncated.SetInParent()
                truncated.index, truncated.term = self._truncated_index, self._truncated_term
        return state

    def _get(self, engine_name: str, cf: str, key: bytes) -> bytes | None:
        engine = self.engines.kv if engine_name == "kv" else self.engines.raft
        try:
            return engine.get(cf, key)
        except EngineError as err:
            raise _read_error(self.region.id, self.tag, err, f"the {engine_name} engine", StoreError) from err

    def _load_raft_state(self, rid: int) -> None:
        raw = self._get("raft", CF_DEFAULT, keys.raft_state_key(rid))
        if raw is None:
            init = is_region_initialized(self.region)
            self._term = self._commit = self._last_index = RAFT_INIT_LOG_INDEX if init else 0
            self._vote = 0
            return
        state: RaftLocalState = _decode(RaftLocalState, raw, rid, "raft state")
        hs = state.hard_state
        self._term, self._vote, self._commit, self._last_index = hs.term, hs.vote, hs.commit, state.last_index

    def _load_apply_state(self, rid: int, apply_states: dict[int, bytes] | None) -> None:
        if apply_states is None:
            raw = self._get("kv", CF_RAFT, keys.apply_state_key(rid))
        else:
            raw = apply_states.pop(rid, None)
        if raw is None:
            init = is_region_initialized(self.region)
            self._applied = self._truncated_index = self._truncated_term = RAFT_INIT_LOG_INDEX if init else 0
            self._commit_index = self._commit_term = 0
            self._has_truncated_state = init
            return
        state: RaftApplyState = _decode(RaftApplyState, raw, rid, "apply state")
        truncated = state.truncated_state
        self._applied, self._commit_index, self._commit_term = state.applied_index, state.commit_index, state.commit_term
        self._truncated_index, self._truncated_term = truncated.index, truncated.term
        self._has_truncated_state = state.HasField("truncated_state")
        if state.last_commit_index:
            self._apply = state  # a field the ints do not hold: keep the message

    def _engine_entry(self, index: int) -> Entry | None:
        raw = self._get("raft", CF_DEFAULT, keys.raft_log_key(self.region.id, index))
        if raw is None:
            return None
        entry: Entry = _decode(Entry, raw, self.region.id, f"log entry {index}")
        if entry.index != index:
            raise RegionCorruptionError(self.region.id, f"log key {index} holds entry {entry.index}")
        return entry

    def _validate_states(self) -> None:
        """_validate_states: TiKV's validate_states, on the states just loaded (may forward the commit)."""
        last_index, commit, recorded_commit = self._last_index, self._commit, self._commit_index
        commit_term, truncated = self._commit_term, self._truncated_index
        if commit >= recorded_commit and commit <= last_index and self._term >= commit_term and last_index >= truncated:
            return  # the common case, checked at once: a store validates every region at startup
        rid = self.region.id

        def describe() -> str:
            return (
                f"raft state {{last_index: {last_index}, hard_state: {{term: {self._term}, "
                f"vote: {self._vote}, commit: {commit}}}}}, apply state {{applied_index: "
                f"{self._applied}, truncated: ({truncated}, {self._truncated_term}), "
                f"commit: ({recorded_commit}, {commit_term})}}"
            )

        if commit < recorded_commit:
            entry = self._engine_entry(recorded_commit)
            if entry is None or entry.term != commit_term:
                raise InvalidStateError(
                    rid,
                    f"log at recorded commit index [{commit_term}] {recorded_commit} doesn't exist, "
                    f"may lose data, {describe()}",
                )
            logger.info("%s updating commit index %d -> %d", self.tag, commit, recorded_commit)
            commit = recorded_commit
        if commit > last_index:
            raise InvalidStateError(rid, f"max(commit index, recorded commit index) > last index, {describe()}")
        if self._term < commit_term:
            raise InvalidStateError(rid, f"term of raft state < commit term of apply state, {describe()}")
        if last_index < truncated:
            raise InvalidStateError(rid, f"last index < truncated index, {describe()}")
        self._commit = commit

    def _init_last_term(self) -> int:
        last = self._last_index
        if last == 0:
            return 0
        if last == RAFT_INIT_LOG_INDEX:
            return RAFT_INIT_LOG_TERM
        if last == self._truncated_index:
            return self._truncated_term
        entry = self._engine_entry(last)
        if entry is None:
            raise InvalidStateError(self.region.id, f"entry at {last} doesn't exist, may lose data")
        return entry.term

    def _init_applied_term(self) -> int:
        applied = self._applied
        if applied == RAFT_INIT_LOG_INDEX:
            return RAFT_INIT_LOG_TERM
        if applied == self._truncated_index:
            return self._truncated_term
        if applied > self._last_index:
            return self._commit_term
        entry = self._engine_entry(applied)
        if entry is None:
            raise InvalidStateError(self.region.id, f"entry at apply index {applied} doesn't exist, may lose data")
        return entry.term

    # -- state accessors -------------------------------------------------------------------------

    def is_initialized(self) -> bool:
        return is_region_initialized(self.region)

    def set_region(self, region: Region) -> None:
        self.region.CopyFrom(region)

    def applied_index(self) -> int:
        state = self._apply
        return self._applied if state is None else state.applied_index

    def applied_term(self) -> int:
        return self._applied_term

    def truncated_index(self) -> int:
        state = self._apply
        return self._truncated_index if state is None else state.truncated_state.index

    def truncated_term(self) -> int:
        state = self._apply
        return self._truncated_term if state is None else state.truncated_state.term

    def last_term(self) -> int:
        return self._last_term

    def commit_index(self) -> int:
        self._pull_raft_state()
        return self._commit

    def hard_state(self) -> HardState:
        """hard_state: the raft_state message's hard state (see raft_state)."""
        self._pull_raft_state()
        return self.raft_state.hard_state

    def region_state(self) -> RegionLocalState | None:
        """region_state is the persisted RegionLocalState, None when the region has none yet."""
        raw = self._get("kv", CF_RAFT, keys.region_state_key(self.region.id))
        if raw is None:
            return None
        state: RegionLocalState = _decode(RegionLocalState, raw, self.region.id, "region state")
        return state

    # -- raft Storage ----------------------------------------------------------------------------

    def initial_state(self) -> RaftState:
        """initial_state: the hard state and the ConfState of the region's peers (empty if uninitialized)."""
        self._pull_raft_state()
        hs = HardState(term=self._term, vote=self._vote, commit=self._commit)
        if hs == HardState():
            if self.is_initialized():
                raise InvariantError(
                    f"{self.tag} peer for region {self.region.id} is initialized but its hard state is empty"
                )
            return RaftState(hs, ConfState())
        return RaftState(hs, conf_state_from_region(self.region))

    def first_index(self) -> int:
        return self.truncated_index() + 1

    def last_index(self) -> int:
        if self._raft_msg is not None:
            self._pull_raft_state()
        return self._last_index

    def _check_range(self, low: int, high: int) -> None:
        if self._raft_msg is not None:
            self._pull_raft_state()
        if low > high:
            raise StorageError(f"{self.tag} low: {low} is greater than high: {high}")
        if low <= self.truncated_index():
            raise CompactedError()
        if high > self._last_index + 1:
            raise StorageError(f"{self.tag} entries' high {high} is out of bound lastindex {self._last_index}")

    def entries(
        self, low: int, high: int, max_size: int | None = None, context: GetEntriesContext | None = None
    ) -> list[Entry]:
        """entries returns [low, high): at least one entry when low < high, then as many as fit in
        max_size (protobuf-encoded size); from the entry cache where cached, else from the raft engine."""
        self._check_range(low, high)
        if low == high:
            return []
        limit = NO_LIMIT if max_size is None else max_size
        cache = self.cache
        cache_low = cache.first_index()
        if cache_low is None or high <= cache_low:
            cache.miss += 1
            return self._fetch_from_engine(low, high, limit)
        ents: list[Entry] = []
        begin = low
        if low < cache_low:
            cache.miss += 1
            ents = self._fetch_from_engine(low, cache_low, limit)
            if len(ents) < cache_low - low:
                return ents
            begin = cache_low
        cache.hit += 1
        fetched = sum(e.ByteSize() for e in ents) if ents and limit != NO_LIMIT else 0
        tail = cache.fetch(begin, high, fetched, limit)
        if not ents:
            return tail
        ents.extend(tail)
        return ents

    def _fetch_from_engine(self, low: int, high: int, max_size: int) -> list[Entry]:
        """_fetch_from_engine reads [low, high) from the raft engine, as TiKV's fetch_entries_to: up to
        RAFT_LOG_MULTI_GET_CNT entries by point gets, more by one scan; the first entry, then while the
        running encoded size stays within max_size.

        A missing first entry means log GC ran under the reader: CompactedError. Anything else short of
        the range (a hole after the first entry, a missing tail, an entry that does not decode or sits under
        another index's key, an engine I/O error) is damage: RegionCorruptionError, never UnavailableError.
        """
        rid = self.region.id
        raft = self.engines.raft
        # rows: (key, value) in index order; point gets give None for a missing key.
        rows: list[tuple[bytes, bytes | None]]
        try:
            if high - low <= RAFT_LOG_MULTI_GET_CNT:
                rows = [(k, raft.get(CF_DEFAULT, k)) for k in keys.raft_log_keys(rid, low, high)]
            else:
                rows = list(raft.scan(CF_DEFAULT, keys.raft_log_key(rid, low), keys.raft_log_key(rid, high)))
        except EngineError as err:
            raise _read_error(rid, self.tag, err, f"the raft log [{low}, {high})", StorageError) from err
        ents: list[Entry] = []
        size = 0
        expect = low
        # found: the (key, entry) read where entry `expect` was due, when it is another entry.
        found: tuple[bytes, Entry] | None = None
        for key, raw in rows:
            if raw is None:
                break
            e = _decode(Entry, raw, rid, f"log entry {expect}")
            if e.index != expect:
                found = (key, e)
                break
            size += len(raw)
            if ents and size > max_size:
                return ents
            ents.append(e)
            expect += 1
            if size >= max_size:
                return ents  # no entry (encoded in 2 bytes at least) fits any more: read no further
        if expect == high:
            return ents
        missing = found is None or keys.raft_log_index(found[0]) != expect
        if expect == low and missing:
            raise CompactedError()
        what = "is missing" if found is None or missing else f"holds entry {found[1].index}"
        raise RegionCorruptionError(
            rid, f"raft log entry {expect} {what} while [{low}, {high}) lies within [first, last] index"
        )

    def term(self, idx: int) -> int:
        """term of entry idx: the truncated term at the truncated index, CompactedError below it, a
        StorageError above the last index. An entry in [first, last] that the raft log lacks is a broken
        invariant (TiKV panics): InvariantError, never an error raft could take for a term mismatch."""
        state = self._apply
        if state is None:
            truncated_index, truncated_term = self._truncated_index, self._truncated_term
        else:
            truncated_index, truncated_term = state.truncated_state.index, state.truncated_state.term
        if idx == truncated_index:
            return truncated_term
        self._check_range(idx, idx + 1)
        if truncated_term == self._last_term or idx == self._last_index:
            return self._last_term
        e = self.cache.entry(idx)
        if e is not None:
            return e.term
        term = self.term_cache.entry(idx)
        if term is not None:
            return term
        entry = self._engine_entry(idx)
        if entry is None:
            raise InvariantError(
                f"{self.tag} entry {idx} in [{self.first_index()}, {self._last_index}] is missing "
                "from the raft log"
            )
        return entry.term

    def snapshot(self, request_index: int, to: int) -> Snapshot:
        """snapshot: asynchronous, as in TiKV. The first call schedules a GenSnapTask (taken by the snapshot
        worker via take_gen_snap_task) and raises SnapshotTemporarilyUnavailableError; a later call returns
        the generated snapshot if its index is at least request_index and the truncated index and its
        epoch is not stale, otherwise generates again; after MAX_SNAP_TRY_CNT failures a StorageError.
        A try that follows a canceled generation is not counted; a canceled task's result is never returned."""
        task = self.gen_snap_task
        tried = last_canceled = self._snap_dropped
        self._snap_dropped = False
        if task is not None:
            if not task.done:
                raise SnapshotTemporarilyUnavailableError()
            self.gen_snap_task = None
            tried, last_canceled = True, task.canceled
            if task.result is not None and not task.canceled:
                self._snap_tried = 0
                if self._validate_snap(task.result, request_index):
                    return task.result
            else:
                logger.warning("%s failed to generate a snapshot (%s), try %d", self.tag, task.error, self._snap_tried)
        if not any(p.id == to for p in self.region.peers):
            logger.warning("%s snapshot requested for unknown peer %d", self.tag, to)
            raise SnapshotTemporarilyUnavailableError()
        if self._snap_tried >= MAX_SNAP_TRY_CNT:
            count = self._snap_tried
            self._snap_tried = 0
            raise StorageError(f"{self.tag} failed to get snapshot after {count} times")
        if not tried or not last_canceled:
            self._snap_tried += 1
        self._schedule_gen_snap(request_index, to)
        raise SnapshotTemporarilyUnavailableError()

    def _schedule_gen_snap(self, request_index: int, to: int) -> None:
        """_schedule_gen_snap leaves a new GenSnapTask for the worker. A generation still in flight (not done)
        is a broken invariant (TiKV asserts the slot is empty): the worker would generate twice."""
        task = self.gen_snap_task
        if task is not None and not task.done:
            raise InvariantError(
                f"{self.tag} scheduling a snapshot generation while one for peer {task.to} is in flight "
                f"(taken: {task.taken})"
            )
        self.gen_snap_task = GenSnapTask(self.region.id, to, request_index)

    def _validate_snap(self, snap: Snapshot, request_index: int) -> bool:
        index = snap.metadata.index
        if index < self.truncated_index() or index < request_index:
            logger.info("%s snapshot at %d is stale, generating again", self.tag, index)
            return False
        try:
            data = RaftSnapshotData.FromString(snap.data)
        except DecodeError:
            logger.error("%s generated snapshot is corrupt", self.tag)
            return False
        if data.region.region_epoch.conf_ver < self.region.region_epoch.conf_ver:
            logger.info("%s snapshot epoch is stale", self.tag)
            return False
        return True

    @property
    def snap_tried_cnt(self) -> int:
        """snap_tried_cnt: generations counted towards MAX_SNAP_TRY_CNT so far (TiKV's snap_tried_cnt)."""
        return self._snap_tried

    def take_gen_snap_task(self) -> GenSnapTask | None:
        """take_gen_snap_task hands the pending generation task to the snapshot worker (once)."""
        task = self.gen_snap_task
        if task is None or task.done or task.taken:
            return None
        task.taken = True
        return task

    def take_gen_snap_request(
        self, *, for_balance: bool = False, progress: BuildProgress | None = None
    ) -> GenSnapRequest | None:
        """take_gen_snap_request takes the pending generation task (take_gen_snap_task) together with what
        the worker needs, captured now, on the caller's (raftstore) thread: the applied term, a copy of
        the apply state and a KV engine snapshot. None when there is nothing to generate. `progress` (a
        BuildProgress) lets a streaming sender follow the files as they are built.

        The three must describe one moment: call it between write rounds, when no apply state is staged in
        a task that is not written yet (else the worker finds another apply state in the engine snapshot
        and fails the task, and raft asks again)."""
        task = self.take_gen_snap_task()
        if task is None:
            return None
        apply_state = RaftApplyState()
        apply_state.CopyFrom(self.apply_state)
        kv_snapshot = self.engines.kv.snapshot()
        # The term is read from the log (or the truncated state), not from a cached applied term that an
        # apply path may not keep up to date.
        term = self.term(apply_state.applied_index)
        return GenSnapRequest(
            task, term, apply_state, kv_snapshot=kv_snapshot, for_balance=for_balance, progress=progress
        )

    def cancel_generating_snap(self, compact_to: int | None = None) -> None:
        """cancel_generating_snap cancels the generation in flight, as TiKV does: unconditionally without
        compact_to; with it (the first index after a compaction) only when the snapshot's index is known
        and the compaction leaves a gap after it (compact_to > index + 1).

        A task the worker has not taken yet is dropped (gen_snap_task becomes None, as TiKV takes it back):
        the next snapshot() schedules a new one at once, without counting a try. A taken task stays, marked
        canceled, until the worker finishes it; its result is then discarded."""
        task = self.gen_snap_task
        if task is None or task.canceled or task.done:
            return
        if compact_to is not None and (task.index == 0 or compact_to <= task.index + 1):
            return
        task.canceled = True
        if not task.taken:
            self.gen_snap_task = None
            self._snap_dropped = True
        logger.info("%s canceled generating snap", self.tag)

    # -- write path ------------------------------------------------------------------------------

    def append(self, entries: Sequence[Entry], task: WriteTask) -> None:
        """append stages entries into task (deleting a conflicting tail), updates the entry cache and
        raft_state.last_index at once, and sets task.raft_state to the new RaftLocalState.

        entries must start above the truncated index and at most at last index + 1, be contiguous, and
        their terms must not decrease; otherwise InvariantError, before anything is staged."""
        if not entries:
            return
        if self._raft_msg is not None:
            self._pull_raft_state()
        prev_last = self._last_index
        first = entries[0].index
        if first > prev_last + 1 or first <= (self._truncated_index if self._apply is None else self.truncated_index()):
            raise InvariantError(
                f"{self.tag} append at {first} must follow the truncated index {self.truncated_index()} "
                f"and leave no hole after the last index {prev_last}"
            )
        # Each entry is encoded once, here: the write uses the encodings, the cache accounts their sizes.
        if len(entries) > 1:
            self._check_run(entries)
            encoded = list(map(_ENCODE_ENTRY, entries))
            sizes = list(map(len, encoded))
        else:
            encoded = [entries[0].SerializeToString()]
            sizes = [len(encoded[0])]
        region_id = self.region.id
        cache = self._cache if self._cache is not None else self.cache
        cache.append(region_id, self.peer_id, entries, sizes)
        last = entries[-1]
        last_index = last.index
        stage = task.stage
        if stage is not None:  # task.set_append, inline (the round's hot path)
            task.appended_to = last_index
            stage.put_log(region_id, prev_last + 1, entries, encoded, last_index)
        else:
            task.set_append(prev_last + 1, entries, encoded)
        self._note_pending(task.ready_number, first)
        if cache.persisted >= first:
            cache.persisted = first - 1
        self._last_index = last_index
        self._last_term = last.term
        task.staged_raft_state = (self._term, self._vote, self._commit, last_index)
        if self._raft_msg is not None:
            self._push_raft_state()

    def _note_pending(self, ready_number: int, first: int) -> None:
        """_note_pending records that the task of ready_number staged entries from first on (in the list of
        its own once it has one: on_persisted empties it, and the next append fills it again)."""
        if self._pending is not _NO_PENDING:
            self._pending.append((ready_number, first))
        else:
            self._pending = [(ready_number, first)]

    def _check_run(self, entries: Sequence[Entry]) -> None:
        """_check_run: entries are contiguous and their terms never decrease (else InvariantError). C-level
        passes only: this is the append hot path."""
        first = entries[0].index
        indexes = list(map(_INDEX, entries))
        if indexes != list(range(first, first + len(entries))):
            raise InvariantError(f"{self.tag} appended entries are not contiguous: indexes {indexes}")
        terms = list(map(_TERM, entries))
        if terms != sorted(terms):  # timsort checks a sorted run in one C-level pass
            raise InvariantError(f"{self.tag} appended entries' terms decrease: {list(zip(indexes, terms))}")

    def set_hard_state(self, hs: HardState, task: WriteTask) -> None:
        """set_hard_state records a new hard state and stages the RaftLocalState into task. An uninitialized
        peer (last index 0) never persists a hard state, as in TiKV."""
        if self._raft_msg is not None:
            self._pull_raft_state()
        if self._last_index == 0:
            return
        term, vote, commit = self._term, self._vote, self._commit = hs.term, hs.vote, hs.commit
        staged = task.staged_raft_state
        if staged is None:
            task.staged_raft_state = (term, vote, commit, self._last_index)
        elif type(staged) is tuple:  # task.stage_hard_state, inline (the hot path: append staged it)
            task.staged_raft_state = (term, vote, commit, staged[3])
        else:
            task.stage_hard_state(hs)
        if self._raft_msg is not None:
            self._push_raft_state()

    def set_commit_index(self, commit: int) -> None:
        """set_commit_index records a commit index learned from a LightReady, in memory as TiKV does: the
        next RaftLocalState staged carries it. The commit index never goes back."""
        self._pull_raft_state()
        if commit < self._commit:
            raise InvariantError(f"{self.tag} commit index {commit} < {self._commit}")
        self._commit = commit
        self._push_raft_state()

    def _stage_raft_state(self, task: WriteTask) -> None:
        # A task keeps its own copy (values): the raft state may move on before the task is written.
        task.staged_raft_state = self._raft_state_values()

    def handle_raft_ready(self, ready: "Ready", task: WriteTask) -> None:
        """handle_raft_ready stages a raft Ready into task as TiKV's does: its snapshot (apply_snapshot),
        its entries, its hard state, and last the snapshot raft state with that hard state.

        Failpoints: raft_before_apply_snap, raft_after_apply_snap (TiKV's), around the snapshot's staging."""
        snap: Snapshot | None = ready.snapshot
        if snap is not None and snap.metadata.index == 0:
            snap = None  # raft-rs's empty snapshot: none
        if snap is not None:
            failpoints.fail_point("raft_before_apply_snap")
            self.apply_snapshot(snap, task)
            failpoints.fail_point("raft_after_apply_snap")
        if ready.entries:
            self.append(ready.entries, task)
        if ready.hs is not None:
            self.set_hard_state(ready.hs, task)
            if snap is not None:  # staged again with the Ready's hard state; the later put wins
                save_snapshot_raft_state(
                    task, self.region.id, raft_local_state(self._raft_state_values()), snap.metadata.index
                )

    def on_persisted(self, task: WriteTask) -> ApplySnapTask | None:
        """on_persisted tells the storage that task is durable: the cache may now drop what it wrote, and
        with a snap_mgr the region's snapshots below a newly durable truncated index are collected.

        When task staged a snapshot (apply_snapshot), the peer enters APPLYING with a PENDING job status and
        the apply job is returned: the owner must run it (SnapApplyWorker.schedule, or handle_apply) and
        follow it with check_applying_snap(). None otherwise."""
        if task.truncated_index is not None and task.truncated_index > self._durable_truncated:
            self._durable_truncated = task.truncated_index
            if self.snap_mgr is not None:
                self.snap_mgr.gc(self.region.id, task.truncated_index)
        pending = self._pending
        if pending and pending[0][0] <= task.ready_number:
            ready_number = task.ready_number
            done = 1
            while done < len(pending) and pending[done][0] <= ready_number:
                done += 1
            del pending[:done]
        job = self._schedule_applying_snapshot() if task.snapshot_index is not None else None
        last = task.appended_to
        if last is None:
            return job
        if pending:
            # A later task that is not durable yet may have re-staged lower indexes: they stay pinned.
            last = min(last, min(first for _, first in pending) - 1)
        cache = self.cache
        cache.persisted = max(cache.persisted, last)
        if cache.over_limit():
            self.evict_entry_cache()
        return job

    # -- snapshot apply --------------------------------------------------------------------------

    def apply_snapshot(self, snap: Snapshot, task: WriteTask) -> Region:
        """apply_snapshot stages the received snapshot snap into task (TiKV's apply_snapshot and the
        snapshot part of handle_raft_ready) and returns the snapshot's region.

        Refused with SnapError, nothing staged and nothing changed, when: the data is not a
        RaftSnapshotData (SnapCorruptionError), it is another region's snapshot, an apply is still in
        progress, or the snapshot is not newer than the applied index of an initialized peer.

        Staged, in one KV batch (synced first): the old meta cleared (initialized peers), PeerState
        Applying with the snapshot's region, the apply state with applied = truncated = commit = the
        snapshot's (index, term), and the snapshot raft state; in the raft batch: the old log deleted and
        the new RaftLocalState (last index = the snapshot's index). In memory the region, the states,
        the last and applied terms take the snapshot's values and the entry and term caches are emptied.
        The hard state's commit rises to the index (and its term, with no vote, to the snapshot's term)
        if it is below: the Ready's hard state, staged after by handle_raft_ready, replaces it anyway.
        The apply job starts once task is durable: see on_persisted."""
        data = parse_snapshot_data(snap.data)
        region = data.region
        index, term = snap.metadata.index, snap.metadata.term
        if region.id != self.region.id:
            raise SnapError(f"{self.tag} mismatch region id {self.region.id} != {region.id}: snapshot refused")
        if self.is_applying_snapshot():
            raise SnapError(f"{self.tag} is still applying a snapshot: snapshot at {index} refused")
        if self.is_initialized() and index <= self.applied_index():
            raise SnapError(
                f"{self.tag} snapshot at {index} is not newer than the applied index {self.applied_index()}: refused"
            )
        logger.info("%s begin to apply snapshot [index: %d, term: %d]", self.tag, index, term)
        if self.is_initialized():
            self.clear_meta(task)  # TiKV: only an initialized peer has meta and log to delete
        write_peer_state(task, region, PeerState.Applying)
        apply_state = self.apply_state
        apply_state.applied_index = apply_state.commit_index = index
        apply_state.commit_term = term
        apply_state.truncated_state.index = index
        apply_state.truncated_state.term = term
        self.save_apply_state_to(task)
        self._pull_raft_state()
        self._last_index = index
        self._commit = max(self._commit, index)
        if self._term < term:
            self._term, self._vote = term, 0
        self._push_raft_state()
        save_snapshot_raft_state(task, region.id, raft_local_state(self._raft_state_values()), index)
        self._stage_raft_state(task)
        self._last_term = self._applied_term = term
        self.set_region(region)
        self.cache.clear()
        self.cache.update_persisted(index)
        self._term_cache = None
        # Nothing at or below index is left once task is written; entries above it wait for their task.
        self._note_pending(task.ready_number, index + 1)
        self._gc_from = index + 1
        task.snapshot_index = index
        return region

    def _schedule_applying_snapshot(self) -> ApplySnapTask:
        """_schedule_applying_snapshot: TiKV's, without the scheduler: APPLYING with a new PENDING status."""
        status = self.snap_state.set_applying()
        return ApplySnapTask(self.region.id, self.peer_id, status)

    def is_applying_snapshot(self) -> bool:
        state = self._snap_state
        return state is not None and state.is_applying()

    def check_applying_snap(self) -> CheckApplyingSnapStatus:
        """check_applying_snap: TiKV's table (snap/status.py). A FAILED job sets pending_remove."""
        status = self.snap_state.status
        result = self.snap_state.check_applying_snap()
        self._note_failure(status)
        return result

    def cancel_applying_snap(self) -> bool:
        """cancel_applying_snap: TiKV's table (snap/status.py); True when the job can be considered never
        to run again. A FAILED job sets pending_remove."""
        status = self.snap_state.status
        result = self.snap_state.cancel_applying_snap()
        self._note_failure(status)
        return result

    def _note_failure(self, status: ApplyStatus | None) -> None:
        # FAILED is final, so reading it after the state's transition cannot miss it.
        if status is not None and status.load() == JobStatus.FAILED and not self.pending_remove:
            logger.warning("%s applying snapshot failed: the peer must be destroyed", self.tag)
            self.pending_remove = True

    def compact_entry_cache(self, index: int) -> None:
        """compact_entry_cache drops cached entries below index (only persisted ones) and old terms."""
        if self._cache is not None:
            self._cache.compact_to(index)
        if self._term_cache is not None:
            self._term_cache.compact_to(index)

    def update_term_cache(self, entries: Sequence[Entry]) -> None:
        """update_term_cache records the terms of committed entries (called as they are applied); it also
        evicts from the entry cache if its MemoryTrace is over its limit (evict_entry_cache)."""
        self.term_cache.append_entries(entries)
        if self._cache is not None and self._cache.over_limit():
            self.evict_entry_cache()

    def evict_entry_cache(self) -> int:
        """evict_entry_cache frees cached entries for the cache's MemoryTrace limit: the persisted and
        applied ones first, then, if the trace is still over its limit, the other persisted ones (raft
        reads them from the raft engine). Entries not persisted stay. Returns the bytes freed."""
        cache = self.cache
        freed = cache.compact_to(self.applied_index() + 1)
        if cache.over_limit():
            freed += cache.compact_to(cache.persisted + 1)
        return freed

    def save_apply_state_to(self, task: WriteTask) -> None:
        """save_apply_state_to stages the apply state into task's KV writes (and notes its truncated index,
        which log GC may rely on once the task is durable)."""
        state = self.apply_state
        task.put_kv(CF_RAFT, keys.apply_state_key(self.region.id), state.SerializeToString())
        task.truncated_index = state.truncated_state.index

    def compact_to(self, index: int, term: int, task: WriteTask) -> None:
        """compact_to applies a compact-log command: moves the truncated state to (index, term) (see
        compact_raft_log), stages the apply state, and stages log GC of everything below index + 1, which
        write_tasks deletes only after the KV batch carrying the truncated state is synced."""
        compact_raft_log(self.apply_state, index, term)
        self.save_apply_state_to(task)
        self.schedule_log_gc(task)
        self.cancel_generating_snap(index + 1)

    def schedule_log_gc(self, task: WriteTask) -> None:
        """schedule_log_gc stages deletion of log entries up to the truncated index that is durable: the one
        of the last apply state written, or the one staged in this task (its KV write is synced first). A
        truncation still only in memory is not collected."""
        durable = max(self._durable_truncated, task.truncated_index or 0)
        end = min(self.truncated_index(), durable) + 1
        if end <= self._gc_from:
            return
        rid = self.region.id
        task.delete_raft_range(keys.raft_log_key(rid, self._gc_from), keys.raft_log_key(rid, end))
        self._gc_from = end
        self.compact_entry_cache(end)

    def clear_meta(self, task: WriteTask) -> None:
        """clear_meta stages the removal of this peer's metadata and log (see the module function) and
        empties the entry cache and the term cache (TiKV's EntryStorage::clear)."""
        self._pull_raft_state()
        clear_meta(task, self.region.id, self.first_index(), raft_local_state(self._raft_state_values()))
        self.cache.clear()
        self._term_cache = None

    def tombstone(self, task: WriteTask, peer: Peer | None = None) -> None:
        """tombstone destroys the peer: clears its metadata and log and leaves a Tombstone region state.

        An uninitialized peer's region lists no peers, so, as TiKV's clear_meta_in_kv_and_raft does, the
        Tombstone state's region lists the peer itself: `peer` (its metapb.Peer, with the store id), or
        Peer(id=peer_id) when not given. A later message to the destroyed peer can then be checked against
        the tombstone. An initialized peer's region is written as it is."""
        self.clear_meta(task)
        region = self.region
        if not self.is_initialized():
            region = Region()
            region.CopyFrom(self.region)
            region.peers.append(peer if peer is not None else Peer(id=self.peer_id))
        write_peer_state(task, region, PeerState.Tombstone)

    def cache_stats(self) -> tuple[int, int, int]:
        """cache_stats: (hits, misses, bytes) of the entry cache."""
        return self.cache.hit, self.cache.miss, self.cache.mem_size


def load_region_states(engines: Engines) -> list[RegionLocalState]:
    """load_region_states reads every RegionLocalState in the KV engine (what a store hosts), in region
    id order; a malformed key or value raises InvalidStateError naming the region (or the key).

    A scan that RocksDB stops with an I/O or corruption error is never taken for the end of the regions:
    RegionCorruptionError naming the last region read before the damage (0: none was)."""
    states: list[RegionLocalState] = []
    for key, raw in _scan_states(engines, keys.REGION_META_MIN_KEY, keys.REGION_META_MAX_KEY, "region states"):
        try:
            region_id, suffix = keys.decode_region_meta_key(key)
        except keys.InvalidKeyError as err:
            raise InvalidStateError(
                _meta_key_region(key), f"malformed region meta key {key.hex()}: {err}"
            ) from err
        if suffix != keys.REGION_STATE_SUFFIX:
            continue
        state: RegionLocalState = _decode(RegionLocalState, raw, region_id, "region state")
        if state.region.id != region_id:
            raise InvalidStateError(region_id, f"region state holds region {state.region.id}")
        states.append(state)
    return states


def load_apply_states(engines: Engines) -> dict[int, bytes]:
    """load_apply_states reads the encoded RaftApplyState of every region in the KV engine by one scan
    (region id -> bytes; a region without one is missing), for PeerStorage's `apply_states` option, which
    takes each region's out: the load path opens every region at once, and one scan costs less than a get
    per region. The scan meets
    the region's other raft keys of the KV engine (snapshot raft state, uninit hard state) and skips them.

    Errors as load_region_states: RegionCorruptionError when RocksDB stops the scan with an I/O or
    corruption error (naming the last region read), StoreError for another engine error."""
    rows = _scan_states(engines, keys.REGION_RAFT_MIN_KEY, keys.REGION_RAFT_MAX_KEY, "apply states")
    key_len = keys.region_raft_prefix_len()  # 01 02 <id> <suffix>
    suffix = keys.APPLY_STATE_SUFFIX
    return {int.from_bytes(key[2:10], "big"): raw for key, raw in rows if len(key) == key_len and key[10] == suffix}


def _scan_states(engines: Engines, start: bytes, end: bytes, what: str) -> list[tuple[bytes, bytes]]:
    """_scan_states reads [start, end) of the KV engine's CF_RAFT whole. A scan that RocksDB stops with an
    I/O or corruption error raises RegionCorruptionError naming the last region read (0: none was), never
    returns fewer rows; another engine error raises StoreError."""
    rows: list[tuple[bytes, bytes]] = []
    try:
        rows.extend(engines.kv.scan(CF_RAFT, start, end))
    except EngineIOError as err:
        last = _meta_key_region(rows[-1][0]) if rows else 0
        raise RegionCorruptionError(last, f"cannot read the {what} after this region: {err}") from err
    except EngineError as err:
        raise StoreError(f"cannot scan {what}: {err}") from err
    return rows


def _meta_key_region(key: bytes) -> int:
    """_meta_key_region is the region id that a region meta or raft key's id bytes spell (0 if it has none), so
    that an error can name the region even when the key is malformed."""
    return int.from_bytes(key[2:10], "big") if len(key) >= 10 else 0

"""raftstore.store.write: write tasks and the group commit of one round.

A WriteTask collects what one Ready of one peer persists: entries to append (with the index from which a
conflicting tail is overwritten), a new RaftLocalState, KV writes that must be durable first (apply state,
region state, snapshot raft state) and raft-engine deletions (log GC, clear_meta, the old log of a peer
that receives a snapshot).

`write_tasks(engines, tasks)` persists the tasks of one round as TiKV's store writer does: all KV writes in
one batch written with sync, then all raft writes (entries, deletions, the last RaftLocalState of each
region) in one batch written with sync. So a round costs two fsyncs whatever the number of regions, and a
KV write (e.g. a truncated state) is durable before any raft-engine deletion that relies on it.

One exception, TiKV's and raft's: a round whose raft writes are only new commit indexes (every task's
`must_sync` False, raft's Ready.must_sync, and nothing else staged) writes its raft batch without sync. A
machine crash may lose those commit indexes; loading forwards a hard state's commit to the apply state's
recorded commit index (PeerStorage's validate_states), and raft learns the rest again from the leader.

A failed round is fatal to the engines, as a failed engine write is in TiKV: write_tasks raises StoreError
and marks both engines failed, so they refuse every further write (naming the first failure) until they are
reopened. The PeerStorages that staged the round are then ahead of the disk (their last_index, entry cache
and states include what was not written), and the KV batch may be durable without the raft batch. The owner
must not retry: it drops every PeerStorage, closes and reopens the engines and rebuilds its peers from disk.

The converse is the caller's rule, as in TiKV: a KV write must not depend on raft writes of the same round.
An apply state may only cover entries that earlier rounds made durable (committed entries are), or a crash
between the two fsyncs would leave an applied index above the durable log. A staged snapshot is the one
exception, and it is made safe by the snapshot raft state: its KV half (PeerState Applying, the apply state
at the snapshot's index, a copy of the new RaftLocalState) is enough for recovery to rebuild the raft half.

A round of many regions is staged more cheaply through a RoundStage (the store's round uses one): each
WriteTask made with `stage=` hands its entries, KV writes and raft-engine deletions to the stage as they
are staged (prepared (key, value) pairs, in staging order), and `write_round(engines, stage)` writes the
stage's tasks with the same batches, the same bytes and the same order of syncs as write_tasks would
write them (a region's operations are ordered as staged; regions' keys never overlap), with a few C-level
calls for the whole round instead of Python work per task.

Failpoints (raftstore.failpoints, off by default): `write_tasks_between_batches`, after the KV batch is
synced and before the raft batch is written (crash tests of that window).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

from .. import failpoints
from ..engine import keys
from ..engine.base import CF_DEFAULT, WriteBatch
from ..engine.engines import Engines
from ..engine.errors import EngineError
from ..proto.eraftpb_pb2 import Entry, HardState
from ..proto.raft_serverpb_pb2 import RaftLocalState
from .errors import StoreError

__all__ = [
    "WriteTask",
    "RoundStage",
    "WriteRoundStats",
    "write_tasks",
    "write_round",
    "RaftStateValues",
    "raft_local_state",
]

# A KV operation staged in a task: (cf, key, value) puts; value None deletes the key.
KvOp = tuple[str, bytes, bytes | None]

# RaftStateValues: a RaftLocalState as plain values, (term, vote, commit, last_index), its hard_state present:
# what PeerStorage stages without building a message per region.
RaftStateValues = tuple[int, int, int, int]


def raft_local_state(values: RaftStateValues) -> RaftLocalState:
    """raft_local_state builds the RaftLocalState that values describe."""
    term, vote, commit, last_index = values
    return RaftLocalState(hard_state=HardState(term=term, vote=vote, commit=commit), last_index=last_index)


# _NO_ENTRIES, _NO_KV_OPS, _NO_DELETES: the shared empty lists of every staged task (its operations go to
# its stage), never mutated.
_NO_ENTRIES: list[Entry] = []
_NO_KV_OPS: list[KvOp] = []
_NO_DELETES: list[tuple[bytes, bytes]] = []


class RoundStage:
    """RoundStage: the writes of one round's tasks, staged as they are staged into the tasks (see the module
    docstring); written once, by write_round.

    `tasks` are the tasks made with this stage, in order, until it is written (see write_round). `kv_ops`
    are their KV writes and `raft_ops` their raft-engine operations in staging order: a list is a run of
    puts (prepared (key, value) pairs, handed to the engine's batch as they are), a tuple a range deletion.
    `entries` counts the entries staged. `syncs`: something was staged that makes the raft write synced
    (anything but a raft state: see WriteTask.needs_sync)."""

    __slots__ = ("tasks", "kv_ops", "raft_ops", "_puts", "entries", "syncs", "written")

    def __init__(self) -> None:
        self.tasks: list[WriteTask] = []
        self.kv_ops: list[KvOp] = []
        self.raft_ops: list[list[tuple[bytes, bytes]] | tuple[bytes, bytes]] = []
        # _puts: the run of puts being filled (the last of raft_ops, or not yet in it when empty).
        self._puts: list[tuple[bytes, bytes]] = []
        self.entries = 0
        self.syncs = False
        self.written = False

    def put_log(
        self,
        region_id: int,
        overwrite_to: int | None,
        entries: Sequence[Entry],
        encoded: Sequence[bytes] | None,
        last: int,
    ) -> None:
        """put_log stages entries of region_id at their indexes (with their encodings, when the caller has
        them, index for index), the last at index last, and the deletion of the stale tail
        [last + 1, overwrite_to)."""
        count = len(entries)
        first = last if count == 1 else entries[0].index
        puts = self._puts
        if not puts:
            self.raft_ops.append(puts)
        if encoded is None or len(encoded) != count or last - first + 1 != count:
            puts += [(keys.raft_log_key(region_id, e.index), e.SerializeToString()) for e in entries]
        elif count == 1:
            puts.append((keys.raft_log_key(region_id, first), encoded[0]))
        else:
            puts += zip(keys.raft_log_keys(region_id, first, last + 1), encoded)
        self.entries += count
        self.syncs = True
        if overwrite_to is not None and overwrite_to > last + 1:
            self.delete_range(keys.raft_log_key(region_id, last + 1), keys.raft_log_key(region_id, overwrite_to))

    def delete_range(self, start: bytes, end: bytes) -> None:
        """delete_range stages the deletion of [start, end) in the raft engine after what is staged so far."""
        if self._puts:
            self._puts = []
        self.raft_ops.append((start, end))
        self.syncs = True

    def put_kv(self, op: KvOp) -> None:
        self.kv_ops.append(op)
        self.syncs = True


class WriteTask:
    """WriteTask: what one Ready of one peer persists (see the module docstring).

    `entries` are appended at their indexes; when `overwrite_to` is beyond the last new entry, the stale
    tail [last new + 1, overwrite_to) is deleted. `raft_state` (assignable) is the RaftLocalState to write;
    PeerStorage stages it as RaftStateValues (staged_raft_state), and reading `raft_state` turns those into
    the task's own message once.
    `messages` are the raft messages to send once the task is durable. `snapshot_index` is the index of the
    snapshot the task stages (PeerStorage.apply_snapshot), None when it stages none. `appended_to` is the
    last index of the entries staged last (set_append), None when the task stages none.

    A task made with a `stage` (RoundStage) hands its entries, KV writes and raft-engine deletions to the
    stage as they are staged (its own `entries`, `kv_ops` and `raft_deletes` stay empty) and is written
    with the stage (write_round); its raft state, messages and flags stay in the task.
    """

    __slots__ = (
        "region_id",
        "peer_id",
        "ready_number",
        "entries",
        "encoded",
        "overwrite_to",
        "staged_raft_state",
        "kv_ops",
        "raft_deletes",
        "leading_deletes",
        "messages",
        "clears_raft_state",
        "truncated_index",
        "snapshot_index",
        "must_sync",
        "stage",
        "appended_to",
    )

    def __init__(self, region_id: int, peer_id: int, ready_number: int, stage: RoundStage | None = None) -> None:
        self.region_id = region_id
        self.peer_id = peer_id
        self.ready_number = ready_number
        self.stage = stage
        self.appended_to: int | None = None
        if stage is None:
            self.entries: list[Entry] = []
            self.kv_ops: list[KvOp] = []
            self.raft_deletes: list[tuple[bytes, bytes]] = []
        else:  # its operations go to the stage
            if stage.written:
                raise ValueError("WriteTask: the stage was written already")
            stage.tasks.append(self)
            self.entries, self.kv_ops, self.raft_deletes = _NO_ENTRIES, _NO_KV_OPS, _NO_DELETES
        # encoded: the protobuf encodings of entries, index for index, when the stager made them (None:
        # write_tasks encodes the entries itself). set_append keeps the two together.
        self.encoded: list[bytes] | None = None
        self.overwrite_to: int | None = None
        # staged_raft_state: the raft state to write, as a message (assigned, or read once) or as the
        # values PeerStorage stages (it sets them here directly: the append hot path builds no message).
        self.staged_raft_state: RaftLocalState | RaftStateValues | None = None
        # leading_deletes: how many of raft_deletes were staged before any entry; they are written before
        # the entries (a snapshot's old log), the others after them (log GC, a tombstone after an append).
        self.leading_deletes = 0
        self.messages: list[object] = []
        # clears_raft_state: the task removes the region's RaftLocalState (clear_meta / tombstone).
        self.clears_raft_state = False
        # truncated_index: the truncated index of the apply state this task writes, if it writes one.
        self.truncated_index: int | None = None
        self.snapshot_index: int | None = None
        # must_sync: False only when the owner knows losing the task's raft writes to a machine crash is
        # safe (raft's Ready.must_sync: nothing but a new commit index). Any other write it holds is synced.
        self.must_sync = True

    def set_append(
        self, overwrite_to: int | None, entries: Sequence[Entry], encoded: Sequence[bytes] | None = None
    ) -> None:
        """set_append stages entries (with their encodings, if the caller has them); overwrite_to is the old
        last index + 1 (the stale tail's end). Entries staged earlier in the task from the first new
        index on are replaced."""
        if self.stage is not None:
            if entries:
                last = self.appended_to = entries[-1].index
                self.stage.put_log(self.region_id, overwrite_to, entries, encoded, last)
            return
        self.appended_to = entries[-1].index if entries else None
        if self.entries and entries and entries[0].index <= self.entries[-1].index + 1:
            keep = max(entries[0].index - self.entries[0].index, 0)
            self.entries[keep:] = entries
            if self.encoded is not None and encoded is not None:
                self.encoded[keep:] = encoded
            else:
                self.encoded = None
            if self.overwrite_to is not None and overwrite_to is not None:
                overwrite_to = max(overwrite_to, self.overwrite_to)
        else:
            self.entries = list(entries)
            self.encoded = list(encoded) if encoded is not None else None
        self.overwrite_to = overwrite_to

    @property
    def raft_state(self) -> RaftLocalState | None:
        state = self.staged_raft_state
        if state is None or isinstance(state, RaftLocalState):
            return state
        msg = self.staged_raft_state = raft_local_state(state)
        return msg

    @raft_state.setter
    def raft_state(self, state: RaftLocalState | None) -> None:
        self.staged_raft_state = state

    def stage_hard_state(self, hs: HardState) -> None:
        """stage_hard_state replaces the hard state of the raft state already staged (which must exist),
        keeping its last index."""
        state = self.staged_raft_state
        if isinstance(state, tuple):
            self.staged_raft_state = (hs.term, hs.vote, hs.commit, state[3])
        elif state is not None:
            state.hard_state.CopyFrom(hs)
        else:
            raise ValueError("stage_hard_state: no raft state staged")

    def put_kv(self, cf: str, key: bytes, value: bytes) -> None:
        if self.stage is not None:
            self.stage.put_kv((cf, key, value))
        else:
            self.kv_ops.append((cf, key, value))

    def delete_kv(self, cf: str, key: bytes) -> None:
        if self.stage is not None:
            self.stage.put_kv((cf, key, None))
        else:
            self.kv_ops.append((cf, key, None))

    def delete_raft_range(self, start: bytes, end: bytes) -> None:
        """delete_raft_range deletes [start, end) in the raft engine, after this round's KV writes are
        durable, in staging order relative to the task's entries (see leading_deletes)."""
        if self.stage is not None:
            self.stage.delete_range(start, end)
            return
        self.raft_deletes.append((start, end))
        if not self.entries:
            self.leading_deletes = len(self.raft_deletes)

    def last_entry_index(self) -> int | None:
        return self.appended_to

    def needs_sync(self) -> bool:
        """needs_sync: whether the task's raft writes must be synced (see must_sync): anything beyond a
        commit index (entries, a term or vote, deletions, KV writes, a snapshot) always is."""
        return bool(
            self.must_sync or self.entries or self.kv_ops or self.raft_deletes or self.clears_raft_state
            or self.snapshot_index is not None
        )


_STAGE = attrgetter("stage")


def _flush(raft_wb: WriteBatch, puts: list[tuple[bytes, bytes]]) -> None:
    if puts:
        raft_wb.put_many(CF_DEFAULT, puts[:])
        puts.clear()


def _delete_ranges(raft_wb: WriteBatch, puts: list[tuple[bytes, bytes]], ranges: Sequence[tuple[bytes, bytes]]) -> None:
    """_delete_ranges adds the deletions of ranges to raft_wb after the puts waiting before them."""
    _flush(raft_wb, puts)
    for start, end in ranges:
        raft_wb.delete_range(CF_DEFAULT, start, end)


@dataclass(frozen=True, slots=True)
class WriteRoundStats:
    """WriteRoundStats: what one round wrote (tasks, entries, bytes per engine, fsyncs issued)."""

    tasks: int
    entries: int
    kv_bytes: int
    raft_bytes: int
    syncs: int


def write_tasks(engines: Engines, tasks: Sequence[WriteTask]) -> WriteRoundStats:
    """write_tasks persists one round: the KV batch synced first, then the raft batch synced.

    When it returns, a new PeerStorage on the same engines sees everything in the tasks, and all of it is
    durable but the commit indexes of a round in which no task needs a sync (WriteTask.needs_sync).

    An engine failure raises StoreError and is fatal to the engines, as in TiKV: write_tasks marks both
    engines failed, and every later write (write_tasks included) is refused with an error naming the first
    failure, until the engines are closed and reopened. Nothing of the raft batch is written if the KV
    write failed, but the KV batch may be durable without the raft batch, and the PeerStorages that staged
    the tasks are ahead of the disk (e.g. their last_index): the owner must drop them, reopen the engines
    and build every peer again from what is on disk.

    Tasks made with a stage are written with it (write_round); passing one here raises ValueError.
    """
    if any(map(_STAGE, tasks)):
        raise ValueError("write_tasks: a task made with a RoundStage is written by write_round")
    try:
        kv_wb, raft_wb, entry_count = _fill_batches(engines, tasks)
    except EngineError as err:
        raise _fail(engines, len(tasks), err) from err
    return _write_batches(engines, tasks, kv_wb, raft_wb, entry_count, False)


def write_round(engines: Engines, stage: RoundStage) -> WriteRoundStats:
    """write_round persists the tasks of stage as write_tasks would persist them (same batches, same order
    of syncs, same failure semantics: see write_tasks), a region's operations in staging order. A stage is
    written once; a second call raises ValueError. Once filled into the batches, the stage lets go of its
    tasks and operations (`tasks` is empty after): the tasks refer to their stage, and a stage that kept
    them would make each round a reference cycle that only the cyclic collector frees."""
    if stage.written:
        raise ValueError("write_round: the stage was written already")
    stage.written = True
    tasks = stage.tasks
    try:
        kv_wb, raft_wb = _fill_stage(engines, stage)
    except EngineError as err:
        raise _fail(engines, len(tasks), err) from err
    finally:
        stage.tasks, stage.kv_ops, stage.raft_ops, stage._puts = [], [], [], []
    return _write_batches(engines, tasks, kv_wb, raft_wb, stage.entries, stage.syncs)


def _fail(engines: Engines, count: int, err: EngineError) -> StoreError:
    """_fail marks both engines failed by a round of count tasks and returns the StoreError to raise."""
    failure = f"write round of {count} tasks failed: {err}"
    engines.fail(failure)
    return StoreError(failure)


def _write_batches(
    engines: Engines, tasks: Sequence[WriteTask], kv_wb: WriteBatch, raft_wb: WriteBatch, entry_count: int, syncs: bool
) -> WriteRoundStats:
    """_write_batches writes kv_wb synced, then raft_wb, synced when syncs or when a task needs it."""
    kv_bytes = kv_wb.data_size()
    raft_bytes = raft_wb.data_size()
    written = 0
    try:
        if not kv_wb.is_empty():
            engines.kv.write(kv_wb, sync=True)
            written += 1
        failpoints.fail_point("write_tasks_between_batches")
        if not raft_wb.is_empty():
            sync = syncs or any(t.needs_sync() for t in tasks)
            engines.raft.write(raft_wb, sync=sync)
            written += sync
    except EngineError as err:
        raise _fail(engines, len(tasks), err) from err
    return WriteRoundStats(len(tasks), entry_count, kv_bytes, raft_bytes, written)


def _put_kv_ops(kv_wb: WriteBatch, ops: Sequence[KvOp]) -> None:
    for cf, key, value in ops:
        if value is None:
            kv_wb.delete(cf, key)
        else:
            kv_wb.put(cf, key, value)


def _raft_state_puts(raft_states: dict[int, RaftLocalState | RaftStateValues]) -> list[tuple[bytes, bytes]]:
    """_raft_state_puts: the (key, encoded RaftLocalState) of each region's last staged raft state. Values
    are encoded through one reused scratch message whose hard_state is present (no message per region):
    the bytes of raft_local_state(values).SerializeToString()."""
    scratch = RaftLocalState(hard_state=HardState())
    hs, encode_scratch, encode = scratch.hard_state, scratch.SerializeToString, RaftLocalState.SerializeToString
    encoded = []
    for state in raft_states.values():
        if type(state) is tuple:
            hs.term, hs.vote, hs.commit, scratch.last_index = state
            encoded.append(encode_scratch())
        else:
            encoded.append(encode(state))
    return list(zip(keys.raft_state_keys(raft_states), encoded))


def _fill_stage(engines: Engines, stage: RoundStage) -> tuple[WriteBatch, WriteBatch]:
    """_fill_stage puts the stage into a KV batch and a raft batch: its KV writes, its raft operations in
    staging order, and last the last raft state staged for each region (none after a clear_meta), as
    _fill_batches does for tasks."""
    kv_wb = engines.kv.write_batch()
    _put_kv_ops(kv_wb, stage.kv_ops)
    raft_wb = engines.raft.write_batch()
    for op in stage.raft_ops:
        if type(op) is list:
            raft_wb.put_many(CF_DEFAULT, op)
        else:
            raft_wb.delete_range(CF_DEFAULT, *op)
    # A task that clears its region's raft state with none staged after leaves None: dropped below.
    raft_states = {
        t.region_id: t.staged_raft_state for t in stage.tasks if t.staged_raft_state is not None or t.clears_raft_state
    }
    if None in raft_states.values():
        raft_states = {rid: state for rid, state in raft_states.items() if state is not None}
    puts = _raft_state_puts(raft_states)  # type: ignore[arg-type]
    if puts:
        raft_wb.put_many(CF_DEFAULT, puts)
    return kv_wb, raft_wb


def _fill_batches(engines: Engines, tasks: Sequence[WriteTask]) -> tuple[WriteBatch, WriteBatch, int]:
    """_fill_batches puts the tasks into a KV batch and a raft batch (see write_tasks); returns both and the
    number of entries. The raft batch keeps each task's operations in staging order (deletions staged
    before the task's first entry, such as a snapshot's old log, come before its entries) and ends with
    the last RaftLocalState staged for each region (none after a clear_meta)."""
    kv_wb = engines.kv.write_batch()
    raft_wb = engines.raft.write_batch()
    raft_states: dict[int, RaftLocalState | RaftStateValues] = {}
    entry_count = 0
    log_key = keys.raft_log_key
    # puts: raft-engine puts not yet handed to the batch; flushed before every deletion to keep the order.
    puts: list[tuple[bytes, bytes]] = []
    for task in tasks:
        if task.kv_ops:
            _put_kv_ops(kv_wb, task.kv_ops)
        region_id = task.region_id
        deletes, leading = task.raft_deletes, task.leading_deletes
        if leading:
            _delete_ranges(raft_wb, puts, deletes[:leading])
        entries = task.entries
        if entries:
            count = len(entries)
            first, last = entries[0].index, entries[-1].index
            encoded = task.encoded
            if encoded is None or len(encoded) != count or last - first + 1 != count:
                puts += [(log_key(region_id, e.index), e.SerializeToString()) for e in entries]
            elif count == 1:
                puts.append((log_key(region_id, first), encoded[0]))
            else:
                puts += zip(keys.raft_log_keys(region_id, first, last + 1), encoded)
            entry_count += count
            if task.overwrite_to is not None and task.overwrite_to > last + 1:
                _flush(raft_wb, puts)
                raft_wb.delete_range(CF_DEFAULT, log_key(region_id, last + 1), log_key(region_id, task.overwrite_to))
        if len(deletes) > leading:
            _delete_ranges(raft_wb, puts, deletes[leading:])
        if task.clears_raft_state:
            raft_states.pop(region_id, None)
        if task.staged_raft_state is not None:
            raft_states[region_id] = task.staged_raft_state
    puts += _raft_state_puts(raft_states)
    _flush(raft_wb, puts)
    return kv_wb, raft_wb, entry_count

"""raftstore.raft.raw_node: RawNode, the application's handle on one Raft peer (raft-rs semantics).

RawNode wraps a Raft and turns its state changes into `Ready` values that the application handles in
order. One round of the protocol::

    if node.has_ready():
        rd = node.ready()
        send(rd.messages)                         # leader only: may be sent before persisting
        storage.apply_snapshot(rd.snapshot)       # when not empty
        apply(rd.committed_entries)
        storage.append(rd.entries)
        if rd.hs is not None: storage.set_hardstate(rd.hs)
        send(rd.persisted_messages)               # only after entries / hs / snapshot are durable
        light = node.advance(rd)
        if light.commit_index is not None: storage.commit_to(light.commit_index)
        send(light.messages); apply(light.committed_entries)
        node.advance_apply()

Asynchronous persistence (raft-rs's "async ready"): call `advance_append_async(rd)` once the Ready's
writes are staged where Storage can read them, and `on_persist_ready(rd.number)` once they are durable;
Readies must be persisted in the order of their numbers.

Batched proposals: `propose_batch(datas)` steps one MsgPropose that carries one entry per item; it is the
cheap way to propose many commands at once (one step, one uncommitted-size check, one broadcast), with
the same all-or-nothing outcome as a single raft-rs MsgPropose with many entries.
"""

from __future__ import annotations

import enum
import random
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..proto.eraftpb_pb2 import (
    ConfChange,
    ConfChangeSingle,
    ConfChangeV2,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    Snapshot,
)
from .describe import describe_ready
from .errors import InvariantError, RaftError, StepLocalMsgError, StepPeerNotFoundError
from .raft import Raft, SoftState, StateRole
from .status import Status
from .storage import GetEntriesFor
from .util import NO_LIMIT

if TYPE_CHECKING:
    from .config import Config
    from .read_only import ReadState
    from .storage import GetEntriesContext, Storage

# _ENTRY_OVERHEAD_BOUND: the most an Entry's encoding adds to the bytes of its data and context: the tags and
# varints of entry_type (2), term (11), index (11), the lengths of data and context (6 each, below 32 GiB)
# and sync_log (2).
_ENTRY_OVERHEAD_BOUND = 38

__all__ = [
    "Peer",
    "SnapshotStatus",
    "Ready",
    "LightReady",
    "RawNode",
    "is_local_msg",
    "is_response_msg",
    "conf_change_as_v2",
]

_MSG_HUP = MessageType.MsgHup
_MSG_PROPOSE = MessageType.MsgPropose
_ENTRY_CONF_CHANGE = EntryType.EntryConfChange
_ENTRY_CONF_CHANGE_V2 = EntryType.EntryConfChangeV2

# _LOCAL_MSGS are the message types that only the node itself may generate (never from the network).
_LOCAL_MSGS = frozenset(
    {
        MessageType.MsgHup,
        MessageType.MsgBeat,
        MessageType.MsgUnreachable,
        MessageType.MsgSnapStatus,
        MessageType.MsgCheckQuorum,
    }
)

# _RESPONSE_MSGS are the message types that answer a request; they are refused from unknown peers.
_RESPONSE_MSGS = frozenset(
    {
        MessageType.MsgAppendResponse,
        MessageType.MsgRequestVoteResponse,
        MessageType.MsgHeartbeatResponse,
        MessageType.MsgUnreachable,
        MessageType.MsgRequestPreVoteResponse,
    }
)


def is_local_msg(t: int) -> bool:
    """is_local_msg: whether a message of type t is internal to a node (MsgHup, MsgBeat, MsgUnreachable,
    MsgSnapStatus, MsgCheckQuorum) and must never come in through `RawNode.step`."""
    return t in _LOCAL_MSGS


def is_response_msg(t: int) -> bool:
    """is_response_msg: whether a message of type t is a response (refused from peers not in the tracker)."""
    return t in _RESPONSE_MSGS


def conf_change_as_v2(cc: ConfChange | ConfChangeV2) -> ConfChangeV2:
    """conf_change_as_v2: a ConfChangeV2 equivalent to cc (a V2 is returned as is; a V1 becomes a V2 with
    one change and the same context, as raft-rs's ConfChangeI::as_v2)."""
    if isinstance(cc, ConfChangeV2):
        return cc
    v2 = ConfChangeV2()
    v2.changes.append(ConfChangeSingle(change_type=cc.change_type, node_id=cc.node_id))
    v2.context = cc.context
    return v2


@dataclass
class Peer:
    """Peer: a node of the cluster, with an optional opaque context (e.g. connection information)."""

    id: int
    context: bytes | None = None


class SnapshotStatus(enum.Enum):
    """SnapshotStatus: the outcome of sending a snapshot, reported with `RawNode.report_snapshot`."""

    # FINISH: the snapshot was sent and applied by the receiver.
    FINISH = 0
    # FAILURE: the snapshot could not be built or delivered.
    FAILURE = 1


class LightReady:
    """LightReady: the commit index (None when unchanged), committed entries and messages produced by
    `RawNode.advance` / `advance_append`; valid only after the previous Ready was persisted."""

    __slots__ = ("_commit_index", "_committed_entries", "_messages")

    def __init__(self) -> None:
        self._commit_index: int | None = None
        self._committed_entries: list[Entry] = []
        self._messages: list[Message] = []

    @property
    def commit_index(self) -> int | None:
        """commit_index: the new commit index, None when it did not change."""
        return self._commit_index

    @property
    def committed_entries(self) -> list[Entry]:
        """committed_entries: entries to apply to the state machine, in order."""
        return self._committed_entries

    @property
    def messages(self) -> list[Message]:
        """messages: messages to send to other peers."""
        return self._messages

    def take_committed_entries(self) -> list[Entry]:
        """take_committed_entries: returns the committed entries and leaves none behind."""
        ents, self._committed_entries = self._committed_entries, []
        return ents

    def take_messages(self) -> list[Message]:
        """take_messages: returns the messages and leaves none behind."""
        msgs, self._messages = self._messages, []
        return msgs

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LightReady):
            return NotImplemented
        return (
            self._commit_index == other._commit_index
            and self._committed_entries == other._committed_entries
            and self._messages == other._messages
        )

    def __repr__(self) -> str:
        return f"<{describe_ready(self)}>"




class Ready:
    """Ready: what one round of the application must do: persist `entries`, `hs` and `snapshot`, apply
    `committed_entries`, send `messages` at once and `persisted_messages` only after persisting.

    `ss` and `hs` are None when unchanged since the previous Ready. `must_sync` is False iff there is no
    snapshot, no entry and the hard state is unchanged except (perhaps) its commit index. A leader's
    messages come out in `messages`; a non-leader's in `persisted_messages` (raft thesis 10.2.1).
    """

    __slots__ = (
        "_number",
        "_ss",
        "_hs",
        "_read_states",
        "_entries",
        "_snapshot",
        "_is_persisted_msg",
        "_light",
        "_must_sync",
    )

    def __init__(self, number: int = 0) -> None:
        self._number = number
        self._ss: SoftState | None = None
        self._hs: HardState | None = None
        self._read_states: list[ReadState] = []
        self._entries: list[Entry] = []
        self._snapshot: Snapshot | None = None
        self._is_persisted_msg = False
        self._light = LightReady()
        self._must_sync = False

    @property
    def number(self) -> int:
        """number: this Ready's sequence number (1, 2, ...), used with `RawNode.on_persist_ready`."""
        return self._number

    @property
    def ss(self) -> SoftState | None:
        """ss: the new soft state, None when unchanged; it need not be persisted."""
        return self._ss

    @property
    def hs(self) -> HardState | None:
        """hs: the new hard state to persist, None when unchanged."""
        return self._hs

    @property
    def read_states(self) -> list[ReadState]:
        """read_states: results of `read_index` requests that became ready."""
        return self._read_states

    @property
    def entries(self) -> list[Entry]:
        """entries: entries to append to stable storage (may overwrite a conflicting tail)."""
        return self._entries

    @property
    def snapshot(self) -> Snapshot:
        """snapshot: the snapshot to apply to stable storage; an empty Snapshot when there is none."""
        if self._snapshot is None:
            self._snapshot = Snapshot()
        return self._snapshot

    @property
    def committed_entries(self) -> list[Entry]:
        """committed_entries: entries to apply to the state machine; already persisted locally."""
        return self._light._committed_entries

    @property
    def messages(self) -> list[Message]:
        """messages: messages to send at once (a leader's). A MsgSnapshot among them obliges the
        application to call `RawNode.report_snapshot` later."""
        return [] if self._is_persisted_msg else self._light._messages

    @property
    def persisted_messages(self) -> list[Message]:
        """persisted_messages: messages to send only after entries, hard state and snapshot of this
        Ready are durable (a non-leader's)."""
        return self._light._messages if self._is_persisted_msg else []

    @property
    def must_sync(self) -> bool:
        """must_sync: whether persisting this Ready needs a synchronous write (see the class docstring)."""
        return self._must_sync

    def has_snapshot(self) -> bool:
        """has_snapshot: whether this Ready carries a snapshot to apply."""
        return self._snapshot is not None and not _snapshot_is_empty(self._snapshot)

    def take_read_states(self) -> list[ReadState]:
        """take_read_states: returns the read states and leaves none behind."""
        rs, self._read_states = self._read_states, []
        return rs

    def take_entries(self) -> list[Entry]:
        """take_entries: returns the entries to persist and leaves none behind."""
        ents, self._entries = self._entries, []
        return ents

    def take_committed_entries(self) -> list[Entry]:
        """take_committed_entries: returns the committed entries and leaves none behind."""
        return self._light.take_committed_entries()

    def take_messages(self) -> list[Message]:
        """take_messages: returns `messages` and leaves none behind (empty for persisted messages)."""
        if self._is_persisted_msg:
            return []
        return self._light.take_messages()

    def take_persisted_messages(self) -> list[Message]:
        """take_persisted_messages: returns `persisted_messages` and leaves none behind."""
        if not self._is_persisted_msg:
            return []
        return self._light.take_messages()

    def __repr__(self) -> str:
        return f"<{describe_ready(self)}>"


class _ReadyRecord:
    """_ReadyRecord: what `on_persist_ready` needs of one Ready: its number and the (index, term) of its
    last entry and of its snapshot (None when it had none)."""

    __slots__ = ("number", "last_entry", "snapshot")

    def __init__(self, number: int) -> None:
        self.number = number
        self.last_entry: tuple[int, int] | None = None
        self.snapshot: tuple[int, int] | None = None


class RawNode:
    """RawNode: a single-threaded handle on one Raft peer; methods mirror raft-rs's RawNode.

    Invariants: `_prev_ss` / `_prev_hs` are the soft / hard state as of the last Ready handed out (and
    advanced); `_records` holds one record per Ready not yet known persisted, in number order;
    `_commit_since_index` is the index of the last committed entry already handed to the application.
    """

    def __init__(
        self,
        config: Config,
        storage: Storage,
        *,
        rng: random.Random | None = None,
        seed: int | None = None,
    ) -> None:
        """RawNode(config, storage): builds the Raft (which validates config: ConfigInvalidError).
        `rng` is the Raft's source of randomized election timeouts; `seed` builds one
        (random.Random(seed)) for reproducible runs; with neither, the Raft seeds its own."""
        if config.id == 0:
            raise InvariantError("config.id must not be zero")
        if rng is None and seed is not None:
            rng = random.Random(seed)
        self.raft: Raft = Raft(config, storage, rng=rng)
        self._prev_ss: SoftState = self.raft.soft_state()
        self._prev_hs: HardState = self.raft.hard_state()
        # _max_number: the number of the last Ready handed out.
        self._max_number = 0
        self._records: deque[_ReadyRecord] = deque()
        self._commit_since_index: int = config.applied

    # -- driving the node --------------------------------------------------------------------------

    def set_priority(self, priority: int) -> None:
        """set_priority: sets the election priority of this node."""
        self.raft.set_priority(priority)

    def tick(self) -> bool:
        """tick: advances the logical clock by one tick; True when a Ready is probably pending."""
        return bool(self.raft.tick())

    def campaign(self) -> None:
        """campaign: makes this node start an election (steps a local MsgHup)."""
        m = Message()
        m.msg_type = _MSG_HUP
        self.raft.step(m)

    def _step_own_proposal(self, m: Message, size_bound: int = NO_LIMIT) -> None:
        """_step_own_proposal steps m, a MsgPropose built by this RawNode and never read again, handing it
        over to raft for good: a leader may send it on as a MsgAppend (Raft._own_proposal). size_bound is
        at least the encoded size of its entries together (NO_LIMIT: unknown)."""
        self.raft._step_own_proposal(m, size_bound)

    def propose(self, context: bytes, data: bytes) -> None:
        """propose: proposes one normal entry; raises ProposalDroppedError when it is dropped."""
        m = Message()
        m.msg_type = _MSG_PROPOSE
        m.from_ = self.raft.id
        m.entries.add(data=data, context=context)
        self._step_own_proposal(m, len(data) + len(context) + _ENTRY_OVERHEAD_BOUND)

    def propose_batch(self, datas: Iterable[bytes], context: bytes = b"") -> None:
        """propose_batch: proposes one normal entry per item of datas in a single MsgPropose (all of them
        with the given context). Either all are appended or the whole batch is dropped with
        ProposalDroppedError. An empty batch does nothing."""
        if not isinstance(datas, (list, tuple)):
            datas = list(datas)
        if not datas:
            return
        m = Message()
        m.msg_type = _MSG_PROPOSE
        m.from_ = self.raft.id
        add = m.entries.add
        if context:
            for data in datas:
                add(data=data, context=context)
        else:
            for data in datas:
                add(data=data)
        self._step_own_proposal(m, sum(map(len, datas)) + len(datas) * (len(context) + _ENTRY_OVERHEAD_BOUND))

    def propose_entries(self, entries: Sequence[Entry]) -> None:
        """propose_entries: proposes copies of the given entries (any type) in a single MsgPropose."""
        if not entries:
            return
        m = Message()
        m.msg_type = _MSG_PROPOSE
        m.from_ = self.raft.id
        m.entries.extend(entries)
        self._step_own_proposal(m)

    def ping(self) -> None:
        """ping: a leader broadcasts heartbeats to its followers; others do nothing."""
        self.raft.ping()

    def propose_conf_change(self, context: bytes, cc: ConfChange | ConfChangeV2) -> None:
        """propose_conf_change: proposes a configuration change (EntryConfChange for a ConfChange,
        EntryConfChangeV2 for a ConfChangeV2). When a joint state is entered without auto-leave, the
        application must later propose an empty ConfChangeV2 to leave it."""
        if isinstance(cc, ConfChange):
            entry_type = _ENTRY_CONF_CHANGE
        elif isinstance(cc, ConfChangeV2):
            entry_type = _ENTRY_CONF_CHANGE_V2
        else:
            raise TypeError(f"propose_conf_change needs a ConfChange or ConfChangeV2, not {type(cc)!r}")
        m = Message()
        m.msg_type = _MSG_PROPOSE
        m.entries.add(entry_type=entry_type, data=cc.SerializeToString(), context=context)
        self._step_own_proposal(m)

    def apply_conf_change(self, cc: ConfChange | ConfChangeV2) -> ConfState:
        """apply_conf_change: applies a committed configuration change to this node and returns the new
        ConfState; must be called for every conf change entry the application applies."""
        return self.raft.apply_conf_change(conf_change_as_v2(cc))

    def step(self, m: Message) -> None:
        """step: feeds a message from the network. Local message types raise StepLocalMsgError; a
        response from a peer the tracker does not know raises StepPeerNotFoundError.

        Ownership: like raft-rs's step(m: Message), this takes m over: the entries of a MsgAppend
        are kept in the log as they are (not copied), so the caller must not mutate or reuse m
        afterwards (step a copy to keep one)."""
        t = m.msg_type
        if t in _LOCAL_MSGS:
            raise StepLocalMsgError()
        if t in _RESPONSE_MSGS and self.raft.prs.get(m.from_) is None:
            raise StepPeerNotFoundError()
        self.raft.step(m)

    def on_entries_fetched(self, ctx: GetEntriesContext) -> None:
        """on_entries_fetched: the callback after a Storage fetched entries asynchronously; ctx is the
        context Storage.entries was given. Resends the append if the term, leadership and peer still hold.
        Raises InvariantError for a context that cannot be asynchronous."""
        context = ctx
        what = context.what
        if what is GetEntriesFor.SEND_APPEND:
            raft = self.raft
            if raft.term != context.term or raft.state != StateRole.LEADER:
                # on_entries_fetched: the term or the leadership changed meanwhile.
                return
            if raft.prs.get(context.to) is None:
                # on_entries_fetched: the peer was removed meanwhile.
                return
            if context.aggressively:
                raft.send_append_aggressively(context.to)
            else:
                raft.send_append(context.to)
            return
        if what is GetEntriesFor.EMPTY and context.can_async():
            return
        raise InvariantError(f"shouldn't call callback on non-async context {context!r}")

    # -- Ready -------------------------------------------------------------------------------------

    def _gen_light_ready(self) -> LightReady:
        """_gen_light_ready: a LightReady with the committed entries not yet handed out (bounded by
        max_committed_size_per_ready) and the pending messages; its commit index is left None."""
        rd = LightReady()
        raft = self.raft
        ents = raft.raft_log.next_entries_since(
            self._commit_since_index, raft.max_committed_size_per_ready
        )
        if ents:
            raft.reduce_uncommitted_size(ents)
            last = ents[-1].index
            if self._commit_since_index >= last:
                raise InvariantError(
                    f"committed entries end at {last}, not after {self._commit_since_index}"
                )
            self._commit_since_index = last
            rd._committed_entries = ents
        if raft.msgs:
            rd._messages = raft.msgs
            raft.msgs = []
        return rd

    def ready(self) -> Ready:
        """ready: the outstanding work; the returned Ready must be handled and passed back to `advance`
        (or its family) before calling step / propose / campaign again. Check `has_ready` first."""
        raft = self.raft
        self._max_number += 1
        number = self._max_number
        rd = Ready(number)
        record = _ReadyRecord(number)

        state = raft.state
        prev_ss = self._prev_ss
        if prev_ss.raft_state != StateRole.LEADER and state == StateRole.LEADER:
            # Records kept while campaigning are dropped: the vote that made us leader is persisted and
            # their vote requests are moot. raft-rs asserts that none carries entries or a snapshot, but a
            # sole voter that stepped down with unpersisted entries wins at once: such records stay, so
            # that on_persist_ready still reports those entries durable (and the leader's ack counts them).
            self._records = deque(r for r in self._records if r.last_entry is not None or r.snapshot is not None)

        if raft.leader_id != prev_ss.leader_id or state != prev_ss.raft_state:
            rd._ss = raft.soft_state()
        prev_hs = self._prev_hs
        term, vote, commit = raft.term, raft.vote, raft.raft_log.committed
        if term != prev_hs.term or vote != prev_hs.vote or commit != prev_hs.commit:
            if term != prev_hs.term or vote != prev_hs.vote:
                rd._must_sync = True
            rd._hs = HardState(term=term, vote=vote, commit=commit)

        if raft.read_states:
            rd._read_states = raft.read_states
            raft.read_states = []

        raft_log = raft.raft_log
        snap = raft_log.unstable.snapshot
        if snap is not None:
            snapshot = Snapshot()
            snapshot.CopyFrom(snap)
            rd._snapshot = snapshot
            md = snapshot.metadata
            if self._commit_since_index > md.index:
                raise InvariantError(
                    f"snapshot index {md.index} below handed-out commit {self._commit_since_index}"
                )
            self._commit_since_index = md.index
            if raft_log.has_next_entries_since(self._commit_since_index):
                raise InvariantError(
                    f"has snapshot but also has committed entries since {self._commit_since_index}"
                )
            record.snapshot = (md.index, md.term)
            rd._must_sync = True

        ents = raft_log.unstable_entries()
        if ents:
            rd._entries = list(ents)
            last = ents[-1]
            rd._must_sync = True
            record.last_entry = (last.index, last.term)

        # A leader's messages may go out before persisting, so that replication runs concurrently with
        # the leader's own write (raft thesis 10.2.1).
        rd._is_persisted_msg = state != StateRole.LEADER
        rd._light = self._gen_light_ready()
        self._records.append(record)
        return rd

    def has_ready(self) -> bool:
        """has_ready: whether `ready` would have any work: messages, a state change, read states, entries
        to persist, a snapshot, or committed entries not yet handed out."""
        raft = self.raft
        if raft.msgs:
            return True
        prev_ss = self._prev_ss
        if raft.leader_id != prev_ss.leader_id or raft.state != prev_ss.raft_state:
            return True
        prev_hs = self._prev_hs
        raft_log = raft.raft_log
        if raft.term != prev_hs.term or raft.vote != prev_hs.vote or raft_log.committed != prev_hs.commit:
            return True
        if raft.read_states:
            return True
        if raft_log.unstable_entries():
            return True
        snap = raft_log.unstable.snapshot
        if snap is not None and not _snapshot_is_empty(snap):
            return True
        return bool(raft_log.has_next_entries_since(self._commit_since_index))

    def _commit_ready(self, rd: Ready) -> None:
        """_commit_ready: records rd as handled: its soft / hard state become the previous ones and its
        entries and snapshot leave the unstable log (they can be read from Storage now)."""
        if rd._ss is not None:
            self._prev_ss = rd._ss
        if rd._hs is not None:
            self._prev_hs = rd._hs
        if not self._records:
            raise InvariantError(f"no record for ready {rd.number}")
        record = self._records[-1]
        if record.number != rd.number:
            raise InvariantError(
                f"ready {rd.number} advanced out of order, the last one handed out is {record.number}"
            )
        raft_log = self.raft.raft_log
        if record.snapshot is not None:
            raft_log.stable_snap(record.snapshot[0])
        if record.last_entry is not None:
            raft_log.stable_entries(record.last_entry[0], record.last_entry[1])

    def on_persist_ready(self, number: int) -> None:
        """on_persist_ready: the Ready of this number (and all before it) is durable; raft may then
        commit with its own vote and hand out the entries. Call has_ready / ready afterwards."""
        index = term = snap_index = 0
        records = self._records
        while records and records[0].number <= number:
            record = records.popleft()
            if record.snapshot is not None:
                snap_index = record.snapshot[0]
                index = term = 0
            if record.last_entry is not None:
                index, term = record.last_entry
        if snap_index != 0:
            self.raft.on_persist_snap(snap_index)
        if index != 0:
            self.raft.on_persist_entries(index, term)

    def advance(self, rd: Ready) -> LightReady:
        """advance: rd was fully handled (persisted, applied, sent); returns the LightReady of what became
        valid since, and marks everything handed out so far as applied."""
        applied = self._commit_since_index
        light = self.advance_append(rd)
        self.advance_apply_to(applied)
        return light

    def advance_append(self, rd: Ready) -> LightReady:
        """advance_append: rd (and all Readies before it) was persisted; returns the LightReady (commit
        index when changed, committed entries, messages). Applying is reported with advance_apply*."""
        self._commit_ready(rd)
        self.on_persist_ready(self._max_number)
        light = self._gen_light_ready()
        raft = self.raft
        if raft.state != StateRole.LEADER and light._messages:
            raise InvariantError("not leader but has new msg after advance")
        commit = raft.raft_log.committed
        prev_hs = self._prev_hs
        if commit > prev_hs.commit:
            light._commit_index = commit
            hs = HardState()
            hs.CopyFrom(prev_hs)
            hs.commit = commit
            self._prev_hs = hs
        elif commit != prev_hs.commit:
            raise InvariantError(f"commit index went back from {prev_hs.commit} to {commit}")
        if raft.term != self._prev_hs.term or raft.vote != self._prev_hs.vote:
            raise InvariantError("hard state changed while advancing a ready")
        return light

    def advance_append_async(self, rd: Ready) -> None:
        """advance_append_async: rd's writes are staged where Storage can read them but not yet durable;
        report durability later with on_persist_ready(rd.number)."""
        self._commit_ready(rd)

    def advance_apply(self) -> None:
        """advance_apply: everything handed out as committed so far was applied."""
        self.raft.commit_apply(self._commit_since_index)

    def advance_apply_to(self, applied: int) -> None:
        """advance_apply_to: entries up to applied were applied."""
        self.raft.commit_apply(applied)

    # -- queries and reports -----------------------------------------------------------------------

    def snap(self) -> Snapshot | None:
        """snap: the pending unstable snapshot, None when there is none."""
        snap: Snapshot | None = self.raft.raft_log.unstable.snapshot
        return snap

    def status(self) -> Status:
        """status: a Status of this node (with the progress tracker when it leads)."""
        return Status.new(self.raft)

    def report_unreachable(self, id: int) -> None:
        """report_unreachable: the last send to peer id failed."""
        m = Message()
        m.msg_type = MessageType.MsgUnreachable
        m.from_ = id
        _step_ignoring_errors(self.raft, m)

    def report_snapshot(self, id: int, status: SnapshotStatus) -> None:
        """report_snapshot: reports the outcome of sending a snapshot to peer id."""
        m = Message()
        m.msg_type = MessageType.MsgSnapStatus
        m.from_ = id
        m.reject = status == SnapshotStatus.FAILURE
        _step_ignoring_errors(self.raft, m)

    def request_snapshot(self) -> None:
        """request_snapshot: a follower asks its leader for a snapshot at least as new as its last index;
        raises RequestSnapshotDroppedError when refused (leader, no leader, one already pending, or a
        last entry not of the current term)."""
        self.raft.request_snapshot()

    def transfer_leader(self, transferee: int) -> None:
        """transfer_leader: tries to hand leadership to transferee."""
        m = Message()
        m.msg_type = MessageType.MsgTransferLeader
        m.from_ = transferee
        _step_ignoring_errors(self.raft, m)

    def read_index(self, ctx: bytes) -> None:
        """read_index: requests a read index; a ReadState carrying ctx comes out in a later Ready."""
        m = Message()
        m.msg_type = MessageType.MsgReadIndex
        m.entries.add(data=ctx)
        _step_ignoring_errors(self.raft, m)

    def store(self) -> Storage:
        """store: the Storage of this node."""
        store: Storage = self.raft.raft_log.store
        return store

    def skip_bcast_commit(self, skip: bool) -> None:
        """skip_bcast_commit: sets at run time whether empty commit-only appends are skipped."""
        self.raft.skip_bcast_commit(skip)

    def set_batch_append(self, batch_append: bool) -> None:
        """set_batch_append: sets at run time whether appends to one peer are merged."""
        self.raft.set_batch_append(batch_append)


def _step_ignoring_errors(raft: Raft, m: Message) -> None:
    """_step_ignoring_errors: steps m and drops a RaftError, as raft-rs ignores these steps' results."""
    try:
        raft.step(m)
    except RaftError:
        pass


def _snapshot_is_empty(snap: Snapshot) -> bool:
    """_snapshot_is_empty: raft-rs's Snapshot::is_empty (metadata index 0)."""
    return bool(snap.metadata.index == 0)

"""raftstore.raft.raft: the Raft state machine of one node, with the semantics of raft-rs's raft.rs.

The machine is sans-IO: it is driven by `step(m)` (messages from peers and local messages such as
MsgHup, MsgBeat, MsgPropose) and `tick()` (logical time); whatever it wants to send is appended to
`msgs`, which the caller drains (RawNode moves it into a Ready); read-only answers are appended to
`read_states`. Randomized election timeouts are drawn from the Raft's own `random.Random`.

Ownership: as raft-rs moves the message into `step`, `step(m)` takes `m` over: it may keep its entries
(in the log) and mutate it (a proposal's entries get their term and index; a forwarded message gets
its `to`). A caller that still needs `m` steps a copy.

Names collide in Python where raft-rs has a private field and a public method of the same name; the
method keeps the raft-rs name and the field gets a leading underscore: `election_timeout()`,
`heartbeat_timeout()`, `heartbeat_elapsed()`, `promotable()`, `skip_bcast_commit(skip)` (a setter, as
in raft-rs), `uncommitted_size()`. `randomized_election_timeout` is an int attribute (set it with
`set_randomized_election_timeout(t)`, which checks the range); its value may also be called, so that
raft-rs style `randomized_election_timeout()` reads the same number. raft-rs's `prs()` / `mut_prs()` are the
attribute `prs` (and `mut_prs()` returns it too); `r` returns the Raft itself, standing for raft-rs's
`RaftCore`, so `raft.r.max_inflight` reads as in raft-rs.
"""

from __future__ import annotations

import enum
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import islice
from operator import attrgetter, is_

from google.protobuf.message import DecodeError

from ..proto.eraftpb_pb2 import (
    ConfChange,
    ConfChangeV2,
    ConfState,
    Entry,
    EntryType,
    HardState,
    Message,
    MessageType,
    Snapshot,
)
from .config import Config
from .errors import (
    InvariantError,
    LogTemporarilyUnavailableError,
    ProposalDroppedError,
    RaftError,
    RequestSnapshotDroppedError,
    SnapshotTemporarilyUnavailableError,
)
from .confchange import Changer, conf_state_eq, enter_joint, into_v2, joint, leave_joint
from .confchange import restore as restore_conf
from .quorum import VoteResult
from .raft_log import RaftLog
from .read_only import ReadOnly, ReadOnlyOption, ReadState
from .storage import GetEntriesContext, Storage
from .tracker import Progress, ProgressState, ProgressTracker
from .util import INVALID_ID, INVALID_INDEX, NO_LIMIT

__all__ = [
    "CAMPAIGN_PRE_ELECTION",
    "CAMPAIGN_ELECTION",
    "CAMPAIGN_TRANSFER",
    "StateRole",
    "SoftState",
    "UncommittedState",
    "Raft",
    "vote_resp_msg_type",
]

logger = logging.getLogger("raftstore.raft")

# CAMPAIGN_PRE_ELECTION is the first phase of an election when pre_vote is on.
CAMPAIGN_PRE_ELECTION = b"CampaignPreElection"
# CAMPAIGN_ELECTION is a normal (time-based) election, the second phase when pre_vote is on.
CAMPAIGN_ELECTION = b"CampaignElection"
# CAMPAIGN_TRANSFER is an election forced by a leader transfer; its vote requests carry this context.
CAMPAIGN_TRANSFER = b"CampaignTransfer"

_I64_MAX = 2**63 - 1

# Message types as plain ints: comparisons on the hot paths stay cheap.
_MsgHup = MessageType.MsgHup
_MsgBeat = MessageType.MsgBeat
_MsgPropose = MessageType.MsgPropose
_MsgAppend = MessageType.MsgAppend
_MsgAppendResponse = MessageType.MsgAppendResponse
_MsgRequestVote = MessageType.MsgRequestVote
_MsgRequestVoteResponse = MessageType.MsgRequestVoteResponse
_MsgSnapshot = MessageType.MsgSnapshot
_MsgHeartbeat = MessageType.MsgHeartbeat
_MsgHeartbeatResponse = MessageType.MsgHeartbeatResponse
_MsgUnreachable = MessageType.MsgUnreachable
_MsgSnapStatus = MessageType.MsgSnapStatus
_MsgCheckQuorum = MessageType.MsgCheckQuorum
_MsgTransferLeader = MessageType.MsgTransferLeader
_MsgTimeoutNow = MessageType.MsgTimeoutNow
_MsgReadIndex = MessageType.MsgReadIndex
_MsgReadIndexResp = MessageType.MsgReadIndexResp
_MsgRequestPreVote = MessageType.MsgRequestPreVote
_MsgRequestPreVoteResponse = MessageType.MsgRequestPreVoteResponse

_VOTE_MSGS = frozenset(
    (_MsgRequestVote, _MsgRequestPreVote, _MsgRequestVoteResponse, _MsgRequestPreVoteResponse)
)

_PS_PROBE = ProgressState.PROBE
_PS_REPLICATE = ProgressState.REPLICATE
_PS_SNAPSHOT = ProgressState.SNAPSHOT

_EntryNormal = EntryType.EntryNormal
# _entry_type_of reads an entry's type (_step_leader_propose relies on EntryNormal being 0).
_entry_type_of = attrgetter("entry_type")
assert _EntryNormal == 0
_EntryConfChange = EntryType.EntryConfChange
_EntryConfChangeV2 = EntryType.EntryConfChangeV2


def _type_name(t: int) -> str:
    return MessageType.Name(t)  # type: ignore[arg-type]


class StateRole(enum.Enum):
    """StateRole is the role of a node: FOLLOWER (the initial role), CANDIDATE, LEADER, PRE_CANDIDATE
    (pre-vote phase, only with pre_vote)."""

    FOLLOWER = 0
    CANDIDATE = 1
    LEADER = 2
    PRE_CANDIDATE = 3


_FOLLOWER = StateRole.FOLLOWER
_CANDIDATE = StateRole.CANDIDATE
_LEADER = StateRole.LEADER
_PRE_CANDIDATE = StateRole.PRE_CANDIDATE


@dataclass(frozen=True, slots=True)
class SoftState:
    """SoftState: volatile state useful for logging and for telling a Ready's caller about role
    changes; never persisted."""

    leader_id: int = INVALID_ID
    raft_state: StateRole = StateRole.FOLLOWER


class UncommittedState:
    """UncommittedState tracks the data size of a leader's uncommitted entries (sum of len(data)).

    `last_log_tail_index` is the last index when the node became leader: entries up to it were not
    counted, so they are not subtracted either when they get committed.
    """

    __slots__ = ("max_uncommitted_size", "uncommitted_size", "last_log_tail_index")

    def __init__(self, max_uncommitted_size: int) -> None:
        self.max_uncommitted_size = max_uncommitted_size
        self.uncommitted_size = 0
        self.last_log_tail_index = 0

    def is_no_limit(self) -> bool:
        return self.max_uncommitted_size == NO_LIMIT

    def maybe_increase_uncommitted_size(self, ents: Sequence[Entry]) -> bool:
        """maybe_increase_uncommitted_size counts ents and returns True, unless they would overflow the
        limit: entries without data, and the first uncommitted entries, are always accepted."""
        if self.max_uncommitted_size == NO_LIMIT:
            return True
        size = 0
        for e in ents:
            size += len(e.data)
        if size == 0 or self.uncommitted_size == 0 or size + self.uncommitted_size <= self.max_uncommitted_size:
            self.uncommitted_size += size
            return True
        return False

    def maybe_reduce_uncommitted_size(self, ents: Sequence[Entry]) -> bool:
        """maybe_reduce_uncommitted_size subtracts the committed ents after last_log_tail_index;
        returns False (and clamps to 0) when that would go below zero."""
        if self.max_uncommitted_size == NO_LIMIT or not ents:
            return True
        tail = self.last_log_tail_index
        size = 0
        skipping = True
        for e in ents:
            if skipping and e.index <= tail:
                continue
            skipping = False
            size += len(e.data)
        if size > self.uncommitted_size:
            self.uncommitted_size = 0
            return False
        self.uncommitted_size -= size
        return True


def vote_resp_msg_type(t: int) -> int:
    """vote_resp_msg_type maps a (pre-)vote request type to its response type."""
    if t == _MsgRequestVote:
        return _MsgRequestVoteResponse
    if t == _MsgRequestPreVote:
        return _MsgRequestPreVoteResponse
    raise InvariantError(f"Not a vote message: {_type_name(t)}")


def _new_message(to: int, msg_type: int, from_: int | None = None) -> Message:
    m = Message(msg_type=msg_type, to=to)  # type: ignore[arg-type]
    if from_ is not None:
        m.from_ = from_
    return m


def _get_priority(m: Message) -> int:
    if m.priority != 0:
        return m.priority
    return min(m.deprecated_priority, _I64_MAX)


def _is_continuous_ents(msg: Message, ents: Sequence[Entry]) -> bool:
    """_is_continuous_ents: ents may be appended to msg's entries without a gap or an overlap.

    Unlike raft-rs's is_continuous_ents, a queued MsgAppend without entries is continuous only when ents
    start right after its (index, log_term): raft-rs treats every empty message as continuous, so with
    batch_append a stale empty append (e.g. queued before a rejection moved next_idx back) would carry
    entries that do not follow its index, and the follower's ack of index + len(entries) could make the
    leader count a match it does not have and commit without a quorum.
    """
    if not ents:
        return True
    if len(msg.entries) > 0:
        return msg.entries[-1].index + 1 == ents[0].index
    return msg.index + 1 == ents[0].index


class _Ticks(int):
    """_Ticks is an int that can also be called, returning itself: `randomized_election_timeout` is an
    attribute here, while raft-rs code reads it with a call (`randomized_election_timeout()`)."""

    __slots__ = ()

    def __call__(self) -> int:
        return int(self)


def _same_objects(a: Sequence[Entry], b: Sequence[Entry]) -> bool:
    """_same_objects: a and b hold the same objects in the same order (C-level, stops at the first other)."""
    return len(a) == len(b) and all(map(is_, a, b))


class Raft:
    """Raft is one node's consensus state machine (raft-rs `Raft` and its `RaftCore` in one class).

    Invariants: `state` is LEADER iff `leader_id == id` right after become_leader (leader_id is reset
    on every role change); `vote` is only changed with `term` (reset) or by granting a real vote;
    `pending_conf_index` >= the index of any conf change entry not yet applied, while leader;
    `randomized_election_timeout` is in [min_election_timeout, max_election_timeout).
    """

    def __init__(self, config: Config, storage: Storage, *, rng: random.Random | None = None) -> None:
        """__init__ validates config (ConfigInvalidError), loads the storage's initial state (storage
        errors propagate) and starts as a follower with no leader. `rng` is this Raft's source of
        randomized election timeouts; by default a fresh `random.Random()` seeded from the system."""
        c = config
        c.validate()
        self._rng: random.Random = rng if rng is not None else random.Random()
        raft_state = storage.initial_state()
        conf_state = raft_state.conf_state

        self.id: int = c.id
        self.term: int = 0
        self.vote: int = INVALID_ID
        self.read_states: list[ReadState] = []
        self.raft_log: RaftLog = RaftLog(storage)
        self.max_inflight: int = c.max_inflight_msgs
        self.max_msg_size: int = c.max_size_per_msg
        self.pending_request_snapshot: int = INVALID_INDEX
        self.state: StateRole = _FOLLOWER
        self._promotable: bool = False
        self.leader_id: int = INVALID_ID
        self.lead_transferee: int | None = None
        self.pending_conf_index: int = 0
        self.read_only: ReadOnly = ReadOnly(c.read_only_option)
        self.election_elapsed: int = 0
        self._heartbeat_elapsed: int = 0
        self.check_quorum: bool = c.check_quorum
        self.pre_vote: bool = c.pre_vote
        self._skip_bcast_commit: bool = c.skip_bcast_commit
        self.batch_append: bool = c.batch_append
        self.disable_proposal_forwarding: bool = c.disable_proposal_forwarding
        self._heartbeat_timeout: int = c.heartbeat_tick
        self._election_timeout: int = c.election_tick
        # randomized_election_timeout: an int (see _Ticks) in [min_election_timeout, max_election_timeout).
        self.randomized_election_timeout: int = _Ticks(0)
        self.min_election_timeout: int = c.effective_min_election_tick()
        self.max_election_timeout: int = c.effective_max_election_tick()
        self.priority: int = c.priority
        self.uncommitted_state: UncommittedState = UncommittedState(c.max_uncommitted_size)
        self.max_committed_size_per_ready: int = c.max_committed_size_per_ready
        self.prs: ProgressTracker = ProgressTracker(c.max_inflight_msgs)
        # msgs: the messages to send, in order; the caller drains it (RawNode moves it into a Ready).
        self.msgs: list[Message] = []
        # _bcast_entries: while bcast_append runs, the entries of the last MsgAppend built and that
        # MsgAppend (None before the first): a follower that needs the same entries (the same objects)
        # gets its message with one C-level CopyFrom of that one instead of a copy of each entry from
        # Python. None outside bcast_append (the log may change in between).
        self._bcast_entries: tuple[list[Entry], Message | None] | None = None
        # _bcast_source: the MsgPropose being broadcast, if any: a MsgAppend carrying a run of its entries
        # is one CopyFrom of the whole proposal, stripped to that run.
        self._bcast_source: Message | None = None
        # _own_proposal: the MsgPropose being stepped, when its creator hands it over for good (RawNode's
        # propose methods build one per call and never read it again). Its entries are the leader's log
        # entries (the same objects); the first MsgAppend carrying a run of them is that message itself,
        # cut to the run, so that follower shares the leader's entry objects instead of a copy of each.
        self._own_proposal: Message | None = None
        # _own_size_bound: at least the encoded size of _own_proposal's entries together (NO_LIMIT: unknown).
        self._own_size_bound = NO_LIMIT
        # _bcast_owned: bcast_append may send _bcast_source itself (it is _own_proposal).
        self._bcast_owned = False
        # _bcast_unlimited_from: during bcast_append, the entries from this index to the last one fit in
        # max_msg_size together (they are a run of _own_proposal, whose size bound fits): a MsgAppend
        # of them is not limited entry by entry. NO_LIMIT otherwise.
        self._bcast_unlimited_from = NO_LIMIT

        restore_conf(self.prs, self.raft_log.last_index(), conf_state)
        new_cs = self.post_conf_change()
        if not conf_state_eq(new_cs, conf_state):
            raise InvariantError(f"invalid restore: {conf_state} != {new_cs}")

        if raft_state.hard_state != HardState():
            self.load_state(raft_state.hard_state)
        if c.applied > 0:
            # At start the applied index may exceed the committed index: skip the check.
            self._commit_apply_internal(c.applied, True)
        self.become_follower(self.term, INVALID_ID)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "[%d] newRaft term=%d commit=%d applied=%d last_index=%d last_term=%d peers=%s",
                self.id,
                self.term,
                self.raft_log.committed,
                self.raft_log.applied,
                self.raft_log.last_index(),
                self.raft_log.last_term(),
                sorted(self.prs.conf().voters.ids()),
            )

    # ------------------------------------------------------------------ accessors and settings

    @property
    def r(self) -> Raft:
        """r is the Raft itself: raft-rs splits fields into `raft.r` (RaftCore); here they are one."""
        return self

    def mut_prs(self) -> ProgressTracker:
        """mut_prs returns the ProgressTracker `prs` (raft-rs `mut_prs()`)."""
        return self.prs

    def store(self) -> Storage:
        """store is the Storage under the log."""
        return self.raft_log.store

    def mut_store(self) -> Storage:
        return self.raft_log.store

    def snap(self) -> Snapshot | None:
        """snap is the snapshot pending in the unstable log, or None."""
        snapshot: Snapshot | None = self.raft_log.unstable.snapshot
        return snapshot

    def read_messages(self) -> list[Message]:
        """read_messages drains and returns `msgs`."""
        msgs = self.msgs
        self.msgs = []
        return msgs

    def set_priority(self, priority: int) -> None:
        self.priority = priority

    def pending_read_count(self) -> int:
        """pending_read_count is the number of read-only requests waiting for a quorum."""
        return self.read_only.pending_read_count()

    def ready_read_count(self) -> int:
        """ready_read_count is the number of read states not yet drained."""
        return len(self.read_states)

    def soft_state(self) -> SoftState:
        return SoftState(self.leader_id, self.state)

    def hard_state(self) -> HardState:
        """hard_state is a new HardState(term, vote, commit) of the current values."""
        return HardState(term=self.term, vote=self.vote, commit=self.raft_log.committed)

    def in_lease(self) -> bool:
        """in_lease: a leader with check_quorum holds a lease."""
        return self.state == _LEADER and self.check_quorum

    def set_randomized_election_timeout(self, t: int) -> None:
        """set_randomized_election_timeout sets the current randomized timeout (for tests); t must lie
        in [min_election_timeout, max_election_timeout)."""
        if not (self.min_election_timeout <= t < self.max_election_timeout):
            raise InvariantError(
                f"randomized election timeout {t} not in "
                f"[{self.min_election_timeout}, {self.max_election_timeout})"
            )
        self.randomized_election_timeout = _Ticks(t)

    def election_timeout(self) -> int:
        return self._election_timeout

    def heartbeat_timeout(self) -> int:
        return self._heartbeat_timeout

    def heartbeat_elapsed(self) -> int:
        return self._heartbeat_elapsed

    def skip_bcast_commit(self, skip: bool) -> None:
        """skip_bcast_commit sets, at runtime, whether an empty append is not broadcast just to
        advance the followers' commit index (raft-rs names the setter so)."""
        self._skip_bcast_commit = skip

    def set_batch_append(self, batch_append: bool) -> None:
        self.batch_append = batch_append

    def set_max_committed_size_per_ready(self, size: int) -> None:
        self.max_committed_size_per_ready = size

    def set_check_quorum(self, check_quorum: bool) -> None:
        self.check_quorum = check_quorum

    def set_max_apply_unpersisted_log_limit(self, limit: int) -> None:
        """set_max_apply_unpersisted_log_limit: how far the applied index may run ahead of the
        persisted one (only where the RaftLog supports it)."""
        self.raft_log.max_apply_unpersisted_log_limit = limit

    def promotable(self) -> bool:
        """promotable: this node is a voter of the current configuration, so it may campaign."""
        return self._promotable

    def enable_group_commit(self, enable: bool) -> None:
        """enable_group_commit: when on, an index commits only once replicated to at least two
        commit groups (see assign_commit_groups)."""
        self.prs.enable_group_commit(enable)
        if self.state == _LEADER and not enable and self.maybe_commit():
            self.bcast_append()

    def group_commit(self) -> bool:
        return bool(self.prs.group_commit())

    def assign_commit_groups(self, ids: Iterable[tuple[int, int]]) -> None:
        """assign_commit_groups sets (peer_id, group_id) pairs, group_id > 0; unknown peers are
        skipped. Kept in memory only."""
        for peer_id, group_id in ids:
            if group_id <= 0:
                raise InvariantError(f"group id must be positive, got {group_id}")
            pr = self.prs.get(peer_id)
            if pr is not None:
                pr.commit_group_id = group_id
        if self.state == _LEADER and self.group_commit() and self.maybe_commit():
            self.bcast_append()

    def clear_commit_group(self) -> None:
        for _, pr in self.prs.iter():
            pr.commit_group_id = 0

    def check_group_commit_consistent(self) -> bool | None:
        """check_group_commit_consistent: whether group commit is in use and the committed index is
        what group commit gives; None when not leader or nothing of this term is applied yet."""
        if self.state != _LEADER:
            return None
        if not self.apply_to_current_term():
            return None
        index, use_group_commit = self.prs.maximal_committed_index()
        return bool(use_group_commit and index == self.raft_log.committed)

    def commit_to_current_term(self) -> bool:
        """commit_to_current_term: the entry at the committed index is of the current term."""
        return self._term_or_none(self.raft_log.committed) == self.term

    def apply_to_current_term(self) -> bool:
        """apply_to_current_term: the entry at the applied index is of the current term."""
        return self._term_or_none(self.raft_log.applied) == self.term

    def _term_or_none(self, idx: int) -> int | None:
        try:
            term: int = self.raft_log.term(idx)
            return term
        except RaftError:
            return None

    def inflight_buffers_size(self) -> int:
        total = 0
        for _, pr in self.prs.iter():
            total += pr.ins.buffer_capacity() * 8
        return total

    def maybe_free_inflight_buffers(self) -> None:
        for _, pr in self.prs.iter():
            pr.ins.maybe_free_buffer()

    def adjust_max_inflight_msgs(self, target: int, cap: int) -> None:
        """adjust_max_inflight_msgs sets the inflight capacity of one peer (0 disables it)."""
        pr = self.prs.get(target)
        if pr is not None:
            pr.ins.set_cap(cap)

    # ------------------------------------------------------------------ sending

    def _send(self, m: Message) -> None:
        """_send stamps m (sender, term, priority of vote requests) and queues it in msgs.

        Invariant: (pre-)vote messages and their responses carry an explicit non-zero term; every
        other message is sent with term 0 and gets the current term, except MsgPropose and
        MsgReadIndex, which are forwarded as local messages without a term.
        """
        if m.from_ == INVALID_ID:
            m.from_ = self.id
        t = m.msg_type
        if t in _VOTE_MSGS:
            if m.term == 0:
                raise InvariantError(f"term should be set when sending {_type_name(t)}")
            if t == _MsgRequestVote or t == _MsgRequestPreVote:
                if self.priority > 0:
                    m.deprecated_priority = self.priority
                m.priority = self.priority
        else:
            if m.term != 0:
                raise InvariantError(f"term should not be set when sending {_type_name(t)} (was {m.term})")
            if t != _MsgPropose and t != _MsgReadIndex:
                m.term = self.term
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("[%d] sending %s to %d", self.id, _type_name(t), m.to)
        self.msgs.append(m)

    def _prepare_send_snapshot(self, m: Message, pr: Progress, to: int) -> bool:
        if not pr.recent_active:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("[%d] ignore sending snapshot to %d since it is not recently active", self.id, to)
            return False
        m.msg_type = _MsgSnapshot
        try:
            snapshot = self.raft_log.snapshot(pr.pending_request_snapshot, to)
        except SnapshotTemporarilyUnavailableError:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "[%d] failed to send snapshot to %d because snapshot is temporarily unavailable", self.id, to
                )
            return False
        except RaftError as e:
            raise InvariantError(f"unexpected error: {e!r}") from e
        if snapshot.metadata.index == 0:
            raise InvariantError("need non-empty snapshot")
        sindex, sterm = snapshot.metadata.index, snapshot.metadata.term
        m.snapshot.CopyFrom(snapshot)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "[%d] [firstindex: %d, commit: %d] sent snapshot[index: %d, term: %d] to %d",
                self.id,
                self.raft_log.first_index(),
                self.raft_log.committed,
                sindex,
                sterm,
                to,
            )
        pr.become_snapshot(sindex)
        return True

    def _prepare_send_entries(self, m: Message, pr: Progress, term: int, ents: Sequence[Entry]) -> Message:
        """_prepare_send_entries makes a MsgAppend of ents to m.to and returns it: m, or the proposal being
        broadcast, cut to ents, when raft owns it (see _put_entries)."""
        if ents:
            m = self._put_entries(m, ents)
        m.msg_type = _MsgAppend
        m.index = pr.next_idx - 1
        m.log_term = term
        m.commit = self.raft_log.committed
        if ents:
            pr.update_state(ents[-1].index)
        return m

    def _try_batching(self, to: int, pr: Progress, ents: Sequence[Entry]) -> bool:
        """_try_batching appends ents to a MsgAppend to `to` already queued in msgs (if continuous);
        returns whether such a message absorbed them (then its commit index is refreshed too)."""
        for msg in self.msgs:
            if msg.msg_type == _MsgAppend and msg.to == to:
                if ents:
                    if not _is_continuous_ents(msg, ents):
                        return False
                    msg.entries.extend(ents)
                    pr.update_state(msg.entries[-1].index)
                msg.commit = self.raft_log.committed
                return True
        return False

    def _maybe_send_append(self, to: int, pr: Progress, allow_empty: bool) -> bool:
        """_maybe_send_append sends `to` an append with the entries from pr.next_idx (or a snapshot
        when the log there is compacted or a snapshot was requested); returns whether it sent one.
        Without allow_empty, a message without entries is not sent."""
        if pr.is_paused():
            return False
        m = Message(to=to)
        if pr.pending_request_snapshot != INVALID_INDEX:
            # A requested snapshot goes first: no need to load entries.
            if not self._prepare_send_snapshot(m, pr, to):
                return False
        else:
            ents: list[Entry] | None
            ents_err: RaftError | None = None
            try:
                ents = self._append_entries_for(to, pr.next_idx, allow_empty)
            except RaftError as e:
                ents = None
                ents_err = e
            if not allow_empty and not ents:
                return False
            term: int | None
            try:
                term = self.raft_log.term(pr.next_idx - 1)
            except RaftError:
                term = None
            if term is not None and ents is not None:
                if self.batch_append and self._try_batching(to, pr, ents):
                    return True
                m = self._prepare_send_entries(m, pr, term, ents)
            elif isinstance(ents_err, LogTemporarilyUnavailableError):
                # The storage fetches the entries asynchronously: on_entries_fetched retries.
                return False
            else:
                # The term or the entries are compacted away: send a snapshot instead.
                if not self._prepare_send_snapshot(m, pr, to):
                    return False
        self._send(m)
        return True

    def _send_heartbeat(self, to: int, pr: Progress, ctx: bytes | None) -> None:
        # The commit index sent is min(matched, committed): a follower must never commit an index
        # it may not have (yet).
        committed = self.raft_log.committed
        m = Message(msg_type=_MsgHeartbeat, to=to, commit=min(pr.matched, committed))  # type: ignore[arg-type]
        if ctx is not None:
            m.context = ctx
        self._send(m)

    def send_append(self, to: int) -> None:
        """send_append sends `to` an append with new entries (if any) and the commit index."""
        pr = self.prs.get(to)
        if pr is None:
            raise InvariantError(f"send_append to {to}: no progress for it")
        self._maybe_send_append(to, pr, True)

    def send_append_aggressively(self, to: int) -> None:
        """send_append_aggressively sends `to` as many appends with entries as flow control allows."""
        pr = self.prs.get(to)
        if pr is None:
            raise InvariantError(f"send_append_aggressively to {to}: no progress for it")
        while self._maybe_send_append(to, pr, False):
            pass

    def _append_entries_for(self, to: int, next_idx: int, allow_empty: bool) -> list[Entry]:
        """_append_entries_for: the entries of a MsgAppend to `to` starting at next_idx. During
        bcast_append, followers at the same next index in the unstable log (which no storage call
        reads) share the first one's list, limited to max_msg_size once."""
        log = self.raft_log
        cached = self._bcast_entries
        if cached is not None and cached[0] and cached[0][0].index == next_idx and next_idx >= log.unstable.offset:
            return cached[0]
        max_size = NO_LIMIT if next_idx >= self._bcast_unlimited_from else self.max_msg_size
        return log.entries(next_idx, max_size, GetEntriesContext.send_append(to, self.term, not allow_empty))

    def _put_entries(self, m: Message, ents: Sequence[Entry]) -> Message:
        """_put_entries puts ents into m, a MsgAppend holding only `to` so far, and returns the message
        that carries them. During bcast_append: a copy of the MsgAppend already built for the same entries
        (the same objects: the same next index, so the same index, log term and commit); else the proposal
        being broadcast, cut to ents when they are a run of its entries: itself, taken over, when raft
        owns it (_own_proposal), else one copy of it; otherwise a copy of each entry."""
        cached = self._bcast_entries
        if cached is not None:
            prev_ents, prev = cached
            if prev is not None and (ents is prev_ents or _same_objects(prev_ents, ents)):
                to = m.to
                m.CopyFrom(prev)
                m.to = to
                m.term = 0  # _send stamps it
                return m
        m = self._entries_from_source(m, ents)
        if cached is not None:
            self._bcast_entries = (ents if isinstance(ents, list) else list(ents), m)
        return m

    def _entries_from_source(self, m: Message, ents: Sequence[Entry]) -> Message:
        """_entries_from_source: _put_entries without a MsgAppend to copy (see there)."""
        source = self._bcast_source
        if source is None or not source.entries:
            m.entries.extend(ents)
            return m
        start = ents[0].index - source.entries[0].index
        size = len(source.entries)
        if start < 0 or start + len(ents) > size or not all(map(is_, islice(source.entries, start, None), ents)):
            m.entries.extend(ents)
            return m
        to = m.to
        if self._bcast_owned:
            # Cutting the proposal to the run leaves the entries cut off intact (they live on in the log).
            self._bcast_owned = False  # it can be sent once
            m = source
        else:
            m.CopyFrom(source)
        del m.entries[start + len(ents) :]
        del m.entries[:start]
        for field, _ in m.ListFields():
            if field.name != "entries":
                m.ClearField(field.name)
        m.to = to
        return m

    def bcast_append(self) -> None:
        """bcast_append sends an append to every peer (empty ones carry the commit index). Followers at
        the same next index share one copy of the entries (see _bcast_entries)."""
        self._bcast_append(None)

    def _bcast_append(self, source: Message | None) -> None:
        """_bcast_append: bcast_append, with the MsgPropose whose entries were just appended, if any."""
        self_id = self.id
        self._bcast_entries = ([], None)
        self._bcast_source = source
        owned = self._bcast_owned = source is not None and source is self._own_proposal
        if owned and self._own_size_bound <= self.max_msg_size:
            self._bcast_unlimited_from = self.raft_log.last_index() - len(source.entries) + 1  # type: ignore[union-attr]
        try:
            for id_, pr in self.prs.iter():
                if id_ != self_id:
                    self._maybe_send_append(id_, pr, True)
        finally:
            self._bcast_entries = self._bcast_source = None
            self._bcast_owned = False
            self._bcast_unlimited_from = NO_LIMIT

    def _step_own_proposal(self, m: Message, size_bound: int) -> None:
        """_step_own_proposal steps m, a MsgPropose whose creator hands it over for good (see
        _own_proposal); size_bound is at least the encoded size of its entries together (NO_LIMIT: unknown)."""
        self._own_proposal, self._own_size_bound = m, size_bound
        try:
            self.step(m)
        finally:
            self._own_proposal, self._own_size_bound = None, NO_LIMIT

    def ping(self) -> None:
        """ping broadcasts heartbeats if this node is the leader."""
        if self.state == _LEADER:
            self.bcast_heartbeat()

    def bcast_heartbeat(self) -> None:
        """bcast_heartbeat sends a heartbeat to every peer, carrying the context of the newest pending
        read-only request, if any."""
        self._bcast_heartbeat_with_ctx(self.read_only.last_pending_request_ctx())

    def _bcast_heartbeat_with_ctx(self, ctx: bytes | None) -> None:
        self_id = self.id
        for id_, pr in self.prs.iter():
            if id_ != self_id:
                self._send_heartbeat(id_, pr, ctx)

    # ------------------------------------------------------------------ log and commit

    def maybe_commit(self) -> bool:
        """maybe_commit advances the commit index to what a quorum has (current-term entries only);
        returns whether it moved (then the caller should bcast_append)."""
        mci = self.prs.maximal_committed_index()[0]
        if self.raft_log.maybe_commit(mci, self.term):
            pr = self.prs.get(self.id)
            if pr is not None:
                pr.update_committed(self.raft_log.committed)
            return True
        return False

    def commit_apply(self, applied: int) -> None:
        """commit_apply records that entries up to `applied` are applied; a leader whose joint
        configuration is to be left automatically then proposes leaving it."""
        self._commit_apply_internal(applied, False)

    def _commit_apply_internal(self, applied: int, skip_check: bool) -> None:
        old_applied = self.raft_log.applied
        if not skip_check:
            self.raft_log.applied_to(applied)
        else:
            if applied <= 0:
                raise InvariantError("applied must be positive at initialization")
            self.raft_log.applied_to_unchecked(applied)

        if (
            self.prs.conf().auto_leave
            and old_applied <= self.pending_conf_index
            and applied >= self.pending_conf_index
            and self.state == _LEADER
        ):
            # An empty ConfChangeV2 leaves the joint configuration; its size is zero, so append_entry
            # never refuses it.
            entry = Entry(entry_type=_EntryConfChangeV2)
            if not self.append_entry([entry]):
                raise InvariantError("appending an empty EntryConfChangeV2 should never be dropped")
            self.pending_conf_index = self.raft_log.last_index()
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("[%d] initiating automatic transition out of joint configuration", self.id)

    def reset(self, term: int) -> None:
        """reset moves to `term` (clearing the vote if the term changes) and resets the volatile
        state: leader, timers, votes, leader transfer, pending conf index, read-only queue,
        pending snapshot request and every progress (self: matched = persisted)."""
        if self.term != term:
            self.term = term
            self.vote = INVALID_ID
        self.leader_id = INVALID_ID
        self.reset_randomized_election_timeout()
        self.election_elapsed = 0
        self._heartbeat_elapsed = 0
        self.abort_leader_transfer()
        self.prs.reset_votes()
        self.pending_conf_index = 0
        self.read_only = ReadOnly(self.read_only.option)
        self.pending_request_snapshot = INVALID_INDEX

        last_index = self.raft_log.last_index()
        committed = self.raft_log.committed
        persisted = self.raft_log.persisted
        self_id = self.id
        for id_, pr in self.prs.iter():
            pr.reset(last_index + 1)
            if id_ == self_id:
                pr.matched = persisted
                pr.committed_index = committed

    def append_entry(self, entries: Sequence[Entry]) -> bool:
        """append_entry stamps entries with the current term and the next indexes and appends them to the
        log (leader only); returns False, appending nothing, when the uncommitted size limit refuses
        them. The leader's own progress moves only in on_persist_entries."""
        if not self.uncommitted_state.maybe_increase_uncommitted_size(entries):
            return False
        idx = self.raft_log.last_index()
        term = self.term
        for e in entries:
            idx += 1
            e.term = term
            e.index = idx
        self.raft_log.append(entries)
        return True

    def on_persist_entries(self, index: int, term: int) -> None:
        """on_persist_entries: the log up to (index, term) is persisted; a leader counts its own
        ack, and may commit and broadcast."""
        update = self.raft_log.maybe_persist(index, term)
        if update and self.state == _LEADER:
            # A leader's newly persisted entries are all of its own term.
            if term != self.term and logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "[%d] leader's persisted index changed but the term %d is not the same as %d",
                    self.id,
                    term,
                    self.term,
                )
            pr = self.prs.get(self.id)
            if pr is not None and pr.maybe_update(index) and self.maybe_commit() and self.should_bcast_commit():
                self.bcast_append()

    def on_persist_snap(self, index: int) -> None:
        """on_persist_snap: the snapshot at `index` is persisted."""
        self.raft_log.maybe_persist_snap(index)

    # ------------------------------------------------------------------ time

    def tick(self) -> bool:
        """tick advances logical time by one tick; returns whether a Ready may be pending."""
        if self.state == _LEADER:
            return self.tick_heartbeat()
        return self.tick_election()

    def tick_election(self) -> bool:
        """tick_election (followers and candidates) campaigns once the randomized election timeout
        has passed, if promotable; returns whether it did."""
        self.election_elapsed += 1
        if not self.pass_election_timeout() or not self._promotable:
            return False
        self.election_elapsed = 0
        try:
            self.step(_new_message(INVALID_ID, _MsgHup, self.id))
        except RaftError:
            pass
        return True

    def tick_heartbeat(self) -> bool:
        """tick_heartbeat (leaders) checks the quorum and aborts a leader transfer every election
        timeout, and sends heartbeats every heartbeat timeout."""
        self._heartbeat_elapsed += 1
        self.election_elapsed += 1
        has_ready = False
        if self.election_elapsed >= self._election_timeout:
            self.election_elapsed = 0
            if self.check_quorum:
                has_ready = True
                try:
                    self.step(_new_message(INVALID_ID, _MsgCheckQuorum, self.id))
                except RaftError:
                    pass
            if self.state == _LEADER and self.lead_transferee is not None:
                self.abort_leader_transfer()
        if self.state != _LEADER:
            return has_ready
        if self._heartbeat_elapsed >= self._heartbeat_timeout:
            self._heartbeat_elapsed = 0
            has_ready = True
            try:
                self.step(_new_message(INVALID_ID, _MsgBeat, self.id))
            except RaftError:
                pass
        return has_ready

    def pass_election_timeout(self) -> bool:
        return self.election_elapsed >= self.randomized_election_timeout

    def reset_randomized_election_timeout(self) -> None:
        """reset_randomized_election_timeout draws a new timeout in [min, max) from this Raft's rng."""
        prev = self.randomized_election_timeout
        timeout = self._rng.randrange(self.min_election_timeout, self.max_election_timeout)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "[%d] reset election timeout %d -> %d at %d", self.id, prev, timeout, self.election_elapsed
            )
        self.randomized_election_timeout = _Ticks(timeout)

    # ------------------------------------------------------------------ roles

    def become_follower(self, term: int, leader_id: int) -> None:
        """become_follower moves to `term` as a follower of leader_id (INVALID_ID: unknown); a pending
        snapshot request survives."""
        pending_request_snapshot = self.pending_request_snapshot
        self.reset(term)
        self.leader_id = leader_id
        from_role = self.state
        self.state = _FOLLOWER
        self.pending_request_snapshot = pending_request_snapshot
        # Applying unpersisted entries is a leader-only optimization.
        self.raft_log.max_apply_unpersisted_log_limit = 0
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("[%d] became follower at term %d (from %s)", self.id, self.term, from_role.name)

    def become_candidate(self) -> None:
        """become_candidate starts a real election: next term, vote for self. Not from LEADER."""
        if self.state == _LEADER:
            raise InvariantError("invalid transition [leader -> candidate]")
        self.reset(self.term + 1)
        self.vote = self.id
        self.state = _CANDIDATE
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("[%d] became candidate at term %d", self.id, self.term)

    def become_pre_candidate(self) -> None:
        """become_pre_candidate starts the pre-vote phase: the term and vote stay, the votes and the
        leader are cleared. Not from LEADER."""
        if self.state == _LEADER:
            raise InvariantError("invalid transition [leader -> pre-candidate]")
        self.state = _PRE_CANDIDATE
        self.prs.reset_votes()
        # A leader cut off in a minority steps down without telling anyone: forget it.
        self.leader_id = INVALID_ID
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("[%d] became pre-candidate at term %d", self.id, self.term)

    def become_leader(self) -> None:
        """become_leader makes this node the leader of its term and appends an empty entry of the
        term. Not from FOLLOWER. Its own progress acks only the persisted part of its log."""
        if self.state == _FOLLOWER:
            raise InvariantError("invalid transition [follower -> leader]")
        self.reset(self.term)
        self.leader_id = self.id
        self.state = _LEADER

        last_index = self.raft_log.last_index()
        self.uncommitted_state.uncommitted_size = 0
        self.uncommitted_state.last_log_tail_index = last_index

        pr = self.prs.get(self.id)
        if pr is not None:
            pr.become_replicate()
            # raft-rs asserts here that the whole log is persisted: true after sending votes, but a sole
            # voter that stepped down with unpersisted entries wins at once. Its own ack then counts only
            # what is durable (reset() set matched to the last index); on_persist_entries moves it on.
            persisted = self.raft_log.persisted
            if persisted < last_index:
                pr.matched = persisted
        # A conf change may be pending somewhere in the log: conservatively block new ones until
        # everything up to here is applied.
        self.pending_conf_index = last_index
        if not self.append_entry([Entry()]):
            raise InvariantError("appending an empty entry should never be dropped")
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("[%d] became leader at term %d", self.id, self.term)

    def campaign(self, campaign_type: bytes) -> None:
        """campaign starts an election of the given type (CAMPAIGN_PRE_ELECTION, CAMPAIGN_ELECTION
        or CAMPAIGN_TRANSFER): votes for itself and asks every other voter."""
        if campaign_type == CAMPAIGN_PRE_ELECTION:
            self.become_pre_candidate()
            # Pre-votes are asked for the next term, without incrementing ours.
            vote_msg = _MsgRequestPreVote
            term = self.term + 1
        else:
            self.become_candidate()
            vote_msg = _MsgRequestVote
            term = self.term
        self_id = self.id
        if self.poll(self_id, vote_msg, True) == VoteResult.WON:
            # Won by our own vote: a single-voter group.
            return
        commit, commit_term = self.raft_log.commit_info()
        last_index = self.raft_log.last_index()
        last_term = self.raft_log.last_term()
        voters = sorted(self.prs.conf().voters.ids())
        for id_ in voters:
            if id_ == self_id:
                continue
            m = _new_message(id_, vote_msg)
            m.term = term
            m.index = last_index
            m.log_term = last_term
            m.commit = commit
            m.commit_term = commit_term
            if campaign_type == CAMPAIGN_TRANSFER:
                m.context = campaign_type
            self._send(m)
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "[%d] broadcasting %s term=%d log_term=%d log_index=%d to=%s",
                self.id,
                _type_name(vote_msg),
                self.term,
                last_term,
                last_index,
                [v for v in voters if v != self_id],
            )

    def poll(self, from_: int, t: int, vote: bool) -> VoteResult:
        """poll records `from_`'s vote and acts on the tally: won -> next phase or leader; lost ->
        follower. Returns the VoteResult."""
        self.prs.record_vote(from_, vote)
        gr, rj, res = self.prs.tally_votes()
        if from_ != self.id and logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "[%d] received votes response vote=%s from=%d rejections=%d approvals=%d type=%s term=%d",
                self.id,
                vote,
                from_,
                rj,
                gr,
                _type_name(t),
                self.term,
            )
        if res == VoteResult.WON:
            if self.state == _PRE_CANDIDATE:
                self.campaign(CAMPAIGN_ELECTION)
            else:
                self.become_leader()
                self.bcast_append()
        elif res == VoteResult.LOST:
            # A pre-vote response carries a future term: stay at ours.
            self.become_follower(self.term, INVALID_ID)
        return res

    # ------------------------------------------------------------------ step

    def step(self, m: Message) -> None:
        """step processes one message; raises ProposalDroppedError for a proposal that cannot be
        appended or forwarded.

        Ownership (see the module docstring): step takes m over, as raft-rs's step(m: Message)
        moves it. The Entry objects of a MsgPropose or MsgAppend are kept in the log as they are
        (not copied) and a proposal's entries are stamped in place, so the caller must neither
        mutate m nor step it again afterwards; a caller that still needs m steps a copy."""
        # Term handling first: may step down to follower.
        mt = m.msg_type
        if m.term == 0:
            pass  # local message
        elif m.term > self.term:
            if mt == _MsgRequestVote or mt == _MsgRequestPreVote:
                force = m.context == CAMPAIGN_TRANSFER
                in_lease = (
                    self.check_quorum
                    and self.leader_id != INVALID_ID
                    and self.election_elapsed < self._election_timeout
                )
                if not force and in_lease:
                    # Within the minimum election timeout of hearing from a leader, a vote request
                    # neither moves our term nor gets our vote (Raft thesis 4.2.3).
                    self._log_vote(
                        m,
                        "ignored a vote request from",
                        f"lease is not expired (remaining ticks: {self._election_timeout - self.election_elapsed})",
                    )
                    return
            if mt == _MsgRequestPreVote or (mt == _MsgRequestPreVoteResponse and not m.reject):
                # Never move our term for a pre-vote request, nor for a granted pre-vote (its term
                # is the future one we asked for; we move once we win a quorum).
                pass
            else:
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug(
                        "[%d] received a message with higher term from %d term=%d message_term=%d type=%s",
                        self.id,
                        m.from_,
                        self.term,
                        m.term,
                        _type_name(mt),
                    )
                if mt == _MsgAppend or mt == _MsgHeartbeat or mt == _MsgSnapshot:
                    self.become_follower(m.term, m.from_)
                else:
                    self.become_follower(m.term, INVALID_ID)
        elif m.term < self.term:
            if (self.check_quorum or self.pre_vote) and (mt == _MsgHeartbeat or mt == _MsgAppend):
                # A leader of an older term: this node may have moved its term in a partition
                # without being able to win. Answer so that the stale leader learns the newer term
                # (with check_quorum or pre_vote our vote requests would not move it).
                self._send(_new_message(m.from_, _MsgAppendResponse))
            elif mt == _MsgRequestPreVote:
                # Reject a pre-vote of a lower term explicitly, or a cluster mixing pre-vote and
                # non-pre-vote nodes may deadlock.
                self._log_vote(m, "rejected a lower-term pre-vote from")
                to_send = _new_message(m.from_, _MsgRequestPreVoteResponse)
                to_send.term = self.term
                to_send.reject = True
                self._send(to_send)
            elif logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "[%d] ignored a message with lower term from %d term=%d type=%s msg_term=%d",
                    self.id,
                    m.from_,
                    self.term,
                    _type_name(mt),
                    m.term,
                )
            return

        if mt == _MsgHup:
            self._hup(False)
        elif mt == _MsgRequestVote or mt == _MsgRequestPreVote:
            self._handle_vote_request(m)
        else:
            state = self.state
            if state == _LEADER:
                self._step_leader(m)
            elif state == _FOLLOWER:
                self._step_follower(m)
            else:
                self._step_candidate(m)

    def _handle_vote_request(self, m: Message) -> None:
        mt = m.msg_type
        # We can vote for a repeat of the vote we cast, when we have not voted and know of no
        # leader in this term, or for a pre-vote of a future term...
        can_vote = (
            self.vote == m.from_
            or (self.vote == INVALID_ID and self.leader_id == INVALID_ID)
            or (mt == _MsgRequestPreVote and m.term > self.term)
        )
        # ...and only a candidate whose log is at least as up to date as ours, and which is not of
        # lower priority unless its log is longer.
        if (
            can_vote
            and self.raft_log.is_up_to_date(m.index, m.log_term)
            and (m.index > self.raft_log.last_index() or self.priority <= _get_priority(m))
        ):
            # The response carries the request's term (not ours, which a pre-vote does not move),
            # so that the candidate does not drop it as stale.
            self._log_vote(m, "cast vote for")
            to_send = _new_message(m.from_, vote_resp_msg_type(mt))
            to_send.reject = False
            to_send.term = m.term
            self._send(to_send)
            if mt == _MsgRequestVote:
                # Only real votes are recorded.
                self.election_elapsed = 0
                self.vote = m.from_
        else:
            self._log_vote(m, "rejected vote from")
            to_send = _new_message(m.from_, vote_resp_msg_type(mt))
            to_send.reject = True
            to_send.term = self.term
            commit, commit_term = self.raft_log.commit_info()
            to_send.commit = commit
            to_send.commit_term = commit_term
            self._send(to_send)
            self.maybe_commit_by_vote(m)

    def _log_vote(self, m: Message, what: str, note: str = "") -> None:
        """_log_vote logs (at DEBUG) a decision on the vote-related message m, with both logs' tails."""
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "[%d] [logterm: %d, index: %d, vote: %d] %s %d [logterm: %d, index: %d] at term %d (%s)%s",
                self.id,
                self.raft_log.last_term(),
                self.raft_log.last_index(),
                self.vote,
                what,
                m.from_,
                m.log_term,
                m.index,
                self.term,
                _type_name(m.msg_type),
                f": {note}" if note else "",
            )

    def _hup(self, transfer_leader: bool) -> None:
        if self.state == _LEADER:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("[%d] ignoring MsgHup because already leader", self.id)
            return
        # A committed but unapplied conf change forbids campaigning. A pending snapshot already
        # carries its configuration, so the scan starts after it.
        low = self.raft_log.unstable.maybe_first_index()
        if low is None:
            low = self.raft_log.applied + 1
        high = self.raft_log.committed + 1
        if self._has_unapplied_conf_changes(low, high, GetEntriesContext.transfer_leader()):
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "[%d] cannot campaign at term %d since there are still pending configuration changes to apply",
                    self.id,
                    self.term,
                )
            return
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("[%d] starting a new election at term %d", self.id, self.term)
        if transfer_leader:
            self.campaign(CAMPAIGN_TRANSFER)
        elif self.pre_vote:
            self.campaign(CAMPAIGN_PRE_ELECTION)
        else:
            self.campaign(CAMPAIGN_ELECTION)

    def _has_unapplied_conf_changes(self, lo: int, hi: int, context: GetEntriesContext) -> bool:
        if self.raft_log.applied >= self.raft_log.committed:
            return False
        found = False

        def visit(ents: Sequence[Entry]) -> bool:
            nonlocal found
            for e in ents:
                if e.entry_type == _EntryConfChange or e.entry_type == _EntryConfChangeV2:
                    found = True
                    return False
            return True

        try:
            self.raft_log.scan(lo, hi, self.max_committed_size_per_ready, context, visit)
        except RaftError as e:
            raise InvariantError(f"error scanning unapplied entries [{lo}, {hi}): {e!r}") from e
        return found

    # ------------------------------------------------------------------ leader

    def _handle_append_response(self, m: Message) -> None:
        next_probe_index = m.reject_hint
        if m.reject and m.log_term > 0:
            # Probe at most once per term of our log: skip every index whose term in our log is
            # above the follower's term at the hint, since those probes must fail too.
            next_probe_index = self.raft_log.find_conflict_by_term(m.reject_hint, m.log_term)[0]

        pr = self.prs.get(m.from_)
        if pr is None:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("[%d] no progress available for %d", self.id, m.from_)
            return
        pr.recent_active = True
        pr.update_committed(m.commit)

        if m.reject:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "[%d] received msgAppend rejection reject_hint_index=%d reject_hint_term=%d from=%d index=%d",
                    self.id,
                    m.reject_hint,
                    m.log_term,
                    m.from_,
                    m.index,
                )
            if pr.maybe_decr_to(m.index, next_probe_index, m.request_snapshot):
                if pr.state == _PS_REPLICATE:
                    pr.become_probe()
                self.send_append(m.from_)
            return

        old_paused = pr.is_paused()
        if not pr.maybe_update(m.index):
            return

        st = pr.state
        if st == _PS_PROBE:
            pr.become_replicate()
        elif st == _PS_SNAPSHOT:
            if pr.is_snapshot_caught_up():
                pr.become_probe()
        else:  # REPLICATE
            pr.ins.free_to(m.index)

        if self.maybe_commit():
            if self.should_bcast_commit():
                self.bcast_append()
        elif old_paused:
            self.send_append(m.from_)

        # Flow control may now allow several (size-limited) messages in a row.
        self.send_append_aggressively(m.from_)

        if m.from_ == self.lead_transferee:
            if pr.matched == self.raft_log.last_index():
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("[%d] sent MsgTimeoutNow to %d after received MsgAppResp", self.id, m.from_)
                self.send_timeout_now(m.from_)

    def _handle_heartbeat_response(self, m: Message) -> None:
        pr = self.prs.get(m.from_)
        if pr is None:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("[%d] no progress available for %d", self.id, m.from_)
            return
        pr.update_committed(m.commit)
        pr.recent_active = True
        pr.resume()
        # Free one slot of a full inflights window so that replication can go on.
        if pr.state == _PS_REPLICATE and pr.ins.full():
            pr.ins.free_first_one()
        if pr.matched < self.raft_log.last_index() or pr.pending_request_snapshot != INVALID_INDEX:
            self._maybe_send_append(m.from_, pr, True)

        if self.read_only.option != ReadOnlyOption.SAFE or not m.context:
            return
        acks = self.read_only.recv_ack(m.from_, m.context)
        if acks is None or not self.prs.has_quorum(acks):
            return
        for rs in self.read_only.advance(m.context):
            to_send = self._handle_ready_read_index(rs.req, rs.index)
            if to_send is not None:
                self._send(to_send)

    def _handle_transfer_leader(self, m: Message) -> None:
        from_ = m.from_
        pr = self.prs.get(from_)
        if pr is None:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("[%d] no progress available for %d", self.id, from_)
            return
        if from_ in self.prs.conf().learners:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("[%d] ignored transferring leadership to learner %d", self.id, from_)
            return
        lead_transferee = from_
        last = self.lead_transferee
        if last is not None:
            if last == lead_transferee:
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug(
                        "[%d] [term %d] transfer leadership to %d is in progress, ignores request to same node",
                        self.id,
                        self.term,
                        lead_transferee,
                    )
                return
            self.abort_leader_transfer()
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("[%d] [term %d] abort previous transferring leadership to %d", self.id, self.term, last)
        if lead_transferee == self.id:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("[%d] already leader; ignored transferring leadership to self", self.id)
            return
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("[%d] [term %d] starts to transfer leadership to %d", self.id, self.term, lead_transferee)
        # The transfer must finish within one election timeout.
        self.election_elapsed = 0
        self.lead_transferee = lead_transferee
        if pr.matched == self.raft_log.last_index():
            self.send_timeout_now(lead_transferee)
        else:
            self._maybe_send_append(lead_transferee, pr, True)

    def _handle_snapshot_status(self, m: Message) -> None:
        pr = self.prs.get(m.from_)
        if pr is None:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("[%d] no progress available for %d", self.id, m.from_)
            return
        if pr.state != _PS_SNAPSHOT:
            return
        if m.reject:
            pr.snapshot_failure()
            pr.become_probe()
        else:
            pr.become_probe()
        # After a success, wait for the follower's append response before sending more; after a
        # failure, wait a heartbeat interval before retrying.
        pr.pause()
        pr.pending_request_snapshot = INVALID_INDEX

    def _handle_unreachable(self, m: Message) -> None:
        pr = self.prs.get(m.from_)
        if pr is None:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("[%d] no progress available for %d", self.id, m.from_)
            return
        # An unreachable peer has probably lost an optimistic append: probe it again.
        if pr.state == _PS_REPLICATE:
            pr.become_probe()

    def _step_leader(self, m: Message) -> None:
        mt = m.msg_type
        # These do not need a progress for m.from_.
        if mt == _MsgPropose:
            self._step_leader_propose(m)
            return
        if mt == _MsgBeat:
            self.bcast_heartbeat()
            return
        if mt == _MsgCheckQuorum:
            if not self.prs.quorum_recently_active(self.id):
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("[%d] stepped down to follower since quorum is not active", self.id)
                self.become_follower(self.term, INVALID_ID)
            return
        if mt == _MsgReadIndex:
            self._step_leader_read_index(m)
            return

        if mt == _MsgAppendResponse:
            self._handle_append_response(m)
        elif mt == _MsgHeartbeatResponse:
            self._handle_heartbeat_response(m)
        elif mt == _MsgSnapStatus:
            self._handle_snapshot_status(m)
        elif mt == _MsgUnreachable:
            self._handle_unreachable(m)
        elif mt == _MsgTransferLeader:
            self._handle_transfer_leader(m)
        elif self.prs.get(m.from_) is None and logger.isEnabledFor(logging.DEBUG):
            logger.debug("[%d] no progress available for %d", self.id, m.from_)

    def _step_leader_propose(self, m: Message) -> None:
        if len(m.entries) == 0:
            raise InvariantError("stepped empty MsgProp")
        # One Python wrapper per entry, kept: a repeated field builds a new wrapper for an element each
        # time it is read while no earlier one is alive, so each pass below would build them all again.
        entries = list(m.entries)
        if self.prs.get(self.id) is None:
            # This leader was removed from the configuration: drop new proposals.
            raise ProposalDroppedError()
        if self.lead_transferee is not None:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "[%d] [term %d] transfer leadership to %d is in progress; dropping proposal",
                    self.id,
                    self.term,
                    self.lead_transferee,
                )
            raise ProposalDroppedError()

        # Only conf change entries need a look; EntryNormal is 0, so an all-normal batch (the common
        # case) is recognised by one C-level pass instead of a Python loop per entry.
        for i, e in enumerate(entries) if any(map(_entry_type_of, entries)) else ():
            et = e.entry_type
            if et == _EntryNormal:
                continue
            cc: ConfChangeV2
            if et == _EntryConfChange:
                try:
                    cc_v1 = ConfChange.FromString(e.data)
                except DecodeError as err:
                    if logger.isEnabledFor(logging.DEBUG):
                        logger.debug("[%d] invalid confchange: %r", self.id, err)
                    raise ProposalDroppedError() from err
                cc = into_v2(cc_v1)
            elif et == _EntryConfChangeV2:
                try:
                    cc = ConfChangeV2.FromString(e.data)
                except DecodeError as err:
                    if logger.isEnabledFor(logging.DEBUG):
                        logger.debug("[%d] invalid confchangev2: %r", self.id, err)
                    raise ProposalDroppedError() from err
            else:
                continue
            if self.has_pending_conf():
                reason = "possible unapplied conf change"
            else:
                already_joint = joint(self.prs.conf())
                want_leave = len(cc.changes) == 0
                if already_joint and not want_leave:
                    reason = "must transition out of joint config first"
                elif not already_joint and want_leave:
                    reason = "not in joint state; refusing empty conf change"
                else:
                    reason = ""
            if not reason:
                self.pending_conf_index = self.raft_log.last_index() + i + 1
            else:
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug(
                        "[%d] ignoring conf change %s: %s (pending conf index %d, applied %d)",
                        self.id,
                        cc,
                        reason,
                        self.pending_conf_index,
                        self.raft_log.applied,
                    )
                e.Clear()
                e.entry_type = _EntryNormal

        if not self.append_entry(entries):
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "[%d] entries are dropped due to overlimit of max uncommitted size, uncommitted_size: %d",
                    self.id,
                    self.uncommitted_size(),
                )
            raise ProposalDroppedError()
        self._bcast_append(m)

    def _step_leader_read_index(self, m: Message) -> None:
        if not self.commit_to_current_term():
            # Nothing committed in this term yet: the commit index may be stale.
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("[%d] leader has not yet committed in its term; dropping read index msg", self.id)
            return
        if self.prs.is_singleton():
            to_send = self._handle_ready_read_index(m, self.raft_log.committed)
            if to_send is not None:
                self._send(to_send)
            return
        if self.read_only.option == ReadOnlyOption.SAFE:
            ctx = bytes(m.entries[0].data)
            self.read_only.add_request(self.raft_log.committed, m, self.id)
            self._bcast_heartbeat_with_ctx(ctx)
        else:
            to_send = self._handle_ready_read_index(m, self.raft_log.committed)
            if to_send is not None:
                self._send(to_send)

    def maybe_commit_by_vote(self, m: Message) -> None:
        """maybe_commit_by_vote fast-forwards the commit index to the (commit, commit_term) a vote
        message carries; a (pre-)candidate that thereby commits a conf change steps down."""
        if m.commit == 0 or m.commit_term == 0:
            return
        last_commit = self.raft_log.committed
        if m.commit <= last_commit or self.state == _LEADER:
            return
        if not self.raft_log.maybe_commit(m.commit, m.commit_term):
            return
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "[%d] [commit: %d, lastindex: %d, lastterm: %d] fast-forwarded commit to vote request "
                "[index: %d, term: %d]",
                self.id,
                self.raft_log.committed,
                self.raft_log.last_index(),
                self.raft_log.last_term(),
                m.commit,
                m.commit_term,
            )
        if self.state != _CANDIDATE and self.state != _PRE_CANDIDATE:
            return
        low = last_commit + 1
        high = self.raft_log.committed + 1
        if self._has_unapplied_conf_changes(low, high, GetEntriesContext.commit_by_vote()):
            # Not required in theory; for safety we assume the quorum does not change during an
            # election.
            self.become_follower(self.term, INVALID_ID)

    # ------------------------------------------------------------------ candidate and follower

    def _step_candidate(self, m: Message) -> None:
        mt = m.msg_type
        if mt == _MsgPropose:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("[%d] no leader at term %d; dropping proposal", self.id, self.term)
            raise ProposalDroppedError()
        if mt == _MsgAppend:
            self.become_follower(m.term, m.from_)
            self.handle_append_entries(m)
        elif mt == _MsgHeartbeat:
            self.become_follower(m.term, m.from_)
            self.handle_heartbeat(m)
        elif mt == _MsgSnapshot:
            self.become_follower(m.term, m.from_)
            self.handle_snapshot(m)
        elif mt == _MsgRequestPreVoteResponse or mt == _MsgRequestVoteResponse:
            # Only responses of the current phase count (a candidate may still get stale pre-vote
            # responses of this term).
            if (self.state == _PRE_CANDIDATE and mt != _MsgRequestPreVoteResponse) or (
                self.state == _CANDIDATE and mt != _MsgRequestVoteResponse
            ):
                return
            self.poll(m.from_, mt, not m.reject)
            self.maybe_commit_by_vote(m)
        elif mt == _MsgTimeoutNow:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("[%d] %d ignored MsgTimeoutNow from %d (%s)", self.id, self.term, m.from_, self.state.name)
        elif mt == _MsgReadIndex:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("[%d] no leader at term %d; dropping read index msg", self.id, self.term)

    def _step_follower(self, m: Message) -> None:
        mt = m.msg_type
        if mt == _MsgPropose:
            if self.leader_id == INVALID_ID:
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("[%d] no leader at term %d; dropping proposal", self.id, self.term)
                raise ProposalDroppedError()
            if self.disable_proposal_forwarding:
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug(
                        "[%d] not forwarding to leader %d at term %d; dropping proposal",
                        self.id,
                        self.leader_id,
                        self.term,
                    )
                raise ProposalDroppedError()
            m.to = self.leader_id
            self._send(m)
        elif mt == _MsgAppend:
            self.election_elapsed = 0
            self.leader_id = m.from_
            self.handle_append_entries(m)
        elif mt == _MsgHeartbeat:
            self.election_elapsed = 0
            self.leader_id = m.from_
            self.handle_heartbeat(m)
        elif mt == _MsgSnapshot:
            self.election_elapsed = 0
            self.leader_id = m.from_
            self.handle_snapshot(m)
        elif mt == _MsgTransferLeader:
            if self.leader_id == INVALID_ID:
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("[%d] no leader at term %d; dropping leader transfer msg", self.id, self.term)
                return
            m.to = self.leader_id
            self._send(m)
        elif mt == _MsgTimeoutNow:
            if self._promotable:
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug(
                        "[%d] [term %d] received MsgTimeoutNow from %d and starts an election to get leadership.",
                        self.id,
                        self.term,
                        m.from_,
                    )
                # A leader transfer never uses pre-vote: this is no recovery from a partition.
                self._hup(True)
            elif logger.isEnabledFor(logging.DEBUG):
                logger.debug("[%d] received MsgTimeoutNow from %d but is not promotable", self.id, m.from_)
        elif mt == _MsgReadIndex:
            if self.leader_id == INVALID_ID:
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug("[%d] no leader at term %d; dropping read index msg", self.id, self.term)
                return
            m.to = self.leader_id
            self._send(m)
        elif mt == _MsgReadIndexResp:
            if len(m.entries) != 1:
                if logger.isEnabledFor(logging.DEBUG):
                    logger.debug(
                        "[%d] invalid format of MsgReadIndexResp from %d, entries count: %d",
                        self.id,
                        m.from_,
                        len(m.entries),
                    )
                return
            self.read_states.append(ReadState(m.index, bytes(m.entries[0].data)))
            # The index is the leader's commit index, whose entry is of the leader's term (it only
            # serves reads after committing in its term).
            self.raft_log.maybe_commit(m.index, m.term)

    def request_snapshot(self) -> None:
        """request_snapshot asks the leader for a snapshot including the current last index; raises
        RequestSnapshotDroppedError when this is a leader, there is no leader, a snapshot is pending
        or requested already, or the last entry is not of the current term."""
        if self.state == _LEADER:
            reason = "can not request snapshot on leader; dropping request snapshot"
        elif self.leader_id == INVALID_ID:
            reason = "no leader; dropping request snapshot"
        elif self.snap() is not None:
            reason = "there is a pending snapshot; dropping request snapshot"
        elif self.pending_request_snapshot != INVALID_INDEX:
            reason = "there is a pending snapshot; dropping request snapshot"
        else:
            request_index = self.raft_log.last_index()
            request_index_term = self.raft_log.term(request_index)
            if self.term == request_index_term:
                self.pending_request_snapshot = request_index
                self._send_request_snapshot()
                return
            reason = f"mismatched term; dropping request snapshot (term {self.term}, last_term {request_index_term})"
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("[%d] %s", self.id, reason)
        raise RequestSnapshotDroppedError()

    def handle_append_entries(self, m: Message) -> None:
        """handle_append_entries appends m's entries if they match our log at (m.index, m.log_term),
        or rejects with a hint (the largest index <= min(m.index, last) whose term is <= m.log_term)."""
        if self.pending_request_snapshot != INVALID_INDEX:
            self._send_request_snapshot()
            return
        committed = self.raft_log.committed
        if m.index < committed:
            to_send = Message(msg_type=_MsgAppendResponse, to=m.from_, index=committed, commit=committed)  # type: ignore[arg-type]
            self._send(to_send)
            return

        to_send = Message(msg_type=_MsgAppendResponse, to=m.from_)  # type: ignore[arg-type]
        res = self.raft_log.maybe_append(m.index, m.log_term, m.commit, m.entries)
        if res is not None:
            to_send.index = res[1]
        else:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "[%d] rejected msgApp [logterm: %d, index: %d] from %d (our term there: %s)",
                    self.id,
                    m.log_term,
                    m.index,
                    m.from_,
                    self._term_or_none(m.index),
                )
            hint_index = min(m.index, self.raft_log.last_index())
            hint_index, hint_term = self.raft_log.find_conflict_by_term(hint_index, m.log_term)
            if hint_term is None:
                raise InvariantError(f"term({hint_index}) must be valid")
            to_send.index = m.index
            to_send.reject = True
            to_send.reject_hint = hint_index
            to_send.log_term = hint_term
        to_send.commit = self.raft_log.committed
        self._send(to_send)

    def handle_heartbeat(self, m: Message) -> None:
        """handle_heartbeat commits up to m.commit and answers with m's context and our commit."""
        self.raft_log.commit_to(m.commit)
        if self.pending_request_snapshot != INVALID_INDEX:
            self._send_request_snapshot()
            return
        to_send = Message(msg_type=_MsgHeartbeatResponse, to=m.from_, commit=self.raft_log.committed)  # type: ignore[arg-type]
        to_send.context = m.context
        self._send(to_send)

    def handle_snapshot(self, m: Message) -> None:
        """handle_snapshot restores m's snapshot if it is newer than our commit; answers with our
        last index (restored) or commit index (ignored)."""
        sindex, sterm = m.snapshot.metadata.index, m.snapshot.metadata.term
        if self.restore(m.snapshot):
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "[%d] [commit: %d, term: %d] restored snapshot [index: %d, term: %d]",
                    self.id,
                    self.raft_log.committed,
                    self.term,
                    sindex,
                    sterm,
                )
            index = self.raft_log.last_index()
        else:
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "[%d] [commit: %d] ignored snapshot [index: %d, term: %d]",
                    self.id,
                    self.raft_log.committed,
                    sindex,
                    sterm,
                )
            index = self.raft_log.committed
        self._send(Message(msg_type=_MsgAppendResponse, to=m.from_, index=index))  # type: ignore[arg-type]

    def restore(self, snapshot: Snapshot) -> bool:
        """restore recovers the log and the configuration from snapshot (copied); returns False when it
        is older than the commit index, when this node is not a follower (it then moves to the next
        term) or not in the snapshot's configuration, or when the log already has the snapshot's
        last entry (then only the commit index moves)."""
        snap = snapshot
        meta = snap.metadata
        if meta.index < self.raft_log.committed:
            return False
        if self.state != _FOLLOWER:
            # Defense in depth: a non-follower must never restore a snapshot.
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("[%d] non-follower attempted to restore snapshot (%s)", self.id, self.state.name)
            self.become_follower(self.term + 1, INVALID_INDEX)
            return False
        cs = meta.conf_state
        self_id = self.id
        if (
            self_id not in cs.voters
            and self_id not in cs.learners
            and self_id not in cs.voters_outgoing
        ):
            # (learners_next need not be checked: its members are in voters_outgoing.)
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("[%d] attempted to restore snapshot but it is not in the ConfState %s", self.id, cs)
            return False

        if self.pending_request_snapshot == INVALID_INDEX and self.raft_log.match_term(meta.index, meta.term):
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "[%d] fast-forwarded commit to snapshot [index: %d, term: %d]", self.id, meta.index, meta.term
                )
            self.raft_log.commit_to(meta.index)
            return False

        owned = Snapshot()
        owned.CopyFrom(snap)
        snap_index, snap_term = owned.metadata.index, owned.metadata.term
        self.raft_log.restore(owned)
        cs = owned.metadata.conf_state
        self.prs.clear()
        last_index = self.raft_log.last_index()
        try:
            restore_conf(self.prs, last_index, cs)
        except RaftError as e:
            raise InvariantError(f"unable to restore config {cs}: {e}") from e
        new_cs = self.post_conf_change()
        if not conf_state_eq(cs, new_cs):
            raise InvariantError(f"invalid restore: {cs} != {new_cs}")

        pr = self.prs.get(self.id)
        if pr is not None:
            pr.maybe_update(pr.next_idx - 1)
        self.pending_request_snapshot = INVALID_INDEX
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "[%d] restored snapshot commit=%d last_index=%d last_term=%d snapshot_index=%d snapshot_term=%d",
                self.id,
                self.raft_log.committed,
                self.raft_log.last_index(),
                self.raft_log.last_term(),
                snap_index,
                snap_term,
            )
        return True

    # ------------------------------------------------------------------ configuration

    def post_conf_change(self) -> ConfState:
        """post_conf_change reacts to a new configuration (promotable, commit with the new quorum,
        probe new peers, answer reads the smaller quorum now acks, abort a transfer to a removed
        node) and returns it as a ConfState."""
        conf = self.prs.conf()
        cs: ConfState = conf.to_conf_state()
        is_voter = bool(conf.voters.contains(self.id))
        self._promotable = is_voter
        if not is_voter and self.state == _LEADER:
            # A removed (or demoted) leader keeps going until it steps down.
            return cs
        if self.state != _LEADER or len(cs.voters) == 0:
            return cs

        if self.maybe_commit():
            self.bcast_append()
        else:
            # Probe new peers at once rather than after a heartbeat interval.
            self_id = self.id
            for id_, pr in self.prs.iter():
                if id_ != self_id:
                    self._maybe_send_append(id_, pr, False)

        # A smaller quorum may ack pending reads already (all of them with a single voter).
        ctx = self.read_only.last_pending_request_ctx()
        if ctx is not None:
            acks = self.read_only.recv_ack(self.id, ctx)
            if acks is not None and self.prs.has_quorum(acks):
                for rs in self.read_only.advance(ctx):
                    to_send = self._handle_ready_read_index(rs.req, rs.index)
                    if to_send is not None:
                        self._send(to_send)

        if self.lead_transferee is not None and not self.prs.conf().voters.contains(self.lead_transferee):
            self.abort_leader_transfer()
        return cs

    def has_pending_conf(self) -> bool:
        """has_pending_conf: a conf change may be unapplied (may be a false positive)."""
        return self.pending_conf_index > self.raft_log.applied

    def should_bcast_commit(self) -> bool:
        return not self._skip_bcast_commit or self.has_pending_conf()

    def apply_conf_change(self, cc: ConfChangeV2 | ConfChange) -> ConfState:
        """apply_conf_change applies cc (a ConfChange is turned into a V2 first): a simple change,
        entering or leaving a joint configuration. Raises ConfChangeError for an invalid change."""
        if isinstance(cc, ConfChange):
            cc = into_v2(cc)
        changer = Changer(self.prs)
        if leave_joint(cc):
            cfg, changes = changer.leave_joint()
        else:
            auto_leave = enter_joint(cc)
            if auto_leave is not None:
                cfg, changes = changer.enter_joint(auto_leave, cc.changes)
            else:
                cfg, changes = changer.simple(cc.changes)
        self.prs.apply_conf(cfg, changes, self.raft_log.last_index())
        return self.post_conf_change()

    def load_state(self, hs: HardState) -> None:
        """load_state sets term, vote and commit from hs; hs.commit must lie in [committed, last]."""
        if hs.commit < self.raft_log.committed or hs.commit > self.raft_log.last_index():
            raise InvariantError(
                f"hs.commit {hs.commit} is out of range [{self.raft_log.committed}, {self.raft_log.last_index()}]"
            )
        self.raft_log.committed = hs.commit
        self.term = hs.term
        self.vote = hs.vote

    # ------------------------------------------------------------------ misc

    def send_timeout_now(self, to: int) -> None:
        """send_timeout_now tells `to` to campaign at once (leader transfer)."""
        self._send(_new_message(to, _MsgTimeoutNow))

    def abort_leader_transfer(self) -> None:
        self.lead_transferee = None

    def _send_request_snapshot(self) -> None:
        m = Message(msg_type=_MsgAppendResponse)  # type: ignore[arg-type]
        m.index = self.raft_log.committed
        m.reject = True
        m.reject_hint = self.raft_log.last_index()
        m.to = self.leader_id
        m.request_snapshot = self.pending_request_snapshot
        m.log_term = self.raft_log.term(m.reject_hint)
        self._send(m)

    def _handle_ready_read_index(self, req: Message, index: int) -> Message | None:
        """_handle_ready_read_index answers req at `index`: a local request becomes a ReadState, a
        remote one a MsgReadIndexResp to return."""
        if req.from_ == INVALID_ID or req.from_ == self.id:
            self.read_states.append(ReadState(index, bytes(req.entries[0].data)))
            return None
        to_send = Message(msg_type=_MsgReadIndexResp, to=req.from_, index=index)  # type: ignore[arg-type]
        to_send.entries.extend(req.entries)
        return to_send

    def reduce_uncommitted_size(self, ents: Sequence[Entry]) -> None:
        """reduce_uncommitted_size subtracts committed ents from a leader's uncommitted size."""
        if self.state != _LEADER:
            return
        if not self.uncommitted_state.maybe_reduce_uncommitted_size(ents):
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug(
                    "[%d] try to reduce uncommitted size less than 0, first index of pending ents is %d",
                    self.id,
                    ents[0].index,
                )

    def maybe_increase_uncommitted_size(self, ents: Sequence[Entry]) -> bool:
        return self.uncommitted_state.maybe_increase_uncommitted_size(ents)

    def uncommitted_size(self) -> int:
        return self.uncommitted_state.uncommitted_size

    def __repr__(self) -> str:
        return (
            f"Raft(id={self.id}, term={self.term}, vote={self.vote}, state={self.state.name}, "
            f"leader_id={self.leader_id}, committed={self.raft_log.committed})"
        )



"""raftstore.store.peer: one region's peer on a store (TiKV's peer.rs / fsm/peer.rs, reduced to what is built).

A Peer is a RawNode on a PeerStorage plus the commands waiting on it:

- `_writes`: write commands accepted this round, proposed together at the round's collect: all of them
  become as few entries as fit raft_entry_max_size (usually ONE entry carrying one merged RaftCmdRequest),
  stepped in one MsgPropose;
- `proposals`: proposed commands by (index, term), answered when their entry is applied. An error answers
  "not applied" only when that is certain (cmd.py's rule): another term applied at that index, or the
  empty entry raft put in place of a refused conf change, answers StaleCommand. A proposal whose result
  the peer cannot know answers UndeterminedResult: the applied index jumped past it through a snapshot,
  or the peer is destroyed with it in flight (its entry may still commit on the other peers);
- `reads`: read commands batched per round under one ReadIndex context, served once the applied index
  reaches the read index the leader confirmed with a quorum (linearizable; lease reads are not built).

Conf changes (ChangePeer, ChangePeerV2) are checked as TiKV's propose_conf_change does (no pending conf
change, applied to the current term, a change raft's Changer accepts, never removing or demoting the
leader) and proposed as raft conf change entries whose ConfChange context is the command. Once applied
(apply.py), raft learns the change (apply_conf_change) and the region moves on; a peer that is removed is
marked `pending_destroy` and the store destroys it (store_core.py). A leader tells the peers a change
removed at once, with a gc message (is_tombstone), so that a peer that may never learn the commit of its
removal does not wait for an election timeout to find out.

Commit broadcast (TiKV's): raft runs with skip_bcast_commit, so a commit that moves no entries sends no
empty append of its own; followers learn it with the next append or heartbeat (one message and one follower
round less per write). An urgent admin command (split, conf change, ComputeHash: TiKV's is_urgent_request)
or a new leader turns the eager broadcast back on until the leader has applied up to that index
(`_last_urgent`), so every replica applies it at once.

Part of the sans-IO store core: no IO; it reads the engines through PeerStorage and KvEngine reads.
"""

from __future__ import annotations

import logging
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..engine import keys
from ..engine.base import CF_RAFT, KvEngine
from ..proto.eraftpb_pb2 import (
    ConfChange,
    ConfChangeSingle,
    ConfChangeTransition,
    ConfChangeType,
    ConfChangeV2,
    Entry,
    HardState,
    Message,
    MessageType,
)
from ..proto.errorpb_pb2 import Error
from ..proto.metapb_pb2 import Peer as PeerMeta
from ..proto.metapb_pb2 import PeerRole, Region
from ..proto.raft_cmdpb_pb2 import (
    AdminCmdType,
    ChangePeerRequest,
    CmdType,
    RaftCmdRequest,
    RaftCmdResponse,
)
from ..proto.raft_serverpb_pb2 import ExtraMessageType, RaftMessage
from ..raft.confchange.changer import Changer
from ..raft.config import Config
from ..raft.errors import ConfChangeError, InvariantError, ProposalDroppedError
from ..raft.raft import StateRole
from ..raft.raw_node import RawNode
from ..raft.read_only import ReadState
from .apply import ApplyResult, HashResult
from .cmd import (
    Callback,
    CmdResult,
    ConsistencyState,
    check_keys_in_region,
    check_region_epoch,
    error_response,
    mismatch_peer_id,
    not_leader,
    other_error,
    raft_entry_too_large,
    region_not_found,
    resolve_cf,
    server_is_busy,
    stale_command,
    store_not_match,
    undetermined_result,
    verify_hash_cmd,
)
from .lease import Lease
from .peer_storage import PeerStorage
from .write import RoundStage, WriteTask

if TYPE_CHECKING:
    from ..engine.engines import Engines
    from .store_core import StoreConfig

__all__ = ["Peer", "Proposal", "ReadBatch", "Answer", "is_initial_msg", "to_conf_change"]

logger = logging.getLogger("raftstore.store")

# Answer: a callback and the result it is to be called with (the driver calls it).
Answer = tuple[Callback, CmdResult]


@dataclass(slots=True)
class _Waiter:
    """_Waiter: one proposer's command inside a merged command: its responses are [start, start + count);
    count None: the whole response (an admin command, proposed alone)."""

    cb: Callback
    start: int
    count: int | None


@dataclass(slots=True)
class Proposal:
    """Proposal: a merged command appended at (index, term), and the proposers waiting on it."""

    index: int
    term: int
    waiters: list[_Waiter]


@dataclass(slots=True)
class ReadBatch:
    """ReadBatch: the read commands of one round under one ReadIndex context; `read_index` is set when
    the leader confirmed it (the ReadState came back); `issued` once raft was asked."""

    ctx: bytes
    reads: list[tuple[RaftCmdRequest, Callback]] = field(default_factory=list)
    issued: bool = False
    read_index: int | None = None
    # issued_at: the clock when raft was asked (its heartbeats leave after): a confirmation renews the lease.
    issued_at: float = 0.0


class Peer:
    """Peer: the RawNode, PeerStorage and waiting commands of one region on one store (module docstring)."""

    def __init__(
        self,
        store_id: int,
        engines: Engines,
        region: Region,
        peer_id: int,
        cfg: StoreConfig,
        *,
        apply_states: dict[int, bytes] | None = None,
    ) -> None:
        """A Peer on the region's persisted states; `apply_states` (peer_storage.load_apply_states, the
        store's load path) hands over the apply state read by one scan for every region at once."""
        self.store_id = store_id
        self.peer_id = peer_id
        self.cfg = cfg
        self.storage = PeerStorage(
            engines, region, peer_id, tag=f"[region {region.id}] {peer_id}", apply_states=apply_states
        )
        raft_cfg = Config(
            peer_id,
            election_tick=cfg.election_tick,
            heartbeat_tick=cfg.heartbeat_tick,
            applied=self.storage.applied_index(),
            max_size_per_msg=cfg.max_size_per_msg,
            max_inflight_msgs=cfg.max_inflight_msgs,
            check_quorum=True,
            pre_vote=True,
            skip_bcast_commit=True,
        )
        self.raft_group = RawNode(raft_cfg, self.storage, seed=cfg.seed * 1_000_003 + peer_id)
        if not self.storage.is_initialized():
            self._load_uninit_hard_state(engines)
        self._writes: list[tuple[RaftCmdRequest, Callback]] = []
        # _admins: admin commands accepted this round; each is proposed alone, as its own entry.
        self._admins: list[tuple[RaftCmdRequest, Callback]] = []
        self.proposals: deque[Proposal] = deque()
        self.reads: deque[ReadBatch] = deque()
        self._next_read_id = 0
        # committed: entries handed out as committed by this round's Ready, applied after the round persists.
        self.committed: list[Entry] = []
        # after_snapshot: the messages of the Ready that staged the snapshot being applied, sent once its
        # apply job succeeded (TiKV's apply_snap_ctx.msgs): the leader must not count this peer caught up
        # (nor transfer leadership to it) while its log starts past its applied index.
        self.after_snapshot: list[RaftMessage] = []
        # _last_urgent: the index up to which commits are broadcast eagerly (module docstring; None: lazy).
        self._last_urgent: int | None = None
        # raft_log_size_hint: command bytes applied since the last compaction (TiKV's, roughly scaled down
        # on each compaction); gc_pending: a CompactLog moved the truncated index and its log GC is due.
        self.raft_log_size_hint = 0
        self.gc_pending = False
        # _compact_proposed: the highest compact index this leader proposed (no repeat while it applies).
        self._compact_proposed = 0
        # _peer_cache: peers learned from messages (TiKV's peer_cache): an uninitialized peer's region lists
        # no peers, yet it must answer its leader.
        self._peer_cache: dict[int, PeerMeta] = {}
        # pending_destroy: the peer is to be destroyed (removed by a conf change, a gc message, or a
        # message to a newer peer of its region); the store does it at its next collect.
        self.pending_destroy = False
        # hib_votes: a leader's hibernation poll, the peers that agreed (None: no poll); hib_agreed: the
        # (term, leader) whose hibernate request this follower agreed to (hibernate.py).
        self.hib_votes: set[int] | None = None
        self.hib_agreed: tuple[int, int] | None = None
        # lease: the leader lease of lease reads (lease.py), None unless cfg.lease_read.
        self.lease = Lease(cfg.max_lease) if cfg.lease_read else None
        # consistency: the last consistency check applied here (ComputeHash, then VerifyHash).
        self.consistency: ConsistencyState | None = None
        # leader_missing_since: the tick since which no leader was heard from (None: heard since the last
        # stale check); check_stale_peers: whom a stale check asks, the region's peers at conf_ver
        # check_stale_conf_ver or newer ones a MsgCheckStalePeerResponse named (TiKV's).
        self.leader_missing_since: int | None = None
        self.check_stale_conf_ver = 0
        self.check_stale_peers: list[PeerMeta] = []

    # -- state --------------------------------------------------------------------------------------

    @property
    def region(self) -> Region:
        return self.storage.region

    @property
    def region_id(self) -> int:
        return self.storage.region.id

    @property
    def term(self) -> int:
        return int(self.raft_group.raft.term)

    def is_leader(self) -> bool:
        return bool(self.raft_group.raft.state == StateRole.LEADER)

    def meta_peer(self, peer_id: int) -> PeerMeta | None:
        """meta_peer is the region's metapb.Peer of that id, None when the region does not list it."""
        for p in self.storage.region.peers:
            if p.id == peer_id:
                return p
        return self._peer_cache.get(peer_id)

    def insert_peer_cache(self, peer: PeerMeta) -> None:
        """insert_peer_cache remembers a peer a message came from (its store, to answer it)."""
        if peer.id and peer.id not in self._peer_cache:
            self._peer_cache[peer.id] = PeerMeta(id=peer.id, store_id=peer.store_id, role=peer.role)

    def leader(self) -> PeerMeta | None:
        """leader is the metapb.Peer this peer believes leads the region (None when unknown)."""
        return self.meta_peer(self.raft_group.raft.leader_id)

    def has_waiting(self) -> bool:
        """has_waiting: writes, admin commands, reads or a log GC are waiting for a round's collect."""
        return bool(self._writes or self._admins or self.gc_pending) or any(not b.issued for b in self.reads)

    # -- accepting commands -------------------------------------------------------------------------

    def check_command(self, cmd: RaftCmdRequest) -> Error | None:
        """check_command: TiKV's pre-propose checks, in TiKV's order: store id, peer id, leadership,
        term, epoch, keys, entry size. None when the command may be proposed."""
        header = cmd.header
        if header.peer.store_id != self.store_id:
            return store_not_match(header.peer.store_id, self.store_id)
        if header.peer.id != self.peer_id:
            return mismatch_peer_id(header.peer.id, self.peer_id)
        if not self.is_leader():
            return not_leader(self.region_id, self.leader())
        if header.term and self.term > header.term + 1:
            return stale_command(f"stale term {header.term}, current term {self.term}")
        error = check_region_epoch(cmd, self.region) or check_keys_in_region(cmd, self.region)
        if error is not None:
            return error
        size = cmd.ByteSize()
        if size > self.cfg.raft_entry_max_size:
            return raft_entry_too_large(self.region_id, size)
        return None

    def add_write(self, cmd: RaftCmdRequest, cb: Callback) -> Error | None:
        """add_write queues a checked write command for this round's proposal (ServerIsBusy over the limit)."""
        if len(self.proposals) + len(self._writes) >= self.cfg.max_pending_proposals:
            return server_is_busy(f"region {self.region_id} has {self.cfg.max_pending_proposals} pending proposals")
        self._writes.append((cmd, cb))
        return None

    def add_admin(self, cmd: RaftCmdRequest, cb: Callback) -> None:
        """add_admin queues a checked admin command (proposed through the log, alone in its entry)."""
        self._admins.append((cmd, cb))

    def check_conf_change(self, cmd: RaftCmdRequest) -> Error | None:
        """check_conf_change: TiKV's propose_conf_change and check_conf_change checks, None when cmd (a
        ChangePeer or ChangePeerV2) may be proposed: no conf change pending (nor queued this round), the
        peer applied an entry of its term, raft's Changer accepts the change, roles match the change types
        (AddNode a voter, AddLearnerNode a learner), no peer twice, a voter is never removed directly in a
        joint change, several changes touch a voter, and the leader is neither removed nor demoted."""
        raft = self.raft_group.raft
        if raft.has_pending_conf() or any(_is_conf_change(c) for c, _ in self._admins):
            return other_error(f"[region {self.region_id}] there is a pending conf change, try later")
        applied = self.storage.applied_index()
        if self.storage.term(applied) != self.term:
            return other_error(f"[region {self.region_id}] peer has not applied to current term")
        changes = _change_requests(cmd)
        cc = to_conf_change(cmd)
        try:
            changer = Changer(raft.prs)
            v2 = cc if isinstance(cc, ConfChangeV2) else None
            if v2 is not None and not v2.changes:
                changer.leave_joint()
            elif v2 is not None and len(v2.changes) > 1:
                changer.enter_joint(False, v2.changes)
            else:
                changer.simple([ConfChangeSingle(change_type=c.change_type, node_id=c.peer.id) for c in changes])
        except ConfChangeError as err:
            return other_error(f"[region {self.region_id}] invalid conf change: {err}")
        if not changes:
            me = self.meta_peer(self.peer_id)
            if me is not None and me.role == PeerRole.DemotingVoter:
                return other_error("ignore leave joint command that demoting leader")
            return None
        return self._check_changes(changes)

    def _check_changes(self, changes: list[ChangePeerRequest]) -> Error | None:
        joint = len(changes) > 1
        seen: set[int] = set()
        voters = set(self.raft_group.raft.prs.conf().voters.ids())
        only_learners = True
        for cp in changes:
            kind, peer = cp.change_type, cp.peer
            current = self.meta_peer(peer.id)
            if kind == ConfChangeType.RemoveNode and joint and current is not None and current.role == PeerRole.Voter:
                return other_error(f"{peer.id}: can not remove voter directly")
            if peer.id in seen:
                return other_error(f"have multiple commands for the same peer {peer.id}")
            seen.add(peer.id)
            demote = kind == ConfChangeType.AddLearnerNode and not joint
            if peer.id == self.peer_id and (kind == ConfChangeType.RemoveNode or demote):
                return other_error("ignore remove leader or demote leader")
            if peer.id in voters or kind == ConfChangeType.AddNode:
                only_learners = False
        if joint and only_learners:
            return other_error("multiple changes that only effect learner")
        return None

    def add_read(self, cmd: RaftCmdRequest, cb: Callback) -> None:
        """add_read adds a checked read command to this round's read batch."""
        if not self.reads or self.reads[-1].issued:
            self._next_read_id += 1
            self.reads.append(ReadBatch(self._next_read_id.to_bytes(8, "big")))
        self.reads[-1].reads.append((cmd, cb))

    # -- the round: propose, ready -------------------------------------------------------------------

    def propose_waiting(self, answers: list[Answer], now: float = 0.0) -> None:
        """propose_waiting proposes this round's writes as merged commands (as few entries as fit
        raft_entry_max_size) in one MsgPropose, and asks raft for a read index for the round's reads
        once the leader has committed an entry of its term (raft drops a read index before that).
        `now` (StoreCore.clock) marks the appends and the read index for the lease."""
        raft = self.raft_group.raft
        last = raft.raft_log.last_index()
        if self._writes:
            writes, self._writes = self._writes, []
            self._propose(self._merge(writes), answers)
        if self._admins:
            admins, self._admins = self._admins, []
            for cmd, cb in admins:
                if _is_conf_change(cmd):
                    self._propose_conf_change(cmd, cb, answers)
                else:
                    self._propose([(cmd, [_Waiter(cb, 0, None)])], answers)
                if _is_urgent(cmd) and self.is_leader():
                    self._broadcast_commits_until(raft.raft_log.last_index())
        if self.lease is not None and raft.raft_log.last_index() > last and self.is_leader():
            self.lease.mark(raft.raft_log.last_index(), now)
        if self.reads and not self.reads[-1].issued and self.is_leader() and raft.commit_to_current_term():
            batch = self.reads[-1]
            batch.issued, batch.issued_at = True, now
            self.raft_group.read_index(batch.ctx)

    def _propose(self, cmds: list[tuple[RaftCmdRequest, list[_Waiter]]], answers: list[Answer]) -> None:
        """_propose steps the commands as one MsgPropose (one entry each) and remembers them by (index,
        term); a peer that no longer leads, or a proposal raft drops, answers every waiter NotLeader."""
        if not self.is_leader():
            err = not_leader(self.region_id, self.leader())
            answers.extend((w.cb, CmdResult(error_response(err, self.term))) for _, ws in cmds for w in ws)
            return
        raft = self.raft_group.raft
        first = raft.raft_log.last_index() + 1
        try:
            self.raft_group.propose_batch(cmd.SerializeToString() for cmd, _ in cmds)
        except ProposalDroppedError:
            # Dropped while a leader transfer is under way (or the leader is gone): NotLeader, hinting at
            # the transferee, so that a client retries there.
            transferee = raft.lead_transferee
            hint = self.meta_peer(transferee) if transferee is not None else self.leader()
            err = not_leader(self.region_id, hint)
            answers.extend((w.cb, CmdResult(error_response(err, self.term))) for _, ws in cmds for w in ws)
            return
        if raft.raft_log.last_index() != first + len(cmds) - 1:
            raise InvariantError(f"[region {self.region_id}] {len(cmds)} proposals did not land at {first}")
        term = self.term
        self.proposals.extend(Proposal(first + i, term, ws) for i, (_, ws) in enumerate(cmds))

    def _propose_conf_change(self, cmd: RaftCmdRequest, cb: Callback, answers: list[Answer]) -> None:
        """_propose_conf_change proposes cmd as a raft conf change entry (the command in its context);
        NotLeader when this peer no longer leads or raft drops it."""
        raft = self.raft_group.raft
        first = raft.raft_log.last_index() + 1
        if self.is_leader():
            try:
                self.raft_group.propose_conf_change(b"", to_conf_change(cmd))
            except ProposalDroppedError:
                pass
        if not self.is_leader() or raft.raft_log.last_index() != first:
            answers.append((cb, CmdResult(error_response(not_leader(self.region_id, self.leader()), self.term))))
            return
        logger.info("[region %d] %d proposes conf change %s at %d", self.region_id, self.peer_id, _describe(cmd), first)
        self.proposals.append(Proposal(first, self.term, [_Waiter(cb, 0, None)]))

    def _merge(self, writes: list[tuple[RaftCmdRequest, Callback]]) -> list[tuple[RaftCmdRequest, list[_Waiter]]]:
        """_merge packs writes, in order, into merged commands of at most raft_entry_max_size bytes each
        (TiKV's BatchRaftCmdRequestBuilder): one header (this peer, the current epoch), the requests of
        every command concatenated, and where each proposer's responses start."""
        limit = self.cfg.raft_entry_max_size
        out: list[tuple[RaftCmdRequest, list[_Waiter]]] = []
        size = limit + 1
        for cmd, cb in writes:
            cmd_size = cmd.ByteSize()
            if size + cmd_size > limit:
                merged = self.new_cmd()
                out.append((merged, []))
                size = merged.ByteSize()
            merged, waiters = out[-1]
            waiters.append(_Waiter(cb, len(merged.requests), len(cmd.requests)))
            merged.requests.extend(cmd.requests)
            size += cmd_size
        return out

    def new_cmd(self) -> RaftCmdRequest:
        """new_cmd is an empty command of this peer: its region, itself, the current epoch."""
        cmd = RaftCmdRequest()
        cmd.header.region_id = self.region_id
        cmd.header.peer.CopyFrom(self.meta_peer(self.peer_id) or PeerMeta(id=self.peer_id, store_id=self.store_id))
        cmd.header.region_epoch.CopyFrom(self.region.region_epoch)
        return cmd

    # -- raft log GC ------------------------------------------------------------------------------------

    def on_raft_gc_log_tick(self) -> None:
        """on_raft_gc_log_tick is TiKV's GC policy, run by a leader every raft_log_gc_tick_interval ticks.
        It keeps the entries a follower still needs (compacts to the lowest matched index) once at least
        raft_log_gc_threshold of them are replicated to everyone; when applied − first index reaches
        raft_log_gc_count_limit or the size hint raft_log_gc_size_limit, it compacts anyway (to the middle
        of the log at least: a follower that far behind will need a snapshot). Never past the persisted
        index. Proposes CompactLog{compact_index - 1, its term} as TiKV does."""
        if not self.is_leader():
            return
        cfg, storage, raft = self.cfg, self.storage, self.raft_group.raft
        applied, first, last = storage.applied_index(), storage.first_index(), storage.last_index()
        replicated = min(pr.matched for _, pr in raft.prs.iter())
        if (applied > first and applied - first >= cfg.raft_log_gc_count_limit) or (
            self.raft_log_size_hint >= cfg.raft_log_gc_size_limit
        ):
            compact = max(first + (last - first) // 2, replicated)
        elif replicated < first or last - first < 3 or replicated - first < cfg.raft_log_gc_threshold:
            return
        else:
            compact = replicated
        compact = min(compact, raft.raft_log.persisted, applied) - 1
        if compact < first or compact <= self._compact_proposed:
            return
        self._compact_proposed = compact
        cmd = self.new_cmd()
        cmd.admin_request.cmd_type = AdminCmdType.CompactLog
        cmd.admin_request.compact_log.compact_index = compact
        cmd.admin_request.compact_log.compact_term = storage.term(compact)
        cmd.admin_request.compact_log.voter_replicated_index = replicated
        self._admins.append((cmd, _log_failure))

    def stage_log_gc(self, task: WriteTask) -> None:
        """stage_log_gc stages the apply state (with the new truncated state) into task's KV writes, which
        write_tasks syncs first, and the deletion of the log up to it into the raft batch."""
        self.storage.save_apply_state_to(task)
        self.storage.schedule_log_gc(task)
        self.gc_pending = False

    def handle_ready(
        self, messages: list[RaftMessage], answers: list[Answer], now: float = 0.0, stage: RoundStage | None = None
    ) -> WriteTask:
        """handle_ready takes the peer's Ready: messages a leader may send before persisting go to
        `messages`, entries and hard state are staged into the returned WriteTask (made with the round's
        `stage` when given, see write.RoundStage; whose `messages` are
        those raft allows only after it is durable), read states are recorded and committed entries kept
        for this round's apply. The Ready is advanced asynchronously: on_persisted reports it durable.
        With lease reads, a change of role ends the lease (a new leader marks its first entry at `now`)
        and what a quorum acknowledged renews it (lease.py)."""
        rg = self.raft_group
        rd = rg.ready()
        if rd.ss is not None and rd.ss.raft_state != StateRole.LEADER:
            self._fail_reads(answers)
        elif rd.ss is not None:
            self._broadcast_commits_until(rg.raft.raft_log.last_index())
        if rd.ss is not None and self.lease is not None:
            self.lease.expire()
            if self.is_leader():
                self.lease.mark(rg.raft.raft_log.last_index(), now)
        messages.extend(self.wrap_messages(rd.take_messages()))
        task = WriteTask(self.region_id, self.peer_id, rd.number, stage)
        task.must_sync = rd.must_sync
        initialized = self.storage.is_initialized()
        self.storage.handle_raft_ready(rd, task)
        if not initialized:
            self._stage_uninit_hard_state(rd.hs, task)
        if rd.read_states:
            self._on_read_states(rd.take_read_states())
        if self.lease is not None and self.lease.marks and self._may_renew_lease():
            self.lease.on_committed(rg.raft.raft_log.committed)
        committed = rd.take_committed_entries()
        if committed:
            self.committed.extend(committed)
            if self._last_urgent is not None and committed[-1].index >= self._last_urgent:
                self._last_urgent = None
                rg.skip_bcast_commit(True)
        task.messages.extend(self.wrap_messages(rd.take_persisted_messages()))
        rg.advance_append_async(rd)
        return task

    def _broadcast_commits_until(self, index: int) -> None:
        """_broadcast_commits_until turns raft's eager commit broadcast on until an entry at index or later
        is handed out to apply (module docstring)."""
        self._last_urgent = index
        self.raft_group.skip_bcast_commit(False)

    def _load_uninit_hard_state(self, engines: Engines) -> None:
        """_load_uninit_hard_state: an uninitialized peer takes back the term and vote its store kept for
        the region (keys.uninit_hard_state_key), so that a restart does not let it vote twice in a term."""
        raw = engines.kv.get(CF_RAFT, keys.uninit_hard_state_key(self.region_id))
        if raw is not None:
            hs = HardState.FromString(raw)
            raft = self.raft_group.raft
            raft.load_state(HardState(term=hs.term, vote=hs.vote, commit=raft.raft_log.committed))

    def _stage_uninit_hard_state(self, hs: HardState | None, task: WriteTask) -> None:
        """_stage_uninit_hard_state (for a peer uninitialized before this Ready): PeerStorage persists no
        hard state for an uninitialized peer (TiKV), so the store keeps its term and vote (synced before the
        vote is answered: a KV write makes the round sync); once a snapshot initializes the peer, PeerStorage
        has them and the store's copy goes. Initialized peers never get here (nothing on their hot path)."""
        key = keys.uninit_hard_state_key(self.region_id)
        if self.storage.is_initialized():
            task.delete_kv(CF_RAFT, key)
        elif hs is not None:
            task.put_kv(CF_RAFT, key, hs.SerializeToString())

    def wrap_messages(self, msgs: list[Message]) -> list[RaftMessage]:
        """wrap_messages wraps raft messages in RaftMessage with the region, both peers and the epoch;
        a message to a peer the region does not list is dropped. An initial message (a vote, or a
        heartbeat to a peer that has nothing yet) carries the region's range, as TiKV's does, so that the
        receiving store can check a peer it would create against its own regions."""
        region = self.region
        me = self.meta_peer(self.peer_id) or PeerMeta(id=self.peer_id, store_id=self.store_id)
        out = []
        for m in msgs:
            to = self.meta_peer(m.to)
            if to is None:
                logger.warning("[region %d] %d drops a message to unknown peer %d", region.id, self.peer_id, m.to)
                continue
            rm = RaftMessage(region_id=region.id, from_peer=me, to_peer=to, message=m)
            rm.region_epoch.CopyFrom(region.region_epoch)
            if is_initial_msg(m):
                rm.start_key, rm.end_key = region.start_key, region.end_key
            out.append(rm)
        return out

    def gc_message(self, to: PeerMeta) -> RaftMessage:
        """gc_message tells peer `to` it is no longer in the region (is_tombstone, the current epoch)."""
        me = self.meta_peer(self.peer_id) or PeerMeta(id=self.peer_id, store_id=self.store_id)
        rm = RaftMessage(region_id=self.region_id, from_peer=me, to_peer=to, is_tombstone=True)
        rm.region_epoch.CopyFrom(self.region.region_epoch)
        return rm

    def _on_read_states(self, states: list[ReadState]) -> None:
        by_ctx = {b.ctx: b for b in self.reads}
        for state in states:
            batch = by_ctx.get(bytes(state.request_ctx))
            if batch is not None:
                batch.read_index = state.index
                if self.lease is not None and self._may_renew_lease():
                    self.lease.renew(batch.issued_at)

    def _may_renew_lease(self) -> bool:
        """_may_renew_lease: a leader with no leader transfer under way (the transferee's campaign goes
        through the followers' leases)."""
        return self.is_leader() and self.raft_group.raft.lead_transferee is None

    def lease_read(self, kv: KvEngine, cmd: RaftCmdRequest, now: float) -> CmdResult | None:
        """lease_read serves a checked read at once, without a raft round, when this leader's lease
        holds at `now` (lease reads on), no transfer is under way and it has applied an entry of its
        term (so everything an earlier leader committed); None: it goes through ReadIndex."""
        lease = self.lease
        if lease is None or not lease.valid(now) or not self._may_renew_lease():
            return None
        if self.storage.term(self.storage.applied_index()) != self.term:
            return None
        return self._exec_read(kv, cmd)

    def _fail_reads(self, answers: list[Answer]) -> None:
        """_fail_reads answers every waiting read when the peer stops leading: its read index requests
        are gone with the leadership (NotLeader with the new leader, if known)."""
        err = not_leader(self.region_id, self.leader())
        for batch in self.reads:
            answers.extend((cb, CmdResult(error_response(err, self.term))) for _, cb in batch.reads)
        self.reads.clear()

    # -- after apply ----------------------------------------------------------------------------------

    def on_applied(self, result: ApplyResult, answers: list[Answer], outbox: list[RaftMessage] | None = None) -> None:
        """on_applied answers the proposals whose index was applied: the response when the entry at the
        proposal's index has the proposal's term, otherwise as _answer_passed says; the raft group learns
        the new applied index, the conf changes applied (and a leader's gc messages to the peers they
        removed go to outbox), and the caches drop what no one needs."""
        if result.conf_changes or result.region is not None:
            self._on_region_changed(result, outbox)
        proposals = self.proposals
        term = self.term
        for index, entry_term, resp in result.responses:
            while proposals and proposals[0].index <= index:
                p = proposals.popleft()
                if p.index == index and p.term == entry_term:
                    resp.header.current_term = term
                    answers.extend((w.cb, CmdResult(_slice(resp, w))) for w in p.waiters)
                else:
                    self._answer_passed(p, result.entries, answers)
        applied = self.storage.applied_index()
        while proposals and proposals[0].index <= applied:
            self._answer_passed(proposals.popleft(), result.entries, answers)
        if result.entries:
            self.raft_group.advance_apply_to(applied)
            self._compact_cache(applied)
        self.raft_log_size_hint += result.data_size
        if result.truncated_to is not None and result.truncated_from is not None:
            self._on_compacted(result.truncated_from, result.truncated_to, applied)

    def check_stale_state(self, now: int, max_missing: int) -> list[RaftMessage]:
        """check_stale_state: TiKV's check_stale_state and bcast_check_stale_peer_message, at tick `now`.
        A leader, or a peer that heard from its leader since the last check, is valid; one that heard from
        no leader for max_missing ticks sends MsgCheckStalePeer to the peers it knows of its region (and
        again each max_missing ticks after)."""
        if self.is_leader() or self.pending_destroy or self.storage.is_applying_snapshot():
            self.leader_missing_since = None
            return []
        if self.leader_missing_since is None:
            self.leader_missing_since = now
            return []
        if now - self.leader_missing_since < max_missing:
            return []
        self.leader_missing_since = now
        region = self.region
        if self.check_stale_conf_ver < region.region_epoch.conf_ver:
            self.check_stale_conf_ver = region.region_epoch.conf_ver
            self.check_stale_peers = list(region.peers)
        logger.info("[region %d] %d: no leader for %d ticks, asking %s whether it is still a member",
                    self.region_id, self.peer_id, max_missing, [p.id for p in self.check_stale_peers])
        me = self._me()
        out = []
        for p in self.check_stale_peers:
            if p.id != self.peer_id:
                rm = RaftMessage(region_id=self.region_id, from_peer=me, to_peer=p)
                rm.region_epoch.CopyFrom(region.region_epoch)
                rm.extra_msg.type = ExtraMessageType.MsgCheckStalePeer
                out.append(rm)
        return out

    def on_check_stale_peer_response(self, conf_ver: int, peers: list[PeerMeta]) -> None:
        """on_check_stale_peer_response: a tombstone of the region at conf_ver named its peers; a stale
        check asks them from now on when they are newer than whom it asks."""
        if self.check_stale_conf_ver < conf_ver:
            self.check_stale_conf_ver = conf_ver
            self.check_stale_peers = peers

    def on_hash_results(self, hashes: list[HashResult]) -> int:
        """on_hash_results: TiKV's on_hash_computed and verify_and_store_hash, for the consistency check
        entries of one apply, in log order; returns the number of mismatches found. A ComputeHash is
        remembered (index, hash), and a leader proposes VerifyHash with its hash; a VerifyHash of the
        remembered index settles `verified` (a mismatch is logged at ERROR), one of another index (a
        newer check started, or this peer skipped the ComputeHash through a snapshot) is ignored."""
        mismatches = 0
        for h in hashes:
            state = self.consistency
            if not h.verify:
                self.consistency = ConsistencyState(h.index, h.hash)
                if self.is_leader():
                    self._admins.append((verify_hash_cmd(self.region, self._me(), h.index, h.hash), _log_failure))
            elif state is None or state.index != h.of_index:
                logger.info("[region %d] %d: no hash of index %d to verify (last %s)", self.region_id,
                            self.peer_id, h.of_index, state.index if state else None)
            else:
                ok = state.hash == h.hash
                self.consistency = ConsistencyState(state.index, state.hash, ok)
                if not ok:
                    mismatches += 1
                    logger.error("[region %d] peer %d: CONSISTENCY MISMATCH at index %d: hash %s, leader's %s",
                                 self.region_id, self.peer_id, state.index, state.hash.hex(), h.hash.hex())
        return mismatches

    def _me(self) -> PeerMeta:
        return self.meta_peer(self.peer_id) or PeerMeta(id=self.peer_id, store_id=self.store_id)

    def _on_region_changed(self, result: ApplyResult, outbox: list[RaftMessage] | None) -> None:
        """_on_region_changed: TiKV's on_ready_change_peer. Raft applies every conf change in log order,
        the region becomes the new one; a peer removed from it is destroyed (pending_destroy)."""
        old = self.region
        removed = [p for p in old.peers if result.region is not None and all(q.id != p.id for q in result.region.peers)]
        for cc in result.conf_changes:
            self.storage.cancel_generating_snap()
            try:
                self.raft_group.apply_conf_change(cc.conf_change)
            except ConfChangeError as err:
                logger.warning("[region %d] %d: raft refuses conf change at %d: %s", self.region_id, self.peer_id, cc.index, err)
        if result.region is not None:
            for p in removed:
                self._peer_cache.pop(p.id, None)
            self.storage.set_region(result.region)
            logger.info("[region %d] %d: region is now %s", self.region_id, self.peer_id, _describe_region(result.region))
        if result.removed_self:
            self.pending_destroy = True
        elif outbox is not None and self.is_leader():
            outbox.extend(self.gc_message(p) for p in removed)

    def is_handling_snapshot(self) -> bool:
        """is_handling_snapshot: a snapshot is being applied, or raft holds one not yet persisted (TiKV's
        is_handling_snapshot || has_pending_snapshot)."""
        return self.storage.is_applying_snapshot() or self.raft_group.snap() is not None

    def on_snapshot_applied(self, answers: list[Answer]) -> None:
        """on_snapshot_applied: the apply job of a staged snapshot finished; raft applied up to it. The
        proposals it covers are answered UndeterminedResult (the snapshot may hold their entries)."""
        applied = self.storage.applied_index()
        self.raft_group.advance_apply_to(applied)
        while self.proposals and self.proposals[0].index <= applied:
            self._answer_passed(self.proposals.popleft(), [], answers)

    def fail_all(self, answers: list[Answer]) -> None:
        """fail_all answers every command waiting on the peer, which is destroyed: the commands not yet
        proposed and the reads RegionNotFound (they certainly did nothing); the proposals
        UndeterminedResult (their entries may still commit on the other peers)."""
        err = error_response(region_not_found(self.region_id), self.term)
        answers.extend((cb, CmdResult(err)) for _, cb in self._writes + self._admins)
        for p in self.proposals:
            self._answer(p, undetermined_result(self.region_id, p.index, p.term, "the peer was destroyed"), answers)
        answers.extend((cb, CmdResult(err)) for b in self.reads for _, cb in b.reads)
        self._writes, self._admins = [], []
        self.proposals.clear()
        self.reads.clear()

    def _on_compacted(self, old: int, new: int, applied: int) -> None:
        """_on_compacted: a CompactLog moved the truncated index from old to new (apply state in memory and
        in the unsynced apply batch): the log GC is due (next round), a snapshot generation below it is
        canceled, and the size hint keeps the share of the applied log that stays (TiKV's
        on_ready_compact_log)."""
        self.gc_pending = True
        self.storage.cancel_generating_snap(new + 1)
        self.raft_log_size_hint = self.raft_log_size_hint * (applied - new) // max(applied - old, 1)

    def _answer_passed(self, p: Proposal, entries: list[Entry], answers: list[Answer]) -> None:
        """_answer_passed answers a proposal whose index was applied without its response. When the
        entry applied there is among `entries` (this round's, contiguous), it can never commit:
        another term took the index (overwritten), or it is the empty entry raft put in place of a conf
        change it refused: StaleCommand. Otherwise the applied index jumped past the proposal through a
        snapshot, which may hold its entry: UndeterminedResult."""
        at = p.index - entries[0].index if entries else -1
        if 0 <= at < len(entries):
            term = entries[at].term
            why = f"overwritten by an entry of term {term}" if term != p.term else "replaced by an empty entry"
            error = stale_command(f"entry at {p.index} of term {p.term} was {why}")
        else:
            error = undetermined_result(self.region_id, p.index, p.term, "the peer applied past it by a snapshot")
        self._answer(p, error, answers)

    def _answer(self, p: Proposal, error: Error, answers: list[Answer]) -> None:
        resp = error_response(error, self.term)
        answers.extend((w.cb, CmdResult(resp)) for w in p.waiters)

    def _compact_cache(self, applied: int) -> None:
        """_compact_cache drops cached entries that are applied here and, on a leader, replicated to every
        follower (a lagging follower keeps its entries cached)."""
        keep_from = applied + 1
        if self.is_leader():
            keep_from = min(keep_from, min(pr.matched for _, pr in self.raft_group.raft.prs.iter()) + 1)
        self.storage.compact_entry_cache(keep_from)

    def serve_reads(self, kv: KvEngine, answers: list[Answer]) -> None:
        """serve_reads executes the read batches whose read index is applied, in order (the KV engine
        then holds everything up to the applied index)."""
        applied = self.storage.applied_index()
        reads = self.reads
        while reads and reads[0].read_index is not None and reads[0].read_index <= applied:
            for cmd, cb in reads.popleft().reads:
                answers.append((cb, self._exec_read(kv, cmd)))

    def _exec_read(self, kv: KvEngine, cmd: RaftCmdRequest) -> CmdResult:
        """_exec_read runs a read command on the KV engine after checking it again (the region may have
        changed while it waited)."""
        region = self.region
        error = check_region_epoch(cmd, region) or check_keys_in_region(cmd, region)
        if error is not None:
            return CmdResult(error_response(error, self.term))
        resp = RaftCmdResponse()
        resp.header.current_term = self.term
        snapshot = None
        for req in cmd.requests:
            out = resp.responses.add(cmd_type=req.cmd_type)
            if req.cmd_type == CmdType.Get:
                value = kv.get(resolve_cf(req.get.cf) or "", keys.data_key(req.get.key))
                if value is None:
                    out.get.not_found = True
                else:
                    out.get.value = value
            else:
                out.snap.region.CopyFrom(region)
                snapshot = kv.snapshot()
        return CmdResult(resp, snapshot)


def is_initial_msg(m: Message) -> bool:
    """is_initial_msg: TiKV's, a message that may create a peer on the receiving store: a vote request, or
    a heartbeat with commit 0 (the leader knows the peer has nothing yet)."""
    t = m.msg_type
    return t in (MessageType.MsgRequestVote, MessageType.MsgRequestPreVote) or (
        t == MessageType.MsgHeartbeat and m.commit == 0
    )


def _is_conf_change(cmd: RaftCmdRequest) -> bool:
    return cmd.HasField("admin_request") and cmd.admin_request.cmd_type in (
        AdminCmdType.ChangePeer,
        AdminCmdType.ChangePeerV2,
    )


def _is_urgent(cmd: RaftCmdRequest) -> bool:
    """_is_urgent: an admin command every replica should apply at once (TiKV's is_urgent_request)."""
    return cmd.HasField("admin_request") and cmd.admin_request.cmd_type in (
        AdminCmdType.Split,
        AdminCmdType.BatchSplit,
        AdminCmdType.ChangePeer,
        AdminCmdType.ChangePeerV2,
        AdminCmdType.ComputeHash,
    )


def _change_requests(cmd: RaftCmdRequest) -> list[ChangePeerRequest]:
    admin = cmd.admin_request
    return [admin.change_peer] if admin.cmd_type == AdminCmdType.ChangePeer else list(admin.change_peer_v2.changes)


def to_conf_change(cmd: RaftCmdRequest) -> ConfChange | ConfChangeV2:
    """to_conf_change is raft's conf change for a ChangePeer / ChangePeerV2 command, the command serialized
    in its context (TiKV's ChangePeerI::to_confchange): a ChangePeer is a ConfChange; a ChangePeerV2 with
    at most one change an Auto ConfChangeV2 (simple, or leaving a joint state), with more an Explicit one
    (entering a joint state that a later empty ChangePeerV2 leaves)."""
    data = cmd.SerializeToString()
    admin = cmd.admin_request
    if admin.cmd_type == AdminCmdType.ChangePeer:
        cp = admin.change_peer
        return ConfChange(change_type=cp.change_type, node_id=cp.peer.id, context=data)
    changes = admin.change_peer_v2.changes
    cc = ConfChangeV2(context=data)
    cc.transition = ConfChangeTransition.Auto if len(changes) <= 1 else ConfChangeTransition.Explicit
    cc.changes.extend(ConfChangeSingle(change_type=c.change_type, node_id=c.peer.id) for c in changes)
    return cc


def _describe(cmd: RaftCmdRequest) -> str:
    changes = _change_requests(cmd)
    if not changes:
        return "leave joint"
    return ", ".join(f"{ConfChangeType.Name(c.change_type)} {c.peer.id}@{c.peer.store_id}" for c in changes)


def _describe_region(region: Region) -> str:
    peers = " ".join(f"{p.id}@{p.store_id}:{PeerRole.Name(p.role)}" for p in region.peers)
    return f"{{conf_ver {region.region_epoch.conf_ver}, version {region.region_epoch.version}, peers {peers}}}"


def _log_failure(result: CmdResult) -> None:
    """_log_failure answers a command the store proposed itself (CompactLog): only a failure is logged."""
    if result.error is not None:
        logger.info("store-proposed command failed: %s", result.error.message)


def _slice(resp: RaftCmdResponse, w: _Waiter) -> RaftCmdResponse:
    """_slice is one proposer's part of a merged command's response (all of it on error or for an admin)."""
    if w.count is None or resp.header.HasField("error"):
        return resp
    out = RaftCmdResponse()
    out.header.CopyFrom(resp.header)
    out.responses.extend(resp.responses[w.start : w.start + w.count])
    return out

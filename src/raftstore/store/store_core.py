"""raftstore.store.store_core: StoreCore, the deterministic, sans-IO core of a store.

A store hosts many region peers on one pair of engines. StoreCore takes inputs — `tick()`, raft messages
(`step`), proposals (`propose`) — and hands its outputs to a driver in the three phases of a round; it has
no threads, sockets or clocks, reads the engines but never writes them. The round (etcd's RawNode/Node
split: the driver does the IO)::

    wr = core.collect()               # 1-2: propose the round's commands; take the Readies of the peers
                                      #      that have one (only peers touched since the last round)
    send(wr.messages)                 # leaders' messages may go before persisting (raft thesis 10.2.1)
    write_tasks(engines, wr.tasks)    # 3: ONE group commit for every region (an fsync per engine written)
    ar = core.on_persisted(wr)        # raft learns what is durable; committed entries of ALL regions are
                                      #    applied into ONE KV batch, apply states in it
    send(ar.messages)                 # 4: messages raft allows only after persisting
    engines.kv.write(ar.batch.wb)     # 5: the apply batch, WITHOUT sync (replayed from the log on restart)
    for cb, result in core.on_applied(ar):   # 6: answers, after apply; reads served from the engine
        cb(result)

`raftstore.store.driver.run_round` is that loop for one store in one process.

Commands (RaftCmdRequest) are checked when proposed (store, peer, leadership, term, epoch, keys, size:
see cmd.py) and answered with errorpb errors; the writes a region accepts in one round become one
proposal (one entry carrying a merged command); reads wait for a ReadIndex confirmed by a quorum.
"""

from __future__ import annotations

import bisect
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..engine import keys
from ..proto.errorpb_pb2 import Error
from ..proto.metapb_pb2 import Region
from ..proto.raft_cmdpb_pb2 import AdminCmdType, RaftCmdRequest, RaftCmdResponse
from ..proto.raft_serverpb_pb2 import PeerState, RaftMessage
from ..raft.errors import InvariantError, RaftError
from .apply import ApplyBatch, ApplyResult, apply_entries
from .bootstrap import check_store_ident
from .cmd import (
    Callback,
    CmdKind,
    CmdResult,
    cmd_kind,
    error_response,
    key_in_region,
    other_error,
    region_not_found,
)
from .peer import Answer, Peer
from .peer_storage import load_region_states
from .write import WriteTask

if TYPE_CHECKING:
    from ..engine.engines import Engines

__all__ = ["StoreConfig", "StoreCore", "WriteRound", "ApplyRound"]

logger = logging.getLogger("raftstore.store")


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """StoreConfig: the store's raft and command settings (TiKV's defaults where they apply).

    `election_tick` / `heartbeat_tick` are in ticks of the driver; `raft_entry_max_size` bounds one
    command (RaftEntryTooLarge) and one merged proposal; `max_pending_proposals` per region
    (ServerIsBusy above it); `seed` seeds every peer's election timeouts (with its peer id).

    Raft log GC (a leader's policy, see Peer.on_raft_gc_log_tick), TiKV's defaults for a 96 MiB region:
    run every `raft_log_gc_tick_interval` ticks; compact what every follower has once
    `raft_log_gc_threshold` entries are; compact anyway past `raft_log_gc_count_limit` entries or
    `raft_log_gc_size_limit` bytes of applied commands."""

    election_tick: int = 10
    heartbeat_tick: int = 2
    raft_entry_max_size: int = 8 * 1024 * 1024
    max_size_per_msg: int = 1024 * 1024
    max_inflight_msgs: int = 256
    max_pending_proposals: int = 100_000
    raft_log_gc_tick_interval: int = 10
    raft_log_gc_threshold: int = 50
    raft_log_gc_count_limit: int = 73_728
    raft_log_gc_size_limit: int = 72 * 1024 * 1024
    seed: int = 0


@dataclass(slots=True)
class WriteRound:
    """WriteRound: phase 1 of a round. `tasks` go to ONE write_tasks call; `messages` may be sent at once.
    `peers` are the peers whose Readies the round took, in task order."""

    tasks: list[WriteTask]
    messages: list[RaftMessage]
    peers: list[Peer] = field(default_factory=list)


@dataclass(slots=True)
class ApplyRound:
    """ApplyRound: phase 2 of a round. `messages` may be sent now (the tasks are durable); `batch.wb` is
    the one KV write batch of the round's apply (written without sync); `results` what each region applied."""

    batch: ApplyBatch
    messages: list[RaftMessage]
    results: list[ApplyResult]
    peers: list[Peer]


class StoreCore:
    """StoreCore: the peers of one store and the round that drives them (see the module docstring).

    Building one checks the engines' StoreIdent (StoreIdentError for another store's or cluster's data,
    or none) and loads every region the store hosts, skipping tombstones. Invariant: `_dirty` holds the
    ids of the regions touched since their last Ready (stepped, proposed to, ticked with work, persisted);
    only they are looked at by collect, so an idle region costs nothing per round.
    """

    def __init__(self, engines: Engines, cluster_id: int, store_id: int, config: StoreConfig | None = None) -> None:
        check_store_ident(engines, cluster_id, store_id)
        self.engines = engines
        self.cluster_id = cluster_id
        self.store_id = store_id
        self.config = config if config is not None else StoreConfig()
        self.peers: dict[int, Peer] = {}
        # _range_ends / _range_ids: the router, a sorted index of the regions' encoded end keys.
        self._range_ends: list[bytes] = []
        self._range_ids: list[int] = []
        self._dirty: dict[int, None] = {}
        self._answers: list[Answer] = []
        self._round: WriteRound | ApplyRound | None = None
        self._ticks = 0
        for state in load_region_states(engines):
            if state.state == PeerState.Tombstone:
                continue
            me = next((p for p in state.region.peers if p.store_id == store_id), None)
            if me is None:
                logger.warning("store %d: region %d lists no peer here; not loaded", store_id, state.region.id)
                continue
            self._add_peer(Peer(store_id, engines, state.region, me.id, self.config))

    def _add_peer(self, peer: Peer) -> None:
        region = peer.region
        self.peers[region.id] = peer
        end = keys.enc_end_key(region)
        at = bisect.bisect_left(self._range_ends, end)
        self._range_ends.insert(at, end)
        self._range_ids.insert(at, region.id)
        self._dirty[region.id] = None

    # -- queries -------------------------------------------------------------------------------------

    def region_for_key(self, key: bytes) -> Region | None:
        """region_for_key is the region this store hosts that holds key (TiKV's region_ranges lookup)."""
        dkey = keys.data_key(key)
        at = bisect.bisect_right(self._range_ends, dkey)
        if at == len(self._range_ends):
            return None
        region = self.peers[self._range_ids[at]].region
        return region if key_in_region(key, region) else None

    def peer(self, region_id: int) -> Peer | None:
        return self.peers.get(region_id)

    # -- inputs --------------------------------------------------------------------------------------

    def tick(self) -> None:
        """tick advances every peer's logical clock by one tick; every raft_log_gc_tick_interval ticks the
        leaders run the log GC policy."""
        self._ticks += 1
        gc_tick = self._ticks % self.config.raft_log_gc_tick_interval == 0
        dirty = self._dirty
        for region_id, peer in self.peers.items():
            if peer.raft_group.tick():
                dirty[region_id] = None
            if gc_tick and peer.is_leader():
                peer.on_raft_gc_log_tick()
                if peer.has_waiting():
                    dirty[region_id] = None

    def step(self, msg: RaftMessage) -> None:
        """step hands a raft message to its peer (the message is taken over). Messages for another store,
        an unknown region or another peer id are dropped, as are those raft refuses."""
        if msg.to_peer.store_id != self.store_id:
            logger.warning("store %d: dropping a message for store %d", self.store_id, msg.to_peer.store_id)
            return
        peer = self.peers.get(msg.region_id)
        if peer is None or msg.to_peer.id != peer.peer_id:
            logger.debug("store %d: dropping a message for region %d peer %d", self.store_id, msg.region_id, msg.to_peer.id)
            return
        try:
            peer.raft_group.step(msg.message)
        except RaftError as err:
            logger.debug("[region %d] %d drops a message: %r", msg.region_id, peer.peer_id, err)
            return
        self._dirty[msg.region_id] = None

    def propose(self, cmd: RaftCmdRequest, cb: Callback) -> None:
        """propose accepts a command; cb is answered (through on_applied's answers) with its result: after
        apply for a write, once its read index is applied for a read, at once for a refused command or
        a TransferLeader (TiKV answers it when the transfer starts)."""
        error = self._accept(cmd, cb)
        if error is not None:
            peer = self.peers.get(cmd.header.region_id)
            self._answers.append((cb, CmdResult(error_response(error, peer.term if peer else 0))))

    def _accept(self, cmd: RaftCmdRequest, cb: Callback) -> Error | None:
        region_id = cmd.header.region_id
        peer = self.peers.get(region_id)
        if peer is None:
            return region_not_found(region_id)
        kind = cmd_kind(cmd)
        if not isinstance(kind, CmdKind):
            return kind
        error = peer.check_command(cmd)
        if error is not None:
            return error
        self._dirty[region_id] = None
        if kind is CmdKind.READ:
            peer.add_read(cmd, cb)
            return None
        if kind is CmdKind.WRITE:
            return peer.add_write(cmd, cb)
        admin = cmd.admin_request
        if admin.cmd_type == AdminCmdType.TransferLeader:
            peer.raft_group.transfer_leader(admin.transfer_leader.peer.id)
            resp = RaftCmdResponse()
            resp.header.current_term = peer.term
            resp.admin_response.cmd_type = AdminCmdType.TransferLeader
            resp.admin_response.transfer_leader.SetInParent()
            self._answers.append((cb, CmdResult(resp)))
            return None
        if admin.cmd_type == AdminCmdType.CompactLog:
            peer.add_admin(cmd, cb)
            return None
        return other_error(f"admin command {AdminCmdType.Name(admin.cmd_type)} is not supported yet")

    # -- the round -----------------------------------------------------------------------------------

    def collect(self) -> WriteRound:
        """collect (phase 1): proposes the commands accepted since the last round and takes the Ready of
        every touched peer that has one; returns the write tasks (for ONE write_tasks call) and the
        messages that may be sent before persisting."""
        if self._round is not None:
            raise InvariantError("collect called before the previous round finished")
        dirty, self._dirty = self._dirty, {}
        wr = WriteRound([], [])
        answers = self._answers
        for region_id in dirty:
            peer = self.peers.get(region_id)
            if peer is None:
                continue
            peer.propose_waiting(answers)
            task = peer.handle_ready(wr.messages, answers) if peer.raft_group.has_ready() else None
            if peer.gc_pending:
                task = task or WriteTask(region_id, peer.peer_id, 0)
                peer.stage_log_gc(task)
            if task is not None:
                wr.tasks.append(task)
                wr.peers.append(peer)
            if peer.has_waiting():
                self._dirty[region_id] = None
        self._round = wr
        return wr

    def on_persisted(self, wr: WriteRound) -> ApplyRound:
        """on_persisted (phase 2): the round's tasks are durable. Raft learns it, the messages it held
        back are released, and the committed entries of every region are applied into one KV batch."""
        if self._round is not wr:
            raise InvariantError("on_persisted of a round that is not the one collected")
        messages: list[RaftMessage] = []
        dirty = self._dirty
        for task, peer in zip(wr.tasks, wr.peers):
            peer.storage.on_persisted(task)
            if task.ready_number:  # 0: a task of log GC alone, no Ready
                peer.raft_group.on_persist_ready(task.ready_number)
            messages.extend(task.messages)  # type: ignore[arg-type]
            dirty[peer.region_id] = None
        batch = ApplyBatch(self.engines.kv)
        results = []
        for peer in wr.peers:
            if peer.committed:
                entries, peer.committed = peer.committed, []
                results.append(apply_entries(batch, peer.region, peer.storage.apply_state, entries))
                peer.storage.update_term_cache(entries)
        ar = ApplyRound(batch, messages, results, wr.peers)
        self._round = ar
        return ar

    def on_applied(self, ar: ApplyRound) -> list[Answer]:
        """on_applied (phase 3): the apply batch is written. Returns every answer due: applied proposals,
        reads whose read index is applied, and commands refused since the last round."""
        if self._round is not ar:
            raise InvariantError("on_applied of a round that is not the one persisted")
        self._round = None
        answers, self._answers = self._answers, []
        for result in ar.results:
            self.peers[result.region_id].on_applied(result, answers)
        kv = self.engines.kv
        for peer in ar.peers:
            peer.serve_reads(kv, answers)
        return answers

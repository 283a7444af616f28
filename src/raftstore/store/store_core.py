"""raftstore.store.store_core: StoreCore, the deterministic, sans-IO core of a store.

A store hosts many region peers on one pair of engines. StoreCore takes inputs — `tick()`, raft messages
(`step`), proposals (`propose`) — and hands its outputs to a driver in the three phases of a round; it has
no threads, sockets or clocks, reads the engines but never writes them. The round (etcd's RawNode/Node
split: the driver does the IO)::

    wr = core.collect()               # 1-2: propose the round's commands; take the Readies of the peers
                                      #      that have one (only peers touched since the last round)
    send(wr.messages)                 # leaders' messages may go before persisting (raft thesis 10.2.1)
    write_round(engines, wr.stage)    # 3: ONE group commit for every region (an fsync per engine written)
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

Snapshots: the core does none of their IO. `collect` hands the driver the generation requests of leaders
(`WriteRound.gen_requests`, taken when the engine agrees with memory: at the start of a round); a
follower's Ready with a snapshot is staged like any other (PeerStorage.handle_raft_ready) and, once
durable, its apply job is in `ApplyRound.snap_tasks` for the driver to run. Until the job is done the
peer's Readies wait (TiKV's check_applying_snap). A MsgSnapshot must reach `step` only after its files
are in the store's SnapManager; the sender learns the outcome through `report_snapshot`.

Peer lifecycle (TiKV's fsm/store.rs and fsm/peer.rs): a message for an unknown region creates an
uninitialized peer after maybe_create_peer's checks (an initial message, not older than the region's
tombstone, no overlap with a hosted region); a snapshot initializes it. A peer removed by a conf change,
told by a gc message (`is_tombstone`) that it is stale, or addressed by a newer peer of its region is
destroyed at the next collect: a tombstone in that round's write task, the region's data range deleted in
that round's apply batch (so after the tombstone is durable). A vote or a MsgCheckStalePeer from a peer a
newer epoch no longer lists is answered with a gc message (see _send_gc); a peer that heard from no leader
for long asks its region's peers (MsgCheckStalePeer, check_stale_state).
"""

from __future__ import annotations

import bisect
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from google.protobuf.message import DecodeError

from ..engine import keys
from ..engine.base import CF_RAFT, DATA_CFS
from ..proto.eraftpb_pb2 import MessageType
from ..proto.errorpb_pb2 import Error
from ..proto.metapb_pb2 import Peer as PeerMeta
from ..proto.metapb_pb2 import Region, RegionEpoch
from ..proto.raft_cmdpb_pb2 import AdminCmdType, RaftCmdRequest, RaftCmdResponse
from ..proto.raft_serverpb_pb2 import (
    ExtraMessageType,
    PeerState,
    RaftMessage,
    RaftSnapshotData,
    RegionLocalState,
)
from ..raft.errors import InvariantError, RaftError
from ..raft.raw_node import SnapshotStatus
from .apply import ApplyBatch, ApplyResult, apply_entries
from .bootstrap import check_store_ident
from .cmd import (
    Callback,
    CmdKind,
    CmdResult,
    ConsistencyState,
    cmd_kind,
    error_response,
    key_in_region,
    other_error,
    region_not_found,
)
from .hibernate import (
    Hibernation,
    extra_message,
    follower_may_agree,
    follower_may_sleep,
    leader_idle,
    probe_message,
)
from .peer import Answer, Peer, is_initial_msg
from .peer_storage import load_apply_states, load_region_states
from .snap.status import CheckApplyingSnapStatus
from .write import RoundStage, WriteTask

if TYPE_CHECKING:
    from ..engine.engines import Engines
    from .snap.apply import ApplySnapTask
    from .snap.gen import GenSnapRequest

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
    `raft_log_gc_size_limit` bytes of applied commands.

    Hibernation (hibernate.py): with `hibernate_regions`, an idle region stops ticking on every store
    once all its peers agree; a store probes every `hibernate_probe_ticks` ticks the stores that lead its
    sleeping followers, and wakes those followers when one stops answering.

    Lease reads (lease.py), off by default: with `lease_read`, a leader serves a read at once while its
    lease holds, for `max_lease` base ticks of the driver's clock (StoreCore.clock) from the last round a
    quorum acknowledged; max_lease must be below election_tick."""

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
    # peer_stale_state_check_interval, max_leader_missing_duration (ticks): TiKV's check_stale_state.
    # Every interval, a peer that heard from no leader for the duration asks the other peers of its region
    # whether it is still a member (MsgCheckStalePeer), and again after each such duration.
    peer_stale_state_check_interval: int = 100
    max_leader_missing_duration: int = 1000
    seed: int = 0
    hibernate_regions: bool = True
    hibernate_probe_ticks: int = 10
    lease_read: bool = False
    max_lease: float = 8.0

    def __post_init__(self) -> None:
        if self.lease_read and not 0 < self.max_lease < self.election_tick:
            raise ValueError(f"max_lease {self.max_lease} must lie in (0, election_tick {self.election_tick})")


@dataclass(slots=True)
class WriteRound:
    """WriteRound: phase 1 of a round. `tasks` go to ONE write_round call (every one is made with `stage`,
    which holds what they stage); `messages` may be sent at once. `peers` are the peers whose Readies the
    round took, in task order."""

    tasks: list[WriteTask]
    messages: list[RaftMessage]
    stage: RoundStage = field(default_factory=RoundStage)
    peers: list[Peer] = field(default_factory=list)
    # gen_requests: snapshot generations for the driver's snapshot worker (each completes or fails its task).
    gen_requests: list[GenSnapRequest] = field(default_factory=list)
    # destroyed: peers destroyed this round (their tombstone is among the tasks).
    destroyed: list[Peer] = field(default_factory=list)


@dataclass(slots=True)
class ApplyRound:
    """ApplyRound: phase 2 of a round. `messages` may be sent now (the tasks are durable); `batch.wb` is
    the one KV write batch of the round's apply (written without sync); `results` what each region applied."""

    batch: ApplyBatch
    messages: list[RaftMessage]
    results: list[ApplyResult]
    peers: list[Peer]
    # snap_tasks: apply jobs of snapshots staged this round (now durable), for the driver's apply worker.
    snap_tasks: list[ApplySnapTask] = field(default_factory=list)


class StoreCore:
    """StoreCore: the peers of one store and the round that drives them (see the module docstring).

    Building one checks the engines' StoreIdent (StoreIdentError for another store's or cluster's data,
    or none) and opens a peer for every region of `regions` (what recover_store returned; by default the
    engines' region states, without tombstones and unfinished snapshot applies). Invariant: `_dirty` holds
    the ids of the regions touched since their last Ready (stepped, proposed to, ticked with work,
    persisted, applying a snapshot); only they are looked at by collect, so an idle region costs nothing
    per round. The router (`_range_ends`, `_range_ids`, `_routed`) indexes the initialized peers only.
    """

    def __init__(
        self,
        engines: Engines,
        cluster_id: int,
        store_id: int,
        config: StoreConfig | None = None,
        regions: list[RegionLocalState] | None = None,
    ) -> None:
        check_store_ident(engines, cluster_id, store_id)
        self.engines = engines
        self.cluster_id = cluster_id
        self.store_id = store_id
        self.config = config if config is not None else StoreConfig()
        self.peers: dict[int, Peer] = {}
        # _range_ends / _range_ids: the router, a sorted index of the regions' encoded end keys; _routed:
        # region id -> the end key it is indexed under.
        self._range_ends: list[bytes] = []
        self._range_ids: list[int] = []
        self._routed: dict[int, bytes] = {}
        self._dirty: dict[int, None] = {}
        self._answers: list[Answer] = []
        # _outbox: messages the core sends on its own (gc messages), handed out at the next collect.
        self._outbox: list[RaftMessage] = []
        self._round: WriteRound | ApplyRound | None = None
        self._ticks = 0
        # _hib: which regions are ticked (all of them unless hibernate_regions); ticked_peers: how many
        # peers the last tick visited.
        self._hib = Hibernation()
        self.ticked_peers = 0
        # _sleep_ticks: how long a follower that agreed goes without its leader's heartbeat before it
        # sleeps: two heartbeats missed, below the election timeout.
        cfg = self.config
        self._sleep_ticks = max(1, min(2 * cfg.heartbeat_tick + 1, cfg.election_tick - 2))
        # clock: the driver's monotonic time in base ticks, read for lease reads (lease.py). By default
        # the count of ticks, which stops with the driver: a driver serving lease reads supplies its
        # monotonic clock (a fake one in tests). lease_reads: reads served by the lease since start.
        self.clock: Callable[[], float] = self._tick_clock
        self.lease_reads = 0
        # consistency_mismatches: consistency checks whose VerifyHash did not match, since start.
        self.consistency_mismatches = 0
        if regions is None:
            regions = [s for s in load_region_states(engines) if s.state not in (PeerState.Tombstone, PeerState.Applying)]
        apply_states = load_apply_states(engines)  # one scan instead of a get per region
        for state in regions:
            me = next((p for p in state.region.peers if p.store_id == store_id), None)
            if me is None:
                logger.warning("store %d: region %d lists no peer here; not loaded", store_id, state.region.id)
                continue
            self._add_peer(Peer(store_id, engines, state.region, me.id, self.config, apply_states=apply_states))

    def _tick_clock(self) -> float:
        return float(self._ticks)

    def _add_peer(self, peer: Peer) -> None:
        self.peers[peer.region_id] = peer
        if peer.storage.is_initialized():
            self._route(peer.region)
        self._dirty[peer.region_id] = None
        self._hib.wake(peer.region_id)

    def _route(self, region: Region) -> None:
        """_route (re)indexes region's range in the router."""
        self._unroute(region.id)
        end = keys.enc_end_key(region)
        at = bisect.bisect_left(self._range_ends, end)
        self._range_ends.insert(at, end)
        self._range_ids.insert(at, region.id)
        self._routed[region.id] = end

    def _unroute(self, region_id: int) -> None:
        end = self._routed.pop(region_id, None)
        if end is None:
            return
        at = bisect.bisect_left(self._range_ends, end)
        while self._range_ids[at] != region_id:
            at += 1
        del self._range_ends[at]
        del self._range_ids[at]

    def _overlapping(self, start_key: bytes, end_key: bytes, region_id: int) -> Region | None:
        """_overlapping is a hosted region other than region_id whose range meets [start_key, end_key)
        (user keys; an empty end is unbounded), None when there is none."""
        start, end = keys.data_key(start_key), keys.data_end_key(end_key)
        at = bisect.bisect_right(self._range_ends, start)
        while at < len(self._range_ends):
            region = self.peers[self._range_ids[at]].region
            if keys.enc_start_key(region) >= end:
                return None
            if region.id != region_id:
                return region
            at += 1
        return None

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

    @property
    def ticks(self) -> int:
        """ticks: how many times tick() ran."""
        return self._ticks

    def leader_count(self) -> int:
        """leader_count: the regions this store leads; O(awake regions) (a leader sleeps as a leader)."""
        awake = (self.peers[r] for r in self._hib.awake)
        return len(self._hib.leaders) + sum(1 for p in awake if p.is_leader())

    def apply_lag(self) -> int:
        """apply_lag: committed but unapplied entries over all regions; O(awake regions) (a hibernated
        region applied everything)."""
        awake = (self.peers[r] for r in self._hib.awake)
        return sum(p.raft_group.raft.raft_log.committed - p.storage.applied_index() for p in awake)

    def hibernated(self, region_id: int) -> bool:
        """hibernated: the store hosts the region and does not tick it (hibernate.py)."""
        return region_id in self.peers and self._hib.asleep(region_id)

    def consistency_state(self, region_id: int) -> ConsistencyState | None:
        """consistency_state is this store's last consistency check of the region (None: none applied
        since the peer started, or no peer here)."""
        peer = self.peers.get(region_id)
        return peer.consistency if peer is not None else None

    # -- inputs --------------------------------------------------------------------------------------

    def tick(self) -> None:
        """tick advances the logical clock of every awake peer by one tick (a hibernated region is not
        visited: the cost is O(awake regions)); a peer handling a snapshot does not tick (TiKV's: until its
        apply job finished, its log starts past its applied index, and an election timeout would make raft
        scan the unapplied entries below it); every raft_log_gc_tick_interval ticks the leaders run the
        log GC policy; with hibernate_regions, idle regions go to sleep and the probes go out."""
        self._ticks += 1
        if self._ticks % self.config.peer_stale_state_check_interval == 0:
            self._check_stale_peers()
        cfg = self.config
        gc_tick = self._ticks % cfg.raft_log_gc_tick_interval == 0
        dirty = self._dirty
        peers = self.peers
        sleepy: list[Peer] = []
        awake = self._hib.awake
        for region_id in awake:
            peer = peers[region_id]
            if peer.is_handling_snapshot():
                dirty[region_id] = None  # collect checks the job (TiKV's on_raft_base_tick)
                continue
            if peer.raft_group.tick():
                dirty[region_id] = None
            if gc_tick and peer.is_leader():
                peer.on_raft_gc_log_tick()
                if peer.has_waiting():
                    dirty[region_id] = None
            if cfg.hibernate_regions and self._check_hibernate(peer):
                sleepy.append(peer)
        self.ticked_peers = len(awake)
        for peer in sleepy:
            leader = None if peer.is_leader() else peer.leader()
            self._hib.sleep(peer.region_id, None if leader is None else leader.store_id, self._ticks)
        if cfg.hibernate_regions and self._ticks % cfg.hibernate_probe_ticks == 0:
            self._probe()

    def _check_hibernate(self, peer: Peer) -> bool:
        """_check_hibernate: after a tick, whether the peer may stop ticking (hibernate.py). A leader
        checks once per election timeout (its check-quorum tick just passed): the first idle check
        starts a poll, each later one asks the peers that have not agreed again, until all have."""
        raft = peer.raft_group.raft
        if not peer.is_leader():
            return follower_may_sleep(peer, self._sleep_ticks)
        if raft.election_elapsed != 0:
            return False
        if not leader_idle(peer):
            peer.hib_votes = None
            return False
        if peer.hib_votes is None:
            peer.hib_votes = set()
        others = [p for p in peer.region.peers if p.id != peer.peer_id]
        if all(p.id in peer.hib_votes for p in others):
            return True
        self._outbox.extend(extra_message(peer, p, ExtraMessageType.MsgHibernateRequest) for p in others)
        return False

    def _probe(self) -> None:
        """_probe wakes the sleeping followers of the stores that stopped answering probes, and probes
        the stores that lead the others (hibernate.py)."""
        hib = self._hib
        for store_id in hib.down_stores(self._ticks, self.config.hibernate_probe_ticks):
            logger.info("store %d: store %d does not answer, waking the regions it leads", self.store_id, store_id)
            for region_id in list(hib.sleepers[store_id]):
                self._wake(region_id)
        me = self.store_id
        self._outbox.extend(probe_message(me, s, ExtraMessageType.MsgHibernateRequest) for s in hib.sleepers)

    def _wake(self, region_id: int) -> None:
        """_wake ticks a sleeping region again; its poll or agreement is over."""
        if self._hib.wake(region_id):
            peer = self.peers[region_id]
            peer.hib_votes = None
            peer.hib_agreed = None

    def _step_probe(self, msg: RaftMessage) -> None:
        """_step_probe: a store-level probe (region 0) is answered; an answer keeps the probed store's
        sleeping followers asleep."""
        kind = msg.extra_msg.type
        if kind == ExtraMessageType.MsgHibernateRequest:
            self._outbox.append(probe_message(self.store_id, msg.from_peer.store_id, ExtraMessageType.MsgHibernateResponse))
        elif kind == ExtraMessageType.MsgHibernateResponse:
            self._hib.on_answer(msg.from_peer.store_id, self._ticks)

    def _step_extra(self, peer: Peer, msg: RaftMessage) -> None:
        """_step_extra: an ExtraMessage of the peer's region (iface.md): hibernation's requests, answers
        and wake-ups."""
        kind, from_peer = msg.extra_msg.type, msg.from_peer
        if kind == ExtraMessageType.MsgHibernateRequest:
            if self.config.hibernate_regions and follower_may_agree(peer, from_peer.id):
                peer.hib_agreed = (peer.term, from_peer.id)
                self._outbox.append(extra_message(peer, from_peer, ExtraMessageType.MsgHibernateResponse))
        elif kind == ExtraMessageType.MsgHibernateResponse:
            if peer.is_leader() and peer.hib_votes is not None:
                peer.hib_votes.add(from_peer.id)
        elif kind == ExtraMessageType.MsgCheckStalePeerResponse:
            peer.on_check_stale_peer_response(msg.region_epoch.conf_ver, list(msg.extra_msg.check_peers))
        elif kind == ExtraMessageType.MsgRegionWakeUp:
            self._wake(peer.region_id)
            if peer.is_leader():
                peer.raft_group.ping()
                self._dirty[peer.region_id] = None

    def _wake_for_command(self, peer: Peer) -> None:
        """_wake_for_command: a command wakes its region and ends the leader's poll (what the followers
        agreed to is past); a sleeping follower also wakes the other peers (MsgRegionWakeUp)."""
        peer.hib_votes = None
        if not self._hib.asleep(peer.region_id):
            return
        if not peer.is_leader():
            others = [p for p in peer.region.peers if p.id != peer.peer_id]
            self._outbox.extend(extra_message(peer, p, ExtraMessageType.MsgRegionWakeUp) for p in others)
        self._wake(peer.region_id)

    def _wake_on_message(self, peer: Peer, msg: RaftMessage) -> None:
        """_wake_on_message: a raft message wakes a sleeping region, except the current-term answers to a
        sleeping leader's last heartbeats and appends; any message but its leader's heartbeat ends a
        follower's agreement to hibernate."""
        m = msg.message
        if m.msg_type != MessageType.MsgHeartbeat:
            peer.hib_agreed = None
        if not self._hib.asleep(peer.region_id):
            return
        if m.term == peer.term and m.msg_type in (MessageType.MsgHeartbeatResponse, MessageType.MsgAppendResponse):
            return
        self._wake(peer.region_id)

    def _check_stale_peers(self) -> None:
        """_check_stale_peers: TiKV's on_check_peer_stale_state_tick, for every peer (asleep or not): one
        that has heard from no leader for max_leader_missing_duration ticks asks its region's other peers
        (MsgCheckStalePeer); a peer that no longer lists it answers with a gc message, which destroys it."""
        for peer in self.peers.values():
            self._outbox.extend(peer.check_stale_state(self._ticks, self.config.max_leader_missing_duration))

    def _answer_stale_check(self, msg: RaftMessage) -> None:
        """_answer_stale_check: a MsgCheckStalePeer for a region this store hosts no peer of (TiKV's StoreFsm
        check_msg). Over a tombstone newer than the asker's epoch: a gc message when the tombstone's region
        does not list the asker's store, else its peers (MsgCheckStalePeerResponse) for the asker to ask."""
        state = self._region_state(msg.region_id)
        if state is None or state.state != PeerState.Tombstone:
            return
        dead = state.region
        if not is_epoch_stale(msg.region_epoch, dead.region_epoch):
            return
        if _find_peer(dead, msg.from_peer.store_id) is None:
            self._send_gc(msg, dead.region_epoch)
            return
        resp = RaftMessage(region_id=msg.region_id, from_peer=msg.to_peer, to_peer=msg.from_peer)
        resp.region_epoch.CopyFrom(dead.region_epoch)
        resp.extra_msg.type = ExtraMessageType.MsgCheckStalePeerResponse
        resp.extra_msg.check_peers.extend(dead.peers)
        self._outbox.append(resp)

    def step(self, msg: RaftMessage) -> None:
        """step hands a raft message to its peer (the message is taken over), TiKV's on_raft_message.

        Dropped: a message for another store or without an epoch, one raft refuses, one a check refuses.
        For an unknown region, maybe_create_peer may create an uninitialized peer. A gc message
        (is_tombstone) destroys a peer whose epoch it proves stale; a message to a newer peer of a region
        destroys the older one here (the sender retries and creates the new one); a vote or a stale check
        from a peer that a newer epoch no longer lists is answered with a gc message. A MsgSnapshot must list the
        target peer and overlap no other hosted region (TiKV's check_snapshot); its files must already
        be in this store's SnapManager."""
        if msg.to_peer.store_id != self.store_id:
            logger.warning("store %d: dropping a message for store %d", self.store_id, msg.to_peer.store_id)
            return
        if msg.region_id == 0 and msg.HasField("extra_msg"):
            self._step_probe(msg)
            return
        if not msg.HasField("region_epoch"):
            logger.warning("store %d: dropping a message without epoch for region %d", self.store_id, msg.region_id)
            return
        peer = self.peers.get(msg.region_id)
        if peer is None:
            if msg.HasField("extra_msg") and msg.extra_msg.type == ExtraMessageType.MsgCheckStalePeer:
                self._answer_stale_check(msg)
            if msg.is_tombstone or msg.HasField("extra_msg"):
                return
            peer = self._maybe_create_peer(msg)
            if peer is None:
                return
        elif self._check_msg(peer, msg):
            return
        if msg.HasField("extra_msg"):
            self._step_extra(peer, msg)
            return
        self._wake_on_message(peer, msg)
        if msg.message.msg_type == MessageType.MsgSnapshot and not self._check_snapshot(peer, msg):
            return
        peer.insert_peer_cache(msg.from_peer)
        try:
            peer.raft_group.step(msg.message)
        except RaftError as err:
            logger.debug("[region %d] %d drops a message: %r", msg.region_id, peer.peer_id, err)
            return
        if msg.from_peer.id == peer.raft_group.raft.leader_id:
            peer.leader_missing_since = None
        self._dirty[msg.region_id] = None

    def report_snapshot(self, region_id: int, to_peer_id: int, status: SnapshotStatus) -> None:
        """report_snapshot: the transport's outcome of sending a MsgSnapshot (with its files) to
        to_peer_id; raft resumes replicating to it (FINISH) or sends a snapshot again (FAILURE)."""
        peer = self.peers.get(region_id)
        if peer is None:
            return
        peer.raft_group.report_snapshot(to_peer_id, status)
        self._dirty[region_id] = None
        self._wake(region_id)

    def report_unreachable(self, region_id: int, to_peer_id: int) -> None:
        """report_unreachable: the transport could not deliver a message of the region to to_peer_id; its
        leader stops pipelining appends to it and probes instead (raft-rs report_unreachable). An unknown
        region is ignored (the peer may have been destroyed meanwhile)."""
        peer = self.peers.get(region_id)
        if peer is None:
            return
        peer.raft_group.report_unreachable(to_peer_id)
        self._dirty[region_id] = None
        self._wake(region_id)

    def _check_msg(self, peer: Peer, msg: RaftMessage) -> bool:
        """_check_msg: TiKV's PeerFsm check_msg and handle_gc_peer_msg; True when msg is consumed."""
        region = peer.region
        if msg.is_tombstone:
            if is_epoch_stale(region.region_epoch, msg.region_epoch) and msg.to_peer.id == peer.peer_id:
                logger.info("[region %d] %d receives a gc message, destroying itself", region.id, peer.peer_id)
                self._mark_destroy(peer)
            return True
        if is_epoch_stale(msg.region_epoch, region.region_epoch) and _find_peer(region, msg.from_peer.store_id) is None:
            self._send_gc(msg, region.region_epoch)
            return True
        if msg.to_peer.id < peer.peer_id:
            return True
        if msg.to_peer.id > peer.peer_id:
            logger.info("[region %d] %d: a message to newer peer %d, destroying itself", region.id, peer.peer_id, msg.to_peer.id)
            self._mark_destroy(peer)
            return True
        return False

    def _send_gc(self, msg: RaftMessage, epoch: RegionEpoch) -> None:
        """_send_gc: TiKV's handle_stale_msg, a gc message (is_tombstone, our epoch) to msg's sender, only
        when msg is a vote or a MsgCheckStalePeer (TiKV's need_gc_msg): a stale peer asks for it by
        campaigning or checking. Any other message is dropped: a new peer's first answers carry the empty
        epoch of an uninitialized region, and a gc message in reply to those, from a replica that has not
        applied the peer's addition yet (a restart replaying its log), would destroy the new peer for good
        (its tombstone's id bars it from ever being created again)."""
        if not (msg.message.msg_type in _VOTES or msg.extra_msg.type == ExtraMessageType.MsgCheckStalePeer):
            return
        logger.info("[region %d] message from stale peer %d, telling it to gc", msg.region_id, msg.from_peer.id)
        gc = RaftMessage(region_id=msg.region_id, from_peer=msg.to_peer, to_peer=msg.from_peer, is_tombstone=True)
        gc.region_epoch.CopyFrom(epoch)
        self._outbox.append(gc)

    def _region_state(self, region_id: int) -> RegionLocalState | None:
        raw = self.engines.kv.get(CF_RAFT, keys.region_state_key(region_id))
        return None if raw is None else RegionLocalState.FromString(raw)

    def _maybe_create_peer(self, msg: RaftMessage) -> Peer | None:
        """_maybe_create_peer: TiKV's StoreFsm check_msg and maybe_create_peer. A region with state on
        disk is created again only over a tombstone that msg's epoch is not older than (else gc, when the
        sender is not in it) and to a newer peer; the message must be an initial one; its range must
        overlap no hosted region. The new peer is uninitialized (a snapshot initializes it)."""
        region_id, target = msg.region_id, msg.to_peer
        state = self._region_state(region_id)
        if state is not None:
            if state.state != PeerState.Tombstone:
                return None
            dead = state.region
            if is_epoch_stale(msg.region_epoch, dead.region_epoch):
                if _find_peer(dead, msg.from_peer.store_id) is None:
                    self._send_gc(msg, dead.region_epoch)
                return None
            local = _find_peer(dead, self.store_id)
            if local is not None and target.id <= local.id:
                return None
        if not is_initial_msg(msg.message):
            return None
        other = self._overlapping(msg.start_key, msg.end_key, region_id)
        if other is not None:
            logger.info("store %d: region %d overlaps region %d, no peer created", self.store_id, region_id, other.id)
            return None
        logger.info("store %d: creating peer %d of region %d", self.store_id, target.id, region_id)
        peer = Peer(self.store_id, self.engines, Region(id=region_id), target.id, self.config)
        self._add_peer(peer)
        return peer

    def _check_snapshot(self, peer: Peer, msg: RaftMessage) -> bool:
        """_check_snapshot: TiKV's check_snapshot, True when the MsgSnapshot may be stepped."""
        try:
            region = RaftSnapshotData.FromString(msg.message.snapshot.data).region
        except DecodeError:
            logger.warning("[region %d] drops a snapshot whose data does not parse", msg.region_id)
            return False
        if all(p.id != msg.to_peer.id for p in region.peers):
            logger.info("[region %d] snapshot doesn't contain to peer %d, skip", msg.region_id, msg.to_peer.id)
            return False
        other = self._overlapping(region.start_key, region.end_key, region.id)
        if other is not None:
            logger.info("[region %d] snapshot overlaps region %d, skip", msg.region_id, other.id)
            return False
        return True

    def _mark_destroy(self, peer: Peer) -> None:
        peer.pending_destroy = True
        self._dirty[peer.region_id] = None

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
        self._wake_for_command(peer)
        kind = cmd_kind(cmd)
        if not isinstance(kind, CmdKind):
            return kind
        error = peer.check_command(cmd)
        if error is not None:
            return error
        self._dirty[region_id] = None
        if kind is CmdKind.READ:
            result = peer.lease_read(self.engines.kv, cmd, self.clock()) if peer.lease is not None else None
            if result is None:
                peer.add_read(cmd, cb)
            else:
                self.lease_reads += 1
                self._answers.append((cb, result))
            return None
        if kind is CmdKind.WRITE:
            return peer.add_write(cmd, cb)
        admin = cmd.admin_request
        if admin.cmd_type == AdminCmdType.TransferLeader:
            if peer.lease is not None:
                peer.lease.expire()
            peer.raft_group.transfer_leader(admin.transfer_leader.peer.id)
            resp = RaftCmdResponse()
            resp.header.current_term = peer.term
            resp.admin_response.cmd_type = AdminCmdType.TransferLeader
            resp.admin_response.transfer_leader.SetInParent()
            self._answers.append((cb, CmdResult(resp)))
            return None
        if admin.cmd_type in (AdminCmdType.ChangePeer, AdminCmdType.ChangePeerV2):
            error = peer.check_conf_change(cmd)
            if error is not None:
                return error
            peer.add_admin(cmd, cb)
            return None
        if admin.cmd_type in _LOGGED_ADMINS:
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
        wr = WriteRound([], self._outbox)
        self._outbox = []
        answers = self._answers
        now = self.clock()
        for region_id in dirty:
            peer = self.peers.get(region_id)
            if peer is None or not self._ready_to_handle(peer, wr):
                continue
            if peer.storage.gen_snap_task is not None:
                request = peer.storage.take_gen_snap_request()
                if request is not None:
                    wr.gen_requests.append(request)
            peer.propose_waiting(answers, now)
            task = peer.handle_ready(wr.messages, answers, now, wr.stage) if peer.raft_group.has_ready() else None
            if peer.gc_pending:
                task = task or WriteTask(region_id, peer.peer_id, 0, wr.stage)
                peer.stage_log_gc(task)
            if task is not None:
                wr.tasks.append(task)
                wr.peers.append(peer)
            if peer.has_waiting():
                self._dirty[region_id] = None
        self._round = wr
        return wr

    def _ready_to_handle(self, peer: Peer, wr: WriteRound) -> bool:
        """_ready_to_handle: whether collect may take the peer's Ready now. A peer applying a snapshot
        waits for the job (TiKV's check_applying_snap; it stays dirty to be checked again); a finished job
        lets raft know what is applied (and answers the proposals it covers, UndeterminedResult). A peer
        due for destruction is destroyed instead."""
        storage = peer.storage
        if storage.is_applying_snapshot():
            status = storage.check_applying_snap()
            if status is CheckApplyingSnapStatus.APPLYING:
                self._dirty[peer.region_id] = None
                return False
            if status is CheckApplyingSnapStatus.SUCCESS:
                peer.on_snapshot_applied(self._answers)
                wr.messages.extend(peer.after_snapshot)
            peer.after_snapshot = []
        if peer.pending_destroy or storage.pending_remove:
            self._destroy(peer, wr)
            return False
        return True

    def _destroy(self, peer: Peer, wr: WriteRound) -> None:
        """_destroy: TiKV's destroy_peer. The peer leaves the store now; its tombstone (PeerStorage.tombstone:
        meta and log cleared, Tombstone state) is one of this round's tasks and its data range is deleted in
        this round's apply batch, after the tombstone is durable. A peer whose snapshot apply failed is
        forgotten without a tombstone, so that the leader's next message creates it again and a new
        snapshot catches it up. Waiting commands are answered (Peer.fail_all): RegionNotFound when they
        certainly did nothing, UndeterminedResult for proposals (their entries may still commit)."""
        storage = peer.storage
        if storage.is_applying_snapshot() and not storage.cancel_applying_snap():
            self._dirty[peer.region_id] = None  # the job is running: destroy once it stops
            return
        task = WriteTask(peer.region_id, peer.peer_id, 0, wr.stage)
        if storage.pending_remove and not peer.pending_destroy:
            storage.clear_meta(task)
            logger.warning("[region %d] %d: snapshot apply failed, peer forgotten", peer.region_id, peer.peer_id)
        else:
            storage.tombstone(task, peer.meta_peer(peer.peer_id) or PeerMeta(id=peer.peer_id, store_id=self.store_id))
            logger.info("[region %d] %d destroyed (tombstone)", peer.region_id, peer.peer_id)
        if not storage.is_initialized():
            task.delete_kv(CF_RAFT, keys.uninit_hard_state_key(peer.region_id))  # Peer._stage_uninit_hard_state
        peer.fail_all(self._answers)
        peer.committed = []
        del self.peers[peer.region_id]
        self._hib.forget(peer.region_id)
        self._unroute(peer.region_id)
        wr.tasks.append(task)
        wr.peers.append(peer)
        wr.destroyed.append(peer)

    def on_persisted(self, wr: WriteRound) -> ApplyRound:
        """on_persisted (phase 2): the round's tasks are durable. Raft learns it, the messages it held
        back are released, and the committed entries of every region are applied into one KV batch. The
        messages of a task that staged a snapshot wait for its apply job (Peer.after_snapshot)."""
        if self._round is not wr:
            raise InvariantError("on_persisted of a round that is not the one collected")
        messages: list[RaftMessage] = []
        dirty = self._dirty
        snap_tasks = []
        for task, peer in zip(wr.tasks, wr.peers):
            job = peer.storage.on_persisted(task)
            if task.ready_number:  # 0: a task of log GC or destruction alone, no Ready
                peer.raft_group.on_persist_ready(task.ready_number)
            if job is not None:
                snap_tasks.append(job)
                self._route(peer.region)
                peer.after_snapshot.extend(task.messages)  # type: ignore[arg-type]
            else:
                messages.extend(task.messages)  # type: ignore[arg-type]
            dirty[peer.region_id] = None
        batch = ApplyBatch(self.engines.kv)
        for peer in wr.destroyed:
            if peer.storage.is_initialized():
                start, end = keys.enc_start_key(peer.region), keys.enc_end_key(peer.region)
                for cf in DATA_CFS:
                    batch.delete_range(cf, start, end)
        results = []
        for peer in wr.peers:
            if peer.committed:
                entries, peer.committed = peer.committed, []
                results.append(apply_entries(batch, peer.region, peer.storage.apply_state, entries, peer.peer_id))
                peer.storage.update_term_cache(entries)
        ar = ApplyRound(batch, messages, results, wr.peers, snap_tasks)
        self._round = ar
        return ar

    def _on_split(self, parent: Peer, regions: list[Region]) -> None:
        """_on_split: TiKV's on_ready_split_region. Each new region with a peer here gets it (its states
        are in the apply batch just written); an uninitialized peer a message created for it is replaced
        (nothing of it is durable). When the parent leads, the new peers campaign at once: the other
        stores' parents applied the same split or will, and their peers vote once created."""
        for region in regions:
            me = _find_peer(region, self.store_id)
            existing = self.peers.get(region.id)
            if me is None or (existing is not None and existing.storage.is_initialized()):
                continue
            if existing is not None:
                del self.peers[region.id]
            peer = Peer(self.store_id, self.engines, region, me.id, self.config)
            self._add_peer(peer)
            if parent.is_leader():
                peer.raft_group.campaign()
            logger.info("[region %d] split from region %d: %s", region.id, parent.region_id, peer.peer_id)

    def on_applied(self, ar: ApplyRound) -> list[Answer]:
        """on_applied (phase 3): the apply batch is written. Returns every answer due: applied proposals,
        reads whose read index is applied, and commands refused since the last round."""
        if self._round is not ar:
            raise InvariantError("on_applied of a round that is not the one persisted")
        self._round = None
        answers, self._answers = self._answers, []
        for result in ar.results:
            peer = self.peers[result.region_id]
            peer.on_applied(result, answers, self._outbox)
            if result.hashes:
                self.consistency_mismatches += peer.on_hash_results(result.hashes)
                if peer.has_waiting():
                    self._dirty[result.region_id] = None
            if result.region is not None or peer.pending_destroy:
                self._dirty[result.region_id] = None
            if result.region is not None and not peer.pending_destroy:
                self._route(peer.region)
            if result.splits:
                self._on_split(peer, result.splits)
        kv = self.engines.kv
        for peer in ar.peers:
            peer.serve_reads(kv, answers)
        return answers


# _VOTES: the raft messages of a campaign (a stale peer that campaigns is told to gc).
_VOTES = (MessageType.MsgRequestVote, MessageType.MsgRequestPreVote)
# _LOGGED_ADMINS: admin commands proposed through the log as they are (conf changes are checked first).
_LOGGED_ADMINS = (AdminCmdType.CompactLog, AdminCmdType.BatchSplit, AdminCmdType.ComputeHash, AdminCmdType.VerifyHash)


def is_epoch_stale(epoch: RegionEpoch, than: RegionEpoch) -> bool:
    """is_epoch_stale: TiKV's util::is_epoch_stale, epoch is older than `than` in version or conf_ver."""
    return bool(epoch.version < than.version or epoch.conf_ver < than.conf_ver)


def _find_peer(region: Region, store_id: int) -> PeerMeta | None:
    return next((p for p in region.peers if p.store_id == store_id), None)

"""raftstore.store.hibernate: idle regions stop ticking (TiKV's hibernate-regions, hibernate_state.rs).

A region is hibernated on a store when its peer there is not ticked: StoreCore.tick visits the awake
peers only (`Hibernation.awake`), so a store of idle regions costs nothing per tick. The protocol:

- The leader checks the region each time its check-quorum tick passes (once per election timeout,
  TiKV's check_before_tick): idle means nothing waits (writes, admin commands, proposals, reads, a
  ReadIndex, a leader transfer, a snapshot) and every peer, itself included, has matched the last
  index, which is committed, persisted and applied here (`leader_idle`). The first idle check starts a
  poll (`Peer.hib_votes`) and sends MsgHibernateRequest to every other peer of the region; each later
  idle check sends the requests again until every peer of the region (learners too, as TiKV) has
  answered; then the leader stops ticking. A check that finds the region busy ends the poll.
- A follower answers MsgHibernateResponse when the request comes from the leader it follows and it has
  nothing uncommitted, unapplied or waiting (`follower_may_agree`); it remembers the (term, leader) it
  agreed to (`Peer.hib_agreed`). Any raft message but a heartbeat from that leader forgets it.
- A follower that agreed stops ticking once it has not heard from its leader for `sleep_ticks`: the
  leader has stopped heartbeating. sleep_ticks is below the election timeout, so a follower woken later
  does not campaign before the leader's next heartbeat.

Wake-ups (`StoreCore._wake`): a proposal or read for the region; a raft message, except a current-term
append or heartbeat response to a sleeping leader (the answers to its last heartbeats arrive after it
slept); MsgRegionWakeUp; a snapshot or unreachable report. A leader woken by MsgRegionWakeUp heartbeats
at once; a follower woken by a command sends MsgRegionWakeUp to the other peers (the command is refused
NotLeader, the client goes to the leader, which may be down).

A sleeping follower whose leader's store dies would never campaign. The store probes, every
`StoreConfig.hibernate_probe_ticks` ticks, each store that leads one of its sleeping followers: a
store-level RaftMessage (region_id 0, no epoch) whose extra_msg is MsgHibernateRequest, answered by that
store with a MsgHibernateResponse. When a probed store has not answered for `PROBE_MISSES` probe
intervals, every sleeping follower it leads wakes, ticks, and elects a new leader if need be. The cost
is one message per such store per interval, whatever the number of regions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..proto.metapb_pb2 import Peer as PeerMeta
from ..proto.raft_serverpb_pb2 import ExtraMessage, ExtraMessageType, RaftMessage
from ..raft.raft import StateRole

if TYPE_CHECKING:
    from .peer import Peer

__all__ = [
    "PROBE_MISSES",
    "Hibernation",
    "extra_message",
    "follower_may_agree",
    "follower_may_sleep",
    "leader_idle",
    "probe_message",
]

# PROBE_MISSES: probe intervals without an answer after which a probed store counts as down.
PROBE_MISSES = 3


def leader_idle(peer: Peer) -> bool:
    """leader_idle: the leader may hibernate the region (module docstring)."""
    raft = peer.raft_group.raft
    log = raft.raft_log
    last = log.last_index()
    storage = peer.storage
    if peer.has_waiting() or peer.proposals or peer.reads or peer.pending_destroy:
        return False
    if raft.lead_transferee is not None or raft.pending_read_count():
        return False
    if log.committed != last or log.persisted != last or storage.applied_index() != last:
        return False
    if storage.is_applying_snapshot() or storage.gen_snap_task is not None:
        return False
    return all(pr.matched == last for _, pr in raft.prs.iter())


def follower_may_agree(peer: Peer, from_id: int) -> bool:
    """follower_may_agree: a follower accepts the hibernate request of from_id (TiKV's
    on_hibernate_request: the leader it follows, nothing uncommitted; here also nothing unapplied or
    waiting)."""
    raft = peer.raft_group.raft
    log = raft.raft_log
    return (
        raft.state == StateRole.FOLLOWER
        and raft.leader_id == from_id
        and log.committed == log.last_index()
        and peer.storage.applied_index() == log.committed
        and not (peer.has_waiting() or peer.proposals or peer.reads)
        and not peer.storage.is_applying_snapshot()
    )


def follower_may_sleep(peer: Peer, sleep_ticks: int) -> bool:
    """follower_may_sleep: a follower that agreed to its current leader's request has not heard from it
    for sleep_ticks (the leader hibernated) and nothing waits on it."""
    raft = peer.raft_group.raft
    return (
        peer.hib_agreed == (raft.term, raft.leader_id)
        and raft.state == StateRole.FOLLOWER
        and raft.election_elapsed >= sleep_ticks
        and not (peer.has_waiting() or peer.proposals or peer.reads)
    )


def extra_message(peer: Peer, to: PeerMeta, kind: ExtraMessageType) -> RaftMessage:
    """extra_message is a RaftMessage of the peer's region to `to` carrying an ExtraMessage of kind and
    no raft message (iface: its `message` field is unset)."""
    me = peer.meta_peer(peer.peer_id) or PeerMeta(id=peer.peer_id, store_id=peer.store_id)
    rm = RaftMessage(region_id=peer.region_id, from_peer=me, to_peer=to, extra_msg=ExtraMessage(type=kind))
    rm.region_epoch.CopyFrom(peer.region.region_epoch)
    return rm


def probe_message(from_store: int, to_store: int, kind: ExtraMessageType) -> RaftMessage:
    """probe_message is a store-level message (region 0, no epoch): MsgHibernateRequest probes a store
    that leads sleeping followers here, MsgHibernateResponse answers it."""
    return RaftMessage(
        region_id=0,
        from_peer=PeerMeta(store_id=from_store),
        to_peer=PeerMeta(store_id=to_store),
        extra_msg=ExtraMessage(type=kind),
    )


class Hibernation:
    """Hibernation: which regions of a store are ticked, and the probes of their leaders' stores.

    Invariants: `awake` holds the ids of the peers StoreCore.tick visits (every peer when hibernation is
    off); a hosted region not in it is asleep. `sleepers[s]` is the set of sleeping followers whose
    leader is on store s, and `leader_store` maps each of them to s; a sleeping leader is in neither but
    in `leaders`. `heard[s]` is the tick of the last answer from (or of the first sleeper led by) store s."""

    __slots__ = ("awake", "heard", "leader_store", "leaders", "sleepers")

    def __init__(self) -> None:
        self.awake: dict[int, None] = {}
        self.sleepers: dict[int, set[int]] = {}
        self.leader_store: dict[int, int] = {}
        self.leaders: set[int] = set()
        self.heard: dict[int, int] = {}

    def asleep(self, region_id: int) -> bool:
        return region_id not in self.awake

    def sleep(self, region_id: int, leader_store: int | None, now_tick: int) -> None:
        """sleep stops ticking the region; leader_store: the store of its leader for a follower, None
        for a leader."""
        self.awake.pop(region_id, None)
        if leader_store is None:
            self.leaders.add(region_id)
            return
        group = self.sleepers.get(leader_store)
        if group is None:
            group = self.sleepers[leader_store] = set()
            self.heard[leader_store] = now_tick
        group.add(region_id)
        self.leader_store[region_id] = leader_store

    def wake(self, region_id: int) -> bool:
        """wake ticks the region again; False when it was awake."""
        if region_id in self.awake:
            return False
        self.awake[region_id] = None
        self.leaders.discard(region_id)
        store = self.leader_store.pop(region_id, None)
        if store is not None:
            group = self.sleepers[store]
            group.discard(region_id)
            if not group:
                del self.sleepers[store]
                self.heard.pop(store, None)
        return True

    def forget(self, region_id: int) -> None:
        """forget drops a destroyed region."""
        self.wake(region_id)
        del self.awake[region_id]

    def down_stores(self, now_tick: int, probe_ticks: int) -> list[int]:
        """down_stores are the probed stores that have not answered for PROBE_MISSES probe intervals."""
        limit = PROBE_MISSES * probe_ticks
        return [s for s in self.sleepers if now_tick - self.heard.get(s, now_tick) > limit]

    def on_answer(self, store_id: int, now_tick: int) -> None:
        if store_id in self.sleepers:
            self.heard[store_id] = now_tick

"""raftstore.testing.sim: a deterministic simulation of a whole cluster of stores, checked at every step.

    sim = Simulation(seed=7, steps=400)
    report = sim.run()        # SimulationFailure (an AssertionError) names the seed, the step and a replay

Everything comes from one seed (`random.Random(seed)`): the parameters of the run (SimParams.draw), the
network, the clients, the faults. The stores are StoreCores on in-memory engines that model synced vs
unsynced writes (MemEngine(track_sync=True)), driven by raftstore.store.driver.run_round, one round per
store per step. Per step:

1. faults and admin operations: crash a store (at once, or at one of its round's failpoints, in the
   middle of a round), restart it (a crash drops the engines' unsynced writes, the store is rebuilt from
   what is durable), partition or heal the network, and the admin operations of ADMIN_OPS: leader
   transfer, conf change, split (BatchSplit at a key inside a region, fresh ids from Simulation.new_id),
   log compaction (past lagging followers, which snapshots then catch up; the GC policy
   SimParams.gc names compacts too) and a consistency check (ComputeHash / VerifyHash);
2. clients: each runs one operation at a time (put, get, delete, cas, scan), retrying an attempt refused
   with a region error (a region error means "not applied", raftstore.store.cmd's rule); an attempt
   answered UndeterminedResult (proposed, outcome unknown) or that gets no answer (its store crashed, or
   it timed out) ends the operation with outcome "info", and the client continues under a new id, as
   Jepsen does;
3. the network delivers the messages due: each message sent was dropped, duplicated or delayed by a
   random number of steps (so reordered) when it was sent; a partition drops messages across it;
4. every running store ticks and runs a round.

Checked after every step (SimulationFailure otherwise):

- at most one leader per term of a region (over the whole run, restarts included);
- the regions a store hosts never overlap;
- state machine safety: every store applies the same entry at an index (so an applied, and thus every
  acknowledged, write is never replaced or lost from the log);
- replicas at the same applied index of a region hold the same data (also across restarts: a restarted
  store's durable applied index and data must agree with what was seen at that index);
- no consistency check found a mismatch (StoreCore.consistency_mismatches).

At the end the network heals, every store restarts, every region converges (all replicas applied the
same last index), a final read of every key goes through the clients, and: a consistency check of every
region verifies on all its members (the same hash at the same index, every data CF); replicas hold
identical data;
no acknowledged write is lost (each key's final value comes from a write not followed entirely by an
acknowledged write of that key); the history (raftstore.checker's JSON-lines format, logical time) is
linearizable (raftstore.checker.check_history). A scan is recorded as one get per key it covered, all
with the scan's interval: each is a read of that key at the scan's instant.

Runs are reproducible: the same seed and step count give the same run (the step count only bounds the
loop, so a shorter run is a prefix of a longer one; `shrink` bisects it). Replay a failure with
`python -m raftstore.testing.sim --seed S --steps N [--shrink]`.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import random
import sys
import tempfile
import traceback
import zlib
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import failpoints
from ..checker import Operation, check_history
from ..engine import keys
from ..engine.base import ALL_CFS, CF_DEFAULT
from ..engine.engines import Engines
from ..engine.memory import MemEngine
from ..proto.metapb_pb2 import Peer as PeerMeta
from ..proto.metapb_pb2 import Region
from ..proto.raft_cmdpb_pb2 import AdminCmdType, CmdType, RaftCmdRequest, Request
from ..proto.raft_serverpb_pb2 import RaftMessage
from ..raft import ConfChangeType, SnapshotStatus
from ..raft.errors import CompactedError
from ..store.bootstrap import bootstrap_initial_regions, bootstrap_store
from ..store.cmd import CmdResult, compute_hash_cmd
from ..store.driver import SnapIO, open_store, run_round, snapshot_messages
from ..store.errors import StoreError
from ..store.peer import Peer
from ..store.snap.manager import SnapManager
from ..store.snap.transfer import SnapHeader, SnapReceiver, SnapSender, transfer
from ..store.store_core import StoreConfig, StoreCore
from .cluster import leader_among

__all__ = [
    "ADMIN_OPS",
    "SimParams",
    "SimReport",
    "Simulation",
    "SimulationFailure",
    "replay_command",
    "run_seed",
    "shrink",
    "sim_engines",
]

CLUSTER_ID = 1
CRASH_POINTS = (
    "store_round_before_persist",
    "write_tasks_between_batches",
    "store_round_before_apply",
    "store_round_before_answer",
)
# OP_WEIGHTS: how often a client picks each operation.
OP_WEIGHTS = {"put": 30, "get": 20, "delete": 10, "cas": 25, "scan": 15}
# SETTLE_STEPS: the most steps the final phase may take to converge (a liveness failure past it).
SETTLE_STEPS = 1500
# RECHECK_STEPS: how long the final consistency check of a region may stay unverified before it is proposed again.
RECHECK_STEPS = 300
# STALE_TICKS: a peer that heard from no leader for this long asks its region's peers whether it is still
# a member (StoreConfig.max_leader_missing_duration, checked every fifth of it): short enough that a peer
# removed behind a partition is collected within a run.
STALE_TICKS = 100


class SimulationFailure(AssertionError):
    """SimulationFailure: a check failed (or the stores raised); the message names the seed, the step, the
    check, the recent events and the command that replays the run. The simulation cannot go on."""


@dataclass(frozen=True, slots=True)
class SimParams:
    """SimParams: what a seed draws for one run (printed with every failure)."""

    stores: int
    split_keys: tuple[bytes, ...]
    keys: int
    clients: int
    p_op: float
    p_drop: float
    p_dup: float
    max_delay: int
    p_crash: float
    p_partition: float
    p_admin: float
    gc: str
    timeout: int

    @classmethod
    def draw(cls, rng: random.Random) -> SimParams:
        n_keys = rng.choice([4, 8, 12])
        cuts = sorted(rng.sample(range(1, n_keys), rng.choice([0, 1, 2])))
        return cls(
            stores=3,
            split_keys=tuple(key_of(i) for i in cuts),
            keys=n_keys,
            clients=rng.choice([2, 3, 5]),
            p_op=rng.choice([0.3, 0.6, 0.9]),
            p_drop=rng.choice([0.0, 0.02, 0.1]),
            p_dup=rng.choice([0.0, 0.02, 0.05]),
            max_delay=rng.choice([0, 1, 3]),
            p_crash=rng.choice([0.0, 0.005, 0.02]),
            p_partition=rng.choice([0.0, 0.005, 0.02]),
            p_admin=rng.choice([0.0, 0.01, 0.05]),
            gc=rng.choice(["default", "eager", "past_followers"]),
            timeout=rng.choice([30, 60]),
        )

    def store_config(self, seed: int) -> StoreConfig:
        """store_config: the GC policy `gc` names: TiKV's defaults; "eager" (compact what every follower
        has, early); "past_followers" (past a small count limit, compact past a lagging follower, which
        then catches up by snapshot). A peer without a leader for STALE_TICKS asks whether it is stale."""
        base = StoreConfig(seed=seed, peer_stale_state_check_interval=STALE_TICKS // 5, max_leader_missing_duration=STALE_TICKS)
        if self.gc == "eager":
            return dataclasses.replace(base, raft_log_gc_tick_interval=3, raft_log_gc_threshold=4)
        if self.gc == "past_followers":
            return dataclasses.replace(base, raft_log_gc_tick_interval=3, raft_log_gc_threshold=4, raft_log_gc_count_limit=12)
        return base


def key_of(i: int) -> bytes:
    return b"k%02d" % i


@dataclass(slots=True)
class SimReport:
    """SimReport: what a run did (tests assert that it did enough)."""

    seed: int
    steps: int
    operations: int
    ok: int
    info: int
    crashes: int
    restarts: int
    partitions: int
    admin_ops: int
    snapshots: int
    delivered: int
    dropped: int
    duplicated: int
    max_term: int
    digest: int
    # undetermined: attempts answered UndeterminedResult (each ended its operation as info).
    undetermined: int
    # regions: how many regions there are at the end (more than at the start after splits).
    regions: int = 0
    history: list[Operation] = field(repr=False, default_factory=list)


@dataclass(slots=True)
class _Attempt:
    """_Attempt: one proposal of a client operation to one store; `box` gets (answer time, result)."""

    store_id: int
    region_id: int
    core: StoreCore
    box: list[tuple[float, CmdResult]]


@dataclass(slots=True)
class _PendingOp:
    """_PendingOp: a client's operation in flight; `attempt` is the proposal waiting for an answer."""

    kind: str
    key: bytes
    end: bytes
    value: str | None
    expected: str | None
    invoke: float
    deadline: int
    attempt: _Attempt | None = None
    next_try: int = 0


@dataclass(slots=True)
class _Client:
    id: int
    op: _PendingOp | None = None


@dataclass(frozen=True, slots=True)
class _Op:
    """_Op: a history operation before its line number is known (see Operation)."""

    client: int
    op: str
    key: str
    value: str | None
    invoke: float
    complete: float | None
    outcome: str
    expected: str | None = None


class _Network:
    """_Network: messages in flight, each with the step it is due. A message is dropped, duplicated or
    delayed (0..max_delay extra steps, hence reordered) when sent; a partition drops it at delivery."""

    def __init__(self, sim: Simulation) -> None:
        self.sim = sim
        self.in_flight: list[tuple[int, int, RaftMessage]] = []
        self.groups: dict[int, int] | None = None
        self._seq = 0
        self.delivered = self.dropped = self.duplicated = 0

    def send(self, msgs: list[RaftMessage]) -> None:
        sim = self.sim
        rng, p = sim.rng, sim.params
        calm = sim.calm
        for msg in msgs:
            if not calm and rng.random() < p.p_drop:
                self.dropped += 1
                continue
            self._schedule(msg)
            if not calm and rng.random() < p.p_dup:
                dup = RaftMessage()
                dup.CopyFrom(msg)
                self._schedule(dup)
                self.duplicated += 1

    def _schedule(self, msg: RaftMessage) -> None:
        delay = self.sim.rng.randint(0, self.sim.params.max_delay)
        self._seq += 1
        self.in_flight.append((self.sim.now + 1 + delay, self._seq, msg))

    def take(self) -> list[RaftMessage]:
        """take: the messages due now, in due order (then send order), minus those a partition cuts."""
        now = self.sim.now
        due = sorted((m for m in self.in_flight if m[0] <= now), key=lambda m: (m[0], m[1]))
        self.in_flight = [m for m in self.in_flight if m[0] > now]
        out = []
        for _, _, msg in due:
            if self.cut(msg.from_peer.store_id, msg.to_peer.store_id):
                self.dropped += 1
            else:
                out.append(msg)
        self.delivered += len(out)
        return out

    def cut(self, a: int, b: int) -> bool:
        groups = self.groups
        return groups is not None and groups.get(a, -1) != groups.get(b, -2)


# AdminOp: an admin operation the simulation may inject; returns a description for the event log, or
# None when it did nothing. ADMIN_OPS lists them (name, weight).
AdminOp = Callable[["Simulation"], str | None]


def transfer_leader(sim: Simulation) -> str | None:
    """transfer_leader asks a region's leader to hand its leadership to a random other peer."""
    found = sim.leader_region()
    if found is None:
        return None
    leader, region = found
    region_id, core = region.id, sim.cores[leader.store_id]
    targets = [p for p in region.peers if p.id != leader.id]
    if not targets:
        return None
    target = sim.rng.choice(targets)
    cmd = new_cmd(region, leader)
    cmd.admin_request.cmd_type = AdminCmdType.TransferLeader
    cmd.admin_request.transfer_leader.peer.CopyFrom(target)
    core.propose(cmd, lambda result: None)
    return f"transfer leader of region {region_id} from store {leader.store_id} to store {target.store_id}"


def change_peer(sim: Simulation) -> str | None:
    """change_peer proposes a ChangePeer at a region's leader: with a voter on every store, remove one
    that is not the leader; else add a voter, with a new peer id, on a store without one."""
    found = sim.leader_region()
    if found is None:
        return None
    leader, region = found
    on = {p.store_id for p in region.peers}
    cmd = new_cmd(region, leader)
    cmd.admin_request.cmd_type = AdminCmdType.ChangePeer
    cp = cmd.admin_request.change_peer
    if len(on) == len(sim.store_ids):
        victim = sim.rng.choice([p for p in region.peers if p.id != leader.id])
        cp.change_type, what = ConfChangeType.RemoveNode, f"remove peer {victim.id} (store {victim.store_id})"
        cp.peer.CopyFrom(victim)
    else:
        sid = sim.rng.choice([s for s in sim.store_ids if s not in on])
        peer_id = sim.new_id()
        cp.change_type, what = ConfChangeType.AddNode, f"add peer {peer_id} (store {sid})"
        cp.peer.CopyFrom(PeerMeta(id=peer_id, store_id=sid))
    sim.cores[leader.store_id].propose(cmd, lambda result: None)
    return f"region {region.id}: {what}"


def split_region(sim: Simulation) -> str | None:
    """split_region proposes a BatchSplit at a region's leader, at a simulated key strictly inside the
    region, the new region's id and peer ids fresh from the simulation's id counter (new_id)."""
    found = sim.leader_region()
    if found is None:
        return None
    leader, region = found
    inside = [k for k in map(key_of, range(sim.params.keys)) if k > region.start_key and (not region.end_key or k < region.end_key)]
    if not inside:
        return None
    key = sim.rng.choice(inside)
    cmd = new_cmd(region, leader)
    cmd.admin_request.cmd_type = AdminCmdType.BatchSplit
    req = cmd.admin_request.splits.requests.add(split_key=key, new_region_id=sim.new_id())
    req.new_peer_ids.extend(sim.new_id() for _ in region.peers)
    sim.cores[leader.store_id].propose(cmd, lambda result: None)
    return f"split region {region.id} at {key!r}: new region {req.new_region_id}"


def compact_log(sim: Simulation) -> str | None:
    """compact_log proposes a CompactLog at a region's leader up to just below its applied index, past any
    lagging follower (which then catches up by snapshot)."""
    found = sim.leader_region()
    if found is None:
        return None
    leader, region = found
    storage = sim.cores[leader.store_id].peers[region.id].storage
    index = storage.applied_index() - 1
    if index <= storage.first_index():
        return None
    cmd = new_cmd(region, leader)
    cmd.admin_request.cmd_type = AdminCmdType.CompactLog
    cmd.admin_request.compact_log.compact_index = index
    cmd.admin_request.compact_log.compact_term = storage.term(index)
    sim.cores[leader.store_id].propose(cmd, lambda result: None)
    return f"compact the log of region {region.id} to {index}"


def check_consistency(sim: Simulation) -> str | None:
    """check_consistency proposes a ComputeHash at a region's leader: every replica hashes the region at
    that index and compares with the leader's VerifyHash (a mismatch fails the step's checks)."""
    found = sim.leader_region()
    if found is None:
        return None
    leader, region = found
    sim.cores[leader.store_id].propose(compute_hash_cmd(region, leader), lambda result: None)
    return f"consistency check of region {region.id}"


ADMIN_OPS: list[tuple[str, int, AdminOp]] = [
    ("transfer_leader", 1, transfer_leader),
    ("change_peer", 1, change_peer),
    ("split", 1, split_region),
    ("compact_log", 1, compact_log),
    ("consistency_check", 1, check_consistency),
]


def new_cmd(region: Region, peer: PeerMeta, requests: list[Request] | None = None) -> RaftCmdRequest:
    cmd = RaftCmdRequest()
    cmd.header.region_id = region.id
    cmd.header.peer.CopyFrom(peer)
    cmd.header.region_epoch.CopyFrom(region.region_epoch)
    if requests:
        cmd.requests.extend(requests)
    return cmd


def _request(kind: str, key: bytes, value: str | None, expected: str | None) -> Request:
    if kind == "put":
        req = Request(cmd_type=CmdType.Put)
        req.put.cf, req.put.key, req.put.value = CF_DEFAULT, key, (value or "").encode()
    elif kind == "delete":
        req = Request(cmd_type=CmdType.Delete)
        req.delete.cf, req.delete.key = CF_DEFAULT, key
    elif kind == "cas":
        req = Request(cmd_type=CmdType.CompareAndSwap)
        req.cas.cf, req.cas.key, req.cas.value = CF_DEFAULT, key, (value or "").encode()
        if expected is None:
            req.cas.expect_missing = True
        else:
            req.cas.expected = expected.encode()
    elif kind == "get":
        req = Request(cmd_type=CmdType.Get)
        req.get.cf, req.get.key = CF_DEFAULT, key
    else:
        req = Request(cmd_type=CmdType.Snap)
        req.snap.SetInParent()
    return req


def sim_engines(store_id: int) -> Engines:
    """sim_engines: a store's engines in memory, modelling synced vs unsynced writes (crash() on each)."""
    return Engines(
        MemEngine(ALL_CFS, name=f"kv-{store_id}", track_sync=True),
        MemEngine((CF_DEFAULT,), name=f"raft-{store_id}", track_sync=True),
    )


def replay_command(seed: int, steps: int) -> str:
    return f"python -m raftstore.testing.sim --seed {seed} --steps {steps}"


class Simulation:
    """Simulation: one seeded run (module docstring). `run()` returns a SimReport or raises
    SimulationFailure; a Simulation runs once. `admin_ops` replaces ADMIN_OPS (a seed found before an
    operation was added replays its run with the operations of then)."""

    def __init__(
        self,
        seed: int,
        steps: int,
        params: SimParams | None = None,
        make_engines: Callable[[int], Engines] | None = None,
        admin_ops: list[tuple[str, int, AdminOp]] | None = None,
    ) -> None:
        self.seed = seed
        # admin_kinds: the admin operations injected (ADMIN_OPS; a seed found with fewer replays with those).
        self.admin_kinds = admin_ops if admin_ops is not None else ADMIN_OPS
        self.steps = steps
        self.rng = random.Random(seed)
        self.params = params if params is not None else SimParams.draw(self.rng)
        self.config = self.params.store_config(seed)
        self.now = 0
        self.calm = False
        self.net = _Network(self)
        self.engines: dict[int, Engines] = {}
        self.cores: dict[int, StoreCore] = {}
        # down: store id -> the step it restarts at.
        self.down: dict[int, int] = {}
        # armed: store id -> the failpoint its next round crashes at.
        self.armed: dict[int, str] = {}
        self.clients = [_Client(i) for i in range(1, self.params.clients + 1)]
        self._next_client = self.params.clients + 1
        self._clock = 0.0
        self._next_value = 0
        self.ops: list[_Op] = []
        # _written: per key, the values of the last 3 put and cas operations recorded (what a cas expects).
        self._written: dict[str, deque[str]] = {}
        self.hints: dict[int, int] = {}
        # next_peer_id: the last id new_id handed out (above every initial peer and region id).
        self.next_peer_id = 10_000
        self.events: deque[str] = deque(maxlen=40)
        self._digest = 0
        # Checks' memory: leaders by (region, term); entry (term, crc) by (region, index); data crc by
        # (region, applied index); per (store, region) the applied index last checked.
        self._leaders: dict[tuple[int, int], int] = {}
        self._entries: dict[tuple[int, int], tuple[int, int]] = {}
        self._data: dict[tuple[int, int], tuple[int, int]] = {}
        self._checked: dict[tuple[int, int], int] = {}
        self.crashes = self.restarts = self.partitions = self.admin_ops = self.snapshots = self.undetermined = 0
        # Snapshots: each store's SnapManager (files under _tmp) and snapshot IO while it runs; the
        # outcomes of the snapshots sent, (store, region, to peer, status), reported at the next step.
        self._tmp = tempfile.TemporaryDirectory(prefix="raftstore-sim-")
        self.snap_mgrs: dict[int, SnapManager] = {}
        self.snap_io: dict[int, SnapIO] = {}
        self._snap_reports: list[tuple[int, int, int, SnapshotStatus]] = []
        self.store_ids = list(range(1, self.params.stores + 1))
        for sid in self.store_ids:
            engines = (make_engines or sim_engines)(sid)
            bootstrap_store(engines, CLUSTER_ID, sid)
            bootstrap_initial_regions(engines, self.initial_regions())
            self.engines[sid] = engines
            self._start(sid)

    def initial_regions(self) -> list[Region]:
        bounds = [b"", *self.params.split_keys, b""]
        n = self.params.stores
        regions = []
        for i in range(len(bounds) - 1):
            region = Region(id=i + 1, start_key=bounds[i], end_key=bounds[i + 1])
            region.peers.extend(PeerMeta(id=i * n + s, store_id=s) for s in self.store_ids)
            region.region_epoch.conf_ver = region.region_epoch.version = 1
            regions.append(region)
        return regions

    # -- running ----------------------------------------------------------------------------------

    def _start(self, sid: int) -> None:
        """_start starts store sid as a store starts (open_store: identity, recovery) with its snapshot IO
        (inline, in its rounds) on its snapshot directory."""
        engines = self.engines[sid]
        mgr = SnapManager(Path(self._tmp.name) / f"store-{sid}")
        mgr.init()
        self.snap_mgrs[sid] = mgr
        self.cores[sid], _ = open_store(engines, CLUSTER_ID, sid, mgr, self.config)
        self.snap_io[sid] = SnapIO(engines, mgr)

    def run(self) -> SimReport:
        """run runs the steps, then the final phase and the end checks (and removes the snapshot files)."""
        try:
            return self._run()
        finally:
            self._tmp.cleanup()

    def _run(self) -> SimReport:
        try:
            while self.now < self.steps:
                self.step()
            self.finish()
        except SimulationFailure:
            raise
        except Exception as err:  # noqa: BLE001 - anything the stores raise fails the run, with its replay
            self.fail(f"{type(err).__name__}: {err}\n{traceback.format_exc()}")
        return self.report()

    def step(self) -> None:
        self.now += 1
        if not self.calm:
            self._faults()
        for client in self.clients:
            self._drive(client)
        self._report_snapshots()
        for msg in self.net.take():
            core = self.cores.get(msg.to_peer.store_id)
            if core is not None:
                core.step(msg)
        for sid in self.store_ids:
            core = self.cores.get(sid)
            if core is not None:
                core.tick()
                self._round(sid, core)
        self._check_step()

    def _round(self, sid: int, core: StoreCore) -> None:
        point = self.armed.pop(sid, None)
        if point is None:
            run_round(core, self.engines[sid], self._send, self.snap_io[sid])
            return
        failpoints.cfg(point, "panic")
        try:
            run_round(core, self.engines[sid], self._send, self.snap_io[sid])
            self.armed[sid] = point  # the round did not reach the point: stay armed
        except failpoints.FailpointPanic:
            self._crash(sid, f"at {point}")
        finally:
            failpoints.remove(point)

    def _faults(self) -> None:
        rng, p = self.rng, self.params
        for sid, at in sorted(self.down.items()):
            if at <= self.now:
                self._restart(sid)
        r = rng.random()
        up = [s for s in self.store_ids if s in self.cores and s not in self.armed]
        if r < p.p_crash and len(up) == len(self.store_ids):
            sid = rng.choice(up)
            if rng.random() < 0.5:
                self._crash(sid, "between steps")
            else:
                self.armed[sid] = rng.choice(CRASH_POINTS)
                self.log(f"store {sid} will crash at {self.armed[sid]}")
        r = rng.random()
        if r < p.p_partition:
            if self.net.groups is None:
                alone = rng.choice(self.store_ids)
                self.net.groups = {s: int(s == alone) for s in self.store_ids}
                self.partitions += 1
                self.log(f"partition: store {alone} cut off")
            else:
                self.net.groups = None
                self.log("partition healed")
        if rng.random() < p.p_admin:
            ops = self.admin_kinds
            _, _, admin_op = rng.choices(ops, [w for _, w, _ in ops])[0]
            done = admin_op(self)
            if done is not None:
                self.admin_ops += 1
                self.log(done)

    def _send(self, msgs: list[RaftMessage]) -> None:
        """_send hands msgs to the network; a MsgSnapshot first carries its files from the sender's
        SnapManager to the receiver's (in process), and the sender learns the outcome at the next step."""
        for msg in snapshot_messages(msgs):
            ok = self._send_snapshot_files(msg)
            status = SnapshotStatus.FINISH if ok else SnapshotStatus.FAILURE
            self._snap_reports.append((msg.from_peer.store_id, msg.region_id, msg.to_peer.id, status))
            if not ok:
                msgs = [m for m in msgs if m is not msg]
        self.net.send(msgs)

    def _send_snapshot_files(self, msg: RaftMessage) -> bool:
        to = msg.to_peer.store_id
        if to not in self.cores or self.net.cut(msg.from_peer.store_id, to):
            return False
        snapshot = msg.message.snapshot
        try:
            with SnapSender(self.snap_mgrs[msg.from_peer.store_id], snapshot) as sender, SnapReceiver(
                self.snap_mgrs[to], SnapHeader(snapshot)
            ) as receiver:
                transfer(sender, receiver)
        except StoreError as err:
            self.log(f"snapshot of region {msg.region_id} to store {to} failed: {err}")
            return False
        self.snapshots += 1
        self.log(f"snapshot of region {msg.region_id} at {snapshot.metadata.index} sent to store {to}")
        return True

    def _report_snapshots(self) -> None:
        reports, self._snap_reports = self._snap_reports, []
        for sid, region_id, to, status in reports:
            core = self.cores.get(sid)
            if core is not None:
                core.report_snapshot(region_id, to, status)

    def _crash(self, sid: int, how: str) -> None:
        """_crash stops store sid: its core is dropped, its engines lose what was not synced; it restarts
        after a few steps (from what is durable)."""
        self.cores.pop(sid, None)
        self.snap_io.pop(sid, None)
        self.armed.pop(sid, None)
        engines = self.engines[sid]
        engines.kv.crash()  # type: ignore[attr-defined]
        engines.raft.crash()  # type: ignore[attr-defined]
        self.down[sid] = self.now + self.rng.randint(3, 40)
        self.crashes += 1
        for key in [k for k in self._checked if k[0] == sid]:
            del self._checked[key]
        self.log(f"store {sid} crashed {how}")

    def _restart(self, sid: int) -> None:
        del self.down[sid]
        self._start(sid)
        self.restarts += 1
        self.log(f"store {sid} restarted")

    # -- clients ------------------------------------------------------------------------------------

    def tick_clock(self) -> float:
        """tick_clock: the logical time of an invoke or a completion (strictly increasing)."""
        self._clock += 1
        return self._clock

    def _drive(self, client: _Client) -> None:
        op = client.op
        if op is None:
            if not self.calm and self.rng.random() < self.params.p_op:
                client.op = self._new_op()
            return
        attempt = op.attempt
        if attempt is not None:
            if attempt.box:
                self._answered(client, op, *attempt.box[0])
            elif self.cores.get(attempt.store_id) is not attempt.core or self.now >= op.deadline:
                self._finish(client, op, "info", None)
            return
        if self.now >= op.deadline:
            self._finish(client, op, "fail", None)
        elif self.now >= op.next_try:
            self._try(op)

    def _new_op(self) -> _PendingOp:
        rng, p = self.rng, self.params
        kind = rng.choices(list(OP_WEIGHTS), list(OP_WEIGHTS.values()))[0]
        i = rng.randrange(p.keys)
        key = key_of(i)
        end = key_of(rng.randint(i + 1, p.keys))
        value = expected = None
        if kind in ("put", "cas"):
            self._next_value += 1
            value = f"v{self._next_value}"
        if kind == "cas":
            written = self._written.get(key.decode())
            expected = rng.choice(list(written)) if written and rng.random() < 0.8 else None
        return _PendingOp(kind, key, end, value, expected, self.tick_clock(), self.now + p.timeout)

    def _try(self, op: _PendingOp) -> None:
        """_try proposes op to the store the client believes leads the key's region (a random store
        hosting it when it has no hint)."""
        region = self.route(op.key)
        if region is None:
            op.next_try = self.now + 1
            return
        hosts = [p for p in region.peers if p.store_id in self.cores]
        hint = self.hints.get(region.id)
        target = next((p for p in hosts if p.store_id == hint), None) or (self.rng.choice(hosts) if hosts else None)
        if target is None:
            op.next_try = self.now + 1
            return
        core = self.cores[target.store_id]
        box: list[tuple[float, CmdResult]] = []
        req = _request(op.kind, op.key, op.value, op.expected)
        core.propose(new_cmd(region, target, [req]), lambda result: box.append((self.tick_clock(), result)))
        op.attempt = _Attempt(target.store_id, region.id, core, box)

    def route(self, key: bytes) -> Region | None:
        """route: the region holding key with the newest epoch any running store knows (a PD's answer)."""
        found = [r for core in self.cores.values() if (r := core.region_for_key(key)) is not None]
        if not found:
            return None
        return max(found, key=lambda r: (r.region_epoch.version, r.region_epoch.conf_ver))

    def _answered(self, client: _Client, op: _PendingOp, at: float, result: CmdResult) -> None:
        attempt = op.attempt
        assert attempt is not None
        error = result.error
        if error is None:
            self.hints[attempt.region_id] = attempt.store_id
            self._finish(client, op, "ok", result, at)
            return
        if error.HasField("undetermined_result"):
            self.undetermined += 1
            self._finish(client, op, "info", None)
            return
        # Any other region error means the command was not applied: try again (until the deadline).
        op.attempt = None
        op.next_try = self.now + 1
        if error.HasField("not_leader"):
            leader = error.not_leader.leader
            if leader.store_id:
                self.hints[error.not_leader.region_id] = leader.store_id
            else:
                self.hints.pop(error.not_leader.region_id, None)

    def _finish(self, client: _Client, op: _PendingOp, outcome: str, result: CmdResult | None,
                complete: float | None = None) -> None:
        """_finish records op's outcome in the history. ok: the answer; fail: every attempt was refused
        before taking effect (a write not applied: recorded for put and delete; a cas whose compare never
        ran or a read observed nothing: left out, since a failed cas is an observation to the checker);
        info: no answer, or an UndeterminedResult (the client goes on under a new id: the operation may
        still take effect)."""
        client.op = None
        key = op.key.decode()
        if outcome == "info":
            if op.kind in ("put", "delete", "cas"):
                self._record(_Op(client.id, op.kind, key, op.value, op.invoke, None, "info", op.expected))
            client.id = self._next_client
            self._next_client += 1
            return
        if outcome == "fail":
            if op.kind in ("put", "delete"):
                self._record(_Op(client.id, op.kind, key, op.value, op.invoke, self.tick_clock(), "fail"))
            return
        assert result is not None and complete is not None
        resp = result.response.responses[0]
        if op.kind == "get":
            value = None if resp.get.not_found else resp.get.value.decode()
            self._record(_Op(client.id, "get", key, value, op.invoke, complete, "ok"))
        elif op.kind == "scan":
            self._record_scan(client.id, op, result, complete)
        elif op.kind == "cas":
            outcome = "ok" if resp.cas.swapped else "fail"
            self._record(_Op(client.id, "cas", key, op.value, op.invoke, complete, outcome, op.expected))
        else:
            self._record(_Op(client.id, op.kind, key, op.value, op.invoke, complete, "ok"))

    def _record_scan(self, client: int, op: _PendingOp, result: CmdResult, complete: float) -> None:
        """_record_scan: a get of every simulated key in [key, end) within the region the Snap answered,
        read from the snapshot, all with the scan's interval."""
        region = result.response.responses[0].snap.region
        snap = result.snapshot
        assert snap is not None
        for i in range(self.params.keys):
            k = key_of(i)
            if op.key <= k < op.end and region.start_key <= k and (not region.end_key or k < region.end_key):
                raw = snap.get(CF_DEFAULT, keys.data_key(k))
                value = None if raw is None else raw.decode()
                self._record(_Op(client, "get", k.decode(), value, op.invoke, complete, "ok"))

    def _record(self, op: _Op) -> None:
        self.ops.append(op)
        if op.op in ("put", "cas") and op.value:
            self._written.setdefault(op.key, deque(maxlen=3)).append(op.value)
        self._digest = zlib.crc32(repr(op).encode(), self._digest)

    # -- queries ------------------------------------------------------------------------------------

    def region_ids(self) -> set[int]:
        return {rid for core in self.cores.values() for rid in core.peers} or {1}

    def new_id(self) -> int:
        """new_id: a new region or peer id, above every id handed out before (PD's allocator). The stores'
        IdAllocators are not used: their ids grow per store only ((store << 40) | n), and a peer re-added
        to a store with an id below its tombstone's is never created there (maybe_create_peer's rule)."""
        self.next_peer_id += 1
        return self.next_peer_id

    def leader_region(self) -> tuple[PeerMeta, Region] | None:
        """leader_region: a random region's leader and the region as that leader has it (None: no leader)."""
        region_id = self.rng.choice(sorted(self.region_ids()))
        leader = self.leader_peer(region_id)
        if leader is None:
            return None
        return leader, self.cores[leader.store_id].peers[region_id].region

    def leader_peer(self, region_id: int) -> PeerMeta | None:
        """leader_peer: the peer leading the region in the highest term among the running stores."""
        return leader_among(self.cores.values(), region_id)

    def log(self, event: str) -> None:
        self.events.append(f"step {self.now}: {event}")
        self._digest = zlib.crc32(event.encode(), self._digest)

    def fail(self, what: str) -> None:
        lines = [
            f"store simulation: seed {self.seed} failed at step {self.now} of {self.steps}: {what}",
            f"params: {self.params}",
            "recent events:",
            *(f"  {e}" for e in self.events),
            f"replay: {replay_command(self.seed, self.steps)}  (add --shrink for the fewest steps that fail)",
        ]
        raise SimulationFailure("\n".join(lines))

    # -- checks -------------------------------------------------------------------------------------

    def _check_step(self) -> None:
        for sid, core in self.cores.items():
            if core.consistency_mismatches:
                self.fail(f"store {sid}: {core.consistency_mismatches} consistency check mismatches")
            self._check_ranges(sid, core)
            for region_id, peer in core.peers.items():
                if peer.is_leader():
                    seen = self._leaders.setdefault((region_id, peer.term), peer.peer_id)
                    if seen != peer.peer_id:
                        self.fail(f"two leaders in term {peer.term} of region {region_id}: peers {seen} and {peer.peer_id}")
                if peer.storage.is_initialized():
                    self._check_applied(sid, region_id, peer)

    def _check_ranges(self, sid: int, core: StoreCore) -> None:
        regions = sorted((p.region for p in core.peers.values() if p.storage.is_initialized()), key=lambda r: r.start_key)
        for a, b in itertools.pairwise(regions):
            if not a.end_key or a.end_key > b.start_key:
                self.fail(f"store {sid}: regions {a.id} [{a.start_key!r}, {a.end_key!r}) and "
                          f"{b.id} [{b.start_key!r}, {b.end_key!r}) overlap")

    def _check_applied(self, sid: int, region_id: int, peer: Peer) -> None:
        """_check_applied: the entries store sid applied since the last check are the ones every store
        applied at those indexes, and its data at its applied index is what any replica had there."""
        storage = peer.storage
        applied = storage.applied_index()
        last = self._checked.get((sid, region_id))
        if last == applied:
            return
        self._checked[(sid, region_id)] = applied
        low = max(storage.first_index(), (last or applied) + 1)
        if low <= applied:
            try:
                entries = storage.entries(low, applied + 1)
            except CompactedError:
                entries = []
            for e in entries:
                mark = (int(e.term), zlib.crc32(e.data))
                seen = self._entries.setdefault((region_id, e.index), mark)
                if seen != mark:
                    self.fail(f"store {sid} applied entry {e.index} of region {region_id} with term {mark[0]}; "
                              f"another replica applied term {seen[0]} there (state machine safety)")
        crc = self._region_crc(sid, peer.region)
        seen_data = self._data.setdefault((region_id, applied), (crc, sid))
        if seen_data[0] != crc:
            self.fail(f"region {region_id} at applied index {applied}: store {sid}'s data differs from "
                      f"store {seen_data[1]}'s")

    def _region_crc(self, sid: int, region: Region) -> int:
        kv = self.engines[sid].kv
        crc = 0
        for k, v in kv.scan(CF_DEFAULT, keys.enc_start_key(region), keys.enc_end_key(region)):
            crc = zlib.crc32(v, zlib.crc32(k, crc))
        return crc

    # -- the end ------------------------------------------------------------------------------------

    def finish(self) -> None:
        """finish: heal, restart every store, let the clients finish, read every key, converge, check."""
        self.calm = True
        self.net.groups = None
        self.armed.clear()
        self.log("heal: network calm, every store up")
        for sid in sorted(self.down):
            self._restart(sid)
        self._settle(lambda: all(c.op is None for c in self.clients), "every client operation ended")
        final = _Client(self._next_client)
        self._next_client += 1
        self.clients.append(final)
        for i in range(self.params.keys):
            final.op = _PendingOp("get", key_of(i), key_of(i), None, None, self.tick_clock(), self.now + SETTLE_STEPS)
            self._settle(lambda: final.op is None, f"the final read of {key_of(i)!r}")
            last = self.ops[-1] if self.ops else None
            if last is None or last.client != final.id or last.key != key_of(i).decode() or last.outcome != "ok":
                self.fail(f"the final read of {key_of(i)!r} was not answered")
        self._settle(self._converged, "every region converged (same applied index on every store)")
        self._check_hashes()
        self._check_end()

    def _settle(self, cond: Callable[[], bool], what: str) -> None:
        start = self.now
        while not cond():
            if self.now - start > SETTLE_STEPS:
                self.fail(f"liveness: {what} not reached within {SETTLE_STEPS} steps of a calm network")
            self.step()

    def current_region(self, region_id: int) -> Region:
        """current_region: the region as the store with the newest epoch of it knows it."""
        regions = [core.peers[region_id].region for core in self.cores.values() if region_id in core.peers]
        return max(regions, key=lambda r: (r.region_epoch.version, r.region_epoch.conf_ver))

    def members(self, region_id: int) -> list[Peer]:
        """members: the running peers the current region lists (a removed peer not yet destroyed is not one)."""
        region = self.current_region(region_id)
        out = []
        for meta in region.peers:
            core = self.cores.get(meta.store_id)
            peer = core.peers.get(region_id) if core is not None else None
            if peer is not None and peer.peer_id == meta.id:
                out.append(peer)
        return out

    def _converged(self) -> bool:
        for rid in self.region_ids():
            peers = self.members(rid)
            states = {(p.storage.applied_index(), p.raft_group.raft.raft_log.committed) for p in peers}
            if len(states) != 1 or len({a for a, _ in states} | {c for _, c in states}) != 1:
                return False
        return True

    def _check_hashes(self) -> None:
        """_check_hashes: a consistency check of every region (ComputeHash through its leader, proposed
        again if refused, or if not verified everywhere RECHECK_STEPS after it was proposed: a leader change
        can drop the VerifyHash, and a member a snapshot carried past the check has no hash of its index)
        must end with every member's hash at the same index, each verified against the leader's (a mismatch
        fails _check_step on the way)."""
        boxes: dict[int, list[CmdResult]] = {}
        proposed_at: dict[int, int] = {}

        def propose(region_id: int) -> None:
            leader = self.leader_peer(region_id)
            if leader is not None:
                box = boxes[region_id] = []
                proposed_at[region_id] = self.now
                region = self.cores[leader.store_id].peers[region_id].region
                self.cores[leader.store_id].propose(compute_hash_cmd(region, leader), box.append)

        def done() -> bool:
            for rid in self.region_ids():
                box = boxes.get(rid)
                if box is None or (box and box[0].error is not None):
                    propose(rid)
                    return False
                states = {p.consistency for p in self.members(rid)}
                if not box or len(states) != 1 or None in states or next(iter(states)).verified is None:  # type: ignore[union-attr]
                    if self.now - proposed_at[rid] > RECHECK_STEPS:
                        propose(rid)
                    return False
            return True

        for rid in sorted(self.region_ids()):
            propose(rid)
        self._settle(done, "a verified consistency check of every region")
        for rid in sorted(self.region_ids()):
            state = self.members(rid)[0].consistency
            if state is None or state.verified is not True:
                self.fail(f"region {rid}: consistency check ended with {state}")

    def _check_end(self) -> None:
        final: dict[str, str] = {}
        for rid in sorted(self.region_ids()):
            region = self.current_region(rid)
            start, end = keys.enc_start_key(region), keys.enc_end_key(region)
            data = {p.store_id: list(self.engines[p.store_id].kv.scan(CF_DEFAULT, start, end)) for p in self.members(rid)}
            first_sid, first = next(iter(data.items()))
            for sid, rows in data.items():
                if rows != first:
                    self.fail(f"after convergence store {sid}'s data of region {rid} differs from store {first_sid}'s")
            final.update((k[1:].decode(), v.decode()) for k, v in first)
        self._check_no_lost_write(final)
        result = check_history(self.history())
        if result.status != "linearizable":
            self.fail("the client history is not linearizable:\n" + result.report())

    def _check_no_lost_write(self, final: dict[str, str]) -> None:
        """_check_no_lost_write: each key's final value was written by an operation (or is the initial
        missing state) that no acknowledged write of the key follows entirely: an acknowledged write is
        never overwritten by an older one, nor lost."""
        writes: dict[str, list[_Op]] = {}
        for op in self.ops:
            if op.op in ("put", "delete", "cas") and op.outcome in ("ok", "info"):
                writes.setdefault(op.key, []).append(op)
        for key, ops in writes.items():
            value = final.get(key)
            sources = [o for o in ops if (o.value if o.op != "delete" else None) == value]
            acked = [o for o in ops if o.outcome == "ok"]
            for w in acked:
                if value is None and not sources:
                    self.fail(f"key {key}: missing at the end, but written by acknowledged {w}")
                if sources and all(s.complete is not None and s.complete < w.invoke for s in sources):
                    self.fail(f"key {key}: the final value {value!r} predates acknowledged {w} (a lost write)")

    def history(self) -> list[Operation]:
        """history: the client operations in raftstore.checker's format, in invoke order."""
        ops = sorted(self.ops, key=lambda o: o.invoke)
        return [
            Operation(i, o.client, o.op, o.key, o.value, o.invoke, o.complete, o.outcome, o.expected)  # type: ignore[arg-type]
            for i, o in enumerate(ops, start=1)
        ]

    def report(self) -> SimReport:
        max_term = max((t for _, t in self._leaders), default=0)
        return SimReport(
            self.seed, self.now, len(self.ops), sum(o.outcome == "ok" for o in self.ops),
            sum(o.outcome == "info" for o in self.ops), self.crashes, self.restarts, self.partitions,
            self.admin_ops, self.snapshots, self.net.delivered, self.net.dropped, self.net.duplicated, max_term,
            self._digest, self.undetermined, regions=len(self.region_ids()), history=self.history(),
        )


def run_seed(seed: int, steps: int) -> SimReport:
    """run_seed runs one seed (SimulationFailure on a violation)."""
    return Simulation(seed, steps).run()


def shrink(seed: int, steps: int, run: Callable[[int, int], SimReport] = run_seed) -> int:
    """shrink is the fewest steps (by bisection) with which `run` of the seed still fails, given that it
    fails with `steps`; a shorter run is a prefix of a longer one, so the failure usually survives."""
    low, high = 1, steps  # invariant: the run of `high` steps fails
    while low < high:
        mid = (low + high) // 2
        try:
            run(seed, mid)
            low = mid + 1
        except SimulationFailure:
            high = mid
    return high


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Replay (or run) seeds of the store simulation.")
    ap.add_argument("--seed", type=int, required=True, help="the seed (the first one with --count)")
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--count", type=int, default=1, help="run this many seeds from --seed")
    ap.add_argument("--shrink", action="store_true", help="on failure, find the fewest steps that fail")
    args = ap.parse_args(argv)
    failed = 0
    for seed in range(args.seed, args.seed + args.count):
        try:
            report = run_seed(seed, args.steps)
        except SimulationFailure as err:
            failed += 1
            print(err, file=sys.stderr)
            if args.shrink:
                fewest = shrink(seed, args.steps)
                print(f"shrunk: seed {seed} fails with {fewest} steps: {replay_command(seed, fewest)}", file=sys.stderr)
            continue
        print(f"seed {seed}: ok, {report.steps} steps, {report.operations} operations ({report.ok} ok, "
              f"{report.info} info), {report.crashes} crashes, {report.partitions} partitions, "
              f"{report.admin_ops} admin operations, {report.snapshots} snapshots, max term {report.max_term}, "
              f"{report.undetermined} undetermined answers")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

"""raftstore.testing.cluster: Cluster, N stores in one process driven step by step (TiKV's test_raftstore).

    with Cluster(3) as cluster:            # RocksDB under a temporary directory; engine="memory" for speed
        cluster.start()                    # bootstrap: store identities, region 1 with a peer on every store
        cluster.must_put(b"k", b"v")
        assert cluster.must_get(b"k") == b"v"
        cluster.partition([1], [2, 3])     # filters on the simulated transport
        cluster.stop_store(1)              # a crash: memory dropped, engines closed
        cluster.start_store(1)             # rebuilt from its data directory

One `step()` delivers the messages sent during the previous step (through the transport's filters),
ticks every running store once and runs one round of each (raftstore.store.driver.run_round). Nothing
depends on wall time or unseeded randomness: the same calls give the same run.

Region 1 covers every key (unless split_keys cut the key space into more initial regions); its peer on
store s has id s. Requests go through the leader the stores report (retrying on NotLeader, StaleCommand,
EpochNotMatch, ... as a client would: each means "not applied") unless a store is named. A request whose
outcome is unknown (UndeterminedResult, or its store went down before answering) is retried only when
retrying cannot change its effect (put, delete, delete range, reads); a cas or an admin command fails
the helper instead (ClusterError).

Snapshots: every store has a SnapManager under its directory; its generations and apply jobs run inline
in its round (driver.SnapIO), and a MsgSnapshot carries its files in process (snap.transfer) from the
sender's manager to the receiver's when it is sent; the sender learns the outcome at the next step
(report_snapshot). Membership: must_add_peer, must_add_learner, must_remove_peer, must_enter_joint /
must_leave_joint propose ChangePeer / ChangePeerV2 through the leader; must_split a BatchSplit. Consistency:
must_check_consistency runs a ComputeHash / VerifyHash check of a region and waits for every replica.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from .. import failpoints
from ..engine import keys
from ..engine.base import CF_DEFAULT
from ..engine.engines import Engines, memory_engines, open_engines
from ..proto.eraftpb_pb2 import ConfChangeType
from ..proto.metapb_pb2 import Peer, PeerRole, Region
from ..proto.raft_cmdpb_pb2 import (
    AdminCmdType,
    AdminRequest,
    ChangePeerRequest,
    CmdType,
    RaftCmdRequest,
    Request,
)
from ..proto.raft_serverpb_pb2 import RaftMessage
from ..raft.raw_node import SnapshotStatus
from ..store.bootstrap import IdAllocator, bootstrap_initial_regions, bootstrap_store
from ..store.cmd import CmdResult, ConsistencyState
from ..store.driver import SnapIO, open_store, run_round, snapshot_messages
from ..store.errors import StoreError
from ..store.peer import Peer as StorePeer
from ..store.recovery import RecoveredStore
from ..store.snap.manager import SnapManager
from ..store.snap.transfer import SnapHeader, SnapReceiver, SnapSender, transfer
from ..store.store_core import StoreConfig, StoreCore
from .transport import IsolateStore, PartitionFilter, SimTransport

__all__ = ["Cluster", "ClusterError", "FIRST_REGION_ID", "leader_among"]

logger = logging.getLogger("raftstore.testing")

FIRST_REGION_ID = 1
# RETRY_ERRORS: the region errors a client answers by finding the leader / region again and retrying:
# each means the command did not take effect (raftstore.store.cmd's rule). UndeterminedResult is not one.
RETRY_ERRORS = ("not_leader", "stale_command", "epoch_not_match", "region_not_found", "server_is_busy")
# RETRY_MESSAGES: admin refusals that pass once the region settles (a conf change still applying).
RETRY_MESSAGES = ("pending conf change", "has not applied to current term")



def leader_among(cores: Iterable[StoreCore], region_id: int) -> Peer | None:
    """leader_among is the peer that leads the region in the highest term among the given stores (None when
    none of them has a leader of it); a stale leader of a lower term, cut off by a partition, loses."""
    best: tuple[int, Peer] | None = None
    for core in cores:
        peer = core.peer(region_id)
        if peer is not None and peer.is_leader() and (best is None or peer.term > best[0]):
            meta = peer.meta_peer(peer.peer_id)
            if meta is not None:
                best = (peer.term, meta)
    return best[1] if best is not None else None

class ClusterError(AssertionError):
    """ClusterError: a Cluster helper could not do what it must (e.g. no answer within max_steps); an
    AssertionError so that a test reports it as a failure. The cluster stays usable."""


class Cluster:
    """Cluster: `count` stores (ids 1..count) of cluster `cluster_id` in one process (module docstring).

    The initial regions cover `region_range` [start, end) (b"" for an open end), cut at `split_keys`:
    region r (ids from 1, in key order) has a voter on every store s of `initial_stores` (default: all),
    with peer id (r - 1) * count + s. The other stores start empty (a conf change adds peers there).
    `engine` is "rocks" (RocksDB, under `path` or a temporary directory removed by close) or "memory"
    (a stopped store keeps its in-memory engines: a restart sees everything written, synced or not).
    """

    def __init__(
        self,
        count: int = 3,
        *,
        engine: str = "rocks",
        path: str | Path | None = None,
        cluster_id: int = 1,
        config: StoreConfig | None = None,
        region_range: tuple[bytes, bytes] = (b"", b""),
        split_keys: Sequence[bytes] = (),
        initial_stores: Sequence[int] | None = None,
    ) -> None:
        if engine not in ("rocks", "memory"):
            raise ValueError(f"engine must be 'rocks' or 'memory', not {engine!r}")
        self.count = count
        self.engine = engine
        self.cluster_id = cluster_id
        self.config = config if config is not None else StoreConfig()
        self.region_range = region_range
        self.split_keys = sorted(split_keys)
        self._tmp = tempfile.TemporaryDirectory(prefix="raftstore-cluster-") if path is None else None
        self.path = Path(self._tmp.name if self._tmp is not None else str(path))
        self.store_ids = list(range(1, count + 1))
        self.initial_stores = list(initial_stores) if initial_stores is not None else self.store_ids
        self.engines: dict[int, Engines] = {}
        self.cores: dict[int, StoreCore] = {}
        # snap_mgrs / snap_io: each store's SnapManager and, while it runs, its snapshot IO; recovered:
        # what recover_store did at each store's last start.
        self.snap_mgrs: dict[int, SnapManager] = {}
        self.snap_io: dict[int, SnapIO] = {}
        self.recovered: dict[int, RecoveredStore] = {}
        # id_allocs: each running store's IdAllocator (new region and peer ids for splits).
        self.id_allocs: dict[int, IdAllocator] = {}
        # _snap_reports: (store, region, to peer, status) of the snapshots sent, reported at the next step.
        self._snap_reports: list[tuple[int, int, int, SnapshotStatus]] = []
        self.transport = SimTransport()
        self.steps = 0
        # _crashes: store id -> (failpoint, condition): crash the store in its next round where the
        # condition holds, at that failpoint of the driver.
        self._crashes: dict[int, tuple[str, Callable[[StoreCore], bool]]] = {}

    # -- lifecycle -----------------------------------------------------------------------------------

    def initial_regions(self) -> list[Region]:
        """initial_regions are the regions the cluster is bootstrapped with (see the class docstring)."""
        start, end = self.region_range
        bounds = [start, *self.split_keys, end]
        regions = []
        for i in range(len(bounds) - 1):
            region_id = FIRST_REGION_ID + i
            peers = [Peer(id=i * self.count + s, store_id=s) for s in self.initial_stores]
            region = Region(id=region_id, start_key=bounds[i], end_key=bounds[i + 1], peers=peers)
            region.region_epoch.conf_ver = 1
            region.region_epoch.version = 1
            regions.append(region)
        return regions

    def start(self) -> None:
        """start bootstraps every store that is not yet (identity, then the initial regions) and starts them all."""
        for sid in self.store_ids:
            engines = self._open(sid)
            bootstrap_store(engines, self.cluster_id, sid)
            if sid in self.initial_stores:
                bootstrap_initial_regions(engines, self.initial_regions())
            self._start_core(sid)

    def _start_core(self, sid: int) -> None:
        """_start_core opens store sid as a store starts (open_store: identity, recovery) with its snapshot IO."""
        engines = self._open(sid)
        mgr = SnapManager(self.path / f"store-{sid}" / "snap")
        mgr.init()
        self.snap_mgrs[sid] = mgr
        core, self.recovered[sid] = open_store(engines, self.cluster_id, sid, mgr, self.config)
        self.cores[sid] = core
        self.snap_io[sid] = SnapIO(engines, mgr)
        self.id_allocs[sid] = IdAllocator(engines, sid)

    def _open(self, sid: int) -> Engines:
        engines = self.engines.get(sid)
        if engines is None:
            engines = open_engines(self.path / f"store-{sid}") if self.engine == "rocks" else memory_engines()
            self.engines[sid] = engines
        return engines

    def stop_store(self, sid: int) -> None:
        """stop_store crashes store sid: its core (every peer, every waiting command) is dropped without
        an answer and, on RocksDB, its engines are closed. Messages to it are dropped while it is down."""
        self.cores.pop(sid, None)
        self.snap_io.pop(sid, None)
        if self.engine == "rocks":
            engines = self.engines.pop(sid, None)
            if engines is not None:
                engines.close()

    def start_store(self, sid: int) -> None:
        """start_store starts a stopped store again from its engines (reopened on RocksDB)."""
        if sid in self.cores:
            raise ClusterError(f"store {sid} is running")
        self._start_core(sid)

    def restart_store(self, sid: int) -> None:
        self.stop_store(sid)
        self.start_store(sid)

    def crash_store_at(self, sid: int, point: str, when: Callable[[StoreCore], bool] = lambda core: True) -> None:
        """crash_store_at arms a crash of store sid at a failpoint of its round (the driver's
        `store_round_before_persist`, `store_round_before_apply`, `store_round_before_answer`, or
        write_tasks' `write_tasks_between_batches`, reached only by rounds that write): the first round
        that starts with when(core) true and reaches the failpoint stops there, and the store is stopped
        as by stop_store (restart it with start_store)."""
        self._crashes[sid] = (point, when)

    def disarm_crashes(self) -> None:
        """disarm_crashes cancels every crash armed by crash_store_at that has not happened."""
        self._crashes.clear()

    def close(self) -> None:
        """close stops every store and removes the temporary directory."""
        for sid in list(self.engines):
            self.stop_store(sid)
        self.cores.clear()
        if self._tmp is not None:
            self._tmp.cleanup()

    def __enter__(self) -> Cluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- driving -------------------------------------------------------------------------------------

    def step(self) -> None:
        """step delivers the messages of the last step, ticks every running store and runs a round of each."""
        self.steps += 1
        reports, self._snap_reports = self._snap_reports, []
        for sid, region_id, to, status in reports:
            core = self.cores.get(sid)
            if core is not None:
                core.report_snapshot(region_id, to, status)
        for msg in self.transport.take():
            core = self.cores.get(msg.to_peer.store_id)
            if core is not None:
                core.step(msg)
        for sid in list(self.cores):
            core = self.cores[sid]
            core.tick()
            self._round(sid, core)

    def _round(self, sid: int, core: StoreCore) -> None:
        crash = self._crashes.get(sid)
        if crash is None or not crash[1](core):
            run_round(core, self.engines[sid], self._send, self.snap_io[sid])
            return
        failpoints.cfg(crash[0], "panic")
        try:
            run_round(core, self.engines[sid], self._send, self.snap_io[sid])
        except failpoints.FailpointPanic:
            del self._crashes[sid]
            self.stop_store(sid)
        finally:
            failpoints.remove(crash[0])

    def _send(self, msgs: list[RaftMessage]) -> None:
        """_send hands msgs to the transport; a MsgSnapshot first carries its files (send_snapshot_files)."""
        failed = []
        for msg in snapshot_messages(msgs):
            ok = self.send_snapshot_files(msg)
            status = SnapshotStatus.FINISH if ok else SnapshotStatus.FAILURE
            self._snap_reports.append((msg.from_peer.store_id, msg.region_id, msg.to_peer.id, status))
            if not ok:
                failed.append(msg)
        self.transport.send([m for m in msgs if not any(m is f for f in failed)])

    def send_snapshot_files(self, msg: RaftMessage) -> bool:
        """send_snapshot_files copies a MsgSnapshot's files from the sending store's SnapManager to the
        receiving store's (the chunked transfer of snap.transfer, in process); False when the receiving
        store is down or the transfer fails."""
        src = self.snap_mgrs.get(msg.from_peer.store_id)
        dst = self.snap_mgrs.get(msg.to_peer.store_id)
        if src is None or dst is None or msg.to_peer.store_id not in self.cores:
            return False
        snapshot = msg.message.snapshot
        try:
            with SnapSender(src, snapshot) as sender, SnapReceiver(dst, SnapHeader(snapshot)) as receiver:
                transfer(sender, receiver)
        except StoreError as err:
            logger.info("snapshot of region %d to store %d failed: %s", msg.region_id, msg.to_peer.store_id, err)
            return False
        return True

    def run_steps(self, n: int) -> None:
        for _ in range(n):
            self.step()

    def run_until(self, cond: Callable[[], bool], max_steps: int = 300, what: str = "condition") -> None:
        """run_until steps until cond() holds; ClusterError after max_steps."""
        for _ in range(max_steps):
            if cond():
                return
            self.step()
        if not cond():
            raise ClusterError(f"{what} not reached within {max_steps} steps")

    # -- network -------------------------------------------------------------------------------------

    def partition(self, *groups: Sequence[int]) -> None:
        """partition lets the stores talk only within their group (until clear_filters)."""
        self.transport.add_filter(PartitionFilter(*groups))

    def isolate_store(self, sid: int) -> None:
        self.transport.add_filter(IsolateStore(sid))

    def clear_filters(self) -> None:
        self.transport.clear_filters()

    # -- regions and leaders -------------------------------------------------------------------------

    def leader_of(self, region_id: int = FIRST_REGION_ID) -> Peer | None:
        """leader_of is the peer that leads the region in the highest term among the running stores."""
        return leader_among(self.cores.values(), region_id)

    def wait_leader(self, region_id: int = FIRST_REGION_ID, max_steps: int = 300) -> Peer:
        """wait_leader steps until the region has a leader and returns it."""
        self.run_until(lambda: self.leader_of(region_id) is not None, max_steps, f"a leader of region {region_id}")
        leader = self.leader_of(region_id)
        assert leader is not None
        return leader

    def get_region(self, key: bytes) -> Region:
        """get_region is the region holding key, with the newest epoch a running store knows."""
        found = [r for core in self.cores.values() if (r := core.region_for_key(key)) is not None]
        if not found:
            raise ClusterError(f"no running store hosts a region for {key!r}")
        return max(found, key=lambda r: (r.region_epoch.version, r.region_epoch.conf_ver))

    # -- commands ------------------------------------------------------------------------------------

    def new_cmd(self, region: Region, peer: Peer, requests: Sequence[Request] = ()) -> RaftCmdRequest:
        """new_cmd is a command for region addressed to peer, with the region's epoch."""
        cmd = RaftCmdRequest()
        cmd.header.region_id = region.id
        cmd.header.peer.CopyFrom(peer)
        cmd.header.region_epoch.CopyFrom(region.region_epoch)
        cmd.requests.extend(requests)
        return cmd

    def propose(self, sid: int, cmd: RaftCmdRequest) -> list[CmdResult]:
        """propose hands cmd to store sid and returns the list its answer will be appended to."""
        box: list[CmdResult] = []
        core = self.cores.get(sid)
        if core is None:
            raise ClusterError(f"store {sid} is not running")
        core.propose(cmd, box.append)
        return box

    def call(self, sid: int, cmd: RaftCmdRequest, max_steps: int = 300) -> CmdResult:
        """call proposes cmd on store sid and steps until it is answered (ClusterError after max_steps)."""
        box = self.propose(sid, cmd)
        self.run_until(lambda: bool(box), max_steps, f"an answer from store {sid}")
        return box[0]

    def request(
        self, key: bytes, requests: Sequence[Request], max_steps: int = 600, retry_unknown: bool = False
    ) -> CmdResult:
        """request sends requests on key's region to its leader until answered, retrying after NotLeader,
        StaleCommand, EpochNotMatch, RegionNotFound and ServerIsBusy (the command did not take effect).
        An attempt whose outcome is unknown (an UndeterminedResult answer, or its store went down before
        answering) is retried only with `retry_unknown` (for requests a retry cannot change the effect
        of: put, delete, delete range, reads); otherwise the UndeterminedResult is returned, and a store
        gone down raises ClusterError. ClusterError after max_steps."""
        start = self.steps
        while self.steps - start < max_steps:
            leader = self.leader_of(self.get_region(key).id)
            if leader is None or leader.store_id not in self.cores:
                self.step()
                continue
            box = self.propose(leader.store_id, self.new_cmd(self.get_region(key), leader, requests))
            while not box and leader.store_id in self.cores and self.steps - start < max_steps:
                self.step()
            if not box and leader.store_id not in self.cores and not retry_unknown:
                raise ClusterError(f"store {leader.store_id} went down before answering a request on {key!r}: "
                                   "its outcome is unknown")
            if box and not _retried(box[0], retry_unknown):
                return box[0]
            self.step()
        raise ClusterError(f"no answer for a request on {key!r} within {max_steps} steps")

    def _must_ok(self, key: bytes, requests: Sequence[Request], retry_unknown: bool = True) -> CmdResult:
        """_must_ok is request's answer, ClusterError unless it succeeded. Only a cas passes
        retry_unknown=False: retried after an unknown outcome, it could compare against its own write."""
        result = self.request(key, requests, retry_unknown=retry_unknown)
        if result.error is not None:
            raise ClusterError(f"request on {key!r} failed: {result.error}")
        return result

    def must_put(self, key: bytes, value: bytes, cf: str = CF_DEFAULT) -> None:
        req = Request(cmd_type=CmdType.Put)
        req.put.cf, req.put.key, req.put.value = cf, key, value
        self._must_ok(key, [req])

    def must_delete(self, key: bytes, cf: str = CF_DEFAULT) -> None:
        req = Request(cmd_type=CmdType.Delete)
        req.delete.cf, req.delete.key = cf, key
        self._must_ok(key, [req])

    def must_delete_range(self, start: bytes, end: bytes, cf: str = CF_DEFAULT) -> None:
        req = Request(cmd_type=CmdType.DeleteRange)
        req.delete_range.cf, req.delete_range.start_key, req.delete_range.end_key = cf, start, end
        self._must_ok(start, [req])

    def must_get(self, key: bytes, cf: str = CF_DEFAULT) -> bytes | None:
        """must_get is a linearizable read of key through the leader (None: the key is missing)."""
        req = Request(cmd_type=CmdType.Get)
        req.get.cf, req.get.key = cf, key
        get = self._must_ok(key, [req]).response.responses[0].get
        return None if get.not_found else bytes(get.value)

    def must_cas(
        self, key: bytes, expected: bytes | None, value: bytes, cf: str = CF_DEFAULT
    ) -> tuple[bool, bytes | None]:
        """must_cas: compare-and-swap (expected None: only if missing); returns (swapped, previous)."""
        req = Request(cmd_type=CmdType.CompareAndSwap)
        req.cas.cf, req.cas.key, req.cas.value = cf, key, value
        if expected is None:
            req.cas.expect_missing = True
        else:
            req.cas.expected = expected
        cas = self._must_ok(key, [req], retry_unknown=False).response.responses[0].cas
        return bool(cas.swapped), (bytes(cas.previous) if cas.previous_exists else None)

    def must_transfer_leader(self, region_id: int, sid: int, max_steps: int = 300) -> None:
        """must_transfer_leader moves the region's leadership to its peer on store sid."""
        start = self.steps
        while self.steps - start < max_steps:
            leader = self.wait_leader(region_id)
            if leader.store_id == sid:
                return
            region = self.cores[leader.store_id].peers[region_id].region
            target = next(p for p in region.peers if p.store_id == sid)
            cmd = self.new_cmd(region, leader)
            cmd.admin_request.cmd_type = AdminCmdType.TransferLeader
            cmd.admin_request.transfer_leader.peer.CopyFrom(target)
            self.call(leader.store_id, cmd)
            self.run_steps(5)
        raise ClusterError(f"leadership of region {region_id} did not move to store {sid}")

    # -- membership ----------------------------------------------------------------------------------

    def must_admin(self, region_id: int, admin: AdminRequest, max_steps: int = 600) -> CmdResult:
        """must_admin proposes an admin command on the region through its leader (its current region and
        epoch), retrying what a client retries and a conf change still applying; ClusterError on any
        other error, on an unknown outcome (an UndeterminedResult, or the leader's store went down before
        answering: a retry of an admin command that took effect would fail or apply it twice) or after
        max_steps."""
        start = self.steps
        while self.steps - start < max_steps:
            leader = self.wait_leader(region_id)
            core = self.cores.get(leader.store_id)
            peer = core.peer(region_id) if core is not None else None
            if peer is None:
                self.step()
                continue
            cmd = self.new_cmd(peer.region, leader)
            cmd.admin_request.CopyFrom(admin)
            box = self.propose(leader.store_id, cmd)
            while not box and leader.store_id in self.cores and self.steps - start < max_steps:
                self.step()
            if not box and leader.store_id not in self.cores:
                raise ClusterError(f"store {leader.store_id} went down before answering an admin command on "
                                   f"region {region_id}: its outcome is unknown")
            if box and box[0].error is None:
                return box[0]
            error = box[0].error if box else None
            if error is not None and not any(error.HasField(f) for f in RETRY_ERRORS):
                if not any(m in error.message for m in RETRY_MESSAGES):
                    raise ClusterError(f"admin command on region {region_id} failed: {error}")
            self.step()
        raise ClusterError(f"no answer for an admin command on region {region_id} within {max_steps} steps")

    def region_on_leader(self, region_id: int = FIRST_REGION_ID) -> Region:
        """region_on_leader is the region as its leader has applied it."""
        leader = self.wait_leader(region_id)
        return self.cores[leader.store_id].peers[region_id].region

    def _must_change(self, region_id: int, changes: Sequence[tuple[int, Peer]], v2: bool) -> Region:
        admin = AdminRequest(cmd_type=AdminCmdType.ChangePeerV2 if v2 else AdminCmdType.ChangePeer)
        requests = [ChangePeerRequest(change_type=t, peer=p) for t, p in changes]  # type: ignore[arg-type]
        if v2:
            admin.change_peer_v2.changes.extend(requests)
        else:
            admin.change_peer.CopyFrom(requests[0])
        result = self.must_admin(region_id, admin)
        resp = result.response.admin_response
        return resp.change_peer_v2.region if v2 else resp.change_peer.region

    def must_add_peer(self, region_id: int, peer: Peer) -> Region:
        """must_add_peer adds a voter (ChangePeer AddNode) and returns the region after it."""
        return self._must_change(region_id, [(ConfChangeType.AddNode, peer)], v2=False)

    def must_add_learner(self, region_id: int, peer: Peer) -> Region:
        """must_add_learner adds a learner (ChangePeer AddLearnerNode) and returns the region after it."""
        learner = Peer(id=peer.id, store_id=peer.store_id, role=PeerRole.Learner)
        return self._must_change(region_id, [(ConfChangeType.AddLearnerNode, learner)], v2=False)

    def must_remove_peer(self, region_id: int, peer: Peer) -> Region:
        """must_remove_peer removes a peer (ChangePeer RemoveNode) and returns the region after it."""
        return self._must_change(region_id, [(ConfChangeType.RemoveNode, peer)], v2=False)

    def must_enter_joint(self, region_id: int, changes: Sequence[tuple[int, Peer]]) -> Region:
        """must_enter_joint proposes a ChangePeerV2 of several (ConfChangeType, Peer) changes: the region
        enters a joint state (IncomingVoter / DemotingVoter) until must_leave_joint."""
        return self._must_change(region_id, changes, v2=True)

    def must_leave_joint(self, region_id: int) -> Region:
        """must_leave_joint proposes the empty ChangePeerV2 that leaves the joint state."""
        return self._must_change(region_id, [], v2=True)

    def must_split(self, split_key: bytes) -> tuple[Region, Region]:
        """must_split splits the region holding split_key at it (BatchSplit, the new region's id and peer
        ids from the leader store's IdAllocator) and returns (left, right); the right one is new."""
        region = self.get_region(split_key)
        leader = self.wait_leader(region.id)
        alloc = self.id_allocs[leader.store_id]
        admin = AdminRequest(cmd_type=AdminCmdType.BatchSplit)
        req = admin.splits.requests.add(split_key=split_key, new_region_id=alloc.alloc())
        req.new_peer_ids.extend(alloc.alloc() for _ in region.peers)
        regions = self.must_admin(region.id, admin).response.admin_response.splits.regions
        return regions[0], regions[1]

    def must_check_consistency(self, region_id: int = FIRST_REGION_ID, max_steps: int = 600) -> ConsistencyState:
        """must_check_consistency runs a consistency check of the region (ComputeHash through its leader,
        then the leader's VerifyHash) and steps until the leader verified it and every running store
        hosting the region applied past the leader's VerifyHash; returns the leader's ConsistencyState.
        ClusterError when a replica's hash does not match (verified False) or two replicas disagree on
        the hash at the check's index. A replica that skipped the ComputeHash (a snapshot took it past
        the check) has no hash of that index and is not compared."""
        admin = AdminRequest(cmd_type=AdminCmdType.ComputeHash)
        admin.compute_hash.SetInParent()
        self.must_admin(region_id, admin, max_steps)
        leader = self.wait_leader(region_id)
        lead = self.cores[leader.store_id]
        state = lead.consistency_state(region_id)
        if state is None:
            raise ClusterError(f"region {region_id}: the leader answered ComputeHash but recorded no hash")
        verified_at: list[int] = []  # the leader's applied index once it applied its own VerifyHash

        def peers() -> list[StorePeer]:
            return [p for core in self.cores.values() if (p := core.peer(region_id)) is not None]

        def settled() -> bool:
            if not verified_at:
                mine, peer = lead.consistency_state(region_id), lead.peer(region_id)
                if mine is None or mine.index != state.index or mine.verified is None or peer is None:
                    return False
                verified_at.append(peer.storage.applied_index())
            return all(p.storage.applied_index() >= verified_at[0] for p in peers())

        self.run_until(settled, max_steps, f"consistency check of region {region_id} at {state.index} on every replica")
        at_index = {p.store_id: p.consistency for p in peers() if p.consistency and p.consistency.index == state.index}
        bad = {sid: s for sid, s in at_index.items() if s.verified is not True or s.hash != state.hash}
        if bad:
            raise ClusterError(f"region {region_id}: replicas disagree at index {state.index}: leader's hash "
                               f"{state.hash.hex()}, {bad}")
        final = lead.consistency_state(region_id)
        return final if final is not None and final.index == state.index else state

    def peer_on_store(self, sid: int, region_id: int = FIRST_REGION_ID) -> StorePeer | None:
        """peer_on_store is store sid's peer of the region (a store.peer.Peer), None when it hosts none."""
        core = self.cores.get(sid)
        return core.peer(region_id) if core is not None else None

    # -- looking at stores ---------------------------------------------------------------------------

    def get_on_store(self, sid: int, key: bytes, cf: str = CF_DEFAULT) -> bytes | None:
        """get_on_store reads key from store sid's KV engine directly (what that replica applied)."""
        return self._open(sid).kv.get(cf, keys.data_key(key))

    def must_get_on_store(self, sid: int, key: bytes, value: bytes | None, max_steps: int = 300) -> None:
        """must_get_on_store steps until store sid's engine holds value for key (None: missing)."""
        self.run_until(lambda: self.get_on_store(sid, key) == value, max_steps, f"{key!r}={value!r} on store {sid}")


def _retried(result: CmdResult, retry_unknown: bool) -> bool:
    """_retried: whether request tries again after result: a RETRY_ERRORS error (not applied), or an
    UndeterminedResult with retry_unknown."""
    error = result.error
    if error is None:
        return False
    return any(error.HasField(f) for f in RETRY_ERRORS) or (retry_unknown and error.HasField("undetermined_result"))

"""raftstore.server.admin: the operators' service (raftstorepb.Admin), what `raftstore ctl --addr` uses.

    ChangePeer        add a voter or a learner of a region on a store, or remove the store's peer
    SplitRegion       split a region at a key (new region and peer ids from this store's IdAllocator)
    TransferLeader    move a region's leadership to its voter on a store, answered once it moved
    ListRegions       every region this store hosts, with its status
    RegionStatus      one region as this store's peer sees it (states, indexes, consistency)
    StoreStatus       this store: id, address, counts, its regions, and every store it knows
    ConsistencyCheck  ComputeHash through the leader's log, then every replica's hash at that index

Routing, as the Kv service: a request that changes a region (or checks it) goes to the store of its
leader; another store answers `region_error` NotLeader with the leader it knows (RegionNotFound when it
hosts no peer of the region), and the caller follows the hint (raftstore.server.admin_client does).
Reads (ListRegions, RegionStatus, StoreStatus) are answered by any store, about itself.

Threads: a gRPC handler hands the driver a task (`_on_driver`: the core is touched on the driver thread
only) and waits for its result until the call's deadline; a refusal raised in the task (AdminError) is
answered as `error`, and a region error of the core as `region_error`. gRPC's errors never reach the
caller as such: a malformed request ends the call INVALID_ARGUMENT, everything else is an answer.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from functools import partial
from typing import Any, TypeVar

import grpc
from google.protobuf.message import DecodeError, Message

from ..engine import keys
from ..engine.base import CF_RAFT
from ..proto.eraftpb_pb2 import ConfChangeType
from ..proto.errorpb_pb2 import Error
from ..proto.metapb_pb2 import Peer as PeerMeta
from ..proto.metapb_pb2 import PeerRole, Region
from ..proto.raft_cmdpb_pb2 import AdminCmdType, RaftCmdRequest
from ..proto.raft_serverpb_pb2 import RegionLocalState
from ..proto.raftstorepb_pb2 import (
    ConsistencyCheckRequest,
    ConsistencyCheckResponse,
    ConsistencyStatus,
    ConsistencyVerdict,
    ListRegionsRequest,
    ListRegionsResponse,
    PeerChangeKind,
    PeerChangeRequest,
    PeerChangeResponse,
    RegionStatus,
    RegionStatusRequest,
    RegionStatusResponse,
    SplitRegionRequest,
    SplitRegionResponse,
    StoreStatusRequest,
    StoreStatusResponse,
    TransferLeaderRequest,
    TransferLeaderResponse,
)
from ..raft.raft import StateRole
from ..store.bootstrap import IdAllocator
from ..store.cmd import (
    CmdResult,
    compute_hash_cmd,
    error_response,
    not_leader,
    region_not_found,
)
from ..store.peer import Peer
from ..store.store_core import StoreCore
from .driver import StoreDriver
from .errors import AdminError, AdminTimeoutError
from .resolve import StoreResolver
from .rpc import ADMIN_SERVICE, Connect, admin_method, unary_call

__all__ = ["ADMIN_TIMEOUT", "AdminService", "region_status"]

logger = logging.getLogger("raftstore.server.admin")

T = TypeVar("T")

# ADMIN_TIMEOUT: how long a request may take when the caller set no (shorter) deadline.
ADMIN_TIMEOUT = 30.0
# POLL: the interval of the waits for something to happen (a leader moved, a replica hashed).
POLL = 0.05

_ROLES = {
    StateRole.LEADER: "Leader",
    StateRole.FOLLOWER: "Follower",
    StateRole.CANDIDATE: "Candidate",
    StateRole.PRE_CANDIDATE: "PreCandidate",
}


def region_status(core: StoreCore, peer: Peer) -> RegionStatus:
    """region_status (driver thread) is the peer's region, raft and apply state and last consistency check."""
    storage = peer.storage
    raft = peer.raft_group.raft
    status = RegionStatus(
        role=_ROLES[raft.state],
        term=raft.term,
        commit=raft.raft_log.committed,
        applied=storage.applied_index(),
        last_index=storage.last_index(),
        truncated_index=storage.truncated_index(),
        hibernated=core.hibernated(peer.region_id),
    )
    status.region.CopyFrom(peer.region)
    status.peer.CopyFrom(peer.meta_peer(peer.peer_id) or PeerMeta(id=peer.peer_id, store_id=core.store_id))
    leader = peer.leader()
    if leader is not None:
        status.leader.CopyFrom(leader)
    status.raft_state.CopyFrom(storage.raft_state)
    status.apply_state.CopyFrom(storage.apply_state)
    raw = core.engines.kv.get(CF_RAFT, keys.region_state_key(peer.region_id))
    if raw is not None:
        status.region_state.CopyFrom(RegionLocalState.FromString(raw))
    status.consistency.CopyFrom(_consistency(core, peer.region_id))
    return status


def _consistency(core: StoreCore, region_id: int) -> ConsistencyStatus:
    state = core.consistency_state(region_id)
    if state is None:
        return ConsistencyStatus()
    verdict = {None: ConsistencyVerdict.UNVERIFIED, True: ConsistencyVerdict.MATCHED}.get(
        state.verified, ConsistencyVerdict.MISMATCH
    )
    return ConsistencyStatus(present=True, index=state.index, hash=state.hash, verdict=verdict)


def _leader(core: StoreCore, region_id: int) -> Peer | Error:
    """_leader is this store's peer of the region if it leads, else the region error to answer."""
    peer = core.peer(region_id)
    if peer is None:
        return region_not_found(region_id)
    if not peer.is_leader():
        return not_leader(region_id, peer.leader())
    return peer


def _on_store(region: Region, store_id: int) -> PeerMeta | None:
    return next((p for p in region.peers if p.store_id == store_id), None)


class AdminService:
    """AdminService: the raftstorepb.Admin methods of one store (module docstring).

    `ids` is the store's IdAllocator, used on the driver thread only; `connect` opens channels to the
    other stores (the consistency check asks each replica's store)."""

    def __init__(
        self,
        driver: StoreDriver,
        resolver: StoreResolver,
        ids: IdAllocator,
        connect: Connect,
        cluster_id: int,
        addr: str,
    ) -> None:
        self._driver = driver
        self._resolver = resolver
        self._ids = ids
        self._connect = connect
        self._cluster_id = cluster_id
        self._addr = addr

    def handlers(self) -> grpc.GenericRpcHandler:
        methods: dict[str, tuple[type[Message], type[Message], Callable[[Any, Any, float], None]]] = {
            "ChangePeer": (PeerChangeRequest, PeerChangeResponse, self._change_peer),
            "SplitRegion": (SplitRegionRequest, SplitRegionResponse, self._split),
            "TransferLeader": (TransferLeaderRequest, TransferLeaderResponse, self._transfer_leader),
            "ListRegions": (ListRegionsRequest, ListRegionsResponse, self._list_regions),
            "RegionStatus": (RegionStatusRequest, RegionStatusResponse, self._region_status),
            "StoreStatus": (StoreStatusRequest, StoreStatusResponse, self._store_status),
            "ConsistencyCheck": (ConsistencyCheckRequest, ConsistencyCheckResponse, self._consistency_check),
        }
        return grpc.method_handlers_generic_handler(
            ADMIN_SERVICE,
            {name: grpc.unary_unary_rpc_method_handler(partial(self._serve, *m)) for name, m in methods.items()},
        )

    def _serve(
        self,
        req_cls: type[Message],
        resp_cls: type[Message],
        method: Callable[[Any, Any, float], None],
        raw: bytes,
        context: grpc.ServicerContext,
    ) -> bytes:
        """_serve decodes a request, runs method(request, response, deadline) and answers; a refusal
        (AdminError) is the response's error."""
        try:
            req = req_cls.FromString(raw)
        except DecodeError as err:
            context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"malformed {req_cls.__name__}: {err}")
        remaining = context.time_remaining()
        deadline = time.monotonic() + (ADMIN_TIMEOUT if remaining is None else min(remaining, ADMIN_TIMEOUT))
        resp = resp_cls()
        try:
            method(req, resp, deadline)
        except AdminError as err:
            resp.error = str(err)  # type: ignore[attr-defined]
        return bytes(resp.SerializeToString())

    # -- the driver ----------------------------------------------------------------------------------

    def _on_driver(self, fn: Callable[[StoreCore], T], deadline: float) -> T:
        """_on_driver runs fn on the driver thread and returns its result (an AdminError it raises is
        raised here); AdminTimeoutError when the driver does not run it before deadline."""
        box: list[tuple[T | None, AdminError | None]] = []
        done = threading.Event()

        def task(core: StoreCore) -> None:
            try:
                box.append((fn(core), None))
            except AdminError as err:
                box.append((None, err))
            done.set()

        self._driver.submit(task)
        if not done.wait(max(deadline - time.monotonic(), 0)):
            raise AdminTimeoutError("the store did not answer in time")
        value, error = box[0]
        if error is not None:
            raise error
        return value  # type: ignore[return-value]

    def _propose(self, build: Callable[[StoreCore], RaftCmdRequest | Error], deadline: float) -> CmdResult:
        """_propose builds a command on the driver thread (or the region error to answer at once),
        proposes it and waits for its result; AdminTimeoutError (outcome unknown) after deadline."""
        box: list[CmdResult] = []
        done = threading.Event()

        def answer(result: CmdResult) -> None:
            box.append(result)
            done.set()

        def propose(core: StoreCore) -> None:
            cmd = build(core)
            if isinstance(cmd, Error):
                answer(CmdResult(error_response(cmd)))
            else:
                core.propose(cmd, answer)

        self._on_driver(propose, deadline)
        if not done.wait(max(deadline - time.monotonic(), 0)):
            raise AdminTimeoutError("no answer in time: the change may or may not take effect")
        return box[0]

    # -- changes -------------------------------------------------------------------------------------

    def _change_peer(self, req: PeerChangeRequest, resp: PeerChangeResponse, deadline: float) -> None:
        if req.kind != PeerChangeKind.REMOVE and self._resolver.address(req.store_id) is None:
            raise AdminError(f"store {req.store_id} is unknown to this store (start it with --join first)")
        result = self._propose(partial(self._change_peer_cmd, req), deadline)
        if result.error is not None:
            resp.region_error.CopyFrom(result.error)
        else:
            resp.region.CopyFrom(result.response.admin_response.change_peer.region)

    def _change_peer_cmd(self, req: PeerChangeRequest, core: StoreCore) -> RaftCmdRequest | Error:
        """_change_peer_cmd (driver thread): the ChangePeer for req, a new peer id from the IdAllocator."""
        leader = _leader(core, req.region_id)
        if isinstance(leader, Error):
            return leader
        region = leader.region
        existing = _on_store(region, req.store_id)
        cmd = leader.new_cmd()
        cmd.admin_request.cmd_type = AdminCmdType.ChangePeer
        change = cmd.admin_request.change_peer
        if req.kind == PeerChangeKind.REMOVE:
            if existing is None:
                raise AdminError(f"region {region.id} has no peer on store {req.store_id}")
            if existing.id == leader.peer_id:
                raise AdminError(
                    f"store {req.store_id} holds the leader of region {region.id}: transfer leadership first"
                )
            change.change_type = ConfChangeType.RemoveNode
            change.peer.CopyFrom(existing)
        elif req.kind == PeerChangeKind.ADD_VOTER:
            if existing is not None and existing.role != PeerRole.Learner:
                raise AdminError(f"region {region.id} already has voter {existing.id} on store {req.store_id}")
            change.change_type = ConfChangeType.AddNode
            change.peer.id = existing.id if existing is not None else self._ids.alloc()
            change.peer.store_id = req.store_id
        else:
            if existing is not None:
                raise AdminError(f"region {region.id} already has peer {existing.id} on store {req.store_id}")
            change.change_type = ConfChangeType.AddLearnerNode
            change.peer.CopyFrom(PeerMeta(id=self._ids.alloc(), store_id=req.store_id, role=PeerRole.Learner))
        logger.info("[region %d] %d proposes %s of %d@%d", region.id, leader.peer_id,
                    ConfChangeType.Name(change.change_type), change.peer.id, req.store_id)
        return cmd

    def _split(self, req: SplitRegionRequest, resp: SplitRegionResponse, deadline: float) -> None:
        if not req.split_key:
            raise AdminError("split: the split key must not be empty")
        result = self._propose(partial(self._split_cmd, req), deadline)
        if result.error is not None:
            resp.region_error.CopyFrom(result.error)
            return
        regions = result.response.admin_response.splits.regions
        resp.left.CopyFrom(regions[0])
        resp.right.CopyFrom(regions[1])

    def _split_cmd(self, req: SplitRegionRequest, core: StoreCore) -> RaftCmdRequest | Error:
        """_split_cmd (driver thread): a BatchSplit at req.split_key, the new region's id and one peer id per
        peer from the IdAllocator. The key must lie strictly inside the region."""
        region_id = req.region_id
        if not region_id:
            found = core.region_for_key(req.split_key)
            if found is None:
                raise AdminError(f"store {core.store_id} hosts no region for key {req.split_key!r}")
            region_id = found.id
        leader = _leader(core, region_id)
        if isinstance(leader, Error):
            return leader
        region, key = leader.region, req.split_key
        if key <= region.start_key or (region.end_key and key >= region.end_key):
            raise AdminError(f"split key {key!r} is not inside region {region.id} (a split key must lie "
                             f"after its start key and before its end key)")
        cmd = leader.new_cmd()
        cmd.admin_request.cmd_type = AdminCmdType.BatchSplit
        split = cmd.admin_request.splits.requests.add(split_key=key, new_region_id=self._ids.alloc())
        split.new_peer_ids.extend(self._ids.alloc() for _ in region.peers)
        logger.info("[region %d] %d proposes a split at %r (new region %d)", region.id, leader.peer_id, key,
                    split.new_region_id)
        return cmd

    def _transfer_leader(self, req: TransferLeaderRequest, resp: TransferLeaderResponse, deadline: float) -> None:
        target: list[PeerMeta] = []

        def build(core: StoreCore) -> RaftCmdRequest | Error:
            leader = _leader(core, req.region_id)
            if isinstance(leader, Error):
                return leader
            peer = _on_store(leader.region, req.store_id)
            if peer is None or peer.role != PeerRole.Voter:
                raise AdminError(f"region {req.region_id} has no voter on store {req.store_id}")
            target.append(peer)
            cmd = leader.new_cmd()
            cmd.admin_request.cmd_type = AdminCmdType.TransferLeader
            cmd.admin_request.transfer_leader.peer.CopyFrom(peer)
            return cmd

        result = self._propose(build, deadline)
        if result.error is not None:
            resp.region_error.CopyFrom(result.error)
            return
        while True:
            leader = self._on_driver(lambda core: _known_leader(core, req.region_id), deadline)
            if leader is not None and leader.id == target[0].id:
                resp.leader.CopyFrom(leader)
                return
            if time.monotonic() + POLL >= deadline:
                raise AdminError(f"leadership of region {req.region_id} did not move to store {req.store_id} in "
                                 f"time (the target may be behind or unreachable); try again")
            time.sleep(POLL)

    # -- status --------------------------------------------------------------------------------------

    def _list_regions(self, req: ListRegionsRequest, resp: ListRegionsResponse, deadline: float) -> None:
        resp.regions.extend(self._on_driver(_all_regions, deadline))

    def _region_status(self, req: RegionStatusRequest, resp: RegionStatusResponse, deadline: float) -> None:
        def read(core: StoreCore) -> RegionStatus | Error:
            peer = core.peer(req.region_id)
            return region_not_found(req.region_id) if peer is None else region_status(core, peer)

        got = self._on_driver(read, deadline)
        if isinstance(got, Error):
            resp.region_error.CopyFrom(got)
        else:
            resp.status.CopyFrom(got)

    def _store_status(self, req: StoreStatusRequest, resp: StoreStatusResponse, deadline: float) -> None:
        regions, mismatches = self._on_driver(lambda core: (_all_regions(core), core.consistency_mismatches), deadline)
        resp.consistency_mismatches = mismatches
        resp.store_id = self._driver.core.store_id
        resp.address = self._addr
        resp.cluster_id = self._cluster_id
        resp.region_count = len(regions)
        resp.leader_count = sum(1 for r in regions if r.role == "Leader")
        resp.hibernated_count = sum(1 for r in regions if r.hibernated)
        resp.regions.extend(regions)
        resp.stores.extend(self._resolver.stores())

    # -- consistency ---------------------------------------------------------------------------------

    def _consistency_check(self, req: ConsistencyCheckRequest, resp: ConsistencyCheckResponse, deadline: float) -> None:
        """_consistency_check: ComputeHash through the leader's log (every replica hashes the region at that
        entry's index), the leader's hash, then each replica's at the same index (module docstring)."""
        before = self._on_driver(lambda core: _consistency(core, req.region_id), deadline)
        region: list[Region] = []

        def build(core: StoreCore) -> RaftCmdRequest | Error:
            leader = _leader(core, req.region_id)
            if isinstance(leader, Error):
                return leader
            region.append(Region.FromString(leader.region.SerializeToString()))
            return compute_hash_cmd(leader.region, leader.new_cmd().header.peer)

        result = self._propose(build, deadline)
        if result.error is not None:
            resp.region_error.CopyFrom(result.error)
            return
        mine = self._wait_local(req.region_id, lambda s: s.present and s.index > before.index, deadline)
        resp.index, resp.hash = mine.index, mine.hash
        identical = True
        for peer in region[0].peers:
            replica = resp.replicas.add(store_id=peer.store_id, peer_id=peer.id)
            try:
                state = self._replica_state(peer.store_id, req.region_id, mine.index, deadline)
            except AdminError as err:
                replica.error = str(err)
                identical = False
                continue
            replica.state.CopyFrom(state)
            if state.index != mine.index:
                replica.error = f"it moved on to the check at index {state.index}"
            elif state.hash != mine.hash or state.verdict == ConsistencyVerdict.MISMATCH:
                replica.error = "its hash DIFFERS from the leader's"
            identical = identical and not replica.error
        resp.identical = identical

    def _wait_local(self, region_id: int, ok: Callable[[ConsistencyStatus], bool], deadline: float) -> ConsistencyStatus:
        while True:
            state = self._on_driver(lambda core: _consistency(core, region_id), deadline)
            if ok(state):
                return state
            if time.monotonic() + POLL >= deadline:
                raise AdminTimeoutError(f"region {region_id}: this store's hash did not come in time")
            time.sleep(POLL)

    def _replica_state(self, store_id: int, region_id: int, index: int, deadline: float) -> ConsistencyStatus:
        """_replica_state is a replica's consistency state once it hashed at index or later and (at index)
        verified it, or the last it had at deadline (AdminError when its store cannot be asked)."""
        ready = _replica_ready(index)
        if store_id == self._driver.core.store_id:
            return self._wait_local(region_id, ready, deadline)
        addr = self._resolver.address(store_id)
        if addr is None:
            raise AdminError(f"store {store_id}'s address is unknown")
        state = ConsistencyStatus()
        with self._connect(addr) as channel:
            while True:
                try:
                    got = unary_call(channel, admin_method("RegionStatus"), RegionStatusRequest(region_id=region_id),
                                     RegionStatusResponse, max(deadline - time.monotonic(), 0.1))
                except grpc.RpcError as err:
                    raise AdminError(f"cannot ask store {store_id} at {addr}: {_rpc_reason(err)}") from None
                if got.HasField("region_error") or got.error:
                    raise AdminError(f"store {store_id}: {got.region_error.message or got.error}")
                state = got.status.consistency
                if ready(state) or time.monotonic() + POLL >= deadline:
                    return state
                time.sleep(POLL)


def _replica_ready(index: int) -> Callable[[ConsistencyStatus], bool]:
    """_replica_ready: a replica's state is final for the check at index once it passed index, or hashed at
    index and applied the leader's VerifyHash."""
    return lambda s: s.present and (s.index > index or (s.index == index and s.verdict != ConsistencyVerdict.UNVERIFIED))


def _known_leader(core: StoreCore, region_id: int) -> PeerMeta | None:
    peer = core.peer(region_id)
    return None if peer is None else peer.leader()


def _all_regions(core: StoreCore) -> list[RegionStatus]:
    return [region_status(core, peer) for _, peer in sorted(core.peers.items())]


def _rpc_reason(err: grpc.RpcError) -> str:
    if isinstance(err, grpc.Call):
        return f"{err.code().name}: {err.details()}"
    return type(err).__name__

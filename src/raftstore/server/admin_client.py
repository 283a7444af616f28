"""raftstore.server.admin_client: the client of the Admin service, as `raftstore ctl --addr` uses it.

    with AdminClient("127.0.0.1:20161", timeout=10) as admin:
        admin.store_status()                          # the store at that address
        admin.split(b"m")                             # -> (left, right)
        admin.change_peer(region_id, PeerChangeKind.ADD_LEARNER, store_id=4)
        admin.transfer_leader(region_id, store_id=2)
        admin.consistency_check(region_id)            # ConsistencyCheckResponse

Any store of the cluster will do: a request about a region goes to its leader, following NotLeader
hints (the stores' addresses come from the first store's StoreStatus), and is retried while the region is
busy with another conf change; all within `timeout`. Errors: AdminError (refused or failed: nothing
changed), AdminTimeoutError (no answer in time: a change may or may not have taken effect). gRPC's errors
never leave this module.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from typing import Any, Self

import grpc
from google.protobuf.message import Message

from ..proto.errorpb_pb2 import Error
from ..proto.metapb_pb2 import Peer, PeerRole, Region, Store
from ..proto.raftstorepb_pb2 import (
    ConsistencyCheckRequest,
    ConsistencyCheckResponse,
    GetRegionRequest,
    GetRegionResponse,
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
from .errors import AdminError, AdminTimeoutError
from .rpc import admin_method, kv_method, open_channel, unary_call
from .security import Security

__all__ = ["AdminClient"]

# _RETRY_MESSAGES: refusals of a region busy with something else: they pass, so the request is retried.
_RETRY_MESSAGES = ("pending conf change", "not applied to current term")
_BACKOFF = 0.1


class AdminClient:
    """AdminClient: Admin calls against a cluster through the store at `addr` (module docstring).
    `store_addrs` win over the addresses the stores report, as the Client's do."""

    def __init__(
        self,
        addr: str,
        *,
        timeout: float = 10.0,
        security: Security | None = None,
        store_addrs: Mapping[int, str] | None = None,
    ) -> None:
        self.addr = addr
        self.timeout = timeout
        self._security = security
        self._channels: dict[str, grpc.Channel] = {}
        self._pinned = dict(store_addrs or {})
        self._stores: dict[int, str] = dict(self._pinned)

    def close(self) -> None:
        for channel in self._channels.values():
            channel.close()
        self._channels = {}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reads (the store at addr, about itself) --------------------------------------------------------

    def store_status(self, addr: str | None = None) -> StoreStatusResponse:
        """store_status is the status of the store at addr (default: the client's)."""
        resp: StoreStatusResponse = self._call(addr or self.addr, "StoreStatus", StoreStatusRequest(), StoreStatusResponse)
        self._learn(resp.stores)
        return resp

    def list_regions(self) -> list[RegionStatus]:
        resp: ListRegionsResponse = self._call(self.addr, "ListRegions", ListRegionsRequest(), ListRegionsResponse)
        return list(resp.regions)

    def region_status(self, region_id: int, addr: str | None = None) -> RegionStatus:
        """region_status is the region as the store at addr (default: the client's) sees it."""
        resp = self._call(addr or self.addr, "RegionStatus", RegionStatusRequest(region_id=region_id),
                          RegionStatusResponse)
        if resp.HasField("region_error"):
            raise AdminError(f"store at {addr or self.addr}: {resp.region_error.message}")
        return resp.status  # type: ignore[no-any-return]

    # -- changes (through the region's leader) ----------------------------------------------------------

    def change_peer(self, region_id: int, kind: int, store_id: int) -> Region:
        """change_peer adds a voter or learner of the region on store_id or removes its peer there; returns
        the region after the change. Removing the leader's peer moves the leadership to another voter first."""
        if kind == PeerChangeKind.REMOVE:
            self._move_leader_off(region_id, store_id)
        req = PeerChangeRequest(region_id=region_id, kind=kind, store_id=store_id)  # type: ignore[arg-type]
        return self._on_leader(region_id, "ChangePeer", req, PeerChangeResponse).region  # type: ignore[no-any-return]

    def split(self, key: bytes, region_id: int = 0) -> tuple[Region, Region]:
        """split splits the region holding key (or region_id) at key; returns (left, right), right new."""
        if not region_id:
            region_id = self.locate(key).id
        resp = self._on_leader(region_id, "SplitRegion", SplitRegionRequest(region_id=region_id, split_key=key),
                               SplitRegionResponse)
        return resp.left, resp.right

    def transfer_leader(self, region_id: int, store_id: int) -> Peer:
        """transfer_leader moves the region's leadership to its voter on store_id; returns the new leader."""
        req = TransferLeaderRequest(region_id=region_id, store_id=store_id)
        return self._on_leader(region_id, "TransferLeader", req, TransferLeaderResponse).leader  # type: ignore[no-any-return]

    def consistency_check(self, region_id: int) -> ConsistencyCheckResponse:
        """consistency_check hashes the region on every replica at one index; see the response's identical."""
        return self._on_leader(region_id, "ConsistencyCheck", ConsistencyCheckRequest(region_id=region_id),  # type: ignore[no-any-return]
                               ConsistencyCheckResponse)

    def locate(self, key: bytes) -> Region:
        """locate is the region holding key, as the client's store knows it."""
        got: GetRegionResponse = self._call(self.addr, "GetRegion", GetRegionRequest(key=key), GetRegionResponse,
                                            path=kv_method("GetRegion"))
        if got.error or got.HasField("region_error"):
            raise AdminError(got.error or got.region_error.message)
        self._learn(got.stores)
        return got.region  # type: ignore[no-any-return]

    def _move_leader_off(self, region_id: int, store_id: int) -> None:
        """_move_leader_off transfers the region's leadership away from store_id when its peer leads."""
        status = self._leader_status(region_id)
        if status.leader.store_id != store_id:
            return
        others = [p for p in status.region.peers if p.store_id != store_id and p.role == PeerRole.Voter]
        if not others:
            raise AdminError(f"region {region_id} has no other voter to take over from store {store_id}")
        self.transfer_leader(region_id, others[0].store_id)

    def _leader_status(self, region_id: int) -> RegionStatus:
        """_leader_status is the region's status on its leader's store (as far as the stores know it)."""
        status = self.region_status(region_id)
        addr = self._address(status.leader.store_id) if status.leader.store_id else None
        return self.region_status(region_id, addr) if addr is not None and addr != self.addr else status

    # -- calls -------------------------------------------------------------------------------------------

    def _on_leader(self, region_id: int, method: str, req: Message, resp_cls: type[Any]) -> Any:
        """_on_leader sends req to the store believed to lead the region, following NotLeader hints and
        retrying a busy region, until answered or the timeout passes."""
        deadline = time.monotonic() + self.timeout
        addr = self.addr
        last = "no attempt"
        tried: set[str] = set()
        while time.monotonic() < deadline:
            resp = self._call(addr, method, req, resp_cls, deadline=deadline)
            if resp.error and not any(m in resp.error for m in _RETRY_MESSAGES):
                raise AdminError(resp.error)
            if not resp.error and not resp.HasField("region_error"):
                return resp
            last = resp.error or resp.region_error.message
            tried.add(addr)
            addr = self._next(resp.region_error, addr, tried) if resp.HasField("region_error") else addr
            time.sleep(min(_BACKOFF, max(deadline - time.monotonic(), 0)))
        raise AdminTimeoutError(f"region {region_id}: no answer within {self.timeout} s (last: {last})")

    def _next(self, error: Error, addr: str, tried: set[str]) -> str:
        """_next is where to send a request answered with error next (AdminError when retrying cannot help)."""
        if error.HasField("not_leader") and error.not_leader.leader.store_id:
            hint = self._address(error.not_leader.leader.store_id)
            if hint is not None:
                return hint
        if error.HasField("not_leader") or error.HasField("region_not_found"):
            untried = [a for a in self._all_addresses() if a not in tried]
            if untried:
                return untried[0]
            tried.clear()
            return addr
        if error.HasField("epoch_not_match") or any(m in error.message for m in _RETRY_MESSAGES):
            return addr
        raise AdminError(error.message or str(error))

    def _address(self, store_id: int) -> str | None:
        if store_id not in self._stores:
            self.store_status()
        return self._stores.get(store_id)

    def _learn(self, stores: Iterable[Store]) -> None:
        self._stores.update((s.id, s.address) for s in stores if s.id not in self._pinned)

    def _all_addresses(self) -> list[str]:
        if not self._stores:
            self.store_status()
        return list(dict.fromkeys([self.addr, *self._stores.values()]))

    def _call(self, addr: str, method: str, req: Message, resp_cls: type[Any], *, deadline: float | None = None,
              path: str | None = None) -> Any:
        """_call is one unary call; a gRPC failure becomes AdminError (the store could not be reached or
        refused the call) or AdminTimeoutError (no answer in time: outcome unknown)."""
        channel = self._channels.get(addr)
        if channel is None:
            channel = self._channels[addr] = open_channel(addr, self._security)
        remaining = (deadline if deadline is not None else time.monotonic() + self.timeout) - time.monotonic()
        try:
            return unary_call(channel, path or admin_method(method), req, resp_cls, max(remaining, 0.1))
        except grpc.RpcError as err:
            code = err.code() if isinstance(err, grpc.Call) else None
            details = err.details() if isinstance(err, grpc.Call) else str(err)
            if code == grpc.StatusCode.DEADLINE_EXCEEDED:
                raise AdminTimeoutError(f"{method} on {addr}: no answer in time (a change may or may not take "
                                        f"effect)") from None
            if code == grpc.StatusCode.UNAVAILABLE:
                raise AdminError(f"cannot reach the store at {addr}: {details}") from None
            raise AdminError(f"{method} on {addr} failed: {details}") from None

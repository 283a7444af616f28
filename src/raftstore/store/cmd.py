"""raftstore.store.cmd: raft commands (kvproto's raft_cmdpb) as the store sees them: their kinds, the checks
a command passes before it is proposed and again when it is applied, and the region errors (errorpb).

A command is a RaftCmdRequest: a header {region_id, peer, region_epoch, term} and either data requests
(Get, Snap: reads; Put, Delete, DeleteRange, CompareAndSwap: writes) or one admin request. Reads and
writes are never mixed in one command (TiKV's rule). Keys in commands are user keys; the KV engine stores
them in TiKV's data-key form ('z' + key). The callers answer a command with a CmdResult whose response
carries either the responses, in the order of the requests, or `header.error` (an errorpb.Error).

What an error answer means (the rule every answer follows; clients and the simulation rely on it):

- An error answers "did not take effect" ONLY when that is certain: the command was refused before it
  was proposed (any check, NotLeader, a proposal raft dropped, ServerIsBusy, ...); or its entry was
  applied and refused there (EpochNotMatch, KeyNotInRegion at apply: nothing changed); or the entry at
  its index was seen, applied, with another term (StaleCommand: by raft's log matching the proposal can
  never commit), or as the empty entry raft put in place of a conf change it refused.
- Every other end of a proposed command whose result the peer cannot know is `UndeterminedResult`
  (`undetermined_result`): the peer was destroyed with the proposal in flight, or its applied index
  jumped past the proposal through a snapshot (the entry may be in it). The command may or may not have
  taken effect: a client reports it as a timeout (outcome unknown) and never retries it as "not applied".
- A command that is never answered (the store crashed or stopped) is, for the client, a timeout too.

Part of the sans-IO store core: no IO here.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass

from ..engine.base import CF_DEFAULT, DATA_CFS, Readable
from ..proto.errorpb_pb2 import Error
from ..proto.metapb_pb2 import Peer, Region
from ..proto.raft_cmdpb_pb2 import (
    AdminCmdType,
    CmdType,
    RaftCmdRequest,
    RaftCmdResponse,
    Request,
)

__all__ = [
    "Callback",
    "CmdKind",
    "CmdResult",
    "ConsistencyState",
    "compute_hash_cmd",
    "verify_hash_cmd",
    "cmd_kind",
    "request_keys",
    "check_region_epoch",
    "check_keys_in_region",
    "key_in_region",
    "resolve_cf",
    "error_response",
    "not_leader",
    "region_not_found",
    "region_not_initialized",
    "key_not_in_region",
    "epoch_not_match",
    "stale_command",
    "server_is_busy",
    "raft_entry_too_large",
    "store_not_match",
    "mismatch_peer_id",
    "other_error",
    "undetermined_result",
    "READ_CMDS",
    "WRITE_CMDS",
]

# READ_CMDS are served through ReadIndex; WRITE_CMDS go through the log and are evaluated at apply.
READ_CMDS = frozenset({CmdType.Get, CmdType.Snap})
WRITE_CMDS = frozenset({CmdType.Put, CmdType.Delete, CmdType.DeleteRange, CmdType.CompareAndSwap})


@dataclass(slots=True)
class CmdResult:
    """CmdResult answers one command: `response` (responses or header.error) and, for a Snap read, the
    consistent engine snapshot the read saw (None otherwise)."""

    response: RaftCmdResponse
    snapshot: Readable | None = None

    @property
    def error(self) -> Error | None:
        """error is the response's region error, None on success."""
        header = self.response.header
        return header.error if header.HasField("error") else None


@dataclass(frozen=True, slots=True)
class ConsistencyState:
    """ConsistencyState: a replica's last consistency check of a region (TiKV's ConsistencyState): the
    hash of the region's data at `index`, the applied index of the last ComputeHash; `verified` is None
    until a VerifyHash for that index is applied, then whether the leader's hash matched this one."""

    index: int
    hash: bytes
    verified: bool | None = None


# Callback: what a proposer gives with its command; the driver calls it with the CmdResult once answered.
Callback = Callable[[CmdResult], None]


class CmdKind(enum.Enum):
    """CmdKind: how the store handles a command."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"


def cmd_kind(cmd: RaftCmdRequest) -> CmdKind | Error:
    """cmd_kind classifies cmd, or returns the error that refuses it: empty, admin mixed with requests,
    reads mixed with writes (TiKV: "read and write can't be mixed in one batch"), or an unknown type."""
    has_admin = cmd.HasField("admin_request")
    if has_admin:
        if cmd.requests:
            return other_error("admin request and normal requests can't be mixed in one command")
        return CmdKind.ADMIN
    if not cmd.requests:
        return other_error("empty command")
    reads = writes = 0
    for req in cmd.requests:
        if req.cmd_type in READ_CMDS:
            reads += 1
        elif req.cmd_type in WRITE_CMDS:
            writes += 1
        else:
            return other_error(f"unsupported command type {CmdType.Name(req.cmd_type)}")
    if reads and writes:
        return other_error("read and write can't be mixed in one batch")
    return CmdKind.READ if reads else CmdKind.WRITE


def _admin_cmd(region: Region, peer: Peer, cmd_type: int) -> RaftCmdRequest:
    cmd = RaftCmdRequest()
    cmd.header.region_id = region.id
    cmd.header.peer.CopyFrom(peer)
    cmd.header.region_epoch.CopyFrom(region.region_epoch)
    cmd.admin_request.cmd_type = cmd_type  # type: ignore[assignment]
    return cmd


def compute_hash_cmd(region: Region, leader: Peer) -> RaftCmdRequest:
    """compute_hash_cmd starts a consistency check of region (TiKV's ComputeHash): proposed to the
    leader, every replica hashes the region's data at the entry's index, then the leader proposes
    VerifyHash with its hash (see StoreCore.consistency_state)."""
    cmd = _admin_cmd(region, leader, AdminCmdType.ComputeHash)
    cmd.admin_request.compute_hash.SetInParent()
    return cmd


def verify_hash_cmd(region: Region, leader: Peer, index: int, hash: bytes) -> RaftCmdRequest:
    """verify_hash_cmd: the leader's hash of region at index, for every replica to compare with its own."""
    cmd = _admin_cmd(region, leader, AdminCmdType.VerifyHash)
    cmd.admin_request.verify_hash.index = index
    cmd.admin_request.verify_hash.hash = hash
    return cmd


def resolve_cf(cf: str) -> str | None:
    """resolve_cf is the data CF a request names ('' is CF default); None for a CF that holds no user data."""
    if not cf:
        return CF_DEFAULT
    return cf if cf in DATA_CFS else None


# _REQUEST_FIELD: the field of a Request that holds its command, per command type (no entry: Snap and
# unknown types, which touch no key). Looked up once: a protobuf enum attribute costs a Python call.
_REQUEST_FIELD: dict[int, str] = {
    CmdType.Put: "put",
    CmdType.Delete: "delete",
    CmdType.Get: "get",
    CmdType.CompareAndSwap: "cas",
    CmdType.DeleteRange: "delete_range",
}
_DELETE_RANGE = CmdType.DeleteRange


def request_keys(req: Request) -> tuple[bytes, ...]:
    """request_keys are the user keys a request touches; a DeleteRange gives (start, end)."""
    field = _REQUEST_FIELD.get(req.cmd_type)
    if field is None:
        return ()
    inner = getattr(req, field)
    if field == "delete_range":
        return (inner.start_key, inner.end_key)
    return (inner.key,)


def _request_cf(req: Request) -> str:
    field = _REQUEST_FIELD.get(req.cmd_type)
    return "" if field is None else str(getattr(req, field).cf)


def key_in_region(key: bytes, region: Region) -> bool:
    """key_in_region: start_key <= key < end_key (an empty end key is unbounded)."""
    return bool(region.start_key <= key and (not region.end_key or key < region.end_key))


def check_keys_in_region(cmd: RaftCmdRequest, region: Region) -> Error | None:
    """check_keys_in_region: every key of cmd lies in region (a DeleteRange's end may equal the region's
    end), every CF holds user data, and a DeleteRange is not empty; else the error (KeyNotInRegion)."""
    for req in cmd.requests:
        if resolve_cf(_request_cf(req)) is None:
            return other_error(f"invalid column family {_request_cf(req)!r}")
        if req.cmd_type == _DELETE_RANGE:
            start, end = req.delete_range.start_key, req.delete_range.end_key
            if start >= end:
                return other_error(f"invalid delete range [{start!r}, {end!r})")
            if not key_in_region(start, region):
                return key_not_in_region(start, region)
            if region.end_key and end > region.end_key:
                return key_not_in_region(end, region)
            continue
        for key in request_keys(req):
            if not key_in_region(key, region):
                return key_not_in_region(key, region)
    return None


# _ADMIN_EPOCH_CHECKS: TiKV's AdminCmdEpochState: (check version, check conf_ver) per admin command.
_ADMIN_EPOCH_CHECKS: dict[int, tuple[bool, bool]] = {
    AdminCmdType.InvalidAdmin: (False, False),
    AdminCmdType.CompactLog: (False, False),
    AdminCmdType.ComputeHash: (False, False),
    AdminCmdType.VerifyHash: (False, False),
    AdminCmdType.ChangePeer: (False, True),
    AdminCmdType.ChangePeerV2: (False, True),
    AdminCmdType.Split: (True, True),
    AdminCmdType.BatchSplit: (True, True),
    AdminCmdType.TransferLeader: (True, True),
}


def check_region_epoch(cmd: RaftCmdRequest, region: Region) -> Error | None:
    """check_region_epoch is TiKV's check: data commands must carry the region's version, admin
    commands the version and / or conf_ver their type changes or depends on. A stale or newer epoch is
    EpochNotMatch listing the region as the store knows it; a missing epoch is an error too."""
    if cmd.HasField("admin_request"):
        check_ver, check_conf = _ADMIN_EPOCH_CHECKS.get(cmd.admin_request.cmd_type, (True, True))
    else:
        check_ver, check_conf = True, False
    if not (check_ver or check_conf):
        return None
    if not cmd.header.HasField("region_epoch"):
        return other_error("missing epoch")
    mine, theirs = region.region_epoch, cmd.header.region_epoch
    if (check_ver and mine.version != theirs.version) or (check_conf and mine.conf_ver != theirs.conf_ver):
        return epoch_not_match(
            f"current epoch of region {region.id} is conf_ver: {mine.conf_ver} version: {mine.version}, "
            f"but you sent conf_ver: {theirs.conf_ver} version: {theirs.version}",
            [region],
        )
    return None


# -- errors (errorpb) ---------------------------------------------------------------------------------


def error_response(error: Error, term: int = 0) -> RaftCmdResponse:
    """error_response is a response carrying only error (and the region's current term, if known)."""
    resp = RaftCmdResponse()
    resp.header.error.CopyFrom(error)
    resp.header.current_term = term
    return resp


def other_error(message: str) -> Error:
    """other_error: an error with only a message (TiKV's Error::Other)."""
    return Error(message=message)


def not_leader(region_id: int, leader: Peer | None) -> Error:
    """not_leader: NotLeader with the leader hint when the peer knows its leader."""
    err = Error(message=f"peer is not leader for region {region_id}, leader may {leader.id if leader else None}")
    err.not_leader.region_id = region_id
    if leader is not None:
        err.not_leader.leader.CopyFrom(leader)
    return err


def region_not_found(region_id: int) -> Error:
    err = Error(message=f"region {region_id} is missing")
    err.region_not_found.region_id = region_id
    return err


def region_not_initialized(region_id: int) -> Error:
    err = Error(message=f"region {region_id} is not initialized")
    err.region_not_initialized.region_id = region_id
    return err


def key_not_in_region(key: bytes, region: Region) -> Error:
    err = Error(message=f"key {key!r} is not in region {region.id}")
    kn = err.key_not_in_region
    kn.key, kn.region_id, kn.start_key, kn.end_key = key, region.id, region.start_key, region.end_key
    return err


def epoch_not_match(message: str, regions: list[Region]) -> Error:
    err = Error(message=message)
    err.epoch_not_match.current_regions.extend(regions)
    return err


def stale_command(message: str = "stale command") -> Error:
    err = Error(message=message)
    err.stale_command.SetInParent()
    return err


def undetermined_result(region_id: int, index: int, term: int, why: str) -> Error:
    """undetermined_result: the command proposed at (index, term) may or may not take effect (why: what
    ended its wait); see the module docstring for when an error is this one rather than "not applied"."""
    err = Error(message=f"region {region_id}: the outcome of the command proposed at {index} (term {term}) "
                f"is unknown: {why}")
    u = err.undetermined_result
    u.region_id, u.index, u.term = region_id, index, term
    return err


def server_is_busy(reason: str) -> Error:
    err = Error(message=f"server is busy: {reason}")
    err.server_is_busy.reason = reason
    return err


def raft_entry_too_large(region_id: int, size: int) -> Error:
    err = Error(message=f"raft entry is too large, region {region_id}, entry size {size}")
    err.raft_entry_too_large.region_id = region_id
    err.raft_entry_too_large.entry_size = size
    return err


def store_not_match(request_store_id: int, actual_store_id: int) -> Error:
    err = Error(message=f"store not match: request {request_store_id}, actual {actual_store_id}")
    err.store_not_match.request_store_id = request_store_id
    err.store_not_match.actual_store_id = actual_store_id
    return err


def mismatch_peer_id(request_peer_id: int, store_peer_id: int) -> Error:
    err = Error(message=f"mismatch peer id {request_peer_id} != {store_peer_id}")
    err.mismatch_peer_id.request_peer_id = request_peer_id
    err.mismatch_peer_id.store_peer_id = store_peer_id
    return err

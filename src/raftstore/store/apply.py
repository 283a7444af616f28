"""raftstore.store.apply: applying committed entries (TiKV's fsm/apply.rs, reduced to what is built).

One round applies the committed entries of every region into ONE KV write batch (`ApplyBatch`), each
region's RaftApplyState {applied_index, commit_index, commit_term} in the same batch as the data its
entries changed, so the applied index never disagrees with the data. The driver writes the batch without
sync: a lost apply is replayed from the durable log at the next start (the log below the durable applied
index is only collected once an apply state covering it is durable: see PeerStorage's log GC).

A command is checked again at apply (its epoch and keys against the region as this replica has it) and
then executed request by request; a CompareAndSwap decides on the data as of its place in the log, so
every replica decides the same. Commands later in the round see the writes of earlier ones through the
batch's overlay (the batch is not readable before it is written).

Admin commands applied here: CompactLog moves the truncated state in the apply state (the entries are
deleted later, by log GC, once an apply state carrying that truncated state is durable); ChangePeer and
ChangePeerV2 (TiKV's exec_change_peer / exec_change_peer_v2), carried by conf change entries whose
ConfChange context is the RaftCmdRequest, compute the new region (peers, roles, conf_ver + the number of
changes) and write its RegionLocalState in the same batch as the apply state (Tombstone when the change
removes this peer: the entries after it are not applied, the peer is destroyed). Raft learns the change
afterwards, from ApplyResult.conf_changes (Peer.on_applied). BatchSplit (TiKV's exec_batch_split) cuts the
region at its split keys: the parent keeps the left part, each new region (its id and peer ids from the
command, the parent's stores and roles) gets its RegionLocalState and initial apply state in the same
batch, every region's version grows by the number of new regions (ApplyResult.splits). ComputeHash
(TiKV's exec_compute_hash and the consistency check worker in one) hashes the region's data as of its
entry (`region_hash`: every data CF of its range, in key order, the batch's writes included, and the
region) and VerifyHash carries the leader's hash of an index; both become ApplyResult.hashes, in log
order, for the peer to record and compare (Peer.on_hash_results).

Part of the sans-IO store core: it reads the KV engine but never writes it.
"""

from __future__ import annotations

import hashlib
import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..engine import keys
from ..engine.base import CF_RAFT, DATA_CFS, KvEngine, WriteBatch
from ..proto.eraftpb_pb2 import (
    ConfChange,
    ConfChangeType,
    ConfChangeV2,
    Entry,
    EntryType,
)
from ..proto.metapb_pb2 import Peer, PeerRole, Region
from ..proto.raft_cmdpb_pb2 import (
    AdminCmdType,
    BatchSplitRequest,
    ChangePeerRequest,
    CmdType,
    CompactLogRequest,
    RaftCmdRequest,
    RaftCmdResponse,
    Request,
    Response,
)
from ..proto.raft_serverpb_pb2 import PeerState, RaftApplyState, RegionLocalState
from ..raft.errors import InvariantError
from ..raft.raw_node import conf_change_as_v2
from .cmd import (
    check_keys_in_region,
    check_region_epoch,
    error_response,
    other_error,
    resolve_cf,
)
from .errors import CompactLogError
from .peer_storage import RAFT_INIT_LOG_INDEX, RAFT_INIT_LOG_TERM, compact_raft_log

__all__ = [
    "ApplyBatch",
    "ApplyResult",
    "ConfChangeResult",
    "ChangePeerError",
    "HashResult",
    "apply_entries",
    "change_peers",
    "region_hash",
]


class ApplyBatch:
    """ApplyBatch: one round's apply writes for all regions, in one KV write batch `wb`.

    Invariant: `get(cf, key)` is what the engine will hold for key once `wb` is written: the overlay's
    value for a key written in this batch (None: deleted), else None when a range deleted in this batch
    covers it, else the engine's value.
    """

    __slots__ = ("kv", "wb", "_overlay", "_deleted_ranges")

    def __init__(self, kv: KvEngine) -> None:
        self.kv = kv
        self.wb: WriteBatch = kv.write_batch()
        self._overlay: dict[tuple[str, bytes], bytes | None] = {}
        self._deleted_ranges: list[tuple[str, bytes, bytes]] = []

    def get(self, cf: str, key: bytes) -> bytes | None:
        overlay = self._overlay
        if (cf, key) in overlay:
            return overlay[(cf, key)]
        for rcf, start, end in self._deleted_ranges:
            if rcf == cf and start <= key < end:
                return None
        return self.kv.get(cf, key)

    def scan(self, cf: str, start: bytes, end: bytes) -> Iterator[tuple[bytes, bytes]]:
        """scan yields (key, value) for start <= key < end, in key order, as the engine will hold them once
        `wb` is written (the `get` invariant, over a range)."""
        overlay, ranges = self._overlay, [(s, e) for c, s, e in self._deleted_ranges if c == cf]
        written = sorted((k, v) for (c, k), v in overlay.items() if c == cf and start <= k < end)
        kept = (
            (k, v)
            for k, v in self.kv.scan(cf, start, end)
            if (cf, k) not in overlay and not any(s <= k < e for s, e in ranges)
        )
        for key, value in heapq.merge(written, kept, key=lambda kv: kv[0]):
            if value is not None:
                yield key, value

    def put(self, cf: str, key: bytes, value: bytes) -> None:
        self.wb.put(cf, key, value)
        self._overlay[(cf, key)] = value

    def delete(self, cf: str, key: bytes) -> None:
        self.wb.delete(cf, key)
        self._overlay[(cf, key)] = None

    def delete_range(self, cf: str, start: bytes, end: bytes) -> None:
        self.wb.delete_range(cf, start, end)
        for ocf, key in self._overlay:
            if ocf == cf and start <= key < end:
                self._overlay[(ocf, key)] = None
        self._deleted_ranges.append((cf, start, end))

    def put_apply_state(self, region_id: int, state: RaftApplyState) -> None:
        self.wb.put(CF_RAFT, keys.apply_state_key(region_id), state.SerializeToString())

    def put_region_state(self, region: Region, state: PeerState) -> None:
        """put_region_state writes the RegionLocalState {state, region} (TiKV's write_peer_state)."""
        local = RegionLocalState(state=state)
        local.region.CopyFrom(region)
        self.wb.put(CF_RAFT, keys.region_state_key(region.id), local.SerializeToString())

    def is_empty(self) -> bool:
        return self.wb.is_empty()


@dataclass(slots=True)
class ConfChangeResult:
    """ConfChangeResult: a conf change applied at `index`: raft's ConfChangeV2 (for RawNode.apply_conf_change),
    the ChangePeerRequests it made and the region after it."""

    index: int
    conf_change: ConfChangeV2
    changes: list[ChangePeerRequest]
    region: Region


@dataclass(frozen=True, slots=True)
class HashResult:
    """HashResult: a consistency check entry applied at `index`: ComputeHash (`verify` False: `hash` is
    this replica's hash of the region there) or VerifyHash (`verify` True: the leader's `hash` of the
    region at `of_index`)."""

    index: int
    of_index: int
    hash: bytes
    verify: bool


@dataclass(slots=True)
class ApplyResult:
    """ApplyResult: what one region applied in a round: `responses` (index, term, response) of every
    entry that carried a command, in log order; the entries applied (for the term cache); `truncated_from`
    and `truncated_to`, the truncated index before and after, when a CompactLog moved it (the log is
    collected later, once durable); `data_size`, the bytes of command data applied (the raft log size
    hint); `conf_changes` applied, in log order, and `region`, the region after them (None: unchanged);
    `removed_self` when a conf change removed this peer (nothing after it was applied); `splits`, the new
regions of a BatchSplit; `hashes`, the consistency check entries applied, in log order."""

    region_id: int
    responses: list[tuple[int, int, RaftCmdResponse]] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    truncated_from: int | None = None
    truncated_to: int | None = None
    data_size: int = 0
    conf_changes: list[ConfChangeResult] = field(default_factory=list)
    region: Region | None = None
    removed_self: bool = False
    splits: list[Region] = field(default_factory=list)
    hashes: list[HashResult] = field(default_factory=list)


def apply_entries(
    batch: ApplyBatch, region: Region, apply_state: RaftApplyState, entries: list[Entry], peer_id: int = 0
) -> ApplyResult:
    """apply_entries applies committed entries (contiguous, starting at applied_index + 1) of one region
    into batch, moves apply_state (in place) to the last one applied and stages it in the same batch.
    peer_id is this replica's peer (a conf change that removes it stops the apply there, as TiKV's
    `stopped`).

    Empty normal entries (a new leader's) only advance the applied index, and so does a conf change entry
    without a command (raft's own, leaving a joint state automatically: never proposed here)."""
    result = ApplyResult(region.id, entries=entries)
    if not entries:
        return result
    expect = apply_state.applied_index + 1
    if entries[0].index != expect:
        raise InvariantError(f"[region {region.id}] apply of entry {entries[0].index}, expected {expect}")
    last = entries[-1]
    for entry in entries:
        if entry.entry_type == EntryType.EntryNormal:
            if entry.data:
                result.data_size += len(entry.data)
                cmd = RaftCmdRequest.FromString(entry.data)
                resp = exec_command(batch, result.region or region, apply_state, cmd, result, index=entry.index)
                result.responses.append((entry.index, entry.term, resp))
        else:
            _apply_conf_change_entry(batch, result.region or region, apply_state, entry, result, peer_id)
        apply_state.applied_index = entry.index
        if result.removed_self:
            last = entry
            break
    apply_state.commit_index = last.index
    apply_state.commit_term = last.term
    batch.put_apply_state(region.id, apply_state)
    return result


def _apply_conf_change_entry(
    batch: ApplyBatch, region: Region, apply_state: RaftApplyState, entry: Entry, result: ApplyResult, peer_id: int
) -> None:
    """_apply_conf_change_entry: TiKV's handle_raft_entry_conf_change. The ConfChange's context is the
    RaftCmdRequest; applied successfully, the change is recorded for raft and the region moves on."""
    if entry.entry_type == EntryType.EntryConfChange:
        cc = conf_change_as_v2(ConfChange.FromString(entry.data))
    else:
        cc = ConfChangeV2.FromString(entry.data)
    if not cc.context:
        return
    result.data_size += len(entry.data)
    cmd = RaftCmdRequest.FromString(cc.context)
    resp = exec_command(batch, region, apply_state, cmd, result, peer_id)
    result.responses.append((entry.index, entry.term, resp))
    if not resp.header.HasField("error") and result.region is not None:
        admin = cmd.admin_request
        changes = [admin.change_peer] if admin.cmd_type == AdminCmdType.ChangePeer else list(admin.change_peer_v2.changes)
        result.conf_changes.append(ConfChangeResult(entry.index, cc, changes, result.region))


def exec_command(
    batch: ApplyBatch,
    region: Region,
    apply_state: RaftApplyState,
    cmd: RaftCmdRequest,
    result: ApplyResult,
    peer_id: int = 0,
    index: int = 0,
) -> RaftCmdResponse:
    """exec_command checks cmd against the region (epoch, keys) and executes it: the writes in order, or
    the admin command; a command that fails a check changes nothing and answers the error. index is the
    entry's (a consistency check records it)."""
    error = check_region_epoch(cmd, region) or check_keys_in_region(cmd, region)
    if error is not None:
        return error_response(error)
    resp = RaftCmdResponse()
    if cmd.HasField("admin_request"):
        admin = cmd.admin_request
        if admin.cmd_type in (AdminCmdType.ChangePeer, AdminCmdType.ChangePeerV2):
            return _exec_change_peer(batch, region, admin.cmd_type, cmd, result, peer_id)
        if admin.cmd_type == AdminCmdType.BatchSplit:
            return _exec_batch_split(batch, region, cmd, result)
        if admin.cmd_type in (AdminCmdType.ComputeHash, AdminCmdType.VerifyHash):
            return _exec_hash(batch, region, cmd, result, index)
        if admin.cmd_type != AdminCmdType.CompactLog:
            return error_response(other_error(f"admin command {AdminCmdType.Name(admin.cmd_type)} is not applied yet"))
        before = apply_state.truncated_state.index
        try:
            if exec_compact_log(apply_state, admin.compact_log):
                result.truncated_to = apply_state.truncated_state.index
                result.truncated_from = before if result.truncated_from is None else result.truncated_from
        except CompactLogError as err:
            return error_response(other_error(str(err)))
        resp.admin_response.cmd_type = AdminCmdType.CompactLog
        resp.admin_response.compact_log.SetInParent()
        return resp
    for req in cmd.requests:
        _exec_write(batch, req, resp.responses.add(cmd_type=req.cmd_type))
    return resp


class ChangePeerError(Exception):
    """ChangePeerError: a conf change that does not fit the region (TiKV's box_err! in exec_change_peer).
    Nothing is changed; the command is answered with the message."""


def _exec_change_peer(
    batch: ApplyBatch, region: Region, cmd_type: int, cmd: RaftCmdRequest, result: ApplyResult, peer_id: int
) -> RaftCmdResponse:
    """_exec_change_peer: TiKV's exec_change_peer / exec_change_peer_v2. The new region is written in the
    batch (Tombstone when this peer is removed) and becomes result.region."""
    admin = cmd.admin_request
    v2 = cmd_type == AdminCmdType.ChangePeerV2
    try:
        if v2:
            new_region = change_peers(region, list(admin.change_peer_v2.changes))
        else:
            new_region = change_peer_v1(region, admin.change_peer)
    except ChangePeerError as err:
        return error_response(other_error(str(err)))
    removed = not any(p.id == peer_id for p in new_region.peers) and any(p.id == peer_id for p in region.peers)
    batch.put_region_state(new_region, PeerState.Tombstone if removed else PeerState.Normal)
    result.region = new_region
    result.removed_self = removed
    resp = RaftCmdResponse()
    resp.admin_response.cmd_type = cmd_type  # type: ignore[assignment]
    (resp.admin_response.change_peer_v2 if v2 else resp.admin_response.change_peer).region.CopyFrom(new_region)
    return resp


def _find_peer(region: Region, store_id: int) -> Peer | None:
    return next((p for p in region.peers if p.store_id == store_id), None)


def _remove_peer(region: Region, peer: Peer) -> None:
    """_remove_peer removes the region's peer on peer's store, which must be peer itself (by id)."""
    for i, p in enumerate(region.peers):
        if p.store_id == peer.store_id:
            if p.id != peer.id:
                raise ChangePeerError(f"remove unmatched peer: expect {peer.id}, get {p.id}, ignore")
            del region.peers[i]
            return
    raise ChangePeerError(f"remove missing peer {peer.id} from region {region.id}")


def change_peer_v1(region: Region, cp: ChangePeerRequest) -> Region:
    """change_peer_v1 is the region after a (legacy) ChangePeer, TiKV's exec_change_peer: AddNode adds a
    voter (or promotes this store's learner of the same id), AddLearnerNode adds a learner, RemoveNode
    removes the peer; conf_ver + 1. ChangePeerError for a duplicated or missing peer."""
    new = Region()
    new.CopyFrom(region)
    peer, store_id = cp.peer, cp.peer.store_id
    exist = _find_peer(new, store_id)
    if cp.change_type == ConfChangeType.AddNode:
        if exist is not None and (exist.role != PeerRole.Learner or exist.id != peer.id):
            raise ChangePeerError(f"can't add duplicated peer {peer.id} to region {region.id}")
        if exist is not None:
            exist.role = PeerRole.Voter
        else:
            new.peers.add(id=peer.id, store_id=store_id, role=PeerRole.Voter)
    elif cp.change_type == ConfChangeType.AddLearnerNode:
        if exist is not None:
            raise ChangePeerError(f"can't add duplicated learner {peer.id} to region {region.id}")
        new.peers.add(id=peer.id, store_id=store_id, role=PeerRole.Learner)
    else:
        _remove_peer(new, peer)
    new.region_epoch.conf_ver += 1
    return new


def change_peers(region: Region, changes: list[ChangePeerRequest]) -> Region:
    """change_peers is the region after a ChangePeerV2, TiKV's exec_change_peer_v2: no change leaves the
    joint state (IncomingVoter -> Voter, DemotingVoter -> Learner); one change is simple; more enter a
    joint state (a new or promoted voter is IncomingVoter, a demoted one DemotingVoter). conf_ver grows by
    the number of changes (of roles changed, leaving). ChangePeerError for a change that does not fit."""
    new = Region()
    new.CopyFrom(region)
    if not changes:
        moved = 0
        for p in new.peers:
            if p.role == PeerRole.IncomingVoter:
                p.role, moved = PeerRole.Voter, moved + 1
            elif p.role == PeerRole.DemotingVoter:
                p.role, moved = PeerRole.Learner, moved + 1
        if moved == 0:
            raise ChangePeerError(f"can't leave a non-joint config, region {region.id}")
        new.region_epoch.conf_ver += moved
        return new
    joint = len(changes) > 1
    if any(p.role in (PeerRole.IncomingVoter, PeerRole.DemotingVoter) for p in region.peers):
        raise ChangePeerError(f"region {region.id} is still in a joint state")
    for cp in changes:
        peer, kind = cp.peer, cp.change_type
        exist = _find_peer(new, peer.store_id)
        if exist is None:
            if kind == ConfChangeType.RemoveNode:
                raise ChangePeerError(f"remove missing peer {peer.id} from region {region.id}")
            if kind == ConfChangeType.AddNode:
                role = PeerRole.IncomingVoter if joint else PeerRole.Voter
            else:
                role = PeerRole.Learner
            new.peers.add(id=peer.id, store_id=peer.store_id, role=role)
        elif kind == ConfChangeType.RemoveNode:
            if joint and exist.role == PeerRole.Voter:
                raise ChangePeerError(f"can not remove voter {peer.id} directly from region {region.id}")
            _remove_peer(new, peer)
        else:
            wanted = PeerRole.Voter if kind == ConfChangeType.AddNode else PeerRole.Learner
            if exist.id != peer.id or exist.role == wanted:
                raise ChangePeerError(f"can't add duplicated peer {peer.id} to region {region.id}")
            if wanted == PeerRole.Voter:
                exist.role = PeerRole.IncomingVoter if joint else PeerRole.Voter
            else:
                exist.role = PeerRole.DemotingVoter if joint else PeerRole.Learner
    new.region_epoch.conf_ver += len(changes)
    return new


def split_regions(region: Region, splits: BatchSplitRequest) -> list[Region]:
    """split_regions is TiKV's exec_batch_split without the writes: [derived parent, new regions...] in key
    order. The split keys must be strictly increasing inside (start, end), each with a new region id and
    one new peer id per peer of the region (ChangePeerError otherwise). The parent keeps [start, key 1);
    new region i covers [key i, key i+1) (the last to the parent's end) with the parent's stores and roles;
    every region's version is the parent's + the number of new regions, conf_ver the parent's."""
    requests = list(splits.requests)
    if not requests:
        raise ChangePeerError("missing split requests")
    bounds = [r.split_key for r in requests]
    if any(not k for k in bounds) or bounds != sorted(set(bounds)):
        raise ChangePeerError(f"invalid split keys {bounds!r}: empty, unsorted or repeated")
    if bounds[0] <= region.start_key or (region.end_key and bounds[-1] >= region.end_key):
        raise ChangePeerError(f"split keys {bounds!r} are not inside region {region.id}")
    derived = Region()
    derived.CopyFrom(region)
    derived.region_epoch.version += len(requests)
    derived.end_key = bounds[0]
    out = [derived]
    ends = [*bounds[1:], region.end_key]
    for req, end in zip(requests, ends, strict=True):
        if len(req.new_peer_ids) != len(region.peers):
            raise ChangePeerError(f"invalid new peer ids {list(req.new_peer_ids)} for region {region.id}")
        new = Region(id=req.new_region_id, start_key=req.split_key, end_key=end)
        new.region_epoch.CopyFrom(derived.region_epoch)
        for p, peer_id in zip(region.peers, req.new_peer_ids, strict=True):
            new.peers.add(id=peer_id, store_id=p.store_id, role=p.role)
        out.append(new)
    return out


def _exec_batch_split(batch: ApplyBatch, region: Region, cmd: RaftCmdRequest, result: ApplyResult) -> RaftCmdResponse:
    """_exec_batch_split writes the split regions' states (and the new ones' initial apply states, index
    and term 5) in the batch; the parent becomes result.region, the new ones result.splits."""
    try:
        regions = split_regions(region, cmd.admin_request.splits)
    except ChangePeerError as err:
        return error_response(other_error(str(err)))
    init = RaftApplyState(applied_index=RAFT_INIT_LOG_INDEX)
    init.truncated_state.index, init.truncated_state.term = RAFT_INIT_LOG_INDEX, RAFT_INIT_LOG_TERM
    for new in regions:
        batch.put_region_state(new, PeerState.Normal)
    for new in regions[1:]:
        batch.put_apply_state(new.id, init)
    result.region = regions[0]
    result.splits.extend(regions[1:])
    resp = RaftCmdResponse()
    resp.admin_response.cmd_type = AdminCmdType.BatchSplit
    resp.admin_response.splits.regions.extend(regions)
    return resp


def region_hash(batch: ApplyBatch, region: Region) -> bytes:
    """region_hash is the hash of region's data as batch will leave it: every data CF (in name order) of
    the region's range, each (key, value) in key order, length-prefixed, then the region itself (range,
    epoch, peers: TiKV hashes the region state too). Replicas with the same data hash the same."""
    digest = hashlib.blake2b(digest_size=16)
    start, end = keys.enc_start_key(region), keys.enc_end_key(region)
    for cf in sorted(DATA_CFS):
        digest.update(_framed(cf.encode()))
        for key, value in batch.scan(cf, start, end):
            digest.update(_framed(key))
            digest.update(_framed(value))
    digest.update(_framed(region.SerializeToString(deterministic=True)))
    return digest.digest()


def _framed(data: bytes) -> bytes:
    return len(data).to_bytes(8, "big") + data


def _exec_hash(batch: ApplyBatch, region: Region, cmd: RaftCmdRequest, result: ApplyResult, index: int) -> RaftCmdResponse:
    """_exec_hash: TiKV's exec_compute_hash (the hash is computed here, at the entry: the batch's writes
    of earlier entries included) and exec_verify_hash; both only record a HashResult."""
    admin = cmd.admin_request
    resp = RaftCmdResponse()
    resp.admin_response.cmd_type = admin.cmd_type
    if admin.cmd_type == AdminCmdType.ComputeHash:
        result.hashes.append(HashResult(index, index, region_hash(batch, region), verify=False))
    else:
        verify = admin.verify_hash
        result.hashes.append(HashResult(index, verify.index, bytes(verify.hash), verify=True))
        resp.admin_response.verify_hash.SetInParent()
    return resp


def exec_compact_log(apply_state: RaftApplyState, req: CompactLogRequest) -> bool:
    """exec_compact_log is TiKV's: a compact index at or below the first index needs nothing (False);
    otherwise the truncated state moves to (compact_index, compact_term) (True). CompactLogError, nothing
    changed, for term 0 or an index above the applied index."""
    if req.compact_index <= apply_state.truncated_state.index + 1:
        return False
    compact_raft_log(apply_state, req.compact_index, req.compact_term)
    return True


# The write command types, read once (a protobuf enum attribute costs a Python call).
_PUT, _DELETE, _DELETE_RANGE, _CAS = CmdType.Put, CmdType.Delete, CmdType.DeleteRange, CmdType.CompareAndSwap


def _exec_write(batch: ApplyBatch, req: Request, out: Response) -> None:
    t = req.cmd_type
    if t == _PUT:
        batch.put(_cf(req.put.cf), keys.data_key(req.put.key), req.put.value)
        out.put.SetInParent()
    elif t == _DELETE:
        batch.delete(_cf(req.delete.cf), keys.data_key(req.delete.key))
        out.delete.SetInParent()
    elif t == _DELETE_RANGE:
        dr = req.delete_range
        if not dr.notify_only:
            batch.delete_range(_cf(dr.cf), keys.data_key(dr.start_key), keys.data_key(dr.end_key))
        out.delte_range.SetInParent()
    elif t == _CAS:
        cas = req.cas
        cf, key = _cf(cas.cf), keys.data_key(cas.key)
        current = batch.get(cf, key)
        swapped = current is None if cas.expect_missing else current == cas.expected
        if swapped:
            batch.put(cf, key, cas.value)
        out.cas.swapped = swapped
        if current is not None:
            out.cas.previous = current
            out.cas.previous_exists = True
    else:
        raise InvariantError(f"write command of type {CmdType.Name(t)} reached apply")


def _cf(cf: str) -> str:
    resolved = resolve_cf(cf)
    if resolved is None:
        raise InvariantError(f"column family {cf!r} passed the checks")
    return resolved

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

CompactLog (the only admin command applied so far) moves the truncated state in the apply state; the
entries are deleted later, by log GC, once an apply state carrying that truncated state is durable.

Part of the sans-IO store core: it reads the KV engine but never writes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..engine import keys
from ..engine.base import CF_RAFT, KvEngine, WriteBatch
from ..proto.eraftpb_pb2 import Entry, EntryType
from ..proto.metapb_pb2 import Region
from ..proto.raft_cmdpb_pb2 import (
    AdminCmdType,
    CmdType,
    CompactLogRequest,
    RaftCmdRequest,
    RaftCmdResponse,
    Request,
    Response,
)
from ..proto.raft_serverpb_pb2 import RaftApplyState
from ..raft.errors import InvariantError
from .cmd import (
    check_keys_in_region,
    check_region_epoch,
    error_response,
    other_error,
    resolve_cf,
)
from .errors import CompactLogError
from .peer_storage import compact_raft_log

__all__ = ["ApplyBatch", "ApplyResult", "apply_entries"]


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

    def is_empty(self) -> bool:
        return self.wb.is_empty()


@dataclass(slots=True)
class ApplyResult:
    """ApplyResult: what one region applied in a round: `responses` (index, term, response) of every
    entry that carried a command, in log order; the entries applied (for the term cache); `truncated_from`
    and `truncated_to`, the truncated index before and after, when a CompactLog moved it (the log is
    collected later, once durable); and
    `data_size`, the bytes of command data applied (the raft log size hint)."""

    region_id: int
    responses: list[tuple[int, int, RaftCmdResponse]] = field(default_factory=list)
    entries: list[Entry] = field(default_factory=list)
    truncated_from: int | None = None
    truncated_to: int | None = None
    data_size: int = 0


def apply_entries(batch: ApplyBatch, region: Region, apply_state: RaftApplyState, entries: list[Entry]) -> ApplyResult:
    """apply_entries applies committed entries (contiguous, starting at applied_index + 1) of one region
    into batch, moves apply_state (in place) to the last one and stages it in the same batch.

    Empty normal entries (a new leader's) only advance the applied index. A conf change entry is an
    InvariantError for now: membership changes are not built yet and nothing proposes them."""
    result = ApplyResult(region.id, entries=entries)
    if not entries:
        return result
    expect = apply_state.applied_index + 1
    if entries[0].index != expect:
        raise InvariantError(f"[region {region.id}] apply of entry {entries[0].index}, expected {expect}")
    for entry in entries:
        if entry.entry_type != EntryType.EntryNormal:
            raise InvariantError(f"[region {region.id}] conf change entry {entry.index}: not supported yet")
        if entry.data:
            result.data_size += len(entry.data)
            cmd = RaftCmdRequest.FromString(entry.data)
            result.responses.append((entry.index, entry.term, exec_command(batch, region, apply_state, cmd, result)))
        apply_state.applied_index = entry.index
    last = entries[-1]
    apply_state.commit_index = last.index
    apply_state.commit_term = last.term
    batch.put_apply_state(region.id, apply_state)
    return result


def exec_command(
    batch: ApplyBatch, region: Region, apply_state: RaftApplyState, cmd: RaftCmdRequest, result: ApplyResult
) -> RaftCmdResponse:
    """exec_command checks cmd against the region (epoch, keys) and executes it: the writes in order, or
    the admin command; a command that fails a check changes nothing and answers the error."""
    error = check_region_epoch(cmd, region) or check_keys_in_region(cmd, region)
    if error is not None:
        return error_response(error)
    resp = RaftCmdResponse()
    if cmd.HasField("admin_request"):
        admin = cmd.admin_request
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


def exec_compact_log(apply_state: RaftApplyState, req: CompactLogRequest) -> bool:
    """exec_compact_log is TiKV's: a compact index at or below the first index needs nothing (False);
    otherwise the truncated state moves to (compact_index, compact_term) (True). CompactLogError, nothing
    changed, for term 0 or an index above the applied index."""
    if req.compact_index <= apply_state.truncated_state.index + 1:
        return False
    compact_raft_log(apply_state, req.compact_index, req.compact_term)
    return True


def _exec_write(batch: ApplyBatch, req: Request, out: Response) -> None:
    t = req.cmd_type
    if t == CmdType.Put:
        batch.put(_cf(req.put.cf), keys.data_key(req.put.key), req.put.value)
        out.put.SetInParent()
    elif t == CmdType.Delete:
        batch.delete(_cf(req.delete.cf), keys.data_key(req.delete.key))
        out.delete.SetInParent()
    elif t == CmdType.DeleteRange:
        dr = req.delete_range
        if not dr.notify_only:
            batch.delete_range(_cf(dr.cf), keys.data_key(dr.start_key), keys.data_key(dr.end_key))
        out.delte_range.SetInParent()
    elif t == CmdType.CompareAndSwap:
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

"""raftstore.store.snap.apply: the apply job of a received snapshot (TiKV's region worker apply_snap).

PeerStorage first stages, in one synced KV batch, PeerState Applying with the snapshot's region, the
apply state (applied = truncated = the snapshot's index and term) and the snapshot raft state. The job
then works from what is on disk, so the same job finishes the apply after a restart:

1. read the region state (it must be Applying) and the apply state; the snapshot is the received one
   keyed (region, truncated term, truncated index);
2. verify every file again (size, CRC32) — before touching any data, so a damaged snapshot leaves the
   region's old data as it was;
3. delete the region's range [enc_start_key, enc_end_key) in the data CFs;
4. ingest the SST files, CF by CF;
5. write PeerState Normal and delete the snapshot raft state, in one synced KV batch.

Re-running it after a crash at any step gives the same data: step 3 removes whatever an earlier run
ingested, step 4 ingests the same files again. The job checks for cancellation between the steps and
between CFs. Failpoints (raftstore.failpoints): apply_snap_before_delete_range,
apply_snap_after_delete_range, apply_snap_mid_ingest (after each CF but the last),
apply_snap_before_normal.

A peer's job is an ApplySnapTask (PeerStorage.on_persisted returns it once the staged snapshot is
durable); SnapApplyWorker runs them on a thread of its own (TiKV's region worker), handle_apply runs one
in the caller's thread.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from google.protobuf.message import DecodeError

from ... import failpoints
from ...engine import keys
from ...engine.base import CF_RAFT, DATA_CFS
from ...engine.engines import Engines
from ...engine.errors import EngineError
from ...proto.raft_serverpb_pb2 import PeerState, RaftApplyState, RegionLocalState
from ..errors import StoreError
from .errors import SnapAbortedError, SnapCorruptionError, SnapError, SnapIOError
from .files import SNAPSHOT_CFS, SnapKey
from .manager import SnapEntry, SnapManager
from .status import ApplyStatus, JobStatus, check_abort
from .worker import SerialWorker

__all__ = ["apply_snapshot", "handle_apply", "applying_snap_key", "ApplySnapTask", "SnapApplyWorker"]

logger = logging.getLogger("raftstore.snap")


def _read_states(engines: Engines, region_id: int) -> tuple[RegionLocalState, RaftApplyState]:
    try:
        raw_region = engines.kv.get(CF_RAFT, keys.region_state_key(region_id))
        raw_apply = engines.kv.get(CF_RAFT, keys.apply_state_key(region_id))
    except EngineError as err:
        raise SnapIOError(f"[region {region_id}] cannot read its states: {err}") from err
    if raw_region is None or raw_apply is None:
        raise SnapError(f"[region {region_id}] has no region or apply state to apply a snapshot to")
    try:
        return RegionLocalState.FromString(raw_region), RaftApplyState.FromString(raw_apply)
    except DecodeError as err:
        raise SnapCorruptionError(f"[region {region_id}] region or apply state does not parse: {err}") from err


def applying_snap_key(engines: Engines, region_id: int) -> SnapKey | None:
    """applying_snap_key is the key of the snapshot region_id is applying (its region state is Applying),
    read from disk; None when the region is not applying one."""
    region_state, apply_state = _read_states(engines, region_id)
    if region_state.state != PeerState.Applying:
        return None
    truncated = apply_state.truncated_state
    return SnapKey(region_id, truncated.term, truncated.index)


def apply_snapshot(engines: Engines, mgr: SnapManager, region_id: int, status: ApplyStatus | None = None) -> None:
    """apply_snapshot applies the received snapshot region_id is Applying (steps in the module docstring).

    Raises SnapAbortedError when status turned CANCELLING, SnapError when the region is not Applying or
    its snapshot is missing or damaged, SnapIOError when an engine fails. Nothing but the steps done so
    far is changed, and the region stays Applying until step 5.
    """
    check_abort(status)
    region_state, apply_state = _read_states(engines, region_id)
    if region_state.state != PeerState.Applying:
        raise SnapError(f"[region {region_id}] is {PeerState.Name(region_state.state)}, not applying a snapshot")
    region = region_state.region
    truncated = apply_state.truncated_state
    key = SnapKey(region_id, truncated.term, truncated.index)
    kv = engines.kv
    with mgr.in_use(key, SnapEntry.APPLYING):
        files = mgr.rev_files(key)
        meta = files.verify()
        check_abort(status)
        start, end = keys.enc_start_key(region), keys.enc_end_key(region)
        try:
            failpoints.fail_point("apply_snap_before_delete_range")
            wb = kv.write_batch()
            for cf in DATA_CFS:
                wb.delete_range(cf, start, end)
            kv.write(wb, sync=True)
            failpoints.fail_point("apply_snap_after_delete_range")
            by_cf = {cf: [files.path(f.name) for f in files.files(meta) if f.cf == cf] for cf in SNAPSHOT_CFS}
            for i, cf in enumerate(SNAPSHOT_CFS):
                check_abort(status)
                if by_cf[cf]:
                    kv.ingest_sst(cf, by_cf[cf])
                if i < len(SNAPSHOT_CFS) - 1:
                    failpoints.fail_point("apply_snap_mid_ingest")
            failpoints.fail_point("apply_snap_before_normal")
            region_state.state = PeerState.Normal
            wb = kv.write_batch()
            wb.put(CF_RAFT, keys.region_state_key(region_id), region_state.SerializeToString())
            wb.delete(CF_RAFT, keys.snapshot_raft_state_key(region_id))
            kv.write(wb, sync=True)
        except EngineError as err:
            raise SnapIOError(f"[region {region_id}] applying snapshot {key} failed: {err}") from err
    logger.info("[region %d] applied snapshot %s", region_id, key)


def handle_apply(engines: Engines, mgr: SnapManager, region_id: int, status: ApplyStatus) -> bool:
    """handle_apply runs the job as TiKV's region worker does and moves status to its outcome: FINISHED,
    CANCELLED (a cancel was seen) or FAILED. Returns whether the peer must be destroyed (FAILED)."""
    status.compare_exchange(JobStatus.PENDING, JobStatus.RUNNING)
    try:
        apply_snapshot(engines, mgr, region_id, status)
    except SnapAbortedError:
        logger.warning("[region %d] applying snapshot is aborted", region_id)
        status.swap(JobStatus.CANCELLED)
        return False
    except StoreError as err:
        logger.warning("[region %d] failed to apply snapshot: %s", region_id, err)
        status.swap(JobStatus.FAILED)
        return True
    status.swap(JobStatus.FINISHED)
    return False


@dataclass(frozen=True, slots=True)
class ApplySnapTask:
    """ApplySnapTask: the apply job of the snapshot region_id's peer peer_id staged (TiKV's
    RegionTask::Apply); status is shared with the peer's snap_state, which may cancel it."""

    region_id: int
    peer_id: int
    status: ApplyStatus


class SnapApplyWorker(SerialWorker[ApplySnapTask]):
    """SnapApplyWorker: a thread that runs ApplySnapTasks with handle_apply, in order (TiKV's region
    worker). The outcome is the task's status, which the peer reads with check_applying_snap().

    stop() finishes the job at hand, marks the queued ones CANCELLED (their peers see an aborted apply;
    the regions stay Applying on disk and recovery finishes them at the next start) and joins the thread.
    """

    def __init__(self, engines: Engines, mgr: SnapManager, name: str = "region-worker") -> None:
        self.engines = engines
        self.mgr = mgr
        super().__init__(name)

    def run(self, item: ApplySnapTask) -> None:
        handle_apply(self.engines, self.mgr, item.region_id, item.status)

    def drop(self, item: ApplySnapTask) -> None:
        _cancel(item)

    def failed(self, item: ApplySnapTask, err: Exception) -> None:
        item.status.swap(JobStatus.FAILED)


def _cancel(task: ApplySnapTask) -> None:
    """_cancel ends a job that never ran: PENDING -> CANCELLING -> CANCELLED (unless the peer cancelled it)."""
    task.status.compare_exchange(JobStatus.PENDING, JobStatus.CANCELLING)
    task.status.compare_exchange(JobStatus.CANCELLING, JobStatus.CANCELLED)

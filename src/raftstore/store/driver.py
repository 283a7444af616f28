"""raftstore.store.driver: the in-process driver of a StoreCore: it does the round's IO.

`run_round(core, engines, send, snap)` runs one round (see store_core's module docstring): collect, the
snapshot generations, send the early messages, ONE group commit (write_round), on_persisted, send the
held-back messages, write the apply batch without sync, the snapshot apply jobs, on_applied, call the
callbacks. `server/` runs the same core from threads; this one is what raftstore.testing.Cluster runs.

`SnapIO` is the snapshot IO of one store: generation requests (TiKV's snap-generator worker), apply jobs
(TiKV's region worker) and the collection of snapshots below a durable truncated index. Inline (the
default) it does them in the driver's thread, at once, so a Cluster stays deterministic; threaded, on a
SnapWorker and a SnapApplyWorker (the core polls the jobs' statuses).

`open_store` is how a store starts: identity check, recover_store (an interrupted snapshot apply is
finished, tombstone leftovers cleared, tombstones skipped), then the core on the regions recovered.

A transport carries a MsgSnapshot with its files (see `snapshot_messages`): the sending store's files
(`SnapSender(mgr, msg.message.snapshot)`) go to the receiving store's SnapManager (`SnapReceiver(mgr,
SnapHeader(msg.message.snapshot))`), and the message is stepped there only once the receiver finished;
the sender then reports the outcome with `core.report_snapshot(region_id, to_peer_id, status)`.

Failpoints (raftstore.failpoints) mark the points where a crash is interesting:
`store_round_before_persist`, `store_round_before_apply` (the log is durable, the apply batch is not
written), `apply_batch_after_write` (a non-empty apply batch is written, snapshot jobs not run, the core
not told)
and `store_round_before_answer` (applied, nothing answered yet). In a round without log GC the KV half of
the group commit is empty, and a crash between its two fsyncs is the crash before persisting. Reached only
by the rounds they concern (evaluated only while a failpoint is configured): `log_gc_before_delete` /
`log_gc_after_delete` around the group commit of a round that stages a log GC (its raft half deletes the
compacted entries), `split_apply_before_write` / `split_apply_after_write` and
`conf_change_apply_before_write` / `conf_change_apply_after_write` around the write of an apply batch
holding a split or a conf change (the regions' new states are in that batch; after it, they are on disk
while the core still has the old regions).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Sequence

from .. import failpoints
from ..engine import keys
from ..engine.base import DATA_CFS
from ..engine.engines import Engines
from ..engine.errors import EngineError
from ..proto.eraftpb_pb2 import MessageType
from ..proto.raft_cmdpb_pb2 import CmdType, RaftCmdRequest, RaftCmdResponse
from ..proto.raft_serverpb_pb2 import RaftLocalState, RaftMessage, RegionLocalState
from .bootstrap import check_store_ident
from .cmd import CmdResult
from .errors import StoreError
from .peer_storage import clear_meta, load_region_states
from .recovery import RecoveredStore, collector_paused, recover_store
from .snap.apply import ApplySnapTask, SnapApplyWorker, handle_apply
from .snap.gen import GenSnapRequest, SnapGenerator, SnapWorker
from .snap.manager import SnapManager
from .store_core import StoreConfig, StoreCore
from .write import WriteRoundStats, WriteTask, write_round, write_tasks

__all__ = ["run_round", "SnapIO", "open_store", "snapshot_messages"]

logger = logging.getLogger("raftstore.store")


class SnapIO:
    """SnapIO: one store's snapshot IO for the driver (module docstring). `mgr` must be initialised
    (mgr.init()). Threaded, call stop() when the store stops."""

    def __init__(self, engines: Engines, mgr: SnapManager, *, threaded: bool = False) -> None:
        self.engines = engines
        self.mgr = mgr
        self._generator = SnapGenerator(mgr, engines.kv)
        self._gen_worker = SnapWorker(self._generator) if threaded else None
        self._apply_worker = SnapApplyWorker(engines, mgr) if threaded else None

    def generate(self, requests: Iterable[GenSnapRequest]) -> None:
        """generate runs (inline) or schedules each generation; each completes or fails its task."""
        for request in requests:
            if self._gen_worker is not None:
                self._gen_worker.schedule(request)
            else:
                self._generator.handle(request)

    def apply(self, tasks: Iterable[ApplySnapTask]) -> None:
        """apply runs (inline) or schedules each apply job; the outcome is the job's status."""
        for task in tasks:
            if self._apply_worker is not None:
                self._apply_worker.schedule(task)
            else:
                handle_apply(self.engines, self.mgr, task.region_id, task.status)

    def gc(self, tasks: Iterable[WriteTask]) -> None:
        """gc deletes the idle snapshots of each region below the truncated index a durable task wrote."""
        for task in tasks:
            if task.truncated_index is not None:
                self.mgr.gc(task.region_id, task.truncated_index)

    def stop(self) -> None:
        if self._gen_worker is not None:
            self._gen_worker.stop()
        if self._apply_worker is not None:
            self._apply_worker.stop()


def snapshot_messages(msgs: Sequence[RaftMessage]) -> list[RaftMessage]:
    """snapshot_messages are the MsgSnapshots among msgs: a transport sends their files first."""
    return [m for m in msgs if m.message.msg_type == MessageType.MsgSnapshot]


def run_round(
    core: StoreCore,
    engines: Engines,
    send: Callable[[list[RaftMessage]], None],
    snap: SnapIO | None = None,
) -> WriteRoundStats | None:
    """run_round runs one round of core on engines; send takes the messages to deliver (a MsgSnapshot
    with its files: see the module docstring); snap does the snapshot IO (without it no snapshot is
    generated or applied: the requests stay pending). Returns what the group commit wrote (None when the
    round had no Ready). A failed write, of the tasks or of the apply batch, raises StoreError and is fatal
    to the engines (see write_tasks): the owner drops the core, reopens the engines and builds a new core
    from disk."""
    wr = core.collect()
    if failpoints.ENABLED:
        _deliberate_bugs(core)
    if snap is not None and wr.gen_requests:
        snap.generate(wr.gen_requests)
    if wr.messages:
        send(wr.messages)
    failpoints.fail_point("store_round_before_persist")
    log_gc = failpoints.ENABLED and any(t.truncated_index is not None for t in wr.tasks)
    if log_gc:
        failpoints.fail_point("log_gc_before_delete")
    stats = write_round(engines, wr.stage) if wr.tasks else None
    if log_gc:
        failpoints.fail_point("log_gc_after_delete")
    ar = core.on_persisted(wr)
    if snap is not None:
        snap.gc(wr.tasks)
    if ar.messages:
        send(ar.messages)
    failpoints.fail_point("store_round_before_apply")
    split = failpoints.ENABLED and any(r.splits for r in ar.results)
    conf_change = failpoints.ENABLED and any(r.conf_changes for r in ar.results)
    if split:
        failpoints.fail_point("split_apply_before_write")
    if conf_change:
        failpoints.fail_point("conf_change_apply_before_write")
    if not ar.batch.is_empty():
        try:
            engines.kv.write(ar.batch.wb, sync=False)
        except EngineError as err:
            failure = f"apply write of {ar.batch.wb.count()} operations failed: {err}"
            engines.fail(failure)
            raise StoreError(failure) from err
        failpoints.fail_point("apply_batch_after_write")
    if split:
        failpoints.fail_point("split_apply_after_write")
    if conf_change:
        failpoints.fail_point("conf_change_apply_after_write")
    if snap is not None and ar.snap_tasks:
        snap.apply(ar.snap_tasks)
    failpoints.fail_point("store_round_before_answer")
    for cb, result in core.on_applied(ar):
        cb(result)
    return stats


def _deliberate_bugs(core: StoreCore) -> None:
    """_deliberate_bugs: the failpoints of the chaos bug-injection check (`raftstore chaos --bug`,
    docs/reliability.md), which break the store on purpose when configured with the action "return":
    - read_without_read_index: a leader's waiting reads are served at its applied index, no ReadIndex;
    - ack_write_before_commit: the proposers of puts and deletes are answered done as soon as proposed,
      before any quorum has the entry (their answer after apply is dropped).
    They live here, in the driver, so that the core stays free of failpoints."""
    stale = failpoints.fail_point("read_without_read_index")
    early = failpoints.fail_point("ack_write_before_commit")
    for peer in core.peers.values() if stale or early else ():
        for batch in peer.reads if stale else ():
            batch.issued, batch.read_index = True, batch.read_index or 0
        log = peer.raft_group.raft.raft_log
        for p in peer.proposals if early and peer.is_leader() else ():
            if not p.waiters or not log.first_index() <= p.index <= log.last_index():
                continue
            cmd = RaftCmdRequest.FromString(log.slice(p.index, p.index + 1)[0].data)
            if not cmd.HasField("admin_request") and all(r.cmd_type in (CmdType.Put, CmdType.Delete) for r in cmd.requests):
                resp = RaftCmdResponse()
                resp.header.current_term = p.term
                for w in p.waiters:
                    w.cb(CmdResult(resp))
                p.waiters = []


def open_store(
    engines: Engines,
    cluster_id: int,
    store_id: int,
    mgr: SnapManager,
    config: StoreConfig | None = None,
) -> tuple[StoreCore, RecoveredStore]:
    """open_store starts a store from its engines (TiKV's StoreFsm init): the identity is checked
    (StoreIdentError, nothing written), recover_store finishes what a crash interrupted, and the core
    opens a peer for every region recovered. A region whose interrupted snapshot apply failed again is
    forgotten (meta and log cleared, its range's data deleted; no tombstone): the leader's next message
    creates its peer again and a new snapshot catches it up. mgr must be initialised."""
    check_store_ident(engines, cluster_id, store_id)
    with collector_paused():  # the load builds objects that live as long as the store (recovery.py)
        recovered = recover_store(engines, mgr)
        if recovered.failed:
            _forget_failed(engines, [s for s in load_region_states(engines) if s.region.id in recovered.failed])
        return StoreCore(engines, cluster_id, store_id, config, regions=recovered.regions), recovered


def _forget_failed(engines: Engines, states: list[RegionLocalState]) -> None:
    """_forget_failed clears the meta and log of regions still Applying (one group commit), then deletes
    their ranges' data (synced)."""
    tasks = []
    wb = engines.kv.write_batch()
    for state in states:
        rid = state.region.id
        logger.warning("[region %d] forgotten after a failed snapshot apply at startup", rid)
        task = WriteTask(rid, 0, 0)
        clear_meta(task, rid, 0, RaftLocalState())
        task.delete_raft_range(*keys.raft_log_range(rid))
        tasks.append(task)
        start, end = keys.enc_start_key(state.region), keys.enc_end_key(state.region)
        for cf in DATA_CFS:
            wb.delete_range(cf, start, end)
    write_tasks(engines, tasks)
    try:
        engines.kv.write(wb, sync=True)
    except EngineError as err:
        raise StoreError(f"deleting the data of failed snapshot applies failed: {err}") from err

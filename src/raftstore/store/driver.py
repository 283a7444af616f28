"""raftstore.store.driver: the in-process driver of a StoreCore: it does the round's IO.

`run_round(core, engines, send)` runs one round (see store_core's module docstring): collect, send the
early messages, ONE write_tasks group commit, on_persisted, send the held-back messages, write the apply
batch without sync, on_applied, call the callbacks. `server/` will get a threaded driver around the same
core; this one is what raftstore.testing.Cluster runs.

Failpoints (raftstore.failpoints) mark the points where a crash is interesting:
`store_round_before_persist`, `store_round_before_apply` (the log is durable, the apply batch is not
written) and `store_round_before_answer` (applied, nothing answered yet). In a round without log GC the
KV half of write_tasks is empty, and a crash between its two fsyncs is the crash before persisting.
"""

from __future__ import annotations

from collections.abc import Callable

from .. import failpoints
from ..engine.engines import Engines
from ..engine.errors import EngineError
from ..proto.raft_serverpb_pb2 import RaftMessage
from .errors import StoreError
from .store_core import StoreCore
from .write import WriteRoundStats, write_tasks

__all__ = ["run_round"]


def run_round(
    core: StoreCore, engines: Engines, send: Callable[[list[RaftMessage]], None]
) -> WriteRoundStats | None:
    """run_round runs one round of core on engines; send takes the messages to deliver. Returns what the
    group commit wrote (None when the round had no Ready). A failed write, of the tasks or of the apply
    batch, raises StoreError and is fatal to the engines (see write_tasks): the owner drops the core,
    reopens the engines and builds a new core from disk."""
    wr = core.collect()
    if wr.messages:
        send(wr.messages)
    failpoints.fail_point("store_round_before_persist")
    stats = write_tasks(engines, wr.tasks) if wr.tasks else None
    ar = core.on_persisted(wr)
    if ar.messages:
        send(ar.messages)
    failpoints.fail_point("store_round_before_apply")
    if not ar.batch.is_empty():
        try:
            engines.kv.write(ar.batch.wb, sync=False)
        except EngineError as err:
            failure = f"apply write of {ar.batch.wb.count()} operations failed: {err}"
            engines.fail(failure)
            raise StoreError(failure) from err
    failpoints.fail_point("store_round_before_answer")
    for cb, result in core.on_applied(ar):
        cb(result)
    return stats

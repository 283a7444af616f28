"""raftstore.store.snap.task: GenSnapTask, the request PeerStorage hands the snapshot worker.

A leaf module (it imports only the protobuf classes), so that PeerStorage and the generation worker both
use it without importing each other.
"""

from __future__ import annotations

from ...proto.eraftpb_pb2 import Snapshot

__all__ = ["GenSnapTask"]


class GenSnapTask:
    """GenSnapTask asks the snapshot worker for a snapshot of the region for peer `to`.

    The worker sets `index` once it knows the snapshot's index, then calls complete(snapshot) or
    fail(reason); PeerStorage.snapshot() picks the result up. `canceled` is set when the storage no longer
    wants it (the log was compacted past its index, or the peer is being destroyed).
    """

    __slots__ = ("region_id", "to", "request_index", "index", "canceled", "result", "error", "done", "taken")

    def __init__(self, region_id: int, to: int, request_index: int) -> None:
        self.region_id = region_id
        self.to = to
        self.request_index = request_index
        self.index = 0  # the snapshot's index, set by the worker once it has taken its engine snapshot
        self.canceled = False
        self.result: Snapshot | None = None
        self.error: str | None = None
        self.done = False
        self.taken = False

    def complete(self, snapshot: Snapshot) -> None:
        self.result = snapshot
        self.done = True

    def fail(self, reason: str) -> None:
        self.error = reason
        self.done = True

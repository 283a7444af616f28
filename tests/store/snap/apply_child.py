"""apply_child: the process the crash tests kill mid-apply. Not a test module (pytest does not collect it).

Usage: RAFTSTORE_FAILPOINTS="<failpoint>=kill" python -m tests.store.snap.apply_child DB_DIR SNAP_DIR REGION_ID
           [SNAPSHOT_FILE PEER_ID]

Opens the RocksDB engines in DB_DIR and the snapshot manager in SNAP_DIR. With three arguments it runs the
apply job of REGION_ID (which must be Applying). With SNAPSHOT_FILE (a serialized raft Snapshot, already
received into SNAP_DIR) and PEER_ID it does what a store does with a Ready that carries it: PeerStorage of
the peer (the region as on disk, uninitialized if none) stages it (handle_raft_ready), write_tasks persists
the round, and the job on_persisted returns runs. Prints the job's final status if it lives that long.
"""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

from raftstore.engine.engines import Engines, open_engines
from raftstore.proto.eraftpb_pb2 import HardState, Snapshot
from raftstore.proto.metapb_pb2 import Region
from raftstore.store import PeerStorage, WriteTask, write_tasks
from raftstore.store.peer_storage import load_region_states
from raftstore.store.snap import ApplyStatus, SnapManager, handle_apply


def stage_and_apply(engines: Engines, mgr: SnapManager, region_id: int, snap: Snapshot, peer_id: int) -> ApplyStatus:
    """stage_and_apply: a Ready carrying snap (with the hard state raft has after restoring it) goes through
    PeerStorage and write_tasks; the apply job then runs here. Returns the job's status."""
    states = {s.region.id: s.region for s in load_region_states(engines)}
    storage = PeerStorage(engines, states.get(region_id, Region(id=region_id)), peer_id, snap_mgr=mgr)
    hs = HardState(term=max(snap.metadata.term, storage.hard_state().term), commit=snap.metadata.index)
    ready = SimpleNamespace(snapshot=snap, entries=[], hs=hs)
    task = WriteTask(region_id, peer_id, 1)
    storage.handle_raft_ready(ready, task)  # type: ignore[arg-type]
    write_tasks(engines, [task])
    job = storage.on_persisted(task)
    assert job is not None
    handle_apply(engines, mgr, job.region_id, job.status)
    return job.status


def main() -> None:
    db_dir, snap_dir, region_id = sys.argv[1], sys.argv[2], int(sys.argv[3])
    mgr = SnapManager(snap_dir)
    mgr.init()
    with open_engines(db_dir) as engines:
        if len(sys.argv) > 4:
            snap = Snapshot.FromString(Path(sys.argv[4]).read_bytes())
            status = stage_and_apply(engines, mgr, region_id, snap, int(sys.argv[5]))
        else:
            status = ApplyStatus()
            handle_apply(engines, mgr, region_id, status)
        print(status.load().name, flush=True)


if __name__ == "__main__":
    main()

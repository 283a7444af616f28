"""tests.store.snap.helpers: regions with data, the states the snapshot code reads, and engine dumps."""

from __future__ import annotations

import os
from collections.abc import Iterable

from raftstore.engine import keys
from raftstore.engine.base import CF_RAFT, DATA_CFS, KvEngine, Readable
from raftstore.engine.engines import Engines
from raftstore.proto.eraftpb_pb2 import Snapshot
from raftstore.proto.metapb_pb2 import Region
from raftstore.proto.raft_serverpb_pb2 import (
    PeerState,
    RaftApplyState,
    RaftLocalState,
    RegionLocalState,
)
from raftstore.store.peer_storage import GenSnapTask
from raftstore.store.snap import GenSnapRequest, SnapGenerator, SnapManager

from ..helpers import new_peer, new_region

# REGION is region 1 over user keys [b"k", b"m") with voters 1, 2, 3 (peer 1 on this store).
REGION_START, REGION_END = b"k", b"m"


def snap_region(region_id: int = 1) -> Region:
    """snap_region: region_id over [REGION_START, REGION_END), voters 1..3 on stores 1..3, epoch (2, 3)."""
    return new_region(
        region_id,
        [new_peer(1, 1), new_peer(2, 2), new_peer(3, 3)],
        conf_ver=2,
        version=3,
        start_key=REGION_START,
        end_key=REGION_END,
    )


def user_keys(n: int, prefix: bytes) -> list[bytes]:
    return [prefix + b"%06d" % i for i in range(n)]


def populate(kv: KvEngine, n: int = 200, value_size: int = 100, *, seed: int = 0) -> None:
    """populate writes n keys into every data CF inside the region (prefix "k") and outside it ("a", "x")."""
    wb = kv.write_batch()
    for cf in DATA_CFS:
        for prefix in (b"a", b"k", b"x"):
            for i, k in enumerate(user_keys(n, prefix)):
                wb.put(cf, keys.data_key(k), (b"%s:%d:%d:" % (cf.encode(), seed, i)).ljust(value_size, b"."))
    kv.write(wb)


def set_states(kv: KvEngine, region: Region, applied_index: int, state: int = PeerState.Normal) -> RaftApplyState:
    """set_states writes the region state (state, region) and an apply state at applied_index (truncated at
    5), as a peer that applied up to applied_index has; returns the apply state."""
    apply_state = RaftApplyState(applied_index=applied_index, commit_index=applied_index, commit_term=6)
    apply_state.truncated_state.index = 5
    apply_state.truncated_state.term = 5
    region_state = RegionLocalState(state=state)
    region_state.region.CopyFrom(region)
    wb = kv.write_batch()
    wb.put(CF_RAFT, keys.apply_state_key(region.id), apply_state.SerializeToString())
    wb.put(CF_RAFT, keys.region_state_key(region.id), region_state.SerializeToString())
    kv.write(wb, sync=True)
    return apply_state


def stage_applying(kv: KvEngine, snap: Snapshot, region: Region) -> None:
    """stage_applying writes what PeerStorage stages before the apply job runs: PeerState Applying with the
    snapshot's region, applied = truncated = the snapshot's (index, term), and the snapshot raft state."""
    index, term = snap.metadata.index, snap.metadata.term
    apply_state = RaftApplyState(applied_index=index, commit_index=index, commit_term=term)
    apply_state.truncated_state.index = index
    apply_state.truncated_state.term = term
    region_state = RegionLocalState(state=PeerState.Applying)
    region_state.region.CopyFrom(region)
    raft_state = RaftLocalState(last_index=index)
    raft_state.hard_state.term = term
    raft_state.hard_state.commit = index
    wb = kv.write_batch()
    wb.put(CF_RAFT, keys.apply_state_key(region.id), apply_state.SerializeToString())
    wb.put(CF_RAFT, keys.region_state_key(region.id), region_state.SerializeToString())
    wb.put(CF_RAFT, keys.snapshot_raft_state_key(region.id), raft_state.SerializeToString())
    kv.write(wb, sync=True)


def dump(kv: Readable, start: bytes = b"", end: bytes | None = None, cfs: Iterable[str] = DATA_CFS) -> dict[str, list]:
    """dump is every (key, value) of each CF in [start, end)."""
    return {cf: list(kv.scan(cf, start, end)) for cf in cfs}


def region_range(region: Region) -> tuple[bytes, bytes]:
    return keys.enc_start_key(region), keys.enc_end_key(region)


def generate(mgr: SnapManager, engines: Engines, region: Region, applied_index: int = 10, term: int = 6) -> Snapshot:
    """generate: set the region's states at applied_index and run one GenSnapTask to completion."""
    apply_state = set_states(engines.kv, region, applied_index)
    task = GenSnapTask(region.id, 2, 0)
    SnapGenerator(mgr, engines.kv).handle(GenSnapRequest(task, term, apply_state))
    assert task.done and task.error is None and task.result is not None, task.error
    return task.result


def new_manager(path: os.PathLike[str] | str, **options: int) -> SnapManager:
    mgr = SnapManager(path, **options)
    mgr.init()
    return mgr

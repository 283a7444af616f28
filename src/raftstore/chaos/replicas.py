"""raftstore.chaos.replicas: are the replicas identical? Checked online, then offline.

Online (`online_check`): the consistency check of the Admin service for every region (ComputeHash through
raft, every replica hashes the region at that index, VerifyHash compares): a replica whose hash differs
from the leader's at the same index is a violation; a check that cannot complete (a replica not at the
index in time) is retried, and left "unverified" after CHECK_TRIES.

Offline (`check_replicas`): every store stopped gracefully, each data directory opened with the
read-only engines (as `raftstore demo` does): for every region in state Normal, its applied index, its
epoch and a SHA-256 of its data (every data CF, its key range, in key order). Replicas of a region that
reached the same applied index must hold the same data; replicas at different applied indexes have not
converged (the stores run again, idle, and are compared again).
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass
from pathlib import Path

from ..ctl import region_digest
from ..demo import opened_engines
from ..engine.engines import Engines
from ..proto.raft_serverpb_pb2 import PeerState
from ..proto.raftstorepb_pb2 import ConsistencyVerdict
from ..server.errors import AdminError
from ..store import load_region_states
from .cluster import StoreProcs

__all__ = ["CONVERGE_TRIES", "Replica", "check_replicas", "compare_replicas", "online_check", "store_replicas"]

CHECK_TRIES = 3

# CONVERGE_TRIES: how many times check_replicas stops the stores and compares them.
CONVERGE_TRIES = 3


@dataclass(frozen=True)
class Replica:
    """Replica: one store's copy of a region: applied index, epoch (version, conf_ver), data digest."""

    store: int
    region: int
    applied: int
    epoch: tuple[int, int]
    start_key: bytes
    end_key: bytes
    digest: str


def _replicas(engines: Engines, store: int) -> list[Replica]:
    out = []
    for state in load_region_states(engines):
        if state.state != PeerState.Normal:
            continue
        region = state.region
        applied, digest = region_digest(engines, region)
        epoch = (region.region_epoch.version, region.region_epoch.conf_ver)
        out.append(Replica(store, region.id, applied, epoch, region.start_key, region.end_key, digest))
    return out


def store_replicas(data_dirs: dict[int, Path]) -> list[Replica]:
    """store_replicas opens each store's data directory read-only and lists its replicas."""
    out: list[Replica] = []
    for store, path in sorted(data_dirs.items()):
        with opened_engines(path, read_only=True) as engines:
            out += _replicas(engines, store)
    return out


def compare_replicas(replicas: list[Replica]) -> tuple[list[str], list[str]]:
    """compare_replicas: (differences, lagging). A difference is two replicas of a region at the same
    applied index with different data or epochs, or regions of one store that overlap; lagging names
    the regions whose replicas are at different applied indexes (not converged yet)."""
    differences: list[str] = []
    lagging: list[str] = []
    by_region: dict[int, list[Replica]] = {}
    for r in replicas:
        by_region.setdefault(r.region, []).append(r)
    for region, reps in sorted(by_region.items()):
        at: dict[int, set[tuple[str, tuple[int, int]]]] = {}
        for r in reps:
            at.setdefault(r.applied, set()).add((r.digest, r.epoch))
        for applied, seen in at.items():
            if len(seen) > 1:
                stores = [r.store for r in reps if r.applied == applied]
                differences.append(f"region {region}: stores {stores} at applied index {applied} differ: {sorted(seen)}")
        if len(at) > 1:
            lagging.append(f"region {region}: applied " + ", ".join(f"store {r.store} {r.applied}" for r in reps))
    differences += _overlaps(replicas)
    return differences, lagging


def _overlaps(replicas: list[Replica]) -> list[str]:
    out = []
    stores = {r.store for r in replicas}
    for store in sorted(stores):
        mine = sorted((r for r in replicas if r.store == store), key=lambda r: r.start_key)
        for a, b in itertools.pairwise(mine):
            if not a.end_key or a.end_key > b.start_key:
                out.append(f"store {store}: regions {a.region} and {b.region} overlap")
    return out


def check_replicas(procs: StoreProcs) -> tuple[str, list[str]]:
    """check_replicas stops every store and compares the replicas: ("identical", []), ("DIFFER",
    differences) or ("did not converge", lagging). Lagging replicas get CONVERGE_TRIES - 1 more chances:
    the stores run again for 2 s (idle: heartbeats carry the commit index), then stop."""
    lagging: list[str] = []
    for attempt in range(CONVERGE_TRIES):
        if attempt:
            procs.start_all()
            time.sleep(2.0)
        time.sleep(1.0)
        procs.stop_all()
        differences, lagging = compare_replicas(store_replicas({sid: procs.data(sid) for sid in procs.ids}))
        if differences:
            return "DIFFER", [f"replicas differ: {d}" for d in differences]
        if not lagging:
            return "identical", []
    return "did not converge", [f"replicas did not converge: {line}" for line in lagging]


def online_check(procs: StoreProcs) -> tuple[int, list[str], list[str]]:
    """online_check runs the Admin consistency check on every region: (regions verified identical,
    violations, regions left unverified)."""
    verified, violations, unverified = 0, [], []
    with procs.admin(timeout=10.0) as admin:
        regions = [status.region.id for status in admin.list_regions()]
        for region_id in regions:
            last = "no answer"
            for _ in range(CHECK_TRIES):
                try:
                    resp = admin.consistency_check(region_id)
                except AdminError as err:
                    last = str(err)
                    continue
                bad = [r for r in resp.replicas if r.state.verdict == ConsistencyVerdict.MISMATCH
                       or (r.state.present and r.state.index == resp.index and r.state.hash != resp.hash)]
                if bad:
                    violations.append(f"online consistency check of region {region_id} at index {resp.index}: "
                                      f"stores {[r.store_id for r in bad]} differ from the leader")
                    break
                if resp.identical:
                    verified += 1
                    break
                last = "; ".join(f"store {r.store_id}: {r.error}" for r in resp.replicas if r.error) or "not identical"
            else:
                unverified.append(f"region {region_id}: {last}")
    return verified, violations, unverified

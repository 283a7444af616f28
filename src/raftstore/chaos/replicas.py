"""raftstore.chaos.replicas: are the replicas identical? Compared offline, after the stores stopped.

The online consistency check (ComputeHash / VerifyHash through the admin service) is not reachable from
the harness yet, so the run stops every store gracefully and opens each data directory with the
read-only engines (as `raftstore demo` does): for every region in state Normal, its applied index, its
epoch and a SHA-256 of its data (every data CF, its key range, in key order). Replicas of a region that
reached the same applied index must hold the same data; replicas at different applied indexes have not
converged (the caller restarts the stores, waits and compares again).
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from pathlib import Path

from ..demo import opened_engines
from ..engine import keys
from ..engine.base import DATA_CFS
from ..engine.engines import Engines
from ..proto.raft_serverpb_pb2 import PeerState
from ..raft.util import INVALID_ID
from ..store import PeerStorage, load_region_states

__all__ = ["Replica", "compare_replicas", "store_replicas"]


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
        applied = PeerStorage(engines, region, INVALID_ID).applied_index()  # the peer id only tags log lines
        digest = hashlib.sha256()
        start, end = keys.enc_start_key(region), keys.enc_end_key(region)
        for cf in DATA_CFS:
            for key, value in engines.kv.scan(cf, start, end):
                digest.update(b"%s:%d:%d:" % (cf.encode(), len(key), len(value)) + key + value)
        epoch = (region.region_epoch.version, region.region_epoch.conf_ver)
        out.append(Replica(store, region.id, applied, epoch, region.start_key, region.end_key, digest.hexdigest()))
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

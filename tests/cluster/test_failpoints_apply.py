"""Crashes at the failpoints of the apply path (store/driver.py): for each one, a store that panics there
and is restarted from its engines is consistent: no acknowledged write is lost, its regions open
(PeerStorage validates their states) and every region's replicas hash the same (consistency check)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from raftstore.proto.metapb_pb2 import Peer
from raftstore.store import StoreConfig
from raftstore.testing import Cluster

# GC_CONFIG: a log GC every 2 ticks once 4 entries are replicated everywhere.
GC_CONFIG = StoreConfig(raft_log_gc_tick_interval=2, raft_log_gc_threshold=4)


def _writes(cluster: Cluster, acked: dict[bytes, bytes], n: int, prefix: bytes) -> None:
    for i in range(n):
        key, value = prefix + b"%03d" % i, b"v%d" % i
        cluster.must_put(key, value)
        acked[key] = value


def _split(cluster: Cluster, acked: dict[bytes, bytes]) -> None:
    cluster.must_split(b"m")
    _writes(cluster, acked, 3, b"z")


def _add_peer(cluster: Cluster, acked: dict[bytes, bytes]) -> None:
    cluster.must_add_peer(1, Peer(id=100, store_id=4))
    _writes(cluster, acked, 3, b"c")


def _log_gc(cluster: Cluster, acked: dict[bytes, bytes]) -> None:
    _writes(cluster, acked, 12, b"g")
    cluster.run_steps(10)


@dataclass(frozen=True)
class Case:
    """Case: the failpoint a follower store panics at, and what makes it reach the point."""

    point: str
    action: Callable[[Cluster, dict[bytes, bytes]], None]


CASES = [
    Case("apply_batch_after_write", lambda c, acked: _writes(c, acked, 5, b"a")),
    Case("log_gc_before_delete", _log_gc),
    Case("log_gc_after_delete", _log_gc),
    Case("split_apply_before_write", _split),
    Case("split_apply_after_write", _split),
    Case("conf_change_apply_before_write", _add_peer),
    Case("conf_change_apply_after_write", _add_peer),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.point)
def test_restart_after_a_panic_at_an_apply_failpoint(tmp_path: Path, case: Case) -> None:
    with Cluster(4, path=tmp_path, initial_stores=[1, 2, 3], config=GC_CONFIG) as cluster:
        cluster.start()
        leader = cluster.wait_leader()
        acked: dict[bytes, bytes] = {}
        _writes(cluster, acked, 3, b"b")
        victim = next(s for s in (1, 2, 3) if s != leader.store_id)
        cluster.crash_store_at(victim, case.point)
        case.action(cluster, acked)
        cluster.run_until(lambda: victim not in cluster.cores, 100, f"a crash of store {victim} at {case.point}")
        cluster.start_store(victim)
        _writes(cluster, acked, 3, b"d")
        for key, value in acked.items():
            assert cluster.must_get(key) == value
            cluster.must_get_on_store(victim, key, value)
        region_ids = {r.id for r in (cluster.get_region(k) for k in acked)}
        for region_id in sorted(region_ids):
            assert cluster.must_check_consistency(region_id).verified is True

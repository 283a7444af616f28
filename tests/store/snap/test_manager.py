"""SnapManager: the registry, deletion, the size limit, GC, temporary file removal, receive slots and the
IO rate limiter (TiKV's snap.rs manager tests re-expressed)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from raftstore.engine.engines import Engines
from raftstore.store.peer_storage import GenSnapTask
from raftstore.store.snap import (
    GenSnapRequest,
    SnapEntry,
    SnapGenerator,
    SnapInUseError,
    SnapKey,
    SnapManager,
    TooManyReceivesError,
    TooManySnapshotsError,
)
from raftstore.store.snap.io import IoRateLimiter

from .helpers import generate, new_manager, populate, set_states, snap_region


def build_many(mgr: SnapManager, engines: Engines, indexes: list[int]) -> list[SnapKey]:
    """build_many builds region 1's snapshot at each applied index, oldest first (distinct mtimes)."""
    populate(engines.kv, n=100)
    built = []
    for index in indexes:
        built.append(SnapKey.from_snapshot(generate(mgr, engines, snap_region(), applied_index=index)))
        os.utime(mgr.gen_files(built[-1]).meta_path, (index, index))
    return built


def test_registry_blocks_deletion(mem_engines: Engines, tmp_path: Path) -> None:
    mgr = new_manager(tmp_path / "snap")
    (key,) = build_many(mgr, mem_engines, [10])
    mgr.register(key, SnapEntry.SENDING)
    mgr.register(key, SnapEntry.SENDING)
    assert mgr.registered(key) == [SnapEntry.SENDING, SnapEntry.SENDING]
    with pytest.raises(SnapInUseError, match="in use"):
        mgr.delete(key, built=True)
    assert mgr.gen_files(key).exists()
    mgr.deregister(key, SnapEntry.SENDING)
    with pytest.raises(SnapInUseError):
        mgr.delete(key, built=True)
    mgr.deregister(key, SnapEntry.SENDING)
    assert mgr.registered(key) == []
    mgr.delete(key, built=True)
    assert os.listdir(tmp_path / "snap") == []


def test_in_use_context_deregisters_on_error(tmp_path: Path) -> None:
    mgr = new_manager(tmp_path / "snap")
    key = SnapKey(1, 1, 1)
    with pytest.raises(RuntimeError), mgr.in_use(key, SnapEntry.APPLYING):
        assert mgr.registered(key) == [SnapEntry.APPLYING]
        raise RuntimeError("boom")
    assert mgr.registered(key) == []


def test_init_removes_temporary_and_orphan_files(tmp_path: Path) -> None:
    d = tmp_path / "snap"
    d.mkdir()
    keep = ["gen_1_6_10.meta", "gen_1_6_10_default.sst", "other.txt"]
    drop = [
        "gen_1_6_11_default.sst.tmp",  # a build that stopped
        "rev_2_5_7_write_0001.sst.tmp",  # a receive that stopped
        "gen_1_6_12.meta.tmp",  # a meta never renamed
        "rev_1_6_10_default.sst.clone",  # an ingest that stopped
        "rev_3_5_9_lock.sst",  # a data file whose meta was never written
    ]
    for name in keep + drop:
        (d / name).write_bytes(b"x")
    mgr = SnapManager(d)
    assert mgr.init() == sorted(drop)
    assert sorted(os.listdir(d)) == sorted(keep)


def test_size_limit_evicts_oldest_idle_built_snapshot(mem_engines: Engines, tmp_path: Path) -> None:
    mgr = new_manager(tmp_path / "snap")
    keys_built = build_many(mgr, mem_engines, [10, 11, 12])
    one = mgr.gen_files(keys_built[0]).total_size()
    mgr.max_total_size = 2 * one  # three are on disk: the oldest idle one must go
    mgr.register(keys_built[0], SnapEntry.SENDING)  # ... but index 10 is in use: 11 goes instead
    mgr.prepare_build(SnapKey(1, 6, 13))
    assert [k.index for k, _ in mgr.list_snapshots()] == [10, 12]
    mgr.max_total_size = one // 2  # now everything idle goes, and then it refuses
    with pytest.raises(TooManySnapshotsError, match="none can be evicted"):
        mgr.prepare_build(SnapKey(1, 6, 13))
    assert [k.index for k, _ in mgr.list_snapshots()] == [10]
    mgr.deregister(keys_built[0], SnapEntry.SENDING)
    mgr.prepare_build(SnapKey(1, 6, 13))
    assert mgr.list_snapshots() == []


def test_generation_refused_when_over_limit_and_all_in_use(mem_engines: Engines, tmp_path: Path) -> None:
    mgr = new_manager(tmp_path / "snap", max_total_size=1)
    (key,) = build_many(mgr, mem_engines, [10])
    mgr.register(key, SnapEntry.SENDING)
    task = GenSnapTask(1, 2, 0)
    SnapGenerator(mgr, mem_engines.kv).handle(GenSnapRequest(task, 6, set_states(mem_engines.kv, snap_region(), 20)))
    assert task.done and task.result is None
    assert task.error is not None and "none can be evicted" in task.error


def test_gc_removes_snapshots_below_truncated_index(mem_engines: Engines, tmp_path: Path) -> None:
    mgr = new_manager(tmp_path / "snap")
    build_many(mgr, mem_engines, [10, 20, 30])
    in_use = SnapKey(1, 6, 10)
    mgr.register(in_use, SnapEntry.SENDING)
    assert mgr.gc(2, 100) == []  # another region: nothing
    assert mgr.gc(1, 30) == [(SnapKey(1, 6, 20), True)]  # 10 is in use, 30 is not below 30
    assert [k.index for k, _ in mgr.list_snapshots()] == [10, 30]
    mgr.deregister(in_use, SnapEntry.SENDING)
    assert mgr.gc(1, 31) == [(SnapKey(1, 6, 10), True), (SnapKey(1, 6, 30), True)]
    assert os.listdir(tmp_path / "snap") == []


def test_receive_slots_limited(tmp_path: Path) -> None:
    mgr = new_manager(tmp_path / "snap", max_concurrent_recv=2)
    mgr.acquire_recv(SnapKey(1, 1, 1))
    with pytest.raises(SnapInUseError):
        mgr.acquire_recv(SnapKey(1, 1, 1))
    mgr.acquire_recv(SnapKey(2, 1, 1))
    with pytest.raises(TooManyReceivesError, match="limit 2"):
        mgr.acquire_recv(SnapKey(3, 1, 1))
    mgr.release_recv(SnapKey(1, 1, 1))
    mgr.acquire_recv(SnapKey(3, 1, 1))
    assert mgr.receiving_count() == 2


@pytest.mark.parametrize("rate, nbytes, min_seconds", [(0, 10 << 20, 0.0), (4 << 20, 2 << 20, 0.4)])
def test_io_rate_limiter(rate: int, nbytes: int, min_seconds: float) -> None:
    """A rate of 4 MiB/s with a 0.1 s burst lets 2 MiB through in at least ~0.4 s; 0 is unlimited."""
    limiter = IoRateLimiter(rate)
    began = time.monotonic()
    for _ in range(nbytes // (64 << 10)):
        limiter.consume(64 << 10)
    elapsed = time.monotonic() - began
    assert limiter.consumed == nbytes
    assert min_seconds <= elapsed < min_seconds + 0.3

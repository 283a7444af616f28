"""Replication and read-after-write on a Cluster (TiKV's test_multi / test_single scenarios)."""

from __future__ import annotations

from pathlib import Path

import pytest

from raftstore.testing import Cluster


@pytest.mark.parametrize("engine", ["rocks", "memory"])
def test_put_is_replicated_to_every_store_and_read_after_write(tmp_path: Path, engine: str) -> None:
    with Cluster(3, engine=engine, path=tmp_path) as cluster:
        cluster.start()
        for i in range(20):
            key, value = b"k%02d" % i, b"v%d" % i
            cluster.must_put(key, value)
            assert cluster.must_get(key) == value  # read-after-write through ReadIndex
        for sid in (1, 2, 3):
            for i in range(20):
                cluster.must_get_on_store(sid, b"k%02d" % i, b"v%d" % i)


def test_overwrite_delete_and_delete_range(cluster: Cluster) -> None:
    for key in (b"a", b"b", b"c", b"d"):
        cluster.must_put(key, b"1")
    cluster.must_put(b"a", b"2")
    cluster.must_delete(b"b")
    cluster.must_delete(b"missing")  # deleting a missing key is not an error
    cluster.must_delete_range(b"c", b"d")
    assert [cluster.must_get(k) for k in (b"a", b"b", b"c", b"d", b"missing")] == [b"2", None, None, b"1", None]
    for sid in (1, 2, 3):
        cluster.must_get_on_store(sid, b"c", None)
        assert [cluster.get_on_store(sid, k) for k in (b"a", b"b", b"d")] == [b"2", None, b"1"]


def test_empty_value_differs_from_a_missing_key(cluster: Cluster) -> None:
    cluster.must_put(b"e", b"")
    assert (cluster.must_get(b"e"), cluster.must_get(b"f")) == (b"", None)


def test_data_keys_are_stored_in_tikv_form(cluster: Cluster) -> None:
    """User key k lives at 'z' + k in CF default of the KV engine."""
    cluster.must_put(b"user", b"v")
    cluster.must_get_on_store(1, b"user", b"v")
    assert cluster.engines[1].kv.get("default", b"zuser") == b"v"


def test_a_leader_transfer_keeps_serving(cluster: Cluster) -> None:
    cluster.must_put(b"k", b"1")
    for target in (2, 3, 1):
        cluster.must_transfer_leader(1, target)
        assert cluster.wait_leader().store_id == target
        cluster.must_put(b"k", b"%d" % target)
        assert cluster.must_get(b"k") == b"%d" % target


def test_the_same_calls_give_the_same_run() -> None:
    """Determinism: two in-memory clusters driven alike elect the same leader at the same step and end
    with the same logs."""
    runs = []
    for _ in range(2):
        with Cluster(3, engine="memory") as cluster:
            cluster.start()
            leader = cluster.wait_leader()
            for i in range(5):
                cluster.must_put(b"k%d" % i, b"v")
            storage = cluster.cores[1].peers[1].storage
            runs.append((leader.id, cluster.steps, [(e.index, e.term, e.data) for e in storage.entries(6, storage.last_index() + 1)]))
    assert runs[0] == runs[1]

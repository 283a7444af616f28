"""The consistency check (TiKV's ComputeHash / VerifyHash) on a 3-store Cluster on RocksDB: replicas with
the same data verify at the same index; a replica whose data changed behind raft's back is found."""

from __future__ import annotations

import logging
from dataclasses import dataclass

import pytest

from raftstore.engine import keys
from raftstore.engine.base import CF_DEFAULT, CF_LOCK, CF_WRITE
from raftstore.proto.raft_cmdpb_pb2 import AdminCmdType, AdminRequest
from raftstore.store import ConsistencyState
from raftstore.testing import Cluster, ClusterError

FOLLOWER_CHECK_STEPS = 5


def _follower(cluster: Cluster, region_id: int) -> int:
    leader = cluster.wait_leader(region_id)
    return next(sid for sid in cluster.store_ids if sid != leader.store_id)


def _states(cluster: Cluster, region_id: int) -> dict[int, ConsistencyState | None]:
    return {sid: core.consistency_state(region_id) for sid, core in cluster.cores.items()}


def test_identical_replicas_verify_at_the_same_index(cluster: Cluster) -> None:
    for i in range(20):
        cluster.must_put(b"k%02d" % i, b"v%d" % i)
    state = cluster.must_check_consistency(1)
    assert state.verified is True
    states = _states(cluster, 1)
    assert {s.index for s in states.values() if s} == {state.index}
    assert {s.hash for s in states.values() if s} == {state.hash}
    assert all(s is not None and s.verified is True for s in states.values())
    assert all(core.consistency_mismatches == 0 for core in cluster.cores.values())
    # A second check after more writes is a new index with another hash.
    cluster.must_put(b"k99", b"v99")
    again = cluster.must_check_consistency(1)
    assert again.index > state.index and again.hash != state.hash and again.verified is True


def test_a_replica_altered_behind_raft_is_detected(cluster: Cluster, caplog: pytest.LogCaptureFixture) -> None:
    for i in range(10):
        cluster.must_put(b"k%02d" % i, b"v%d" % i)
    cluster.run_steps(FOLLOWER_CHECK_STEPS)
    victim = _follower(cluster, 1)
    cluster.engines[victim].kv.put(CF_DEFAULT, keys.data_key(b"k03"), b"rotten")
    with caplog.at_level(logging.ERROR, logger="raftstore.store"), pytest.raises(ClusterError, match="disagree"):
        cluster.must_check_consistency(1)
    states = _states(cluster, 1)
    bad = states[victim]
    assert bad is not None and bad.verified is False
    good = [s for sid, s in states.items() if sid != victim and s is not None]
    assert len(good) == 2
    assert all(s.verified is True and s.index == bad.index and s.hash != bad.hash for s in good)
    assert cluster.cores[victim].consistency_mismatches == 1
    assert sum(core.consistency_mismatches for core in cluster.cores.values()) == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR and "MISMATCH" in r.getMessage()]
    peer_id = cluster.cores[victim].peers[1].peer_id
    assert len(errors) == 1
    assert f"[region 1] peer {peer_id}" in errors[0] and f"index {bad.index}" in errors[0]
    assert bad.hash.hex() in errors[0] and good[0].hash.hex() in errors[0]
    # The store goes on: writes after the check are applied everywhere.
    cluster.must_put(b"after", b"check")
    assert cluster.must_get(b"after") == b"check"
    for sid in cluster.store_ids:
        cluster.must_get_on_store(sid, b"after", b"check")


@dataclass(frozen=True)
class Case:
    """Case: writes (cf, key, value) through raft, optional split keys, a write behind raft's back on a
    follower of the region holding `alter_key` (None: no alteration), then a check of the region holding
    `check_key`: whether it verifies."""

    name: str
    writes: tuple[tuple[str, bytes, bytes], ...]
    splits: tuple[bytes, ...]
    alter: tuple[str, bytes] | None
    check_key: bytes
    verified: bool


CASES = [
    Case("empty region", (), (), None, b"a", True),
    Case("empty region, a key appears on one replica", (), (), (CF_DEFAULT, b"a"), b"a", False),
    Case(
        "several CFs agree",
        ((CF_DEFAULT, b"a", b"1"), (CF_LOCK, b"a", b"l"), (CF_WRITE, b"a", b"w")),
        (), None, b"a", True,
    ),
    Case(
        "CF write altered",
        ((CF_DEFAULT, b"a", b"1"), (CF_LOCK, b"a", b"l"), (CF_WRITE, b"a", b"w")),
        (), (CF_WRITE, b"a"), b"a", False,
    ),
    Case(
        "CF lock altered",
        ((CF_DEFAULT, b"a", b"1"), (CF_LOCK, b"b", b"l")),
        (), (CF_LOCK, b"b"), b"a", False,
    ),
    Case(
        "after a split: the right region's alteration leaves the left one's hash alone",
        ((CF_DEFAULT, b"a", b"1"), (CF_DEFAULT, b"m", b"2"), (CF_DEFAULT, b"x", b"3")),
        (b"m",), (CF_DEFAULT, b"x"), b"a", True,
    ),
    Case(
        "after a split: the right region's alteration is found in the right region",
        ((CF_DEFAULT, b"a", b"1"), (CF_DEFAULT, b"m", b"2"), (CF_DEFAULT, b"x", b"3")),
        (b"m",), (CF_DEFAULT, b"x"), b"n", False,
    ),
    Case(
        "after a split: the left region's alteration is found in the left region",
        ((CF_DEFAULT, b"a", b"1"), (CF_DEFAULT, b"m", b"2")),
        (b"m",), (CF_DEFAULT, b"b"), b"a", False,
    ),
]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_consistency_check_cases(cluster: Cluster, case: Case) -> None:
    for cf, key, value in case.writes:
        cluster.must_put(key, value, cf=cf)
    for key in case.splits:
        cluster.must_split(key)
    cluster.run_steps(FOLLOWER_CHECK_STEPS)
    if case.alter is not None:
        cf, key = case.alter
        victim = _follower(cluster, cluster.get_region(key).id)
        cluster.engines[victim].kv.put(cf, keys.data_key(key), b"altered")
    region_id = cluster.get_region(case.check_key).id
    if case.verified:
        assert cluster.must_check_consistency(region_id).verified is True
    else:
        with pytest.raises(ClusterError, match="disagree"):
            cluster.must_check_consistency(region_id)
    mismatches = sum(core.consistency_mismatches for core in cluster.cores.values())
    assert mismatches == (0 if case.verified else 1)
    verdicts = sorted(str(s.verified) for s in _states(cluster, region_id).values() if s is not None)
    assert verdicts == (["True"] * 3 if case.verified else ["False", "True", "True"])


def test_a_replica_that_skips_the_check_by_snapshot_is_not_compared(cluster: Cluster) -> None:
    cluster.must_put(b"a", b"1")
    cluster.run_steps(FOLLOWER_CHECK_STEPS)
    leader = cluster.wait_leader(1)
    lagging = _follower(cluster, 1)
    cluster.isolate_store(lagging)
    admin = AdminRequest(cmd_type=AdminCmdType.ComputeHash)
    admin.compute_hash.SetInParent()
    cluster.must_admin(1, admin)
    for i in range(5):
        cluster.must_put(b"b%d" % i, b"2")
    storage = cluster.cores[leader.store_id].peers[1].storage
    compact = AdminRequest(cmd_type=AdminCmdType.CompactLog)
    compact.compact_log.compact_index = storage.applied_index() - 1
    compact.compact_log.compact_term = storage.term(storage.applied_index() - 1)
    cluster.must_admin(1, compact)
    cluster.clear_filters()
    cluster.must_get_on_store(lagging, b"b4", b"2")  # caught up by a snapshot past the ComputeHash
    assert cluster.cores[lagging].consistency_state(1) is None
    assert cluster.must_check_consistency(1).verified is True
    assert all(s is not None and s.verified is True for s in _states(cluster, 1).values())

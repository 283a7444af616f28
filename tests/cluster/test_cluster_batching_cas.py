"""Writes accepted in one round become one proposal; compare-and-swap is decided at apply, the same on
every replica."""

from __future__ import annotations

from pathlib import Path

from raftstore.proto.raft_cmdpb_pb2 import CmdType, RaftCmdRequest
from raftstore.store.cmd import CmdResult
from raftstore.store.store_core import StoreConfig
from raftstore.testing import Cluster

from .helpers import cas, leader_cmd, log_entries, put


def _propose_in_one_round(cluster: Cluster, cmds: list[RaftCmdRequest], sid: int) -> list[list[CmdResult]]:
    boxes = [cluster.propose(sid, cmd) for cmd in cmds]
    cluster.run_until(lambda: all(boxes), what="every answer")
    return boxes


def _data_entries(cluster: Cluster, sid: int, low: int) -> list[RaftCmdRequest]:
    return [RaftCmdRequest.FromString(e.data) for e in log_entries(cluster, sid, low) if e.data]


def test_n_writes_in_one_round_become_one_entry(cluster: Cluster) -> None:
    sid, _ = leader_cmd(cluster)
    cluster.must_put(b"warm", b"up")
    first = cluster.cores[sid].peers[1].storage.last_index() + 1
    cmds = [leader_cmd(cluster, put(b"k%02d" % i, b"v%d" % i))[1] for i in range(50)]
    boxes = _propose_in_one_round(cluster, cmds, sid)
    assert all(b[0].error is None and [r.cmd_type for r in b[0].response.responses] == [CmdType.Put] for b in boxes)
    entries = _data_entries(cluster, sid, first)
    assert len(entries) == 1
    assert [r.put.key for r in entries[0].requests] == [b"k%02d" % i for i in range(50)]
    for other in (1, 2, 3):
        cluster.must_get_on_store(other, b"k49", b"v49")


def test_each_proposer_gets_its_own_responses_from_a_merged_entry(cluster: Cluster) -> None:
    sid, _ = leader_cmd(cluster)
    cmds = [
        leader_cmd(cluster, put(b"a", b"1"), put(b"b", b"2"))[1],
        leader_cmd(cluster, cas(b"a", b"1", b"3"))[1],
        leader_cmd(cluster, cas(b"c", b"x", b"y"), put(b"c", b"4"))[1],
    ]
    boxes = _propose_in_one_round(cluster, cmds, sid)
    kinds = [[r.cmd_type for r in b[0].response.responses] for b in boxes]
    assert kinds == [[CmdType.Put, CmdType.Put], [CmdType.CompareAndSwap], [CmdType.CompareAndSwap, CmdType.Put]]
    # The CAS on a sees the put of the same entry; the one on c sees c missing.
    assert (boxes[1][0].response.responses[0].cas.swapped, boxes[1][0].response.responses[0].cas.previous) == (True, b"1")
    assert boxes[2][0].response.responses[0].cas.swapped is False
    assert [cluster.must_get(k) for k in (b"a", b"b", b"c")] == [b"3", b"2", b"4"]


def test_a_round_larger_than_the_entry_limit_is_split_into_several_entries(tmp_path: Path) -> None:
    with Cluster(3, path=tmp_path, config=StoreConfig(raft_entry_max_size=1000)) as cluster:
        cluster.start()
        sid, _ = leader_cmd(cluster)
        first = cluster.cores[sid].peers[1].storage.last_index() + 1
        cmds = [leader_cmd(cluster, put(b"k%d" % i, b"x" * 300))[1] for i in range(6)]
        boxes = _propose_in_one_round(cluster, cmds, sid)
        assert all(b[0].error is None for b in boxes)
        entries = _data_entries(cluster, sid, first)
        assert [len(e.requests) for e in entries] == [2, 2, 2]
        assert all(e.ByteSize() <= 1000 for e in entries)


def test_cas_table(cluster: Cluster) -> None:
    """(current, expected, new) -> (swapped, previous, value after)."""
    table = [
        (None, None, b"n", (True, None, b"n")),
        (None, b"x", b"n", (False, None, None)),
        (b"v", None, b"n", (False, b"v", b"v")),
        (b"v", b"v", b"n", (True, b"v", b"n")),
        (b"v", b"w", b"n", (False, b"v", b"v")),
        (b"", b"", b"n", (True, b"", b"n")),
    ]
    for i, (current, expected, new, want) in enumerate(table):
        key = b"cas%d" % i
        if current is not None:
            cluster.must_put(key, current)
        swapped, previous = cluster.must_cas(key, expected, new)
        assert (swapped, previous, cluster.must_get(key)) == want, (current, expected, new)


def test_competing_cas_in_one_round_the_first_in_the_log_wins_on_every_replica(cluster: Cluster) -> None:
    sid, _ = leader_cmd(cluster)
    cmds = [leader_cmd(cluster, cas(b"lock", None, b"owner%d" % i))[1] for i in range(5)]
    boxes = _propose_in_one_round(cluster, cmds, sid)
    seen = [b[0].response.responses[0].cas for b in boxes]
    outcomes = [(c.swapped, c.previous if c.previous_exists else None) for c in seen]
    assert outcomes == [(True, None)] + [(False, b"owner0")] * 4
    for other in (1, 2, 3):
        cluster.must_get_on_store(other, b"lock", b"owner0")


def test_cas_decided_at_apply_after_a_leader_change(cluster: Cluster) -> None:
    """A CAS proposed on one leader and another on the next decide on the data in log order."""
    cluster.must_put(b"k", b"0")
    assert cluster.must_cas(b"k", b"0", b"1") == (True, b"0")
    leader = cluster.wait_leader().store_id
    cluster.must_transfer_leader(1, 1 if leader != 1 else 2)
    assert cluster.must_cas(b"k", b"0", b"2") == (False, b"1")
    assert cluster.must_cas(b"k", b"1", b"2") == (True, b"1")
    for sid in (1, 2, 3):
        cluster.must_get_on_store(sid, b"k", b"2")

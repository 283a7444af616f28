"""Region errors (errorpb) a store answers commands with: TiKV's pre-propose checks, in its order."""

from __future__ import annotations

from pathlib import Path

from raftstore.proto.metapb_pb2 import Peer
from raftstore.proto.raft_cmdpb_pb2 import AdminCmdType
from raftstore.store.store_core import StoreConfig
from raftstore.testing import Cluster

from .helpers import get, leader_cmd, put


def test_not_leader_carries_the_leader_hint(cluster: Cluster) -> None:
    leader = cluster.wait_leader()
    cluster.must_put(b"k", b"v")  # followers have heard from the leader
    for sid in (1, 2, 3):
        if sid == leader.store_id:
            continue
        region = cluster.cores[sid].peers[1].region
        result = cluster.call(sid, cluster.new_cmd(region, Peer(id=sid, store_id=sid), [put(b"k", b"x")]))
        assert result.error is not None
        assert result.error.not_leader.region_id == 1
        assert result.error.not_leader.leader == leader


def test_region_not_found(cluster: Cluster) -> None:
    sid, cmd = leader_cmd(cluster, put(b"k", b"v"))
    cmd.header.region_id = 99
    result = cluster.call(sid, cmd)
    assert result.error is not None and result.error.region_not_found.region_id == 99


def test_key_not_in_region(tmp_path: Path) -> None:
    with Cluster(3, path=tmp_path, region_range=(b"b", b"m")) as cluster:
        cluster.start()
        cluster.must_put(b"b", b"in")
        for key in (b"a", b"m", b"z"):
            sid, cmd = leader_cmd(cluster, put(key, b"v"))
            error = cluster.call(sid, cmd).error
            assert error is not None and error.HasField("key_not_in_region"), key
            kn = error.key_not_in_region
            assert (kn.key, kn.region_id, kn.start_key, kn.end_key) == (key, 1, b"b", b"m")


def test_epoch_not_match_lists_the_current_region(cluster: Cluster) -> None:
    for field, value in (("version", 0), ("version", 2), ("conf_ver", 7)):
        sid, cmd = leader_cmd(cluster, put(b"k", b"v"))
        current = cluster.cores[sid].peers[1].region
        setattr(cmd.header.region_epoch, field, value)
        result = cluster.call(sid, cmd)
        if field == "conf_ver":
            # A data command is checked against the version only (TiKV's rule).
            assert result.error is None
            continue
        assert result.error is not None
        assert list(result.error.epoch_not_match.current_regions) == [current]


def test_missing_epoch_is_refused(cluster: Cluster) -> None:
    sid, cmd = leader_cmd(cluster, put(b"k", b"v"))
    cmd.header.ClearField("region_epoch")
    error = cluster.call(sid, cmd).error
    assert error is not None and error.message == "missing epoch"


def test_stale_term_is_stale_command(cluster: Cluster) -> None:
    sid, cmd = leader_cmd(cluster, put(b"k", b"v"))
    term = cluster.cores[sid].peers[1].term
    for header_term, stale in ((0, False), (term, False), (term - 1, False), (term - 2, True)):
        cmd.header.term = header_term
        error = cluster.call(sid, cmd).error
        assert (error is not None and error.HasField("stale_command")) == stale, header_term


def test_store_and_peer_mismatch(cluster: Cluster) -> None:
    sid, cmd = leader_cmd(cluster, put(b"k", b"v"))
    cmd.header.peer.store_id = 42
    error = cluster.call(sid, cmd).error
    assert error is not None and (error.store_not_match.request_store_id, error.store_not_match.actual_store_id) == (42, sid)
    cmd.header.peer.store_id, cmd.header.peer.id = sid, 77
    error = cluster.call(sid, cmd).error
    assert error is not None and (error.mismatch_peer_id.request_peer_id, error.mismatch_peer_id.store_peer_id) == (77, sid)


def test_raft_entry_too_large(tmp_path: Path) -> None:
    with Cluster(3, path=tmp_path, config=StoreConfig(raft_entry_max_size=1024)) as cluster:
        cluster.start()
        sid, cmd = leader_cmd(cluster, put(b"k", b"x" * 2000))
        error = cluster.call(sid, cmd).error
        assert error is not None and error.raft_entry_too_large.region_id == 1
        assert error.raft_entry_too_large.entry_size == cmd.ByteSize()
        cluster.must_put(b"k", b"x" * 900)


def test_server_is_busy_over_the_pending_limit(tmp_path: Path) -> None:
    with Cluster(3, path=tmp_path, config=StoreConfig(max_pending_proposals=2)) as cluster:
        cluster.start()
        sid, _ = leader_cmd(cluster)
        boxes = [cluster.propose(sid, leader_cmd(cluster, put(b"k%d" % i, b"v"))[1]) for i in range(3)]
        cluster.run_until(lambda: all(boxes), what="three answers")
        assert [b[0].error is None for b in boxes] == [True, True, False]
        error = boxes[2][0].error
        assert error is not None and error.HasField("server_is_busy")


def test_malformed_commands_are_refused(cluster: Cluster) -> None:
    sid, mixed = leader_cmd(cluster, put(b"k", b"v"), get(b"k"))
    _, empty = leader_cmd(cluster)
    _, admin = leader_cmd(cluster)
    admin.admin_request.cmd_type = AdminCmdType.PrepareMerge
    _, bad_cf = leader_cmd(cluster, put(b"k", b"v"))
    bad_cf.requests[0].put.cf = "raft"
    for cmd, message in (
        (mixed, "read and write can't be mixed in one batch"),
        (empty, "empty command"),
        (admin, "admin command PrepareMerge is not supported yet"),
        (bad_cf, "invalid column family 'raft'"),
    ):
        error = cluster.call(sid, cmd).error
        assert error is not None and error.message == message
    assert cluster.must_get(b"k") is None


def test_a_write_during_a_leader_transfer_is_not_leader_hinting_at_the_transferee(cluster: Cluster) -> None:
    """raft drops proposals while a transfer is under way; the store answers NotLeader naming the
    transferee (here cut off, so the transfer stays pending until it is aborted)."""
    sid, cmd = leader_cmd(cluster, put(b"k", b"v"))
    target = next(s for s in (1, 2, 3) if s != sid)
    cluster.isolate_store(target)
    region = cluster.cores[sid].peers[1].region
    transfer = cluster.new_cmd(region, cmd.header.peer)
    transfer.admin_request.cmd_type = AdminCmdType.TransferLeader
    transfer.admin_request.transfer_leader.peer.CopyFrom(Peer(id=target, store_id=target))
    assert cluster.call(sid, transfer).error is None
    error = cluster.call(sid, cmd).error
    assert error is not None and error.not_leader.leader == Peer(id=target, store_id=target)
    cluster.clear_filters()
    cluster.must_put(b"k", b"v")

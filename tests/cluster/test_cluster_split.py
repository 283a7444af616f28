"""BatchSplit on a Cluster: ids from the store's IdAllocator, the new region's states in the apply batch,
the parent's leader store campaigning for it at once, writes to both halves, EpochNotMatch for stale
requests, and the split surviving a restart."""

from __future__ import annotations

from raftstore.engine.engines import memory_engines
from raftstore.proto.metapb_pb2 import Region
from raftstore.proto.raft_cmdpb_pb2 import AdminCmdType, AdminRequest
from raftstore.store.apply import ChangePeerError, split_regions
from raftstore.store.bootstrap import ID_STORE_SHIFT, IdAllocator, bootstrap_store
from raftstore.testing import Cluster

from .helpers import put


def test_split_then_write_both_halves_with_epoch_errors_for_stale_requests(cluster: Cluster) -> None:
    cluster.must_put(b"a", b"1")
    cluster.must_put(b"x", b"2")
    old = Region()
    old.CopyFrom(cluster.get_region(b"a"))  # a copy: the store's region object moves on with the split
    leader = cluster.wait_leader().store_id
    left, right = cluster.must_split(b"m")
    assert (left.id, left.start_key, left.end_key) == (1, b"", b"m")
    assert (right.start_key, right.end_key) == (b"m", b"")
    assert right.id >> ID_STORE_SHIFT == leader and all(p.id >> ID_STORE_SHIFT == leader for p in right.peers)
    assert left.region_epoch.version == right.region_epoch.version == 2
    # The parent's leader store campaigned for the new region: it leads it.
    new_leader = cluster.wait_leader(right.id, max_steps=50)
    assert new_leader.store_id == leader
    cluster.must_put(b"b", b"left")
    cluster.must_put(b"y", b"right")
    for sid in (1, 2, 3):
        cluster.must_get_on_store(sid, b"y", b"right")
        assert cluster.cores[sid].region_for_key(b"y").id == right.id  # type: ignore[union-attr]
    assert cluster.must_get(b"x") == b"2"  # data written before the split is served by the new region
    # A request with the parent's old epoch is refused: EpochNotMatch with the current region.
    leader_peer = cluster.wait_leader(1)
    result = cluster.call(leader_peer.store_id, cluster.new_cmd(old, leader_peer, [put(b"c", b"stale")]))
    assert result.error is not None and result.error.HasField("epoch_not_match")
    assert [r.end_key for r in result.error.epoch_not_match.current_regions] == [b"m"]
    # A key of the new region sent to the parent is not in it.
    result = cluster.call(leader_peer.store_id, cluster.new_cmd(left, leader_peer, [put(b"z", b"wrong")]))
    assert result.error is not None and result.error.HasField("key_not_in_region")
    for sid in (1, 2, 3):
        cluster.restart_store(sid)
    cluster.must_put(b"z", b"after restart")
    assert cluster.must_get(b"b") == b"left" and cluster.must_get(b"z") == b"after restart"
    assert cluster.get_region(b"z").id == right.id


def test_split_regions_table() -> None:
    parent = Region(id=1, start_key=b"b", end_key=b"x")
    parent.region_epoch.version, parent.region_epoch.conf_ver = 3, 2
    parent.peers.add(id=1, store_id=1)
    parent.peers.add(id=2, store_id=2)

    def splits(*reqs: tuple[bytes, int, list[int]]) -> AdminRequest:
        admin = AdminRequest(cmd_type=AdminCmdType.BatchSplit)
        for key, rid, peers in reqs:
            admin.splits.requests.add(split_key=key, new_region_id=rid, new_peer_ids=peers)
        return admin

    regions = split_regions(parent, splits((b"f", 10, [11, 12]), (b"p", 20, [21, 22])).splits)
    assert [(r.id, r.start_key, r.end_key, r.region_epoch.version) for r in regions] == [
        (1, b"b", b"f", 5), (10, b"f", b"p", 5), (20, b"p", b"x", 5)
    ]
    assert [(p.id, p.store_id) for p in regions[2].peers] == [(21, 1), (22, 2)]
    refused = [
        splits(),
        splits((b"b", 10, [11, 12])),  # the region's start
        splits((b"x", 10, [11, 12])),  # the region's end
        splits((b"p", 10, [11, 12]), (b"f", 20, [21, 22])),  # unsorted
        splits((b"f", 10, [11])),  # a peer id short
    ]
    for admin in refused:
        try:
            split_regions(parent, admin.splits)
        except ChangePeerError:
            continue
        raise AssertionError(f"accepted {admin}")


def test_id_allocator_never_hands_out_an_id_twice_across_restarts() -> None:
    engines = memory_engines()
    bootstrap_store(engines, 1, 7)
    first = IdAllocator(engines, 7, step=3)
    ids = [first.alloc() for _ in range(4)]  # two blocks reserved: up to n = 7
    again = IdAllocator(engines, 7, step=3)  # a restart after handing out 4 of them
    more = [again.alloc() for _ in range(2)]
    assert ids == [(7 << 40) | n for n in (1, 2, 3, 4)]
    assert more == [(7 << 40) | n for n in (7, 8)]

"""Several regions on one store: routing, and one round = one group commit and one apply batch for all."""

from __future__ import annotations

from pathlib import Path

from raftstore.testing import Cluster

from .helpers import put


def test_keys_are_routed_to_their_region(tmp_path: Path) -> None:
    with Cluster(3, path=tmp_path, split_keys=[b"g", b"p"]) as cluster:
        cluster.start()
        ranges = [(r.id, r.start_key, r.end_key) for r in cluster.initial_regions()]
        assert ranges == [(1, b"", b"g"), (2, b"g", b"p"), (3, b"p", b"")]
        for key, region_id in ((b"a", 1), (b"g", 2), (b"oz", 2), (b"p", 3), (b"zz", 3)):
            assert cluster.cores[1].region_for_key(key).id == region_id  # type: ignore[union-attr]
            cluster.must_put(key, b"r%d" % region_id)
        for key, region_id in ((b"a", 1), (b"g", 2), (b"oz", 2), (b"p", 3), (b"zz", 3)):
            assert cluster.must_get(key) == b"r%d" % region_id
            cluster.must_get_on_store(2, key, b"r%d" % region_id)


def test_two_regions_in_one_round_share_one_fsync_and_one_apply_batch(tmp_path: Path) -> None:
    """Both regions led by store 1, a write to each in the same step: every store's round issues at most
    one synced write (the raft engine's group commit), never syncs the KV engine, and writes at most one
    apply batch; both writes are answered, and applied on every store, in the same step."""
    with Cluster(3, path=tmp_path, split_keys=[b"m"]) as cluster:
        cluster.start()
        for region_id in (1, 2):
            cluster.must_transfer_leader(region_id, 1)
        cluster.must_put(b"a", b"0")
        cluster.must_put(b"x", b"0")
        regions = {r.id: r for r in (cluster.get_region(b"a"), cluster.get_region(b"x"))}
        boxes = [
            cluster.propose(1, cluster.new_cmd(regions[1], cluster.wait_leader(1), [put(b"a", b"1")])),
            cluster.propose(1, cluster.new_cmd(regions[2], cluster.wait_leader(2), [put(b"x", b"1")])),
        ]
        answered_at: list[int] = []
        applied_at: dict[tuple[int, bytes], int] = {}
        for _ in range(30):
            stats = {sid: cluster.engines[sid] for sid in (1, 2, 3)}
            before = {sid: (e.raft.stats.synced_writes, e.kv.stats.synced_writes, e.kv.stats.writes) for sid, e in stats.items()}
            cluster.step()
            for sid, e in stats.items():
                raft_syncs, kv_syncs, kv_writes = (
                    now - then for now, then in zip((e.raft.stats.synced_writes, e.kv.stats.synced_writes, e.kv.stats.writes), before[sid])
                )
                assert (raft_syncs <= 1, kv_syncs, kv_writes - kv_syncs <= 1) == (True, 0, True), (sid, cluster.steps)
                for key in (b"a", b"x"):
                    if cluster.get_on_store(sid, key) == b"1":
                        applied_at.setdefault((sid, key), cluster.steps)
            answered_at += [cluster.steps] * (sum(map(len, boxes)) - len(answered_at))
        assert all(b and b[0].error is None for b in boxes)
        assert answered_at[0] == answered_at[1]
        for sid in (1, 2, 3):
            assert applied_at[(sid, b"a")] == applied_at[(sid, b"x")], sid

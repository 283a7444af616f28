"""--join and gossip of store addresses: a fourth store joins a running 3-store cluster, a region's peer
moves onto it through ctl; conflicts are refused; static addresses win (StoreResolver)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from raftstore.cli import main
from raftstore.client import Client
from raftstore.proto.metapb_pb2 import Store
from raftstore.server.admin_client import AdminClient
from raftstore.server.errors import StoreConflictError
from raftstore.server.resolve import StoreResolver

from .helpers import ProcCluster, free_port


def ctl(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """ctl runs `raftstore ctl args...` in this process; it must succeed; returns its stdout."""
    capsys.readouterr()
    code = main(["ctl", *args])
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def wait_known(cluster: ProcCluster, sid: int, timeout: float = 15) -> None:
    """wait_known waits until every running store knows store sid's address (join + gossip)."""
    deadline = time.monotonic() + timeout
    pending = set(cluster.procs)
    while pending and time.monotonic() < deadline:
        for other in list(pending):
            with AdminClient(cluster.addrs[other], timeout=5) as admin:
                if {s.id: s.address for s in admin.store_status().stores}.get(sid) == cluster.addrs[sid]:
                    pending.discard(other)
        time.sleep(0.1)
    assert not pending, f"stores {sorted(pending)} do not know store {sid}"


def test_a_joined_store_takes_over_a_regions_peer(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Store 4 joins through a follower; every store learns it; region 1's peer moves from the leader's
    store onto it (learner, then voter, then the old peer removed, leadership moving first); store 4 holds
    the data, serves it, and the replicas are identical."""
    with ProcCluster(tmp_path, 3) as cluster:
        cluster.start_all()
        leader = cluster.leader_store()
        follower = next(sid for sid in cluster.ids if sid != leader)
        with Client(list(cluster.addrs.values()), timeout=10) as client:
            client.batch_put([(b"move-%03d" % i, b"v%d" % i) for i in range(100)])
        cluster.add_joiner(4, cluster.addrs[follower])
        cluster.start(4)
        wait_known(cluster, 4)
        addr = cluster.addrs[follower]
        out = ctl(capsys, "--addr", addr, "add-peer", "--region", "1", "--store", "4", "--learner")
        assert out.startswith("added a learner on store 4: region 1") and "@4(Learner)" in out
        out = ctl(capsys, "--addr", addr, "add-peer", "--region", "1", "--store", "4")
        assert out.startswith("added a voter on store 4: region 1") and "(Learner)" not in out
        out = ctl(capsys, "--addr", addr, "remove-peer", "--region", "1", "--store", str(leader))
        assert out.startswith(f"removed the peer on store {leader}: region 1") and f"@{leader}" not in out
        with Client([cluster.addrs[4]], timeout=10) as client:
            assert client.get(b"move-042") == b"v42"
            client.put(b"move-new", b"after")
        out = ctl(capsys, "--addr", cluster.addrs[4], "consistency-check", "--region", "1")
        assert out.splitlines()[-1] == "replicas identical"
        assert sorted(int(line.split()[1]) for line in out.splitlines() if line.startswith("  store ")) == sorted(
            {*cluster.ids} - {leader}
        )
        scan = ctl(capsys, "--data", str(tmp_path / "store-4"), "scan", "--region", "1")
        assert "move-042\tv42" in scan.splitlines() and "move-new\tafter" in scan.splitlines()


def test_a_store_id_known_at_another_address_is_refused(cluster: ProcCluster, tmp_path: Path) -> None:
    """--join with an id the cluster knows at another address: one line naming both, exit 1."""
    proc = subprocess.run(
        [sys.executable, "-m", "raftstore", "server", "--store-id", "2", "--data", str(tmp_path / "d"),
         "--addr", f"127.0.0.1:{free_port()}", "--join", cluster.addrs[1]],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 1, proc.stderr
    line = proc.stderr.strip().splitlines()[-1]
    assert line.startswith(f"raftstore: --join {cluster.addrs[1]} refused: store 2 is already known at {cluster.addrs[2]}")


def test_join_of_an_unreachable_member_is_one_line(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "raftstore", "server", "--store-id", "4", "--data", str(tmp_path / "d"),
         "--addr", f"127.0.0.1:{free_port()}", "--join", "127.0.0.1:1"],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("raftstore: --join 127.0.0.1:1: cannot reach it")


def stores(resolver: StoreResolver) -> dict[int, str]:
    return {s.id: s.address for s in resolver.stores()}


@pytest.mark.parametrize(
    ("learned", "known", "changed"),
    [
        # a new store is learned
        ([Store(id=4, address="d:4")], {1: "a:1", 2: "b:2", 4: "d:4"}, True),
        # a static address wins over a learned one, silently (the chaos harness's proxies)
        ([Store(id=2, address="proxy:9")], {1: "a:1", 2: "b:2"}, False),
        # this store's own address is not taken from others
        ([Store(id=1, address="x:1")], {1: "a:1", 2: "b:2"}, False),
        # nothing new
        ([], {1: "a:1", 2: "b:2"}, False),
    ],
)
def test_resolver_learns_and_static_wins(learned: list[Store], known: dict[int, str], changed: bool) -> None:
    resolver = StoreResolver({2: "b:2"}, 1, "a:1")
    assert resolver.learn(learned) == (changed, [])
    assert stores(resolver) == known


def test_resolver_conflicts() -> None:
    """A learned id at another address: gossip keeps the first and reports it; a join is refused."""
    resolver = StoreResolver({1: "a:1"}, 1, "a:1")
    assert resolver.admit(Store(id=3, address="c:3")) is True
    assert resolver.admit(Store(id=3, address="c:3")) is False  # a restart at the same address
    changed, conflicts = resolver.learn([Store(id=3, address="evil:3")])
    assert (changed, conflicts) == (False, ["store 3 is known here at c:3, another store says evil:3"])
    for store in (Store(id=3, address="evil:3"), Store(id=1, address="other:1")):
        with pytest.raises(StoreConflictError, match=f"store {store.id} is already known at"):
            resolver.admit(store)
    assert stores(resolver) == {1: "a:1", 3: "c:3"}


def test_resolver_keeps_learned_addresses_across_restarts(tmp_path: Path) -> None:
    """What a store learned (a join, gossip) is read back by the next run; static ones still win."""
    path = tmp_path / "stores.json"
    first = StoreResolver({1: "a:1"}, 1, "a:1")
    first.persist_to(path)
    first.admit(Store(id=3, address="c:3"))
    first.learn([Store(id=4, address="d:4")])
    again = StoreResolver({1: "a:1", 4: "proxy:4"}, 1, "a:1")
    again.persist_to(path)
    assert stores(again) == {1: "a:1", 3: "c:3", 4: "proxy:4"}


@pytest.mark.parametrize("content", ["{not json", '["a list"]', '{"x": "no id"}'])
def test_resolver_ignores_an_unreadable_saved_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "stores.json"
    path.write_text(content)
    resolver = StoreResolver({1: "a:1"}, 1, "a:1")
    resolver.persist_to(path)
    assert stores(resolver) == {1: "a:1"}
    resolver.learn([Store(id=2, address="b:2")])
    assert json.loads(path.read_text()) == {"2": "b:2"}

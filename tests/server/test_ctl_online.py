"""`raftstore ctl --addr` against a 3-store cluster of real processes (ctl runs in this process)."""

from __future__ import annotations

import json

import pytest

from raftstore.cli import main
from raftstore.client import Client

from .helpers import ProcCluster


def ctl(capsys: pytest.CaptureFixture[str], addr: str, *args: str) -> tuple[int, str]:
    """ctl runs `raftstore ctl --addr addr args...` and returns its exit status and stdout."""
    capsys.readouterr()
    code = main(["ctl", "--addr", addr, "--timeout", "20", *args])
    out, err = capsys.readouterr()
    assert code == 0 or err.startswith("raftstore: ") or "replicas DIFFER" in out, err
    return code, out


def test_online_reads(cluster: ProcCluster, capsys: pytest.CaptureFixture[str]) -> None:
    """regions, the three states and status, as the store's peers hold them now."""
    leader = cluster.leader_store()
    addr = cluster.addrs[leader]
    code, out = ctl(capsys, addr, "regions", "--json")
    rows = {row["id"]: row for row in json.loads(out)}
    assert code == 0 and rows[1]["role"] == "Leader" and rows[1]["state"] == "Normal"
    assert [p["store_id"] for p in rows[1]["peers"]] == cluster.ids
    code, out = ctl(capsys, addr, "regions", "--region", "1")
    assert out.splitlines()[0] == f"1 region on the store at {addr}"
    row = out.splitlines()[2].split()
    assert row[:2] == ["1", "Leader"] and row[-5] == "[-inf,"  # region 1 always starts at -inf
    for command, field in [("raft-state", "hard_state"), ("apply-state", "applied_index"), ("region-state", "region")]:
        code, out = ctl(capsys, addr, command, "--region", "1", "--json")
        assert code == 0 and field in json.loads(out)
    code, out = ctl(capsys, addr, "status")
    first = out.splitlines()[0]
    assert first.startswith(f"store {leader} at {addr} (cluster 1): ") and "consistency mismatches 0" in first
    assert out.splitlines()[1] == "stores: " + " ".join(f"{sid}={a}" for sid, a in cluster.addrs.items())
    code, out = ctl(capsys, addr, "status", "--region", "999")
    assert code == 1


def test_split_through_ctl_then_write_both_halves(cluster: ProcCluster, capsys: pytest.CaptureFixture[str]) -> None:
    follower = next(sid for sid in cluster.ids if sid != cluster.leader_store())
    code, out = ctl(capsys, cluster.addrs[follower], "split", "--key", "ctl-m")
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == 'split at "ctl-m":'
    assert lines[1].startswith("  left  region ") and ', "ctl-m")' in lines[1]
    assert lines[2].startswith("  right region ") and '["ctl-m", ' in lines[2]
    with Client(list(cluster.addrs.values()), timeout=10) as client:
        client.put(b"ctl-a", b"1")
        client.put(b"ctl-z", b"2")
        client.batch_put([(b"ctl-n1", b"3"), (b"ctl-n2", b"4")])
        client.batch_put([(b"ctl-y", b"6"), (b"ctl-b", b"5"), (b"ctl-y", b"7")])  # both halves; last value wins
        assert client.scan(b"ctl-", b"ctl-~") == [
            (b"ctl-a", b"1"), (b"ctl-b", b"5"), (b"ctl-n1", b"3"), (b"ctl-n2", b"4"), (b"ctl-y", b"7"), (b"ctl-z", b"2"),
        ]
    code, out = ctl(capsys, cluster.addrs[follower], "regions", "--json")
    ranges = sorted((bytes.fromhex(r["start_key"]), bytes.fromhex(r["end_key"])) for r in json.loads(out))
    assert any(start == b"ctl-m" for start, _ in ranges)


def test_transfer_leader_through_ctl(cluster: ProcCluster, capsys: pytest.CaptureFixture[str]) -> None:
    leader = cluster.leader_store()
    target = next(sid for sid in cluster.ids if sid != leader)
    code, out = ctl(capsys, cluster.addrs[leader], "transfer-leader", "--region", "1", "--store", str(target))
    assert code == 0 and out.strip().endswith(f"on store {target} leads")
    assert cluster.leader_store() == target


def test_consistency_check_reports_identical(cluster: ProcCluster, capsys: pytest.CaptureFixture[str]) -> None:
    with Client(list(cluster.addrs.values()), timeout=10) as client:
        for i in range(20):
            client.put(b"cc-%d" % i, b"v%d" % i)
    code, out = ctl(capsys, cluster.addrs[1], "consistency-check")
    lines = out.splitlines()
    assert code == 0 and lines[-1] == "replicas identical"
    replica_lines = [line for line in lines if line.startswith("  store ")]
    assert replica_lines and all(line.endswith("(matched)") for line in replica_lines)
    assert len(replica_lines) == 3 * len([line for line in lines if line.startswith("region ")])

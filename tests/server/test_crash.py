"""Store processes killed with SIGKILL under load, stopped with SIGTERM, restarted with the same flags."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from raftstore.client import Client, ClientError, RequestTimeoutError

from ..cli.helpers import failure_line, run_cli
from .helpers import ProcCluster


class _Writers:
    """_Writers: threads putting unique keys until stopped; `acked` holds every acknowledged write."""

    def __init__(self, client: Client, threads: int = 4) -> None:
        self.client = client
        self.acked: dict[bytes, bytes] = {}
        self.unknown = 0
        self.failures: list[BaseException] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run, args=(t,)) for t in range(threads)]

    def _run(self, t: int) -> None:
        i = 0
        while not self._stop.is_set():
            key, value = b"load-%d-%06d" % (t, i), b"v%d" % i
            i += 1
            try:
                self.client.put(key, value)
            except RequestTimeoutError:
                self.unknown += 1
                continue
            except ClientError as err:
                self.failures.append(err)
                continue
            self.acked[key] = value

    def __enter__(self) -> _Writers:
        for t in self._threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for t in self._threads:
            t.join()


def test_kill9_follower_then_leader_under_load_loses_no_acknowledged_write(tmp_path: Path) -> None:
    with ProcCluster(tmp_path, 3, status=True) as cluster:
        cluster.start_all()
        with Client(list(cluster.addrs.values()), timeout=5) as client:
            client.put(b"warm", b"up")
            with _Writers(client) as writers:
                time.sleep(0.5)
                follower = next(s for s in cluster.ids if s != cluster.leader_store())
                cluster.kill(follower)
                time.sleep(0.7)
                # the leader dropped messages for the dead follower and reported it unreachable to raft
                assert cluster.metrics(cluster.leader_store())["raftstore_raft_unreachable_total"] > 0
                cluster.start(follower)
                time.sleep(0.5)
                leader = cluster.leader_store()
                cluster.kill(leader)
                before_restart = len(writers.acked)
                time.sleep(1.5)
                cluster.start(leader)
                time.sleep(0.7)
            assert writers.failures == []
            assert len(writers.acked) > before_restart > 50  # writes went on without the old leader
            pairs = dict(client.scan(b"load-", b"load."))
            lost = {k: v for k, v in writers.acked.items() if pairs.get(k) != v}
            assert lost == {}
            last = sorted(writers.acked)[-20:]  # the newest, through gets as well
            assert [client.get(k) for k in last] == [writers.acked[k] for k in last]


def test_sigterm_exits_0_even_without_quorum_and_restart_keeps_data(tmp_path: Path) -> None:
    with ProcCluster(tmp_path, 3) as cluster:
        cluster.start_all()
        with Client(cluster.addrs[1], timeout=10) as client:
            client.put(b"durable", b"yes")
        started = time.monotonic()
        assert cluster.terminate(1) == 0
        cluster.kill(2)
        with Client(cluster.addrs[3], timeout=1.0) as client:
            asked = time.monotonic()
            with pytest.raises(RequestTimeoutError):
                client.put(b"no-quorum", b"x")
            assert time.monotonic() - asked < 2.5
        assert cluster.terminate(3) == 0  # store 3 alone: no quorum, still a clean exit
        assert time.monotonic() - started < 12
        cluster.start_all()  # the same flags on bootstrapped data: no second bootstrap, no refusal
        with Client(cluster.addrs[2], timeout=10) as client:
            assert client.get(b"durable") == b"yes"


def test_startup_errors_are_one_line(tmp_path: Path) -> None:
    """A busy address, an empty data directory without --initial-cluster or --join, an initial cluster
    without this store: each fails in one line (an unreachable --join: tests/server/test_join.py)."""
    with ProcCluster(tmp_path, 1) as cluster:
        cluster.start_all()
        busy = run_cli(*[a if a != str(tmp_path / "store-1") else str(tmp_path / "other") for a in cluster.args(1)])
        assert "cannot listen on" in failure_line(busy, 1)
        assert not (tmp_path / "other").exists() or not any((tmp_path / "other").iterdir())
    addr = cluster.addrs[1]
    cases = [
        ([], "not bootstrapped: give --initial-cluster"),
        (["--initial-cluster", "2=127.0.0.1:1"], "does not list this store"),
    ]
    for extra, message in cases:
        proc = run_cli("server", "--store-id", "1", "--data", str(tmp_path / "fresh"), "--addr", addr, *extra)
        assert message in failure_line(proc, 2)


def test_a_follower_behind_the_compacted_log_catches_up_by_snapshot(tmp_path: Path) -> None:
    """Store 3 is down while the leader writes far past its log GC count limit; restarted, it catches up
    by a snapshot sent over gRPC: then it is needed for a quorum, and every write is there; /metrics
    count the snapshot and its bytes on both ends."""
    with ProcCluster(tmp_path, 3, status=True) as cluster:
        cluster.config.write_text(
            "[raftstore]\ntick-interval-ms = 50\nraft-log-gc-count-limit = 60\nraft-log-gc-tick-interval = 2\n"
        )
        cluster.start_all()
        with Client(list(cluster.addrs.values()), timeout=10) as client:
            client.put(b"warm", b"up")
            if cluster.leader_store() == 3:
                cluster.terminate(3)
                cluster.start(3)
            cluster.kill(3)
            for i in range(250):
                client.put(b"snap-%04d" % i, b"v%d" % i)
            time.sleep(1.0)  # a few GC ticks
            cluster.start(3)
            time.sleep(2.0)
            other = next(s for s in (1, 2) if s != cluster.leader_store())
            cluster.kill(other)  # the leader needs store 3 now
            client.put(b"after", b"snapshot")
            assert client.get(b"after") == b"snapshot"
            assert len(client.scan(b"snap-", b"snap.")) == 250
        received = cluster.metrics(3)
        sent = cluster.metrics(cluster.leader_store())
        assert received['raftstore_snapshots_total{direction="received"}'] >= 1
        assert received['raftstore_snapshot_bytes_total{direction="received"}'] > 0
        assert sent['raftstore_snapshots_total{direction="sent"}'] >= 1
        assert sent['raftstore_snapshot_bytes_total{direction="sent"}'] > 0
        assert "Traceback" not in cluster.log(3)

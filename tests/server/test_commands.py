"""`raftstore playground`, `raftstore kv` and `raftstore server`'s config, run as processes."""

from __future__ import annotations

import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from ..cli.helpers import failure_line, run_cli
from .helpers import ProcCluster, free_port


def test_playground_runs_and_kv_talks_to_it(tmp_path: Path) -> None:
    """The playground prints its addresses, serves kv get/put/delete/scan/cas through any store, and
    SIGINT stops every store it started (exit 0)."""
    base, status_base = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "raftstore", "playground", "--nodes", "3", "--data", str(tmp_path / "pg"),
         "--base-port", str(base), "--status-port", str(status_base)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "addresses:\n"
        addrs = [proc.stdout.readline().strip() for _ in range(3)]
        assert all(a.startswith("127.0.0.1:") and int(a.split(":")[1]) >= base for a in addrs)
        assert proc.stdout.readline() == "status addresses:\n"
        status = [proc.stdout.readline().strip() for _ in range(3)]
        assert all(a.startswith("127.0.0.1:") and int(a.split(":")[1]) >= status_base for a in status)
        assert len(set(addrs + status)) == 6
        metrics = urllib.request.urlopen(f"http://{status[0]}/metrics", timeout=5).read().decode()
        assert "raftstore_regions 1.0" in metrics
        one, any_ = addrs[0], ",".join(addrs)
        steps = [
            (["--addr", one, "put", "k1", "v1"], 0, "OK\n"),
            (["--addr", addrs[2], "get", "k1"], 0, "v1\n"),
            (["--addr", any_, "put", "k2", "v2"], 0, "OK\n"),
            (["--addr", any_, "scan", "k"], 0, "k1\tv1\nk2\tv2\n"),
            (["--addr", any_, "scan", "k", "k2"], 0, "k1\tv1\n"),
            (["--addr", any_, "cas", "k1", "v1", "w1"], 0, "swapped; previous: v1\n"),
            (["--addr", any_, "cas", "k1", "v1", "x1"], 1, "not swapped; previous: w1\n"),
            (["--addr", any_, "cas", "--missing", "k3", "v3"], 0, "swapped; previous: (missing)\n"),
            (["--addr", any_, "delete", "k1"], 0, "OK\n"),
            (["--addr", any_, "get", "k1"], 1, ""),
        ]
        for args, code, out in steps:
            done = run_cli("kv", *args)
            assert (done.returncode, done.stdout) == (code, out), (args, done.stderr)
        assert "not found" in run_cli("kv", "--addr", one, "get", "k1").stderr
    finally:
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
    for sid in (1, 2, 3):
        log = (tmp_path / "pg" / f"store-{sid}.log").read_text()
        assert "Traceback" not in log
    assert (tmp_path / "pg" / "store-3" / "kv").is_dir()


def test_kv_without_a_reachable_store_is_one_line(tmp_path: Path) -> None:
    proc = run_cli("kv", "--addr", f"127.0.0.1:{free_port()}", "--timeout", "1", "get", "k")
    assert "cannot locate the region" in failure_line(proc, 1)


def test_server_opens_its_engines_with_the_configured_write_buffer(tmp_path: Path) -> None:
    """`[storage] write-buffer-mb` reaches RocksDB: every column family of the store's two databases has
    that memtable size in the OPTIONS file RocksDB wrote at open."""
    with ProcCluster(tmp_path, 1, extra_config="[storage]\nwrite-buffer-mb = 16\n") as cluster:
        cluster.start_all()
        for sub, column_families in (("kv", 4), ("raft", 1)):
            newest = max((tmp_path / "store-1" / sub).glob("OPTIONS-*"), key=lambda p: int(p.name.split("-")[1]))
            assert newest.read_text().count(f"write_buffer_size={16 << 20}\n") == column_families

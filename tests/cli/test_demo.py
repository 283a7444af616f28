"""`raftstore demo`: a 3-store cluster on 127.0.0.1 writes, loses a follower, catches it up through a snapshot
and finds the replicas identical; run end to end in a subprocess, fresh and on the directory it left."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from .helpers import run_cli


def _check_run(stdout: str, keys: int) -> None:
    """_check_run: every step printed, the snapshot index past the follower's, three equal digests."""
    assert f"wrote {keys} keys of 1024 B" in stdout and "all present" in stdout
    killed = int(re.search(r"at applied index (\d+)", stdout).group(1))  # type: ignore[union-attr]
    snap = int(re.search(r"sent a snapshot at index (\d+)", stdout).group(1))  # type: ignore[union-attr]
    assert snap > killed
    digests = re.findall(r"store (\d): applied index +(\d+) +sha256 ([0-9a-f]{64})", stdout)
    assert [d[0] for d in digests] == ["1", "2", "3"] and len({d[1:] for d in digests}) == 1
    assert "replicas identical" in stdout and "DIFFER" not in stdout
    assert re.search(r"puts/s; latency p50 [\d.]+ ms, p99 [\d.]+ ms", stdout)


def test_small_demo(tmp_path: Path) -> None:
    """A small demo (--keys 200) on an empty directory: every step, exit 0, logs in files."""
    proc = run_cli("demo", "--data", "data", "--keys", "200", cwd=tmp_path, timeout=90)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "bootstrapped region 1" in proc.stdout
    _check_run(proc.stdout, 200)
    assert (tmp_path / "data" / "store-2" / "log").stat().st_size > 0  # logs go to files, not the terminal


@pytest.mark.slow
def test_full_demo_then_reused(tmp_path: Path) -> None:
    """`raftstore demo --data <dir>` as `make demo` runs it (3000 keys, then 3000 with a follower down), then
    a small run on the directory it left: the stores restart with the same flags, no bootstrap."""
    proc = run_cli("demo", "--data", str(tmp_path / "data"), timeout=110)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    _check_run(proc.stdout, 3000)
    again = run_cli("demo", "--data", str(tmp_path / "data"), "--keys", "200", timeout=90)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "restarted on the data a previous demo left (no bootstrap)" in again.stdout
    _check_run(again.stdout, 200)

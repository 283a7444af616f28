"""tests.cli.helpers: run the real `raftstore` command in a subprocess, build data directories with the library,
snapshot directory trees, mount a tmpfs, and run a command without root's privileges."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import pytest

from raftstore.demo import run_demo

# NOBODY is the uid and gid a test running as root runs the command as, so that file permissions apply to it.
NOBODY = 65534


def run_cli(
    *args: str, cwd: Path | None = None, as_user: Sequence[str] = (), timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """run_cli runs `python -m raftstore args...` (what the console script runs) and captures its output;
    as_user is a command prefix that runs it as another user (see `unprivileged`)."""
    return subprocess.run(
        [*as_user, sys.executable, "-m", "raftstore", *args], capture_output=True, text=True, cwd=cwd, timeout=timeout
    )


def failure_line(proc: subprocess.CompletedProcess[str], code: int) -> str:
    """failure_line asserts that proc failed with exit code `code`, printing exactly one line on stderr,
    `raftstore: ...`, and no traceback; returns that line."""
    assert proc.returncode == code, (proc.returncode, proc.stderr)
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("raftstore: "), proc.stderr
    assert "Traceback" not in proc.stderr
    return lines[0]


def make_data(path: Path, regions: int = 2, rounds: int = 1) -> Path:
    """make_data builds a data directory at path with the demo (regions on store 1, rounds * 10 entries each)."""
    run_demo(path, regions=regions, rounds=rounds, per_round=10, out=lambda line: None)
    return path


def tree(root: Path) -> dict[str, tuple[int, int, str]] | None:
    """tree is what a directory holds, byte for byte: relative path -> (mode, mtime_ns, sha256 of the content,
    "" for a directory); None when root does not exist."""
    if not os.path.lexists(root):
        return None
    found: dict[str, tuple[int, int, str]] = {}
    for path in [root, *sorted(root.rglob("*"))]:
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        found[str(path.relative_to(root))] = (st.st_mode, st.st_mtime_ns, digest)
    return found


@contextmanager
def tmpfs(mountpoint: Path, size: str) -> Iterator[Path]:
    """tmpfs mounts a tmpfs of `size` at mountpoint (created) for a with-block; the test skips, saying why,
    where mounting is refused (not root, no mount(8), a container without the capability)."""
    mountpoint.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command to mount a tmpfs")
    proc = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(mountpoint)], capture_output=True, text=True
    )
    if proc.returncode != 0:
        pytest.skip(f"mounting a tmpfs is refused here: {proc.stderr.strip()}")
    try:
        yield mountpoint
    finally:
        subprocess.run(["umount", str(mountpoint)], check=True)


def remount_read_only(mountpoint: Path) -> None:
    """remount_read_only makes a tmpfs mounted by `tmpfs` read-only."""
    subprocess.run(["mount", "-o", "remount,ro", str(mountpoint)], check=True, capture_output=True)


def unprivileged() -> list[str]:
    """unprivileged is the run_cli prefix that makes the command obey file permissions: setpriv to user nobody
    when the tests run as root, nothing otherwise. Skips, saying why, when nobody cannot run raftstore here."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv(1): cannot drop to an unprivileged user")
    prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    probe = subprocess.run([*prefix, sys.executable, "-c", "import raftstore.cli"], capture_output=True, text=True)
    if probe.returncode != 0:
        pytest.skip(f"user nobody cannot run raftstore here: {probe.stderr.strip()[-200:]}")
    return prefix

"""tests.cli.helpers: run the real `raftstore` command in a subprocess (as an unprivileged user too), build data
directories with the library, and make paths that are no data directory. tmpfs and tree are in tests/helpers.py."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest

from raftstore.demo import run_demo
from raftstore.engine.base import CF_DEFAULT
from raftstore.engine.rocks import RocksEngine

# NOBODY is the uid and gid a test running as root runs the command as, so that file permissions apply to it.
NOBODY = 65534


def run_cli(
    *args: str, cwd: Path | None = None, as_user: Sequence[str] = (), timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """run_cli runs `python -m raftstore args...` (what the console script runs) and captures its output;
    as_user is a command prefix that runs it as another user (see `unprivileged`)."""
    command = [*as_user, sys.executable, "-m", "raftstore", *args]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=timeout, check=False)


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


def _write(path: Path, text: str) -> None:
    path.write_text(text)


def _unrelated_files(path: Path) -> None:
    (path / "photos").mkdir(parents=True)
    _write(path / "notes.txt", "not a database\n")


# NOT_DATA_DIRS: paths that are no raftstore data directory, by what they are -> how to make one. Every command
# refuses them except that demo initialises a missing or empty directory.
NOT_DATA_DIRS: dict[str, Callable[[Path], None]] = {
    "missing": lambda path: None,
    "empty": lambda path: path.mkdir(),
    "a file": lambda path: _write(path, "a file\n"),
    "unrelated files": _unrelated_files,
    "a foreign RocksDB": lambda path: RocksEngine(path, (CF_DEFAULT,)).close(),
    "kv/ without raft/": lambda path: RocksEngine(path / "kv", (CF_DEFAULT,)).close(),
}


def unprivileged() -> list[str]:
    """unprivileged is the run_cli prefix that makes the command obey file permissions: setpriv to user nobody
    when the tests run as root, nothing otherwise. Skips, saying why, when nobody cannot run raftstore here."""
    if os.geteuid() != 0:
        return []
    if shutil.which("setpriv") is None:
        pytest.skip("running as root without setpriv(1): cannot drop to an unprivileged user")
    prefix = ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"]
    probe = subprocess.run(
        [*prefix, sys.executable, "-c", "import raftstore.cli"], capture_output=True, text=True, check=False
    )
    if probe.returncode != 0:
        pytest.skip(f"user nobody cannot run raftstore here: {probe.stderr.strip()[-200:]}")
    return prefix

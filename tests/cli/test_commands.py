"""The `raftstore` command: help, the storage demo on real RocksDB (fresh and reused), the examples."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from .helpers import run_cli

ROOT = Path(__file__).resolve().parent.parent.parent


@pytest.mark.parametrize(
    ("args", "mentions"),
    [
        (["--help"], ["demo", "inspect", "--verbose", "traceback"]),
        (["demo", "--help"], ["--data", "--keys", "--storage", "--regions", "--rounds", "--per-round", "reused", "replicas identical", "snapshot"]),
        (["inspect", "--help"], ["--data", "read-only", "tombstone", "peers"]),
    ],
)
def test_help_explains_commands_and_exit_codes(args: list[str], mentions: list[str]) -> None:
    """`raftstore --help` and each command's --help explain the options and every exit status."""
    proc = run_cli(*args)
    assert proc.returncode == 0 and proc.stderr == ""
    text = " ".join(proc.stdout.split())  # argparse wraps lines
    for word in [*mentions, "exit status", "0 success", "1 a failure while running", "2 invalid arguments",
                 "130 interrupted", "raftstore: <what went wrong>"]:
        assert word in text, word


def test_demo_twice_on_the_same_data(tmp_path: Path) -> None:
    """`raftstore demo --storage` (the storage walkthrough) bootstraps, then a second run reuses the data."""
    args = ("demo", "--storage", "--data", "./data", "--regions", "4", "--rounds", "3", "--per-round", "10")
    first = run_cli(*args, cwd=tmp_path)
    assert first.returncode == 0 and first.stderr == "", first.stderr
    assert "bootstrapped 4 regions" in first.stdout
    assert "at most 2 fsyncs per round" in first.stdout
    assert "restarted" in first.stdout and "hit ratio" in first.stdout
    second = run_cli(*args, cwd=tmp_path)
    assert second.returncode == 0 and second.stderr == "", second.stderr
    assert "found 4 regions left by an earlier run" in second.stdout
    assert "restarted" in second.stdout


def test_inspect_prints_states_after_demo(tmp_path: Path) -> None:
    """`raftstore inspect` prints each region's indexes and peers after a demo run."""
    assert run_cli("demo", "--storage", "--data", "data", "--regions", "2", "--rounds", "2", "--per-round", "10", cwd=tmp_path).returncode == 0
    proc = run_cli("inspect", "--data", "data", cwd=tmp_path)
    assert proc.returncode == 0 and proc.stderr == ""
    lines = proc.stdout.splitlines()
    assert lines[0] == "2 regions under data"
    rows = [line.split() for line in lines[2:]]
    # region, state, first, last, term, commit, applied, truncated, peers: 20 entries after index 5, half kept.
    assert rows == [
        ["1", "normal", "16", "25", "5", "25", "25", "15", "101@1"],
        ["2", "normal", "16", "25", "5", "25", "25", "15", "201@1"],
    ]


def test_console_entry_point_runs() -> None:
    """The installed console script runs main()."""
    script = Path(sys.executable).parent / "raftstore"
    if not script.exists():
        pytest.skip(f"no console script next to {sys.executable}")
    out = subprocess.run([str(script), "--help"], capture_output=True, text=True, check=True)
    assert "usage: raftstore" in out.stdout


@pytest.mark.parametrize("example", ["single_mem_node.py", "five_mem_node.py"])
def test_examples_run(example: str) -> None:
    """The in-memory cluster examples run to completion."""
    subprocess.run([sys.executable, str(ROOT / "examples" / example)], capture_output=True, check=True, timeout=60)


def test_inspect_into_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    """`raftstore inspect | head -1`: once the reader is gone the command stops without a word on stderr."""
    assert run_cli("demo", "--storage", "--data", "data", "--regions", "300", "--rounds", "1", "--per-round", "1", cwd=tmp_path).returncode == 0
    command = f"{sys.executable} -m raftstore inspect --data data | head -1"
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", command], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert proc.stdout == "300 regions under data\n"
    assert proc.stderr == ""
    assert proc.returncode == 1

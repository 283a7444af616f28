"""The `raftstore` command: help, the storage demo on real RocksDB, inspect, and clear errors."""

import subprocess
import sys
from pathlib import Path

import pytest

from raftstore.cli import main

ROOT = Path(__file__).resolve().parent.parent


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    """`raftstore --help` names each command with a one-line explanation."""
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "demo" in out and "inspect" in out and "--verbose" in out


def test_demo_runs_then_continues_from_disk(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The demo bootstraps, appends with 2 fsyncs per round, compacts and restarts; a second run reuses the data."""
    data = tmp_path / "data"
    assert main(["demo", "--data", str(data), "--regions", "4", "--rounds", "3", "--per-round", "10"]) == 0
    out = capsys.readouterr().out
    assert "bootstrapped 4 regions" in out
    assert "at most 2 fsyncs per round" in out
    assert "restarted" in out and "hit ratio" in out
    assert main(["demo", "--data", str(data), "--regions", "4", "--rounds", "3", "--per-round", "10"]) == 0
    assert "found 4 regions left by an earlier run" in capsys.readouterr().out


def test_inspect_prints_states(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`raftstore inspect` prints each region's indexes after a demo run."""
    data = tmp_path / "data"
    main(["demo", "--data", str(data), "--regions", "2", "--rounds", "2", "--per-round", "10"])
    capsys.readouterr()
    assert main(["inspect", "--data", str(data)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("2 regions under")
    assert "     1 " in out and "     2 " in out


def test_inspect_reports_corrupt_state_clearly(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A corrupt apply state makes `inspect` exit 1 with a message naming the region, not a traceback."""
    from raftstore.engine import CF_RAFT, keys, open_engines

    data = tmp_path / "data"
    main(["demo", "--data", str(data), "--regions", "2", "--rounds", "1", "--per-round", "10"])
    capsys.readouterr()
    with open_engines(data) as engines:
        engines.kv.put(CF_RAFT, keys.apply_state_key(2), b"\xff\xff\xff")
    assert main(["inspect", "--data", str(data)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("raftstore: [region 2]") and "apply state" in err


def test_console_entry_point_runs() -> None:
    """`python -m raftstore --help` works as the installed console script does."""
    out = subprocess.run([sys.executable, "-m", "raftstore", "--help"], capture_output=True, text=True, check=True)
    assert "usage: raftstore" in out.stdout


@pytest.mark.parametrize("example", ["single_mem_node.py", "five_mem_node.py"])
def test_examples_run(example: str) -> None:
    """The in-memory cluster examples run to completion."""
    subprocess.run([sys.executable, str(ROOT / "examples" / example)], capture_output=True, check=True, timeout=60)

"""`raftstore check-history FILE [--time-limit S]`: exit 0 linearizable, 1 not (key and lines named),
2 malformed input (the line named) or an unreadable file, 3 undecided within the time limit."""

from __future__ import annotations

import random
from pathlib import Path

from raftstore.checker import SimConfig, corrupt_read, format_history, simulate_history

from ..cli.helpers import failure_line, run_cli

STALE_READ = """\
{"client": 1, "op": "put", "key": "k1", "value": "a", "invoke": 0.0, "complete": 1.0, "outcome": "ok"}

{"client": 1, "op": "put", "key": "k1", "value": "b", "invoke": 2.0, "complete": 3.0, "outcome": "ok"}
{"client": 2, "op": "get", "key": "k1", "value": "a", "invoke": 4.0, "complete": 5.0, "outcome": "ok"}
"""


def test_linearizable_history_exits_0(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(format_history(simulate_history(SimConfig(ops=500), 3)))
    proc = run_cli("check-history", str(path))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.startswith("linearizable: 500 operations on 5 keys") and proc.stderr == ""


def test_violation_exits_1_naming_key_and_lines(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(STALE_READ)
    proc = run_cli("check-history", str(path))
    assert proc.returncode == 1 and proc.stderr == ""
    assert proc.stdout.startswith("not linearizable: 3 operations on 1 keys")
    assert 'key "k1": not linearizable (lines 1, 3, 4)' in proc.stdout
    assert "line 4: client 2 get" in proc.stdout  # the read that could not be placed


def test_malformed_line_exits_2_naming_it(tmp_path: Path) -> None:
    path = tmp_path / "h.jsonl"
    path.write_text(STALE_READ + '{"client": 1, "op": "put", "key": "k1"}\n')
    line = failure_line(run_cli("check-history", str(path)), 2)
    assert line.startswith(f"raftstore: {path}:5: ") and '"outcome"' in line


def test_missing_file_exits_2(tmp_path: Path) -> None:
    line = failure_line(run_cli("check-history", str(tmp_path / "nope.jsonl")), 2)
    assert "nope.jsonl" in line and "No such file" in line


def test_undecided_exits_3(tmp_path: Path) -> None:
    """A 10,000-operation history with one corrupted read and many open timed-out writes: the search cannot
    finish in 0.5 s, and says so (exit 3) instead of guessing."""
    ops = simulate_history(SimConfig(ops=10_000), 0)
    bad, _ = corrupt_read(ops, random.Random(0))
    path = tmp_path / "h.jsonl"
    path.write_text(format_history(bad))
    proc = run_cli("check-history", str(path), "--time-limit", "0.5")
    assert proc.returncode == 3, proc.stdout + proc.stderr
    assert proc.stdout.startswith("undecided") and "undecided within the time limit: keys" in proc.stdout


def test_time_limit_must_be_positive(tmp_path: Path) -> None:
    proc = run_cli("check-history", str(tmp_path / "h.jsonl"), "--time-limit", "0")
    assert proc.returncode == 2 and "must be above 0" in proc.stderr

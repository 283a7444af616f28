"""`raftstore chaos`: a short run passes and records its history in the API's format; with a deliberately
broken build (the bug-injection check) it fails and prints the failing window."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from raftstore.chaos import ChaosConfig, run_chaos
from raftstore.checker import check_history, read_history

from ..cli.helpers import run_cli


def test_help_names_every_option_and_the_exit_status() -> None:
    proc = run_cli("chaos", "--help")
    assert proc.returncode == 0
    for option in ("--nodes", "--seed", "--seeds", "--cycles", "--duration", "--out", "--bug", "--faults",
                   "--crash-points", "early-ack", "stale-read"):
        assert option in proc.stdout
    assert "1    a violation" in proc.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--faults", "nap"], "unknown fault kinds ['nap']"),
        (["--nodes", "4"], "invalid choice: 4"),
        (["--bug", "typo"], "invalid choice: 'typo'"),
    ],
)
def test_invalid_arguments_exit_2(args: list[str], message: str) -> None:
    proc = run_cli("chaos", *args)
    assert proc.returncode == 2
    assert message in proc.stderr


@pytest.mark.slow
def test_a_short_run_under_every_kind_of_fault_passes(tmp_path: Path) -> None:
    report = run_chaos(ChaosConfig(tmp_path, seed=11, cycles=12))
    assert report.violations == [], report.summary()
    assert report.cycles == 12 and report.faults["kill"] == 7
    assert report.linearizability == "linearizable" and report.replicas == "identical"
    history = read_history(tmp_path / "seed-11" / "history.jsonl")
    assert len(history) == report.operations["operations"] > 500
    assert check_history(history).status == "linearizable"
    assert {op.op for op in history} == {"get", "put", "delete", "cas"}
    assert {op.outcome for op in history} >= {"ok", "fail"}
    saved = json.loads((tmp_path / "seed-11" / "report.json").read_text())
    assert saved["violations"] == [] and saved["operations"]["writer_acked"] > 100


@pytest.mark.slow
def test_the_bug_injection_check_finds_the_broken_build(tmp_path: Path) -> None:
    """With failpoint ack_write_before_commit, writes acknowledged by an isolated leader are lost."""
    proc = run_cli("chaos", "--bug", "early-ack", "--faults", "partition-leader", "--cycles", "4",
                   "--seed", "1", "--out", str(tmp_path), timeout=300)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "acknowledged write lost" in proc.stdout or "not linearizable" in proc.stdout
    assert "VIOLATIONS" in proc.stdout
    report = json.loads((tmp_path / "seed-1" / "report.json").read_text())
    assert report["bug"] == "early-ack" and report["violations"]
    if report["linearizability"] == "not linearizable":
        assert "smallest failing window found" in proc.stdout
        assert check_history(read_history(tmp_path / "seed-1" / "window.jsonl")).status == "not linearizable"

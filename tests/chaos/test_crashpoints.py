"""Crash-point exploration: every failpoint of the source is known to the harness; a store killed at one
point of each scenario is restarted with no acknowledged write lost and identical replicas."""

from __future__ import annotations

from pathlib import Path

import pytest

from raftstore.chaos.crashpoints import (
    BUG_FAILPOINTS,
    SCENARIOS,
    explore,
    source_failpoints,
)


def test_every_failpoint_in_the_source_is_known_to_the_harness() -> None:
    found = source_failpoints()
    assert "store_round_before_persist" in found and "apply_snap_before_normal" in found
    unknown = [name for name in found if name not in SCENARIOS and name not in BUG_FAILPOINTS]
    assert unknown == []


def test_the_bug_switches_are_not_crash_points() -> None:
    assert BUG_FAILPOINTS == {"ack_write_before_commit", "read_without_read_index"}
    assert not BUG_FAILPOINTS & SCENARIOS.keys()


def test_source_failpoints_reads_the_literal_calls(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text('failpoints.fail_point("one")\nif fail_point("two"):\n    pass\n')
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.py").write_text('fail_point("one")  # twice\nfail_point(name)  # not a literal\n')
    (tmp_path / "failpoints.py").write_text('"""fail_point("example")"""\n')
    assert source_failpoints(tmp_path) == ["one", "two"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    ["store_round_before_apply", "apply_snap_mid_ingest", "split_apply_after_write", "conf_change_apply_before_write"],
)
def test_a_store_killed_at_the_failpoint_restarts_with_the_invariants_kept(tmp_path: Path, name: str) -> None:
    if name not in source_failpoints():
        pytest.skip(f"failpoint {name} is not in the source")
    [result] = explore(tmp_path, [name])
    assert result.reached, result.line()
    assert result.violations == [], result.line()
    assert result.acked > 50

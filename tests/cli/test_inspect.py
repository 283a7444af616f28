"""`raftstore inspect`: read-only (nothing created or changed, a read-only directory will do), refuses what is not
a raftstore data directory with exit status 2, and prints every region whatever its peers, tombstones included."""

from __future__ import annotations

from pathlib import Path

import pytest

from raftstore.engine import open_engines
from raftstore.proto.metapb_pb2 import PeerRole
from raftstore.proto.raft_serverpb_pb2 import PeerState
from raftstore.store import PeerStorage, WriteTask, write_initial_states, write_peer_state, write_tasks

from ..store.helpers import new_peer, new_region, uninitialized_region
from ..helpers import remount, tmpfs, tree
from .helpers import NOT_DATA_DIRS, failure_line, make_data, run_cli


@pytest.mark.parametrize("kind", NOT_DATA_DIRS)
def test_inspect_refuses_what_is_not_a_data_directory(tmp_path: Path, kind: str) -> None:
    """inspect says the path is not a data directory (naming it), exits 2 and creates or changes nothing."""
    data = tmp_path / "data"
    NOT_DATA_DIRS[kind](data)
    before = tree(data)
    line = failure_line(run_cli("inspect", "--data", str(data)), 2)
    assert str(data) in line
    assert tree(data) == before


def test_inspect_changes_nothing_in_a_data_directory(tmp_path: Path) -> None:
    """inspect on a valid data directory leaves every file and directory as it was, byte for byte."""
    data = make_data(tmp_path / "data")
    before = tree(data)
    proc = run_cli("inspect", "--data", str(data))
    assert proc.returncode == 0, proc.stderr
    assert tree(data) == before


def test_inspect_reads_a_read_only_data_directory(tmp_path: Path) -> None:
    """A data directory on a read-only file system can be inspected."""
    with tmpfs(tmp_path / "ro", "64m") as mount:
        data = make_data(mount / "data", regions=3)
        remount(mount, "ro")
        proc = run_cli("inspect", "--data", str(data))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"3 regions under {data}\n")


def test_inspect_prints_every_region_whatever_its_peers(tmp_path: Path) -> None:
    """Regions with no peer on store 1, with no peers at all, and tombstones are all printed, with their peers."""
    data = tmp_path / "data"
    with open_engines(data) as engines:
        write_initial_states(engines, new_region(1, [new_peer(11, 1)]))
        write_initial_states(engines, new_region(2, [new_peer(21, 2), new_peer(22, 3, PeerRole.Learner)]))
        task = WriteTask(3, 0, 0)
        write_peer_state(task, uninitialized_region(3), PeerState.Normal)
        write_tasks(engines, [task])
        doomed = new_region(4, [new_peer(41, 2)])
        write_initial_states(engines, doomed)
        task = WriteTask(4, 41, 1)
        PeerStorage(engines, doomed, 41).tombstone(task)
        write_tasks(engines, [task])
    proc = run_cli("inspect", "--data", str(data))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0] == f"4 regions under {data}"
    assert lines[1].split() == ["region", "state", "first", "last", "term", "commit", "applied", "truncated",
                                "peers", "(id@store)"]
    assert [line.split() for line in lines[2:]] == [
        ["1", "normal", "6", "5", "5", "5", "5", "5", "11@1"],
        ["2", "normal", "6", "5", "5", "5", "5", "5", "21@2", "22@3(Learner)"],
        ["3", "normal", "1", "0", "0", "0", "0", "0", "none"],
        ["4", "tombstone", "-", "-", "-", "-", "-", "-", "41@2"],
    ]

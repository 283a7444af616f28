"""Every failure of the `raftstore` command is one line on stderr, `raftstore: <what>`, with a non-zero exit
status (1 at run time, 2 for usage or a path that is not a data directory, 130 on Ctrl-C) and no traceback
unless -v. Each case runs the real command in a subprocess against a real data directory."""

from __future__ import annotations

import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from raftstore import cli
from raftstore.engine import CF_RAFT, EngineIOError, keys, open_engines
from raftstore.engine.engines import Engines
from raftstore.store import write_initial_states

from ..helpers import tmpfs, tree
from ..store.helpers import GARBAGE, new_peer, new_region
from .helpers import NOT_DATA_DIRS, failure_line, make_data, run_cli, unprivileged


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["demo", "--regions", "0"], "argument --regions: must be at least 1, got 0"),
        (["demo", "--rounds", "0"], "argument --rounds: must be at least 1, got 0"),
        (["demo", "--per-round", "-3"], "argument --per-round: must be at least 1, got -3"),
        (["demo", "--regions", "many"], "argument --regions: invalid integer: 'many'"),
        (["inspect", "--data"], "argument --data: expected one argument"),
        ([], "the following arguments are required: COMMAND"),
    ],
)
def test_invalid_arguments_exit_2_with_usage(tmp_path: Path, args: list[str], complaint: str) -> None:
    """Invalid arguments: argparse's usage line and one error line naming the argument, exit 2, nothing created."""
    proc = run_cli(*args, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert lines[0].startswith("usage: raftstore") and lines[-1].endswith(complaint)
    assert "Traceback" not in proc.stderr
    assert list(tmp_path.iterdir()) == []


def _corrupt_apply_state(data: Path) -> None:
    with open_engines(data) as engines:
        engines.kv.put(CF_RAFT, keys.apply_state_key(2), GARBAGE)


def _garble_current(data: Path) -> None:
    (data / "kv" / "CURRENT").write_bytes(b"\x00garbage")


def _drop_current(data: Path) -> None:
    (data / "raft" / "CURRENT").unlink()


def _flip_sst_block(data: Path) -> None:
    with open_engines(data) as engines:
        engines.raft.flush()
    sst = max((data / "raft").glob("*.sst"), key=lambda path: path.stat().st_size)
    raw = bytearray(sst.read_bytes())
    raw[64:80] = bytes(b ^ 0xFF for b in raw[64:80])  # inside the first data block (the log entries)
    sst.write_bytes(bytes(raw))


# DAMAGE: ways to damage a data directory made by the demo -> (exit status, words the line must hold).
DAMAGE: dict[str, tuple[Callable[[Path], None], int, list[str]]] = {
    "invalid apply state": (_corrupt_apply_state, 1, ["[region 2]", "apply state"]),
    "garbled kv/CURRENT": (_garble_current, 1, ["Corruption", "CURRENT"]),
    "raft/ without CURRENT": (_drop_current, 2, ["raft", "CURRENT"]),
    "flipped SST block": (_flip_sst_block, 1, ["orrupt"]),
}


@pytest.mark.parametrize("kind", DAMAGE)
def test_damaged_data_is_one_line(tmp_path: Path, kind: str) -> None:
    """Damage found by inspect is one line naming it (exit 1 for corrupt data, 2 for a damaged directory)."""
    damage, code, words = DAMAGE[kind]
    data = make_data(tmp_path / "data", regions=2, rounds=2)
    damage(data)
    line = failure_line(run_cli("inspect", "--data", str(data)), code)
    for word in words:
        assert word in line, (word, line)


@pytest.mark.parametrize("kind", ["a file", "unrelated files", "a foreign RocksDB", "kv/ without raft/"])
def test_demo_refuses_what_is_not_a_data_directory(tmp_path: Path, kind: str) -> None:
    """--data naming a file or a directory that is no data directory: demo says so in one line naming the path,
    exits 2 and changes nothing (inspect: see test_inspect)."""
    data = tmp_path / "data"
    NOT_DATA_DIRS[kind](data)
    before = tree(data)
    line = failure_line(run_cli("demo", "--storage", "--data", str(data)), 2)
    assert str(data) in line
    assert tree(data) == before


def test_demo_on_regions_of_another_store_is_one_line(tmp_path: Path) -> None:
    """The demo runs as store 1: a data directory whose region has no peer there is refused in one line."""
    data = tmp_path / "data"
    with open_engines(data) as engines:
        write_initial_states(engines, new_region(7, [new_peer(71, 2)]))
    line = failure_line(run_cli("demo", "--storage", "--data", str(data)), 1)
    assert line == "raftstore: [region 7] has no peer on store 1 (peers: 71@2): not a data directory of the demo"


HOLDER = """
import sys
from raftstore.engine import open_engines
engines = open_engines(sys.argv[1])
print("holding", flush=True)
sys.stdin.read()
engines.close()
"""


def test_data_directory_in_use_is_one_line(tmp_path: Path) -> None:
    """While another process holds the engines open, demo fails with one line naming the directory (exit 1);
    inspect, which takes no lock, still reads it."""
    data = make_data(tmp_path / "data")
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(data)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "holding\n"
        line = failure_line(run_cli("demo", "--storage", "--data", str(data), "--rounds", "1"), 1)
        assert str(data) in line
        inspect = run_cli("inspect", "--data", str(data))
        assert inspect.returncode == 0 and inspect.stdout.startswith(f"2 regions under {data}\n")
    finally:
        holder.communicate("", timeout=30)
    assert holder.returncode == 0


# ACCESS: what the command's user may do in the data directory -> its mode (when the command runs as nobody in
# root's directory, when it runs as the directory's owner).
ACCESS = {"nothing": (0o700, 0o000), "read only": (0o755, 0o555)}


@pytest.mark.parametrize(
    ("command", "access", "code"),
    [
        ("inspect", "nothing", 2),  # the directory cannot be listed: not usable as a data directory
        ("demo", "nothing", 2),
        ("demo", "read only", 1),  # opening the engines for writing fails
    ],
)
def test_permission_denied_is_one_line(shared_dir: Path, command: str, access: str, code: int) -> None:
    """A data directory the user may not read or write: one line saying permission is denied, naming it."""
    data = make_data(shared_dir / "data")
    as_user = unprivileged()
    as_nobody, as_owner = ACCESS[access]
    data.chmod(as_nobody if as_user else as_owner)
    try:
        storage = ["--storage"] if command == "demo" else []  # the storage walkthrough opens --data itself
        line = failure_line(run_cli(command, *storage, "--data", str(data), as_user=as_user), code)
    finally:
        data.chmod(0o755)
    assert "Permission denied" in line and str(data) in line


def test_no_space_left_is_one_line(tmp_path: Path) -> None:
    """A full disk (a 2 MiB tmpfs) stops the demo's writes with one line saying so (exit 1), and so does the
    next demo, which cannot even open the engines; what is on disk stays valid: inspect reads every region."""
    with tmpfs(tmp_path / "small", "2m") as mount:
        data = mount / "data"
        for _ in range(2):  # the first run fills the disk while writing, the second fails opening
            line = failure_line(run_cli("demo", "--storage", "--data", str(data), "--regions", "4", "--rounds", "400"), 1)
            assert "No space left on device" in line
        proc = run_cli("inspect", "--data", str(data))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith(f"4 regions under {data}\n")


def test_ctrl_c_exits_130_with_one_line(tmp_path: Path) -> None:
    """SIGINT during the demo's write rounds: exit 130, stderr is exactly `raftstore: interrupted`; the data
    directory stays valid."""
    data = tmp_path / "data"
    command = [sys.executable, "-u", "-m", "raftstore", "demo", "--storage", "--data", str(data), "--rounds", "100000"]
    demo = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert demo.stdout is not None
    for line in demo.stdout:  # interrupt it once the write rounds begin
        if line.startswith("1. bootstrapped"):
            break
    else:
        pytest.fail(f"the demo ended before bootstrapping: {demo.communicate()}")
    demo.send_signal(signal.SIGINT)
    _, err = demo.communicate(timeout=60)
    assert (demo.returncode, err) == (130, "raftstore: interrupted\n")
    assert run_cli("inspect", "--data", str(data)).returncode == 0


@pytest.mark.parametrize("args", [["-v", "inspect"], ["inspect", "-v"]])
def test_verbose_adds_the_traceback(tmp_path: Path, args: list[str]) -> None:
    """-v (before or after the command) prints the traceback, then the same one line last."""
    data = tmp_path / "data"
    NOT_DATA_DIRS["a file"](data)
    proc = run_cli(*args, "--data", str(data))
    assert proc.returncode == 2
    assert proc.stderr.startswith("Traceback")
    assert proc.stderr.splitlines()[-1] == failure_line(run_cli("inspect", "--data", str(data)), 2)


def test_close_failing_after_a_failure_keeps_the_first_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When closing the engines fails after inspect failed, the line shown is inspect's error, not close's."""
    data = make_data(tmp_path / "data")
    _corrupt_apply_state(data)
    close = Engines.close

    def failing_close(engines: Engines) -> None:
        close(engines)
        raise EngineIOError("close: IO error: injected")

    monkeypatch.setattr(Engines, "close", failing_close)
    assert cli.main(["inspect", "--data", str(data)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("raftstore: [region 2]") and "apply state" in err and err.count("\n") == 1

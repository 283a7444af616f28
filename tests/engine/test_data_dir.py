"""Opening data directories: what open_engines and RocksEngine initialise, refuse, and never change.

Only a missing path or an empty directory is initialised; a damaged or foreign directory is refused by
every opener with DataDirError naming the path and what is wrong, and nothing in it changes, byte for byte
(`tree` compares modes, mtimes and contents). A read-only open never creates or changes anything, even on a
read-only filesystem; a directory another process holds raises DataDirInUseError.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from raftstore.engine import (
    ALL_CFS,
    CF_DEFAULT,
    CF_RAFT,
    DataDirError,
    DataDirInUseError,
    EngineReadOnlyError,
    RocksEngine,
    keys,
    open_engines,
)
from raftstore.engine.engines import INIT_MARKER

from ..helpers import remount, tmpfs, tree


def make_data_dir(root: Path) -> Path:
    """make_data_dir makes a data directory at root with data in SST files (kv) and in the WAL only (raft)."""
    with open_engines(root) as engines:
        engines.kv.put(CF_RAFT, keys.apply_state_key(1), b"apply")
        engines.kv.flush()  # type: ignore[attr-defined]
        engines.raft.put(CF_DEFAULT, keys.raft_log_key(1, 6), b"entry")
        engines.raft.sync_wal()
    return root


def _file(root: Path) -> None:
    root.write_bytes(b"not a directory")


def _rocksdb_itself(root: Path) -> None:
    RocksEngine(root, ALL_CFS).close()


def _unrelated(root: Path) -> None:
    (root / "photos").mkdir(parents=True)
    (root / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")


def _without(sub: str) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        make_data_dir(root)
        shutil.rmtree(root / sub)

    return damage


def _without_current(sub: str) -> Callable[[Path], None]:
    def damage(root: Path) -> None:
        make_data_dir(root)
        (root / sub / "CURRENT").unlink()

    return damage


def _foreign_kv(root: Path) -> None:
    make_data_dir(root)
    shutil.rmtree(root / "kv")
    RocksEngine(root / "kv").close()  # a RocksDB database with the default CF only


def _swapped(root: Path) -> None:
    make_data_dir(root)
    (root / "kv").rename(root / "tmp")
    (root / "raft").rename(root / "kv")
    (root / "tmp").rename(root / "raft")


# DAMAGED: how to damage a directory -> what the error must say (the path it names, relative to root, and why).
DAMAGED: dict[str, tuple[Callable[[Path], None], str, str]] = {
    "a file": (_file, "", "is not a directory"),
    "a RocksDB database itself": (_rocksdb_itself, "", "is a RocksDB database"),
    "an unrelated directory": (_unrelated, "", "has no kv/"),
    "no kv/": (_without("kv"), "", "has no kv/"),
    "no raft/": (_without("raft"), "", "has no raft/"),
    "kv/ without CURRENT": (_without_current("kv"), "kv", "has no CURRENT"),
    "raft/ without CURRENT": (_without_current("raft"), "raft", "has no CURRENT"),
    "a foreign kv/": (_foreign_kv, "kv", "lacks the column families ['lock', 'write', 'raft']"),
    "kv/ and raft/ swapped": (_swapped, "kv", "lacks the column families"),
}


@pytest.mark.parametrize("read_only", [False, True], ids=["writable", "read-only"])
@pytest.mark.parametrize("case", list(DAMAGED))
def test_damaged_data_dir_is_refused_and_left_as_it_was(tmp_path: Path, case: str, read_only: bool) -> None:
    damage, named, why = DAMAGED[case]
    root = tmp_path / "data"
    damage(root)
    before = tree(root)
    with pytest.raises(DataDirError) as info:
        open_engines(root, read_only=read_only)
    assert str(root / named if named else root) in str(info.value)
    assert why in str(info.value)
    assert tree(root) == before


@pytest.mark.parametrize("sub", ["kv", "raft"])
def test_database_without_current_is_never_recreated(tmp_path: Path, sub: str) -> None:
    # The data loss: a new CURRENT and MANIFEST made over the old files, whose SSTs RocksDB then
    # deleted as obsolete. Every opener refuses, however often it is asked.
    root = make_data_dir(tmp_path / "data")
    (root / sub / "CURRENT").unlink()
    before = tree(root)
    for read_only in (True, False, False):
        with pytest.raises(DataDirError, match="has no CURRENT"):
            open_engines(root, read_only=read_only)
    with pytest.raises(DataDirError, match="has no CURRENT"):
        RocksEngine(root / sub)
    assert tree(root) == before


@pytest.mark.parametrize("state", ["missing", "empty"])
def test_read_only_open_of_a_missing_or_empty_dir_creates_nothing(tmp_path: Path, state: str) -> None:
    root = tmp_path / "data"
    if state == "empty":
        root.mkdir()
    before = tree(root)
    with pytest.raises(DataDirError, match="does not exist" if state == "missing" else "is empty"):
        open_engines(root, read_only=True)
    assert tree(root) == before
    with pytest.raises(DataDirError):
        RocksEngine(root, read_only=True)
    assert tree(root) == before


@pytest.mark.parametrize("state", ["missing", "empty"])
def test_missing_or_empty_dir_is_initialised(tmp_path: Path, state: str) -> None:
    root = tmp_path / "data"
    if state == "empty":
        root.mkdir()
    with open_engines(root) as engines:
        engines.kv.put(CF_DEFAULT, b"k", b"v")
    assert sorted(os.listdir(root)) == ["kv", "raft"]  # the INITIALIZING marker is gone
    with open_engines(root, read_only=True) as engines:
        assert engines.kv.get(CF_DEFAULT, b"k") == b"v"


def test_interrupted_initialisation_is_started_over(tmp_path: Path) -> None:
    # A crash in the middle of the first open_engines: the marker, a complete kv/ and a raft/ without CURRENT.
    root = tmp_path / "data"
    RocksEngine(root / "kv", ALL_CFS).close()
    (root / "raft").mkdir()
    (root / "raft" / "MANIFEST-000001").write_bytes(b"half")
    (root / INIT_MARKER).write_bytes(b"")
    before = tree(root)
    with pytest.raises(DataDirError, match="initialisation was interrupted"):
        open_engines(root, read_only=True)
    assert tree(root) == before
    with open_engines(root) as engines:
        engines.raft.put(CF_DEFAULT, b"k", b"v")
    assert sorted(os.listdir(root)) == ["kv", "raft"]
    with open_engines(root) as engines:
        assert engines.raft.get(CF_DEFAULT, b"k") == b"v"


def test_interrupted_initialisation_with_other_files_is_refused(tmp_path: Path) -> None:
    root = tmp_path / "data"
    root.mkdir()
    (root / INIT_MARKER).write_bytes(b"")
    (root / "notes.txt").write_bytes(b"mine")
    before = tree(root)
    with pytest.raises(DataDirError, match=r"also holds \['notes.txt'\]"):
        open_engines(root)
    assert tree(root) == before


# RocksEngine on its own.


def test_rocks_engine_refuses_a_non_empty_dir_without_current(tmp_path: Path) -> None:
    path = tmp_path / "db"
    path.mkdir()
    (path / "000007.sst").write_bytes(b"precious")
    before = tree(path)
    for kwargs in ({}, {"create": False}, {"read_only": True}):
        with pytest.raises(DataDirError, match=f"{path} has no CURRENT"):
            RocksEngine(path, ALL_CFS, **kwargs)  # type: ignore[arg-type]
    assert tree(path) == before


def test_rocks_engine_without_create_opens_only_a_database_with_its_cfs(tmp_path: Path) -> None:
    path = tmp_path / "db"
    with pytest.raises(DataDirError, match="does not exist"):
        RocksEngine(path, create=False)
    assert not path.exists()
    RocksEngine(path).close()
    before = tree(path)
    with pytest.raises(DataDirError, match=r"lacks the column families \['lock'\]"):
        RocksEngine(path, (CF_DEFAULT, "lock"), create=False)
    assert tree(path) == before
    with RocksEngine(path, create=False) as engine:
        assert engine.cf_names == (CF_DEFAULT,)


# Read-only opening.


def test_read_only_open_reads_everything_and_changes_nothing(tmp_path: Path) -> None:
    root = make_data_dir(tmp_path / "data")
    before = tree(root)
    with open_engines(root, read_only=True) as engines:
        assert engines.kv.get(CF_RAFT, keys.apply_state_key(1)) == b"apply"  # from an SST file
        assert list(engines.raft.scan(CF_DEFAULT, b"", None)) == [(keys.raft_log_key(1, 6), b"entry")]  # WAL
        assert engines.raft.snapshot().get(CF_DEFAULT, keys.raft_log_key(1, 6)) == b"entry"
    assert tree(root) == before


def test_read_only_engine_refuses_every_write(tmp_path: Path) -> None:
    root = make_data_dir(tmp_path / "data")
    before = tree(root)
    with open_engines(root, read_only=True) as engines:
        engine = engines.kv
        batch = engine.write_batch()
        batch.put(CF_DEFAULT, b"k", b"v")
        writes: list[Callable[[], None]] = [
            lambda: engine.write(batch, sync=True),
            lambda: engine.put(CF_DEFAULT, b"k", b"v"),
            lambda: engine.delete(CF_DEFAULT, b"k"),
            lambda: engine.delete_range(CF_DEFAULT, b"a", b"z"),
            engine.sync_wal,
        ]
        for write in writes:
            with pytest.raises(EngineReadOnlyError, match=f"engine {root / 'kv'} is open read-only"):
                write()
        assert isinstance(engine, RocksEngine) and engine.read_only
        assert engine.get(CF_DEFAULT, b"k") is None
    assert tree(root) == before


def test_read_only_filesystem_can_be_inspected(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "mnt", "16m") as mnt:
        root = make_data_dir(mnt / "data")
        remount(mnt, "ro")
        before = tree(root)
        with open_engines(root, read_only=True) as engines:
            assert engines.kv.get(CF_RAFT, keys.apply_state_key(1)) == b"apply"
            assert engines.raft.get(CF_DEFAULT, keys.raft_log_key(1, 6)) == b"entry"
        assert tree(root) == before


# A directory in use.

_HOLDER = """
import sys
from raftstore.engine import open_engines
engines = open_engines(sys.argv[1])
print("READY", flush=True)
sys.stdin.read()
engines.close()
"""


def test_dir_held_by_another_process_is_in_use(tmp_path: Path) -> None:
    root = make_data_dir(tmp_path / "data")
    holder = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(root)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "READY\n"
        with pytest.raises(DataDirInUseError, match=str(root / "kv")):
            open_engines(root)
        with open_engines(root, read_only=True) as engines:  # a read-only open takes no lock
            assert engines.kv.get(CF_RAFT, keys.apply_state_key(1)) == b"apply"
    finally:
        holder.communicate("", timeout=30)
    assert holder.returncode == 0


def test_dir_open_in_this_process_is_in_use(tmp_path: Path) -> None:
    root = tmp_path / "data"
    with open_engines(root):
        with pytest.raises(DataDirInUseError, match=str(root / "kv")):
            open_engines(root)
        with pytest.raises(DataDirInUseError, match=str(root / "raft")):
            RocksEngine(root / "raft")
        with open_engines(root, read_only=True) as engines:
            assert engines.kv.get(CF_DEFAULT, b"k") is None


def test_open_engines_releases_kv_when_raft_fails(tmp_path: Path) -> None:
    root = make_data_dir(tmp_path / "data")
    with RocksEngine(root / "raft"), pytest.raises(DataDirInUseError, match=str(root / "raft")):
        open_engines(root)
    with open_engines(root) as engines:  # the kv engine was closed again: it opens
        assert engines.kv.get(CF_RAFT, keys.apply_state_key(1)) == b"apply"


def _option_lines(db_dir: Path, name: str) -> list[str]:
    """_option_lines: the `name=` lines (one per column family for a CF option) in db_dir's newest OPTIONS
    file."""
    newest = max(db_dir.glob("OPTIONS-*"), key=lambda p: int(p.name.split("-")[1]))
    return [line.strip() for line in newest.read_text().splitlines() if line.strip().startswith(f"{name}=")]


@pytest.mark.parametrize("size", [8 << 20, None])
def test_write_buffer_size_applies_to_every_column_family_of_both_engines(tmp_path: Path, size: int | None) -> None:
    """open_engines(write_buffer_size=) sets the memtable size of kv/'s 4 CFs and raft/'s; 32 MiB by default,
    when initialising a directory and when reopening it."""
    expected = f"write_buffer_size={size or 32 << 20}"
    for _ in range(2):
        with open_engines(tmp_path / "d") if size is None else open_engines(tmp_path / "d", write_buffer_size=size):
            pass
        assert _option_lines(tmp_path / "d" / "kv", "write_buffer_size") == [expected] * len(ALL_CFS)
        assert _option_lines(tmp_path / "d" / "raft", "write_buffer_size") == [expected]


def _wal_bytes(db_dir: Path) -> int:
    """_wal_bytes: the size of db_dir's log files; RocksDB's background purge may delete one between the listing
    and its stat, and a deleted file holds nothing."""
    total = 0
    for log in db_dir.glob("*.log"):
        try:
            total += log.stat().st_size
        except FileNotFoundError:
            pass
    return total


def _settled_wal_bytes(db_dir: Path, limit: int, timeout: float = 10.0) -> int:
    """_settled_wal_bytes: db_dir's log bytes once they are at most limit, or after timeout seconds: the flushes
    that release old log files run in the background, so the last write may be ahead of them."""
    deadline = time.monotonic() + timeout
    while (size := _wal_bytes(db_dir)) > limit and time.monotonic() < deadline:
        time.sleep(0.05)
    return size


def test_the_wal_is_capped_at_four_memtables(tmp_path: Path) -> None:
    """open_engines caps each database's WAL at 4 memtables: the kv engine's small column families, which
    rarely fill a memtable, would otherwise pin every log file (RocksDB's own cap is 4x all memtables), and a
    restart after a crash would replay all of it. 24 MiB written at 1 MiB memtables leaves at most the cap
    plus the live log file."""
    size = 1 << 20
    with open_engines(tmp_path / "d", write_buffer_size=size) as engines:
        value = b"v" * 4096
        for i in range(24 * 256):
            batch = engines.kv.write_batch()
            batch.put(CF_DEFAULT, b"k%08d" % i, value)
            batch.put(CF_RAFT, keys.apply_state_key(1), b"%d" % i)
            engines.kv.write(batch)
        assert _settled_wal_bytes(tmp_path / "d" / "kv", limit=5 * size) <= 5 * size
    assert _option_lines(tmp_path / "d" / "kv", "max_total_wal_size") == [f"max_total_wal_size={4 * size}"]

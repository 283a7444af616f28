"""raftstore.engine.engines: the two engines of a store, opened together.

A data directory holds two RocksDB databases: `kv/` (CFs default, lock, write and raft) and `raft/` (the
default CF: raft logs and RaftLocalStates). `open_engines(path)` opens one, initialising it only when
`path` is missing or an empty directory; `open_engines(path, read_only=True)` opens an existing one without
changing anything in it. `memory_engines()` gives the same shape in memory for unit tests.

`write_buffer_size` is the memtable size of every column family of both databases (RocksDB's
write_buffer_size, up to 4 memtables each). The default, 32 MiB, suits a library user and tests that open
many engines in one process; a store server uses TiKV's 128 MiB (ServerConfig.write_buffer_size): log
entries that log GC deletes while they are still in the raft engine's memtable are never written to an
SST file, and the KV engine makes fewer L0 files to compact. The write-ahead log of each database is
capped at 4 memtables (512 MiB at 128 MiB): past it, RocksDB flushes the column families that pin the
oldest log file, so a restart after a crash replays at most that much (about 0.5 s here).

What open_engines refuses (DataDirError naming the path and what is wrong, raised before RocksDB opens
anything, so nothing is created or changed): a file instead of a directory; a RocksDB database itself
(CURRENT directly under path) or any other non-empty directory without both kv/ and raft/; a kv/ or raft/
without CURRENT (a damaged database: RocksDB would start an empty one and delete the old files as
obsolete); a kv/ that lacks one of the KV column families (a foreign database, or kv/ and raft/ swapped);
and, read-only, a missing or empty directory. A directory that another process has open raises
DataDirInUseError (a read-only open takes no lock).

Initialisation is crash-safe: it writes `path/INITIALIZING` (synced) before creating the databases and
removes it once both exist. A directory still holding it is an initialisation that was interrupted, which
can hold no data (open_engines had not returned): the next writable open_engines removes its kv/ and raft/
and starts over.
"""

from __future__ import annotations

import os
import shutil

from raftstore.engine.base import ALL_CFS, CF_DEFAULT, KvEngine, RaftEngine
from raftstore.engine.errors import DataDirError
from raftstore.engine.memory import MemEngine
from raftstore.engine.rocks import RocksEngine, check_database

__all__ = [
    "Engines",
    "open_engines",
    "memory_engines",
    "KV_DIR",
    "RAFT_DIR",
    "INIT_MARKER",
    "DEFAULT_WRITE_BUFFER_SIZE",
]

KV_DIR = "kv"
RAFT_DIR = "raft"
# INIT_MARKER is the file that marks a data directory whose initialisation has not finished.
INIT_MARKER = "INITIALIZING"


class Engines:
    """Engines are a store's KV engine and raft engine; `path` is their directory (None in memory).

    close() closes both (raft engine first, then KV engine) and is idempotent; usable as a context manager.
    fail() stops both after a failed write round (see fail).
    """

    __slots__ = ("kv", "raft", "path")

    def __init__(self, kv: KvEngine, raft: RaftEngine, path: str | None = None) -> None:
        self.kv = kv
        self.raft = raft
        self.path = path

    @property
    def failed(self) -> str | None:
        """failed is the first failure of either engine (a failed write, or fail()); None while both write."""
        return self.kv.failed or self.raft.failed

    def fail(self, reason: str) -> None:
        """fail makes both engines refuse every further write with EngineFailedError naming `reason` (the
        first failure of each is kept), until they are closed and reopened; reads keep working.

        A failed engine write is fatal, as in TiKV: an engine fails itself when RocksDB fails one of its
        writes, and the owner of a write round that spans both engines calls fail() so that the other one
        stops too. Memory (PeerStorage, caches) may then be ahead of disk: the owner must close the engines,
        reopen them and rebuild every peer from what is on disk.
        """
        self.kv.fail(reason)
        self.raft.fail(reason)

    def close(self) -> None:
        try:
            self.raft.close()
        finally:
            self.kv.close()

    def __enter__(self) -> Engines:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Engines(kv={self.kv!r}, raft={self.raft!r}, path={self.path!r})"


DEFAULT_WRITE_BUFFER_SIZE = 32 << 20


def open_engines(
    path: str | os.PathLike[str], *, read_only: bool = False, write_buffer_size: int = DEFAULT_WRITE_BUFFER_SIZE
) -> Engines:
    """open_engines opens the data directory `path` (its kv and raft databases); see the module docstring
    for what it initialises and what it refuses. With read_only, the engines refuse every write
    (EngineReadOnlyError) and nothing in the directory changes, byte for byte."""
    root = os.fspath(path)
    if not _is_data_dir(root, read_only):
        return _initialise(root, write_buffer_size)
    return _open(root, create=False, read_only=read_only, write_buffer_size=write_buffer_size)


def _is_data_dir(root: str, read_only: bool) -> bool:
    """_is_data_dir: True when root is a data directory to open; False when it is to be initialised (missing,
    empty, or an interrupted initialisation, and not read_only). Raises DataDirError for anything else."""
    try:
        names = os.listdir(root)
    except FileNotFoundError:
        names = None
    except NotADirectoryError:
        raise DataDirError(f"{root} is not a directory") from None
    except OSError as exc:
        raise DataDirError(f"{root} cannot be read: {exc.strerror}") from exc
    if not names or INIT_MARKER in names:
        if not read_only:
            return False
        if names is None:
            raise DataDirError(f"{root} does not exist: it is not a raftstore data directory")
        if names:
            raise DataDirError(f"{root}: its initialisation was interrupted (open it writable to finish it)")
        raise DataDirError(f"{root} is empty: it is not a raftstore data directory")
    if "CURRENT" in names:
        raise DataDirError(
            f"{root} is a RocksDB database, not a raftstore data directory (which holds {KV_DIR}/ and {RAFT_DIR}/)"
        )
    for sub, cfs in ((KV_DIR, ALL_CFS), (RAFT_DIR, (CF_DEFAULT,))):
        if sub not in names:
            raise DataDirError(f"{root} is not a raftstore data directory: it has no {sub}/")
        check_database(os.path.join(root, sub), cfs)
    return True


def _open(root: str, *, create: bool, read_only: bool, write_buffer_size: int) -> Engines:
    def engine(sub: str, cfs: tuple[str, ...]) -> RocksEngine:
        return RocksEngine(
            os.path.join(root, sub), cfs, create=create, read_only=read_only, write_buffer_size=write_buffer_size
        )

    kv = engine(KV_DIR, ALL_CFS)
    try:
        raft = engine(RAFT_DIR, (CF_DEFAULT,))
    except BaseException:
        kv.close()
        raise
    return Engines(kv, raft, root)


def _initialise(root: str, write_buffer_size: int) -> Engines:
    """_initialise makes root (missing, empty, or left by an interrupted _initialise) a new data directory and
    opens it; INIT_MARKER is durable before either database exists and removed once both do."""
    marker = os.path.join(root, INIT_MARKER)
    try:
        os.makedirs(root, exist_ok=True)
        _clear_interrupted(root)
        with open(marker, "wb") as f:
            os.fsync(f.fileno())
        _fsync_dir(root)
    except OSError as exc:
        raise DataDirError(f"{root} cannot be initialised: {exc}") from exc
    engines = _open(root, create=True, read_only=False, write_buffer_size=write_buffer_size)
    try:
        _fsync_dir(root)
        os.unlink(marker)
        _fsync_dir(root)
    except OSError as exc:
        engines.close()
        raise DataDirError(f"{root} cannot be initialised: {exc}") from exc
    return engines


def _clear_interrupted(root: str) -> None:
    """_clear_interrupted removes what an interrupted initialisation of root left (its kv/ and raft/); anything
    else there is refused, never removed."""
    names = set(os.listdir(root))
    if INIT_MARKER not in names:
        return
    other = names - {INIT_MARKER, KV_DIR, RAFT_DIR}
    if other:
        raise DataDirError(f"{root}: an interrupted initialisation, but it also holds {sorted(other)}")
    for sub in names & {KV_DIR, RAFT_DIR}:
        shutil.rmtree(os.path.join(root, sub))


def _fsync_dir(path: str) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def memory_engines() -> Engines:
    """memory_engines are a MemEngine with ALL_CFS as the KV engine and one with CF_DEFAULT as the raft engine."""
    return Engines(MemEngine(ALL_CFS, name="kv"), MemEngine((CF_DEFAULT,), name="raft"), None)

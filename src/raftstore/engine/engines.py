"""raftstore.engine.engines: the two engines of a store, opened together.

`open_engines(path)` makes `path` (a directory, created if missing) hold two RocksDB databases:
`path/kv` with CFs default, lock, write and raft, and `path/raft` with the default CF (raft logs and
RaftLocalStates). `memory_engines()` gives the same shape in memory for unit tests.
"""

from __future__ import annotations

import os

from raftstore.engine.base import ALL_CFS, CF_DEFAULT, KvEngine, RaftEngine
from raftstore.engine.memory import MemEngine
from raftstore.engine.rocks import RocksEngine

__all__ = ["Engines", "open_engines", "memory_engines", "KV_DIR", "RAFT_DIR"]

KV_DIR = "kv"
RAFT_DIR = "raft"


class Engines:
    """Engines are a store's KV engine and raft engine; `path` is their directory (None in memory).

    close() closes both (raft engine first, then KV engine) and is idempotent; usable as a context manager.
    """

    __slots__ = ("kv", "raft", "path")

    def __init__(self, kv: KvEngine, raft: RaftEngine, path: str | None = None) -> None:
        self.kv = kv
        self.raft = raft
        self.path = path

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


def open_engines(path: str | os.PathLike[str]) -> Engines:
    """open_engines opens (creating if missing) the directory `path` with its kv and raft databases."""
    root = os.fspath(path)
    os.makedirs(root, exist_ok=True)
    kv = RocksEngine(os.path.join(root, KV_DIR), ALL_CFS)
    try:
        raft = RocksEngine(os.path.join(root, RAFT_DIR), (CF_DEFAULT,))
    except BaseException:
        kv.close()
        raise
    return Engines(kv, raft, root)


def memory_engines() -> Engines:
    """memory_engines are a MemEngine with ALL_CFS as the KV engine and one with CF_DEFAULT as the raft engine."""
    return Engines(MemEngine(ALL_CFS, name="kv"), MemEngine((CF_DEFAULT,), name="raft"), None)

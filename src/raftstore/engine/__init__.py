"""raftstore.engine: the only code that touches RocksDB.

`keys` is TiKV's key layout; `open_engines(path)` opens a store's KV and raft engines on RocksDB,
`memory_engines()` the same in memory; the Protocols (KvEngine, RaftEngine, WriteBatch, Readable) are what
the store codes against.
"""

from raftstore.engine import keys
from raftstore.engine.base import (
    ALL_CFS,
    CF_DEFAULT,
    CF_LOCK,
    CF_RAFT,
    CF_WRITE,
    DATA_CFS,
    EngineStats,
    KvEngine,
    RaftEngine,
    Readable,
    WriteBatch,
)
from raftstore.engine.engines import Engines, memory_engines, open_engines
from raftstore.engine.errors import (
    CorruptionError,
    DataDirError,
    DataDirInUseError,
    EngineClosedError,
    EngineError,
    EngineFailedError,
    EngineReadOnlyError,
    EngineIOError,
    UnknownColumnFamilyError,
    WrongWriteBatchError,
)
from raftstore.engine.keys import InvalidKeyError
from raftstore.engine.memory import MemEngine
from raftstore.engine.rocks import RocksEngine

__all__ = [
    "keys",
    "CF_DEFAULT",
    "CF_LOCK",
    "CF_WRITE",
    "CF_RAFT",
    "ALL_CFS",
    "DATA_CFS",
    "open_engines",
    "memory_engines",
    "Engines",
    "KvEngine",
    "RaftEngine",
    "WriteBatch",
    "Readable",
    "EngineStats",
    "RocksEngine",
    "MemEngine",
    "EngineError",
    "EngineClosedError",
    "EngineIOError",
    "CorruptionError",
    "DataDirError",
    "DataDirInUseError",
    "EngineFailedError",
    "EngineReadOnlyError",
    "UnknownColumnFamilyError",
    "WrongWriteBatchError",
    "InvalidKeyError",
]

"""raftstore.engine.errors: the errors of the engine layer.

The tree::

    EngineError                        root of every error an engine raises on purpose
    ├── EngineClosedError              the engine (or the snapshot's engine) was closed
    ├── UnknownColumnFamilyError       a column family name the engine was not opened with (also ValueError)
    ├── WrongWriteBatchError           a write batch made by another engine (also TypeError)
    ├── DataDirError                   the data directory cannot be opened as it is: damaged, foreign, not a
    │   │                              directory, or (read-only) not initialised; nothing was created or changed
    │   └── DataDirInUseError          another process holds the directory (RocksDB's LOCK)
    ├── EngineFailedError              a write failed earlier: the engines refuse every write until reopened
    ├── EngineReadOnlyError            a write to an engine opened read-only
    └── EngineIOError                  RocksDB reported an error; wraps the rocksdict exception (__cause__)
        └── CorruptionError            RocksDB reported corruption of its files
    keys.InvalidKeyError               a malformed key (a ValueError and an EngineError), see keys.py

rocksdict raises plain `Exception` subclasses; the engines convert them at the boundary with
`wrap_rocks_error`, so no rocksdict exception ever leaves raftstore.engine. Keys and values must be
`bytes` (rocksdict's raw mode takes nothing else); anything else raises TypeError in both engines.
"""

from __future__ import annotations

__all__ = [
    "EngineError",
    "EngineClosedError",
    "UnknownColumnFamilyError",
    "WrongWriteBatchError",
    "DataDirError",
    "DataDirInUseError",
    "EngineFailedError",
    "EngineReadOnlyError",
    "EngineIOError",
    "CorruptionError",
    "wrap_rocks_error",
]


class EngineError(Exception):
    """EngineError is the root of the engine layer's errors."""


class EngineClosedError(EngineError):
    """EngineClosedError: an operation on an engine after close(), or on a snapshot of a closed engine."""


class UnknownColumnFamilyError(EngineError, ValueError):
    """UnknownColumnFamilyError: the column family name is not one the engine was opened with."""


class WrongWriteBatchError(EngineError, TypeError):
    """WrongWriteBatchError: write() was given a batch made by a different engine."""


class DataDirError(EngineError):
    """DataDirError: the data directory (named in the message, with what is wrong) cannot be opened as it is.

    It is raised before anything is created or changed in the directory: the caller must repair or
    replace the directory (or point at the right one); retrying does not help.
    """


class DataDirInUseError(DataDirError):
    """DataDirInUseError: another process holds the data directory; stop it, or use another directory."""


class EngineFailedError(EngineError):
    """EngineFailedError: an earlier write failed, so the engines refuse every further write.

    As in TiKV, where a failed engine write is fatal, memory may be ahead of disk after a failed write. The
    message names the first failure. Nothing more is written; the owner must close the engines, reopen them
    and rebuild every peer from what is on disk.
    """


class EngineReadOnlyError(EngineError):
    """EngineReadOnlyError: a write to an engine opened read-only. Nothing was written; open it writable."""


class EngineIOError(EngineError):
    """EngineIOError wraps an error RocksDB reported; the original exception is its __cause__."""


class CorruptionError(EngineIOError):
    """CorruptionError: RocksDB found its files corrupted."""


# _LOCKED are what RocksDB says when another process (or another engine of this one) holds the LOCK file.
_LOCKED = ("While lock file", "lock hold by current process")

# _NOT_BYTES is what rocksdict's raw mode says (as a KeyError or ValueError) of a key or value not bytes.
_NOT_BYTES = "raw mode only support bytes"


def wrap_rocks_error(exc: BaseException, what: str) -> Exception:
    """wrap_rocks_error converts a rocksdict exception raised while doing `what` into the error to raise.

    The caller raises the result `from exc`. A key or value that is not bytes, or another malformed argument,
    maps to TypeError, a closed
    database to EngineClosedError, a held LOCK file to DataDirInUseError, a message that RocksDB tags as
    corruption to CorruptionError, anything else to EngineIOError.
    """
    msg = exc.args[0] if len(exc.args) == 1 and isinstance(exc.args[0], str) else str(exc)
    if msg == _NOT_BYTES:
        return TypeError(f"{what}: keys and values must be bytes")
    if isinstance(exc, (TypeError, ValueError)):  # Python's own, on a malformed argument (a pair of 1 item)
        return TypeError(f"{what}: {exc}")
    if type(exc).__name__ == "DbClosedError":
        return EngineClosedError(f"{what}: engine is closed")
    if any(locked in msg for locked in _LOCKED):
        return DataDirInUseError(f"{what}: the directory is in use by another process or engine ({msg})")
    if "Corruption" in msg:
        return CorruptionError(f"{what}: {msg}")
    return EngineIOError(f"{what}: {type(exc).__name__}: {msg}")

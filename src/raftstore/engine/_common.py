"""raftstore.engine._common: what the RocksDB and the in-memory engine share."""

from __future__ import annotations

from raftstore.engine.errors import (
    EngineClosedError,
    EngineError,
    EngineFailedError,
    EngineReadOnlyError,
    UnknownColumnFamilyError,
)


class EngineCommon:
    """EngineCommon holds an engine's column family names and its closed, failed and read-only state, and the
    errors they imply.

    `_label` names the engine in messages (its path, or a name for an in-memory one). `_failed` is the first
    write failure (None while writes are allowed); once set it stays until the engine is closed, and a
    reopened engine starts without it. Every write checks `_refuses_writes` before it touches the data.
    """

    _label: str
    _cf_names: tuple[str, ...]
    _closed: bool
    _failed: str | None = None
    _read_only: bool = False

    @property
    def cf_names(self) -> tuple[str, ...]:
        """cf_names are the column families the engine has open."""
        return self._cf_names

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def read_only(self) -> bool:
        """read_only: the engine was opened read-only; every write raises EngineReadOnlyError."""
        return self._read_only

    @property
    def failed(self) -> str | None:
        """failed is the first write failure (or the reason given to fail()); None while writes are allowed."""
        return self._failed

    def fail(self, reason: str) -> None:
        """fail makes the engine refuse every further write with EngineFailedError naming `reason`, until it is
        closed and reopened; reads keep working. Only the first failure is kept."""
        if self._failed is None:
            self._failed = reason

    def _refuses_writes(self) -> bool:
        return self._closed or self._failed is not None or self._read_only

    def _write_refused(self, what: str) -> EngineError:
        """_write_refused is the error of a write (`what`) that _refuses_writes."""
        if self._closed:
            return EngineClosedError(f"engine {self._label} is closed")
        if self._failed is not None:
            return EngineFailedError(
                f"{what} refused: engine {self._label} failed earlier ({self._failed}); "
                "close and reopen the engines, and rebuild from what is on disk"
            )
        return EngineReadOnlyError(f"{what} refused: engine {self._label} is open read-only")

    def _cf_error(self, cf: str) -> EngineError:
        if self._closed:
            return EngineClosedError(f"engine {self._label} is closed")
        return UnknownColumnFamilyError(f"unknown column family {cf!r} (engine {self._label} has {self._cf_names})")

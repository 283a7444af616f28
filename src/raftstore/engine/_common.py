"""raftstore.engine._common: what the RocksDB and the in-memory engine share."""

from __future__ import annotations

from raftstore.engine.errors import EngineClosedError, EngineError, UnknownColumnFamilyError


class EngineCommon:
    """EngineCommon holds an engine's column family names and closed flag, and the errors they imply.

    `_label` names the engine in messages (its path, or a name for an in-memory one).
    """

    _label: str
    _cf_names: tuple[str, ...]
    _closed: bool

    @property
    def cf_names(self) -> tuple[str, ...]:
        """cf_names are the column families the engine has open."""
        return self._cf_names

    @property
    def closed(self) -> bool:
        return self._closed

    def _cf_error(self, cf: str) -> EngineError:
        if self._closed:
            return EngineClosedError(f"engine {self._label} is closed")
        return UnknownColumnFamilyError(f"unknown column family {cf!r} (engine {self._label} has {self._cf_names})")

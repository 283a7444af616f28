"""raftstore.engine.memory: MemEngine, an in-memory KvEngine for pure-logic unit tests.

It follows RocksEngine's contract (tests/engine/test_engine_contract.py runs one suite over both): same
errors, same stats, snapshots and scans that see the engine as of when they were taken, nothing durable.

With `track_sync=True` it also models what a crash keeps, as RocksDB's write-ahead log does: a write with
sync=True makes itself and every write before it durable (sync_wal too); later writes without sync (and
put, delete, delete_range) are volatile until the next synced one. An ingested SST file is durable at
once (RocksDB syncs the files and the MANIFEST), volatile writes of other keys stay volatile. `crash()`
drops exactly the volatile writes, as a power loss followed by a reopen would (the simulation of
raftstore.testing.sim runs on it). Tracking costs an undo record per volatile key write, dropped at
each sync; it is off by default.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterator, Sequence

from raftstore.engine.base import CF_DEFAULT, EngineStats, SstWriter, WriteBatch
from raftstore.engine._common import EngineCommon
from raftstore.engine.errors import EngineClosedError, WrongWriteBatchError

__all__ = ["MemEngine", "MemWriteBatch", "MemSnapshot"]

_PUT = 0
_DELETE = 1
_DELETE_RANGE = 2


class _Cf:
    """_Cf is one column family: `data` maps key to value, `keys` is data's keys sorted.

    Copy on write: once `shared` (a snapshot or a scan holds data and keys), the next mutation first
    replaces both with copies, so what the holders see never changes.
    """

    __slots__ = ("data", "keys", "shared")

    def __init__(self) -> None:
        self.data: dict[bytes, bytes] = {}
        self.keys: list[bytes] = []
        self.shared = False

    def _own(self) -> None:
        if self.shared:
            self.data = dict(self.data)
            self.keys = list(self.keys)
            self.shared = False

    def put(self, key: bytes, value: bytes) -> None:
        self._own()
        if key not in self.data:
            keys = self.keys
            keys.insert(bisect_left(keys, key), key)
        self.data[key] = value

    def delete(self, key: bytes) -> None:
        if key not in self.data:
            return
        self._own()
        del self.data[key]
        keys = self.keys
        del keys[bisect_left(keys, key)]

    def delete_range(self, start: bytes, end: bytes) -> None:
        keys = self.keys
        lo = bisect_left(keys, start)
        hi = bisect_left(keys, end)
        if lo >= hi:
            return
        self._own()
        keys = self.keys
        data = self.data
        for key in keys[lo:hi]:
            del data[key]
        del keys[lo:hi]

    def restore(self, key: bytes, value: bytes | None) -> None:
        """restore sets key back to value (None: missing)."""
        if value is None:
            self.delete(key)
        else:
            self.put(key, value)

    def freeze(self) -> tuple[dict[bytes, bytes], list[bytes]]:
        self.shared = True
        return self.data, self.keys


def _bytes(b: bytes) -> bytes:
    # _bytes: keys and values must be bytes, as in RocksEngine (rocksdict's raw mode takes nothing else).
    if type(b) is not bytes:
        raise TypeError(f"keys and values must be bytes, not {type(b).__name__}")
    return b


def _scan(
    engine: MemEngine,
    data: dict[bytes, bytes],
    keys: list[bytes],
    start: bytes,
    end: bytes | None,
    reverse: bool,
    limit: int | None,
) -> Iterator[tuple[bytes, bytes]]:
    lo = bisect_left(keys, _bytes(start))
    hi = len(keys) if end is None else bisect_left(keys, _bytes(end))
    if hi < lo:
        hi = lo
    if limit is not None:
        n = max(limit, 0)
        if reverse:
            lo = max(lo, hi - n)
        else:
            hi = min(hi, lo + n)
    indexes = range(hi - 1, lo - 1, -1) if reverse else range(lo, hi)
    return _ScanIter(engine, data, keys, iter(indexes))


class _ScanIter:
    """_ScanIter walks a frozen (data, keys) of one CF; it raises EngineClosedError once the engine closed."""

    __slots__ = ("_engine", "_data", "_keys", "_indexes")

    def __init__(self, engine: MemEngine, data: dict[bytes, bytes], keys: list[bytes], indexes: Iterator[int]):
        self._engine = engine
        self._data = data
        self._keys = keys
        self._indexes = indexes

    def __iter__(self) -> _ScanIter:
        return self

    def __next__(self) -> tuple[bytes, bytes]:
        i = next(self._indexes)
        if self._engine._closed:
            raise EngineClosedError("scan: engine is closed")
        key = self._keys[i]
        return key, self._data[key]


class MemWriteBatch:
    """MemWriteBatch records operations for MemEngine.write; count and data_size as RocksWriteBatch's."""

    __slots__ = ("_engine", "_ops", "_size")

    def __init__(self, engine: MemEngine) -> None:
        self._engine = engine
        self._ops: list[tuple[int, str, bytes, bytes]] = []
        self._size = 0

    def put(self, cf: str, key: bytes, value: bytes) -> None:
        self._engine._check_cf(cf)
        self._ops.append((_PUT, cf, _bytes(key), _bytes(value)))
        self._size += len(key) + len(value)

    def put_many(self, cf: str, items: Sequence[tuple[bytes, bytes]]) -> None:
        """put_many puts every (key, value) of items into cf, in order; if one is refused, none is staged."""
        count, size = len(self._ops), self._size
        try:
            for key, value in items:
                self.put(cf, key, value)
        except BaseException:
            del self._ops[count:]
            self._size = size
            raise

    def delete(self, cf: str, key: bytes) -> None:
        self._engine._check_cf(cf)
        self._ops.append((_DELETE, cf, _bytes(key), b""))
        self._size += len(key)

    def delete_range(self, cf: str, start: bytes, end: bytes) -> None:
        """delete_range deletes [start, end); an empty range (start >= end) is not recorded at all."""
        self._engine._check_cf(cf)
        if _bytes(start) >= _bytes(end):
            return
        self._ops.append((_DELETE_RANGE, cf, start, end))
        self._size += len(start) + len(end)

    def count(self) -> int:
        return len(self._ops)

    def data_size(self) -> int:
        return self._size

    def is_empty(self) -> bool:
        return not self._ops

    def clear(self) -> None:
        self._ops.clear()
        self._size = 0

    def __len__(self) -> int:
        return len(self._ops)


class MemSnapshot:
    """MemSnapshot is a frozen view of every CF of a MemEngine as of snapshot()."""

    __slots__ = ("_engine", "_cfs")

    def __init__(self, engine: MemEngine, cfs: dict[str, tuple[dict[bytes, bytes], list[bytes]]]) -> None:
        self._engine = engine
        self._cfs = cfs

    def _cf(self, cf: str) -> tuple[dict[bytes, bytes], list[bytes]]:
        if self._engine._closed:
            raise EngineClosedError("snapshot: engine is closed")
        frozen = self._cfs.get(cf)
        if frozen is None:
            raise self._engine._cf_error(cf)
        return frozen

    def get(self, cf: str, key: bytes) -> bytes | None:
        return self._cf(cf)[0].get(_bytes(key))

    def scan(
        self, cf: str, start: bytes, end: bytes | None, *, reverse: bool = False, limit: int | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        data, keys = self._cf(cf)
        return _scan(self._engine, data, keys, start, end, reverse, limit)


# _Undo: one volatile key write, (cf, key, the key's value before it; None: missing).
_Undo = tuple[str, bytes, bytes | None]


class MemEngine(EngineCommon):
    """MemEngine keeps its column families in memory; sync is a no-op that is still counted in stats.

    With track_sync (module docstring), invariant: undoing `_undo` in reverse order gives the durable
    state, i.e. what every write up to the last synced one left; `_undo` is None when not tracking."""

    def __init__(self, cfs: Sequence[str] = (CF_DEFAULT,), *, name: str = "memory", track_sync: bool = False) -> None:
        self.name = self._label = name
        self.stats = EngineStats()
        self._cf_names = tuple(dict.fromkeys([CF_DEFAULT, *cfs]))
        self._cfs: dict[str, _Cf] = {name: _Cf() for name in self._cf_names}
        self._closed = False
        self._undo: list[_Undo] | None = [] if track_sync else None

    @property
    def volatile_writes(self) -> int:
        """volatile_writes is the number of key writes a crash would drop now (0 when not tracking)."""
        return len(self._undo) if self._undo is not None else 0

    def crash(self) -> None:
        """crash drops every volatile write (see the module docstring), as a power loss and a reopen would:
        the engine is left holding what was durable, open, without the failure of an earlier write (a
        reopened engine starts without it). ValueError when the engine does not track syncs;
        EngineClosedError once closed. Snapshots and scans taken before keep what they saw."""
        if self._closed:
            raise EngineClosedError(f"engine {self.name} is closed")
        undo = self._undo
        if undo is None:
            raise ValueError(f"engine {self.name} does not track syncs (MemEngine(track_sync=True))")
        cfs = self._cfs
        for cf, key, value in reversed(undo):
            cfs[cf].restore(key, value)
        undo.clear()
        self._failed = None

    def _record(self, cf: str, key: bytes) -> None:
        """_record remembers key's value before a volatile write changes it (the caller checked _undo)."""
        self._undo.append((cf, key, self._cfs[cf].data.get(key)))  # type: ignore[union-attr]

    def _record_range(self, cf: str, start: bytes, end: bytes) -> None:
        keys = self._cfs[cf].keys
        for key in keys[bisect_left(keys, start) : bisect_left(keys, end)]:
            self._record(cf, key)

    def _synced(self) -> None:
        """_synced: everything written so far is durable."""
        if self._undo is not None:
            self._undo.clear()

    def _check_cf(self, cf: str) -> _Cf:
        if self._closed or cf not in self._cfs:
            raise self._cf_error(cf)
        return self._cfs[cf]

    def get(self, cf: str, key: bytes) -> bytes | None:
        return self._check_cf(cf).data.get(_bytes(key))

    def scan(
        self, cf: str, start: bytes, end: bytes | None, *, reverse: bool = False, limit: int | None = None
    ) -> Iterator[tuple[bytes, bytes]]:
        data, keys = self._check_cf(cf).freeze()
        return _scan(self, data, keys, start, end, reverse, limit)

    def write_batch(self) -> MemWriteBatch:
        if self._closed:
            raise EngineClosedError(f"engine {self.name} is closed")
        return MemWriteBatch(self)

    def write(self, batch: WriteBatch, *, sync: bool = False) -> None:
        if not isinstance(batch, MemWriteBatch) or batch._engine is not self:
            raise WrongWriteBatchError(f"write: the batch was not made by engine {self.name}")
        if self._refuses_writes():
            raise self._write_refused("write")
        cfs = self._cfs
        track = self._undo is not None and not sync
        for op, cf, a, b in batch._ops:
            if track:
                if op == _DELETE_RANGE:
                    self._record_range(cf, a, b)
                else:
                    self._record(cf, a)
            if op == _PUT:
                cfs[cf].put(a, b)
            elif op == _DELETE:
                cfs[cf].delete(a)
            else:
                cfs[cf].delete_range(a, b)
        stats = self.stats
        stats.writes += 1
        if sync:
            stats.synced_writes += 1
            self._synced()
        stats.bytes_written += batch._size

    def put(self, cf: str, key: bytes, value: bytes) -> None:
        if self._refuses_writes():
            raise self._write_refused("put")
        data = self._check_cf(cf)
        key, value = _bytes(key), _bytes(value)
        if self._undo is not None:
            self._record(cf, key)
        data.put(key, value)
        self.stats.writes += 1
        self.stats.bytes_written += len(key) + len(value)

    def delete(self, cf: str, key: bytes) -> None:
        if self._refuses_writes():
            raise self._write_refused("delete")
        data = self._check_cf(cf)
        if self._undo is not None:
            self._record(cf, _bytes(key))
        data.delete(_bytes(key))
        self.stats.writes += 1
        self.stats.bytes_written += len(key)

    def delete_range(self, cf: str, start: bytes, end: bytes) -> None:
        """delete_range deletes [start, end); an empty range (start >= end) writes nothing."""
        if self._refuses_writes():
            raise self._write_refused("delete_range")
        data = self._check_cf(cf)
        if _bytes(start) >= _bytes(end):
            return
        if self._undo is not None:
            self._record_range(cf, start, end)
        data.delete_range(start, end)
        self.stats.writes += 1
        self.stats.bytes_written += len(start) + len(end)

    def snapshot(self) -> MemSnapshot:
        if self._closed:
            raise EngineClosedError(f"engine {self.name} is closed")
        return MemSnapshot(self, {name: cf.freeze() for name, cf in self._cfs.items()})

    def sync_wal(self) -> None:
        if self._refuses_writes():
            raise self._write_refused("sync_wal")
        self._synced()

    def close(self) -> None:
        """close drops the data; a second call is a no-op; every later operation raises EngineClosedError."""
        if self._closed:
            return
        self._closed = True
        self._cfs = {}

    def __enter__(self) -> MemEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"MemEngine({self.name!r}, cfs={self._cf_names}, {state})"

    def sst_writer(self, cf: str, path: str) -> SstWriter:
        """sst_writer: an in-memory engine SST file at path (raftstore.engine.sst.MemSstWriter)."""
        from raftstore.engine.sst import MemSstWriter

        self._check_cf(cf)
        return MemSstWriter(path)

    def ingest_sst(self, cf: str, paths: Sequence[str]) -> None:
        """ingest_sst puts every pair of the files into cf; all files are read before anything changes."""
        from raftstore.engine.sst import read_mem_sst

        if self._refuses_writes():
            raise self._write_refused("ingest_sst")
        data = self._check_cf(cf)
        pairs = [kv for path in paths for kv in read_mem_sst(path)]
        for key, value in pairs:
            data.put(key, value)
        if self._undo:
            # The ingested keys are durable with their new values; volatile writes of other keys stay so.
            ingested = {key for key, _ in pairs}
            self._undo[:] = [u for u in self._undo if u[0] != cf or u[1] not in ingested]
        self.stats.writes += 1
        self.stats.bytes_written += sum(len(k) + len(v) for k, v in pairs)

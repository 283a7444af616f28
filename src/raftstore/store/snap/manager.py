"""raftstore.store.snap.manager: SnapManager, the owner of a store's snapshot directory.

It knows which snapshots are in use (the registry: generating, sending, receiving, applying) and never
deletes one of those; it removes temporary files at start, keeps the directory under a total-size limit
by evicting the oldest idle built snapshot, collects snapshots older than a region's truncated index,
limits concurrent receives, and holds the IO rate limiter that building, sending and receiving share.

Thread-safe: one lock guards the registry, the receive slots and the partial receives; file work is done
outside it except for eviction and deletion (which must not race with a registration).
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from enum import Enum
from typing import TYPE_CHECKING

from .errors import SnapInUseError, TooManyReceivesError, TooManySnapshotsError
from .files import (
    META_SUFFIX,
    SNAP_GEN_PREFIX,
    SNAP_REV_PREFIX,
    TMP_SUFFIX,
    SnapFiles,
    SnapKey,
)
from .io import IoRateLimiter, fsync_dir, os_call, remove_quiet

if TYPE_CHECKING:
    from .transfer import ReceiveState

__all__ = ["SnapEntry", "SnapManager", "DEFAULT_MAX_CONCURRENT_RECV", "DEFAULT_MAX_FILE_RAW_SIZE"]

logger = logging.getLogger("raftstore.snap")

DEFAULT_MAX_CONCURRENT_RECV = 32  # TiKV's concurrent_recv_snap_limit
DEFAULT_MAX_FILE_RAW_SIZE = 100 << 20  # key + value bytes per SST file before a CF is split (TiKV's default)
_CLONE_SUFFIX = ".clone"


class SnapEntry(Enum):
    """SnapEntry: what a registered snapshot is being used for (TiKV's SnapEntry)."""

    GENERATING = 1
    SENDING = 2
    RECEIVING = 3
    APPLYING = 4


def _parse_meta_name(name: str) -> tuple[SnapKey, bool] | None:
    """_parse_meta_name: (key, built) of a meta file name `gen_R_T_I.meta` / `rev_R_T_I.meta`, else None."""
    if not name.endswith(META_SUFFIX):
        return None
    parts = name[: -len(META_SUFFIX)].split("_")
    if len(parts) != 4 or parts[0] not in (SNAP_GEN_PREFIX, SNAP_REV_PREFIX) or not all(p.isdigit() for p in parts[1:]):
        return None
    return SnapKey(int(parts[1]), int(parts[2]), int(parts[3])), parts[0] == SNAP_GEN_PREFIX


class SnapManager:
    """SnapManager: the snapshots in directory `path` (see the module docstring).

    Options: `max_total_size` (bytes of every snapshot file together; 0 = no limit), `io_rate` (bytes/s
    for building, sending and receiving; 0 = no limit), `max_concurrent_recv`, `max_file_raw_size` (key +
    value bytes per SST file before a CF is split). Call init() once before use.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        max_total_size: int = 0,
        io_rate: float = 0,
        max_concurrent_recv: int = DEFAULT_MAX_CONCURRENT_RECV,
        max_file_raw_size: int = DEFAULT_MAX_FILE_RAW_SIZE,
    ) -> None:
        self.path = os.fspath(path)
        self.max_total_size = max_total_size
        self.max_concurrent_recv = max_concurrent_recv
        self.max_file_raw_size = max_file_raw_size
        self.limiter = IoRateLimiter(io_rate)
        self._lock = threading.RLock()
        self._registry: dict[SnapKey, list[SnapEntry]] = {}
        self._receiving: set[SnapKey] = set()
        # partial: receives that broke off, by key: their verified prefix waits for the sender to resume.
        self.partial: dict[SnapKey, ReceiveState] = {}

    # -- start -----------------------------------------------------------------------------------

    def init(self) -> list[str]:
        """init creates the directory and removes leftovers of a crash: temporary (.tmp) and clone files,
        and data files of snapshots whose meta file was never written. Returns the names removed."""
        if not os.path.isdir(self.path):
            os_call(f"create {self.path}", os.makedirs, self.path)
        names = os_call(f"list {self.path}", os.listdir, self.path)
        complete = {n[: -len(META_SUFFIX)] for n in names if _parse_meta_name(n) is not None}
        removed: list[str] = []
        for name in names:
            prefix = "_".join(name.split("_")[:4])
            leftover = name.endswith(TMP_SUFFIX) or name.endswith(_CLONE_SUFFIX)
            orphan = _parse_meta_name(name) is None and prefix not in complete
            if (leftover or orphan) and name.split("_")[0] in (SNAP_GEN_PREFIX, SNAP_REV_PREFIX):
                remove_quiet(os.path.join(self.path, name))
                removed.append(name)
        if removed:
            fsync_dir(self.path)
            logger.info("snap manager %s removed %d leftover files", self.path, len(removed))
        return sorted(removed)

    # -- registry --------------------------------------------------------------------------------

    def register(self, key: SnapKey, entry: SnapEntry) -> None:
        """register marks key as in use for entry (a key may hold several entries, even the same twice)."""
        with self._lock:
            self._registry.setdefault(key, []).append(entry)

    def deregister(self, key: SnapKey, entry: SnapEntry) -> None:
        """deregister undoes one register(key, entry); an entry never registered is ignored (logged)."""
        with self._lock:
            entries = self._registry.get(key)
            if entries is None or entry not in entries:
                logger.warning("snap %s: deregister of %s that is not registered", key, entry.name)
                return
            entries.remove(entry)
            if not entries:
                del self._registry[key]

    def registered(self, key: SnapKey) -> list[SnapEntry]:
        """registered are the entries key is in use for (empty when idle)."""
        with self._lock:
            return list(self._registry.get(key, ()))

    @contextmanager
    def in_use(self, key: SnapKey, entry: SnapEntry) -> Iterator[None]:
        """in_use registers key for entry for the duration of a with block."""
        self.register(key, entry)
        try:
            yield
        finally:
            self.deregister(key, entry)

    # -- files -----------------------------------------------------------------------------------

    def gen_files(self, key: SnapKey) -> SnapFiles:
        """gen_files: the files of the snapshot this store builds for key (gen_ prefix)."""
        return SnapFiles(self.path, key, sending=True)

    def rev_files(self, key: SnapKey) -> SnapFiles:
        """rev_files: the files of the snapshot this store receives for key (rev_ prefix)."""
        return SnapFiles(self.path, key, sending=False)

    def list_snapshots(self) -> list[tuple[SnapKey, bool]]:
        """list_snapshots are (key, built) of every complete snapshot (one with a meta file), sorted."""
        names = os_call(f"list {self.path}", os.listdir, self.path)
        return sorted(p for p in map(_parse_meta_name, names) if p is not None)

    def total_size(self) -> int:
        """total_size is the size of every snapshot file in the directory (temporaries included)."""
        total = 0
        for entry in os.scandir(self.path):
            if entry.name.split("_")[0] in (SNAP_GEN_PREFIX, SNAP_REV_PREFIX):
                try:
                    total += entry.stat().st_size
                except FileNotFoundError:
                    continue
        return total

    def delete(self, key: SnapKey, built: bool, *, check_entry: bool = True) -> None:
        """delete removes the snapshot's files; with check_entry (the default) a snapshot in use is refused
        with SnapInUseError and nothing is deleted."""
        with self._lock:
            if check_entry and key in self._registry:
                raise SnapInUseError(f"snapshot {key} is in use ({[e.name for e in self._registry[key]]})")
            (self.gen_files(key) if built else self.rev_files(key)).delete()

    def prepare_build(self, key: SnapKey) -> SnapFiles:
        """prepare_build makes room before a snapshot is built (TiKV's get_snapshot_for_building): while the
        directory is over max_total_size it deletes the idle built snapshot with the oldest meta file; when
        none is left to delete it raises TooManySnapshotsError. Returns the files to build into."""
        with self._lock:
            if self.max_total_size > 0:
                self._evict_until_under_limit()
            return self.gen_files(key)

    def _evict_until_under_limit(self) -> None:
        candidates: list[tuple[float, SnapKey]] | None = None
        while (total := self.total_size()) > self.max_total_size:
            if candidates is None:
                idle = [k for k, built in self.list_snapshots() if built and k not in self._registry]
                candidates = sorted(((self.gen_files(k).meta_mtime(), k) for k in idle), reverse=True)
            if not candidates:
                raise TooManySnapshotsError(
                    f"snapshots in {self.path} take {total} bytes > limit {self.max_total_size}, none can be evicted"
                )
            _, key = candidates.pop()
            logger.info("snap manager evicts %s to stay under %d bytes", key, self.max_total_size)
            self.gen_files(key).delete()

    def gc(self, region_id: int, truncated_index: int) -> list[tuple[SnapKey, bool]]:
        """gc deletes the idle snapshots of region_id (built and received) whose index is below
        truncated_index: a follower can no longer use them and an apply has finished with them. Returns
        (key, built) of what it deleted; snapshots in use stay."""
        deleted: list[tuple[SnapKey, bool]] = []
        with self._lock:
            for key, built in self.list_snapshots():
                if key.region_id == region_id and key.index < truncated_index and key not in self._registry:
                    (self.gen_files(key) if built else self.rev_files(key)).delete()
                    deleted.append((key, built))
        return deleted

    # -- receive slots ---------------------------------------------------------------------------

    def acquire_recv(self, key: SnapKey) -> None:
        """acquire_recv takes one of the max_concurrent_recv receive slots for key (TooManyReceivesError
        when all are taken, or SnapInUseError when key is being received already)."""
        with self._lock:
            if key in self._receiving:
                raise SnapInUseError(f"snapshot {key} is being received already")
            if len(self._receiving) >= self.max_concurrent_recv:
                raise TooManyReceivesError(
                    f"{len(self._receiving)} snapshots are being received (limit {self.max_concurrent_recv})"
                )
            self._receiving.add(key)

    def release_recv(self, key: SnapKey) -> None:
        """release_recv gives back the receive slot of key."""
        with self._lock:
            self._receiving.discard(key)

    def receiving_count(self) -> int:
        with self._lock:
            return len(self._receiving)
